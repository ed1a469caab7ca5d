with

leads as (

    select * from {{ ref('dim_leads') }}

),

final as (

    select
        current_stage,
        {{ funnel_stage_order_of('current_stage') }} as stage_order,
        count(*) as leads,
        sum(case when is_open then 1 else 0 end) as open_leads,
        {{ rounded_mean('lead_age_days') }} as mean_lead_age_days,
        {{ rounded_percentile('lead_age_days', 0.5) }} as median_lead_age_days,
        {{ rounded_percentile('lead_age_days', 0.9) }} as p90_lead_age_days

    from leads
    group by current_stage

)

select * from final
