{#
    Raw tables keep one row per version of a record (`_raw_id` = record id + payload hash): the
    rows of `relation` that are each record's newest version, by `order_by` (default: the source's
    own update time, then when LeadFlow loaded it, then `_raw_id`: the order enrichment/pipeline.py
    validates in, so staging shows the version Python accepted or quarantined). Without the last
    key, two versions loaded in one page with the same update time tie, and DuckDB and PostgreSQL
    may each pick another one. Staging models use it as their `latest` CTE.
#}
{% macro newest_raw_versions(relation, order_by='record_updated_at desc nulls last, _loaded_at desc, _raw_id') -%}
    select *
    from (
        select
            *,
            row_number() over (
                partition by record_id
                order by {{ order_by }}
            ) as version_rank
        from {{ relation }}
    ) as versions
    where version_rank = 1
{%- endmacro %}
