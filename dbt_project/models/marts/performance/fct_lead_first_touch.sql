{#- A touch dated before the lead's creation (a CRM engagement logged with an earlier date, a
    clock off) says nothing about how fast the lead was answered: the lead counts as touched, but
    its minutes and within-target flag are null, so it stays out of medians and shares instead of
    passing as an instant answer. The same goes for the rep's response from assignment: a touch
    before LeadFlow's assignment (the CRM owner was already on it) has no response time. -#}
{%- set target_minutes = var('speed_to_lead_target_minutes') -%}

with

leads as (

    select * from {{ ref('dim_leads') }}

),

sla_breaches as (

    select * from {{ ref('stg_leadflow__sla_breaches') }}

),

lead_breaches as (

    select
        lead_id,
        count(*) as count_sla_breaches,
        min(breached_at) as first_sla_breached_at

    from sla_breaches
    group by lead_id

),

timed as (

    select
        leads.lead_id,
        leads.first_touch_source as source,
        leads.campaign,
        leads.owner_id,
        leads.created_at,
        leads.first_engagement_at as first_touch_at,
        leads.count_sales_touches,
        case
            when leads.first_engagement_at >= leads.created_at
                then {{ dbt.datediff('leads.created_at', 'leads.first_engagement_at', 'second') }}
        end as seconds_to_first_touch,
        leads.first_engagement_at < leads.created_at as is_touch_before_created,
        leads.assigned_at,
        case
            when leads.first_engagement_at >= leads.assigned_at
                then {{ dbt.datediff('leads.assigned_at', 'leads.first_engagement_at', 'second') }}
        end as seconds_assigned_to_first_touch

    from leads

),

final as (

    select
        -- ids
        timed.lead_id,
        timed.source,
        timed.campaign,
        timed.owner_id,

        -- first touch
        timed.created_at,
        timed.first_touch_at,
        timed.first_touch_at is not null as is_touched,
        coalesce(timed.is_touch_before_created, false) as is_touch_before_created,
        cast(
            round(cast(timed.seconds_to_first_touch as {{ dbt.type_numeric() }}) / 60, 2)
            as numeric(18, 2)
        ) as minutes_to_first_touch,
        case
            when timed.first_touch_at is null then false
            when timed.seconds_to_first_touch is null then null
            when timed.seconds_to_first_touch <= {{ target_minutes }} * 60 then true
            else false
        end as is_within_5_minutes,
        timed.count_sales_touches,

        -- the owner's response, from LeadFlow's assignment
        timed.assigned_at,
        cast(
            round(cast(timed.seconds_assigned_to_first_touch as {{ dbt.type_numeric() }}) / 60, 2)
            as numeric(18, 2)
        ) as minutes_assigned_to_first_touch,

        -- SLA (routing/sla.py)
        lead_breaches.lead_id is not null as sla_breached,
        coalesce(lead_breaches.count_sla_breaches, 0) as count_sla_breaches,
        lead_breaches.first_sla_breached_at

    from timed
    left join lead_breaches
        on lead_breaches.lead_id = timed.lead_id

)

select * from final
