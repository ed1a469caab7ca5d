{%- set rates = [
    ('lead_to_mql', 'mqls', 'leads'),
    ('mql_to_sql', 'sqls', 'mqls'),
    ('sql_to_opportunity', 'opportunities', 'sqls'),
    ('opportunity_to_won', 'won', 'opportunities'),
] -%}

with

leads as (

    select * from {{ ref('dim_leads') }}

),

stage_history as (

    select * from {{ ref('fct_lead_stage_history') }}

),

furthest_stages as (

    select
        lead_id,
        max(stage_order) as furthest_stage_order

    from stage_history
    group by lead_id

),

cohorts as (

    select
        cast({{ dbt.date_trunc('week', 'leads.created_at') }} as date) as created_week,
        leads.first_touch_source,
        furthest_stages.furthest_stage_order

    from leads
    inner join furthest_stages
        on furthest_stages.lead_id = leads.lead_id

),

counted as (

    -- a lead counts at a stage when it reached that stage or any later one
    select
        created_week,
        first_touch_source,
        count(*) as leads,
        sum(case when furthest_stage_order >= {{ funnel_stage_order('mql') }} then 1 else 0 end) as mqls,
        sum(case when furthest_stage_order >= {{ funnel_stage_order('sql') }} then 1 else 0 end) as sqls,
        sum(case when furthest_stage_order >= {{ funnel_stage_order('opportunity') }} then 1 else 0 end) as opportunities,
        sum(case when furthest_stage_order >= {{ funnel_stage_order('won') }} then 1 else 0 end) as won

    from cohorts
    group by created_week, first_touch_source

),

final as (

    select
        created_week,
        first_touch_source,
        leads,
        mqls,
        sqls,
        opportunities,
        won,
        {% for name, numerator, denominator in rates -%}
        cast(
            round(cast({{ numerator }} as {{ dbt.type_numeric() }}) / nullif({{ denominator }}, 0), 4)
            as numeric(9, 4)
        ) as {{ name }}{{ ',' if not loop.last }}
        {% endfor %}
    from counted

)

select * from final
