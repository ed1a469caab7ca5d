{#- A Pipedrive id from the raw payload, as connectors/pipedrive/models.py `_id` reads it: v2 gives
    a JSON number (42), v1 endpoints may give the related record as an object ({"id": 42, "name":
    ...} for a user, {"value": 42, "name": ...} for an organization). Text, or null. -#}
{% macro pipedrive_id(key, column='payload') -%}
    coalesce(
        nullif({{ json_text(column, [key, 'id']) }}, ''),
        nullif({{ json_text(column, [key, 'value']) }}, ''),
        nullif({{ json_text(column, key) }}, '')
    )
{%- endmacro %}

{#- A v1 time ('2026-05-01 09:30:00', users' created / modified: UTC without an offset) as a naive
    UTC timestamp. The offset is added before the cast: a cast of the bare text would read it in the
    session's time zone. Unreadable values give null. -#}
{% macro pipedrive_v1_time(key, column='payload') -%}
    {{ iso_to_utc_timestamp(dbt.concat([json_text(column, key), "'+00:00'"])) }}
{%- endmacro %}
