{#- One aggregation per grouping: by source and owner, then the totals ('all') per source, per
    owner and overall. Written as a union rather than GROUPING SETS so that every warehouse dbt
    runs on builds it the same way. -#}
{%- set groupings = [
    ('source', 'owner_id'),
    ('source', "'all'"),
    ("'all'", 'owner_id'),
    ("'all'", "'all'"),
] -%}

with

first_touches as (

    select * from {{ ref('fct_lead_first_touch') }}

),

sla_breaches as (

    select * from {{ ref('stg_leadflow__sla_breaches') }}

),

lead_facts as (

    -- one row per lead, under its current owner
    select
        coalesce(source, 'unknown') as source,
        coalesce(owner_id, 'unassigned') as owner_id,
        1 as is_lead,
        case when is_touched then 1 else 0 end as is_touched,
        minutes_to_first_touch,
        case when is_within_5_minutes then 1 when not is_within_5_minutes then 0 end as is_within_target,
        0 as is_sla_breach

    from first_touches

),

breach_facts as (

    -- one row per breach, under the owner who missed it (a re-routed lead has moved on since)
    select
        coalesce(first_touches.source, 'unknown') as source,
        sla_breaches.owner_id,
        0 as is_lead,
        0 as is_touched,
        cast(null as numeric(18, 2)) as minutes_to_first_touch,
        cast(null as {{ dbt.type_int() }}) as is_within_target,
        1 as is_sla_breach

    from sla_breaches
    left join first_touches
        on first_touches.lead_id = sla_breaches.lead_id

),

facts as (

    select * from lead_facts
    union all
    select * from breach_facts

),

aggregated as (

    {% for source_key, owner_key in groupings %}
    {%- set group_columns = [source_key, owner_key] | reject('equalto', "'all'") | list %}
    select
        {{ source_key }} as source,
        {{ owner_key }} as owner_id,
        cast(coalesce(sum(is_lead), 0) as {{ dbt.type_bigint() }}) as leads,
        cast(coalesce(sum(is_touched), 0) as {{ dbt.type_bigint() }}) as touched_leads,
        -- percentiles over double precision: DuckDB interpolates a numeric(18,2) in its own scale
        {{ percentile_cont('cast(minutes_to_first_touch as double precision)', 0.5) }} as median_minutes,
        {{ percentile_cont('cast(minutes_to_first_touch as double precision)', 0.9) }} as p90_minutes,
        sum(is_within_target) as within_target_leads,
        count(is_within_target) as timed_leads,
        cast(coalesce(sum(is_sla_breach), 0) as {{ dbt.type_bigint() }}) as sla_breaches

    from facts
    {% if group_columns %}group by {{ group_columns | join(', ') }}{% endif %}
    {% if not loop.last %}
    union all
    {% endif %}
    {%- endfor %}

),

final as (

    select
        source,
        owner_id,
        leads,
        touched_leads,
        cast(round(cast(median_minutes as {{ dbt.type_numeric() }}), 2) as numeric(18, 2)) as median_minutes,
        cast(round(cast(p90_minutes as {{ dbt.type_numeric() }}), 2) as numeric(18, 2)) as p90_minutes,
        cast(
            round(cast(within_target_leads as {{ dbt.type_numeric() }}) / nullif(timed_leads, 0), 4)
            as numeric(9, 4)
        ) as share_within_5_minutes,
        sla_breaches

    from aggregated

)

select * from final
