{#
    Freshness of the raw tables of a source an installation may leave off (Salesforce, LinkedIn,
    Pipedrive: not configured in the shipped leadflow.yml, whose tables Warehouse.ensure_schema
    creates empty all the same). A source's `loaded_at_query`, in place of
    `loaded_at_field: _loaded_at`: while its table has never received a row the source is not in
    use, and reads as loaded just now (nothing is late); from its first row on, the value is the
    newest `_loaded_at`, what `loaded_at_field` gives, and the source's warn_after / error_after
    apply as everywhere else. dbt reads an empty table as infinitely stale: with
    `loaded_at_field`, `dbt source freshness` would fail on every installation that does not pull
    the source. Naive UTC on both sides, as every warehouse timestamp (`at time zone 'UTC'` turns
    the current time into one on DuckDB and PostgreSQL alike).
#}
{% macro loaded_at_once_in_use() -%}
    select
        case
            when count(*) = 0 then current_timestamp at time zone 'UTC'
            else max(_loaded_at)
        end
    from {{ this }}
{%- endmacro %}
