{#
    An ISO-8601 string with a UTC offset ("2026-05-01T10:20:30.123Z", "2026-05-01T10:20:30+0000")
    as a naive UTC timestamp, the form every warehouse timestamp takes. Empty strings give null.
    Dispatched: on DuckDB and PostgreSQL an unreadable value is null (macros/lenient_casts.sql).
#}
{% macro iso_to_utc_timestamp(column) -%}
    {{ return(adapter.dispatch('iso_to_utc_timestamp', 'leadflow')(column)) }}
{%- endmacro %}

{% macro default__iso_to_utc_timestamp(column) -%}
    (cast(nullif({{ column }}, '') as timestamp with time zone) at time zone 'UTC')
{%- endmacro %}
