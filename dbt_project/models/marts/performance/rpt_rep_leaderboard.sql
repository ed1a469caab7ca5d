{#- A rep is credited with the leads they own now (routing/'s current assignment in dim_leads);
    SLA breaches count against the rep who missed them, so a rep whose missed leads were all
    re-routed still has a row (assigned = 0). Response time runs from LeadFlow's assignment to the
    first touch (fct_lead_first_touch.minutes_assigned_to_first_touch): what the rep controls,
    where speed to lead (rpt_speed_to_lead) also counts the time before routing. A lead without a
    logged sales touch counts 0 touches. -#}
{%- set stages = var('funnel_stages') -%}
{%- set converted_stages = stages[funnel_stage_order(var('rep_converted_stage')) - 1:] -%}
{%- set won_stages = stages[funnel_stage_order('won') - 1:] -%}

with

leads as (

    select * from {{ ref('dim_leads') }}

),

first_touches as (

    select * from {{ ref('fct_lead_first_touch') }}

),

stage_history as (

    select * from {{ ref('fct_lead_stage_history') }}

),

sla_breaches as (

    select * from {{ ref('stg_leadflow__sla_breaches') }}

),

lead_stages as (

    select
        lead_id,
        max(case when stage in ('{{ converted_stages | join("', '") }}') then 1 else 0 end) as is_converted,
        max(case when stage in ('{{ won_stages | join("', '") }}') then 1 else 0 end) as is_won

    from stage_history
    group by lead_id

),

owned as (

    select
        leads.owner_id,
        leads.owner_email,
        leads.assigned_at,
        case when first_touches.is_touched then 1 else 0 end as is_contacted,
        coalesce(lead_stages.is_converted, 0) as is_converted,
        coalesce(lead_stages.is_won, 0) as is_won,
        first_touches.minutes_assigned_to_first_touch,
        coalesce(first_touches.count_sales_touches, 0) as count_sales_touches

    from leads
    inner join first_touches
        on first_touches.lead_id = leads.lead_id
    left join lead_stages
        on lead_stages.lead_id = leads.lead_id
    where leads.owner_id is not null

),

owner_emails as (

    -- the address the rep was last seen with, on an assignment or a breach
    select owner_id, owner_email
    from (
        select
            owner_id,
            owner_email,
            row_number() over (
                partition by owner_id
                order by case when owner_email is null then 1 else 0 end, seen_at desc
            ) as email_rank
        from (
            select owner_id, owner_email, assigned_at as seen_at from owned
            union all
            select owner_id, owner_email, breached_at as seen_at from sla_breaches
        ) as seen
    ) as ranked
    where email_rank = 1

),

per_owner as (

    select
        owner_id,
        count(*) as assigned,
        cast(sum(is_contacted) as {{ dbt.type_bigint() }}) as contacted,
        cast(sum(is_converted) as {{ dbt.type_bigint() }}) as converted,
        cast(sum(is_won) as {{ dbt.type_bigint() }}) as won,
        {{ percentile_cont('cast(minutes_assigned_to_first_touch as double precision)', 0.5) }} as median_response_minutes,
        sum(count_sales_touches) as count_sales_touches

    from owned
    group by owner_id

),

owner_breaches as (

    select
        owner_id,
        count(*) as sla_breaches

    from sla_breaches
    group by owner_id

),

owners as (

    -- reps who own leads now, and reps who missed an SLA on a lead that has moved on since
    select owner_id from per_owner
    union
    select owner_id from owner_breaches

),

final as (

    select
        owners.owner_id,
        owner_emails.owner_email,
        coalesce(per_owner.assigned, 0) as assigned,
        coalesce(per_owner.contacted, 0) as contacted,
        coalesce(per_owner.converted, 0) as converted,
        coalesce(per_owner.won, 0) as won,
        cast(
            round(cast(per_owner.contacted as {{ dbt.type_numeric() }}) / nullif(per_owner.assigned, 0), 4)
            as numeric(9, 4)
        ) as contact_rate,
        cast(
            round(cast(per_owner.converted as {{ dbt.type_numeric() }}) / nullif(per_owner.assigned, 0), 4)
            as numeric(9, 4)
        ) as conversion_rate,
        cast(
            round(cast(per_owner.median_response_minutes as {{ dbt.type_numeric() }}), 2)
            as numeric(18, 2)
        ) as median_response_minutes,
        cast(
            round(cast(per_owner.count_sales_touches as {{ dbt.type_numeric() }}) / nullif(per_owner.assigned, 0), 2)
            as numeric(12, 2)
        ) as touches_per_lead,
        coalesce(owner_breaches.sla_breaches, 0) as sla_breaches

    from owners
    left join per_owner
        on per_owner.owner_id = owners.owner_id
    left join owner_emails
        on owner_emails.owner_id = owners.owner_id
    left join owner_breaches
        on owner_breaches.owner_id = owners.owner_id

)

select * from final
