{%- set rates = funnel_conversion_rates() -%}

with

leads as (

    select * from {{ ref('dim_leads') }}

),

cohorts as (

    select
        cast({{ dbt.date_trunc('week', 'created_at') }} as date) as created_week,
        coalesce(first_touch_source, 'unknown') as source,
        -- the furthest funnel stage reached (terminal outcomes are counted apart)
        {{ funnel_stage_order_of('current_stage') }} as furthest_stage_order,
        is_lost,
        is_disqualified

    from leads

),

counted as (

    -- a lead counts at a stage when it reached that stage or any later one
    select
        created_week,
        source,
        count(*) as leads,
        sum(case when furthest_stage_order >= {{ funnel_stage_order('mql') }} then 1 else 0 end) as mqls,
        sum(case when furthest_stage_order >= {{ funnel_stage_order('sql') }} then 1 else 0 end) as sqls,
        sum(case when furthest_stage_order >= {{ funnel_stage_order('opportunity') }} then 1 else 0 end) as opportunities,
        sum(case when furthest_stage_order >= {{ funnel_stage_order('won') }} then 1 else 0 end) as won,
        sum(case when is_lost then 1 else 0 end) as lost,
        sum(case when is_disqualified then 1 else 0 end) as disqualified

    from cohorts
    group by created_week, source

),

final as (

    select
        counted.*,
        {% for name, numerator, denominator in rates -%}
        {{ funnel_rate(numerator, denominator) }} as {{ name }},
        {% endfor -%}
        {{ funnel_rate('mqls', 'leads') }} as qualified_lead_rate

    from counted

)

select * from final
