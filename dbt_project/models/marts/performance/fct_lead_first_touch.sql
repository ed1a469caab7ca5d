{#- A touch dated before the lead's creation (a CRM engagement logged with an earlier date, a
    clock off) says nothing about how fast the lead was answered: the lead counts as touched, but
    its minutes and within-target flag are null, so it stays out of medians and shares instead of
    passing as an instant answer. The same goes for the rep's response from assignment: a touch
    before LeadFlow's assignment (the CRM owner was already on it) has no response time.

    Incremental by lead (dbt_project.yml, macros/incremental.sql), like the funnel facts:
    touch_state_hash fingerprints every input of a lead's row (its dim_leads columns read here, its
    SLA breaches, the target minutes), and a build re-derives the leads whose fingerprint is new or
    changed; the rows of leads merged away go. Nothing here depends on "now". -#}
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

inputs as (

    -- every value a lead's row is derived from, and their fingerprint
    select
        leads.lead_id,
        leads.first_touch_source,
        leads.campaign,
        leads.owner_id,
        leads.created_at,
        leads.first_engagement_at,
        leads.count_sales_touches,
        leads.assigned_at,
        lead_breaches.lead_id is not null as has_breaches,
        lead_breaches.count_sla_breaches,
        lead_breaches.first_sla_breached_at,
        {{ state_hash([
            'leads.first_touch_source', 'leads.campaign', 'leads.owner_id', 'leads.created_at',
            'leads.first_engagement_at', 'leads.count_sales_touches', 'leads.assigned_at',
            'lead_breaches.count_sla_breaches', 'lead_breaches.first_sla_breached_at',
            target_minutes,
        ]) }} as touch_state_hash

    from leads
    left join lead_breaches
        on lead_breaches.lead_id = leads.lead_id

),

to_derive as (

    select * from inputs
    {{ where_lead_to_rebuild('inputs', 'touch_state_hash') }}

),

timed as (

    select
        lead_id,
        first_touch_source as source,
        campaign,
        owner_id,
        created_at,
        first_engagement_at as first_touch_at,
        count_sales_touches,
        case
            when first_engagement_at >= created_at
                then {{ dbt.datediff('created_at', 'first_engagement_at', 'second') }}
        end as seconds_to_first_touch,
        first_engagement_at < created_at as is_touch_before_created,
        assigned_at,
        case
            when first_engagement_at >= assigned_at
                then {{ dbt.datediff('assigned_at', 'first_engagement_at', 'second') }}
        end as seconds_assigned_to_first_touch,
        has_breaches,
        count_sla_breaches,
        first_sla_breached_at,
        touch_state_hash

    from to_derive

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
        timed.has_breaches as sla_breached,
        coalesce(timed.count_sla_breaches, 0) as count_sla_breaches,
        timed.first_sla_breached_at,

        -- what the row was derived from (macros/incremental.sql)
        timed.touch_state_hash

    from timed

)

select * from final
