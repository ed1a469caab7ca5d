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

{#
    The raw rows an incremental staging model re-stages: on a full build, all of `relation`; on an
    incremental one, every version of each record that has a version loaded since the newest
    `loaded_at` the model holds (less var staging_lookback_minutes, against clock steps), so
    newest_raw_versions() ranks a changed record over all its versions and delete+insert on the
    record replaces its row. Raw is append-only (a version is never rewritten), so a record with
    no new version cannot have changed; `leadflow forget` deletes the rows it erases from raw and
    from these tables alike. An unchanged record is never read again: the JSON extraction, most of
    staging's cost, follows what arrived.
#}
{% macro raw_versions_to_stage(relation) -%}
    select * from {{ relation }}
    {%- if is_incremental() %}
    where record_id in (
        select record_id from {{ relation }}
        where _loaded_at >= (
            select {{ dbt.dateadd('minute', -var('staging_lookback_minutes'),
                "coalesce(max(loaded_at), cast('1900-01-01' as " ~ dbt.type_timestamp() ~ "))") }}
            from {{ this }}
        )
    )
    {%- endif %}
{%- endmacro %}
