{#
    Casts of vendor text that never fail on DuckDB. Raw payloads are whatever the APIs sent: a
    HubSpot number property of "3.5" or "1e309", a Typeform timestamp of "true". A plain cast of one
    such value fails the whole build, and with it every push. Unreadable values become null instead;
    the record's own validation (expectations/) has already quarantined it with a reason where the
    value matters. tests/reliability/test_hostile_end_to_end.py builds the project on such data.

    dbt's own `safe_cast` is a plain cast on DuckDB (dbt-duckdb does not override it), so this file
    overrides it for the duckdb adapter: the root project is searched first for `dbt` macros.
    PostgreSQL has no try_cast; its plain casts still fail on such values (see docs/reliability.md).
#}

{% macro duckdb__safe_cast(field, type) -%}
    try_cast({{ field }} as {{ type }})
{%- endmacro %}

{% macro duckdb__iso_to_utc_timestamp(column) -%}
    (try_cast(nullif({{ column }}, '') as timestamp with time zone) at time zone 'UTC')
{%- endmacro %}
