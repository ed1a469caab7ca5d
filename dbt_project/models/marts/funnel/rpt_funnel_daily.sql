{#- A table rebuilt each run from the incremental fct_lead_funnel_events: one group-by over a few
    rows per lead, under each lead's current slices (so a lead's past days move with it when its
    owner or segment changes). Leads merged away since their events were stored are dropped by the
    join with dim_leads. -#}

with

leads as (

    select * from {{ ref('dim_leads') }}

),

events as (

    select * from {{ ref('fct_lead_funnel_events') }}

),

sliced as (

    select
        events.activity_date,
        events.event,
        coalesce(leads.first_touch_source, 'unknown') as source,
        coalesce(leads.campaign, 'unknown') as campaign,
        coalesce(leads.owner_id, 'unassigned') as owner_id,
        leads.segment

    from events
    inner join leads
        on leads.lead_id = events.lead_id

),

final as (

    select
        activity_date,
        source,
        campaign,
        owner_id,
        segment,
        sum(case when event = 'lead' then 1 else 0 end) as leads,
        sum(case when event = 'mql' then 1 else 0 end) as mqls,
        sum(case when event = 'sql' then 1 else 0 end) as sqls,
        sum(case when event = 'opportunity' then 1 else 0 end) as opportunities,
        sum(case when event = 'won' then 1 else 0 end) as won,
        sum(case when event = 'lost' then 1 else 0 end) as lost,
        sum(case when event = 'disqualified' then 1 else 0 end) as disqualified,
        sum(case when event = 'recycled' then 1 else 0 end) as recycled

    from sliced
    group by activity_date, source, campaign, owner_id, segment

)

select * from final
