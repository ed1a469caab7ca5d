{#- Incremental by lead (dbt_project.yml, macros/incremental.sql): an hourly build re-derives the
    events of the leads whose dim_leads.funnel_state_hash changed (their stages, outcomes or
    recyclings), deleting every stored event of theirs first, so an entry that moved to another day
    (a CRM date rewritten) leaves nothing behind; the events of leads merged away are deleted. -#}

with

leads as (

    select * from {{ ref('dim_leads') }}

),

to_derive as (

    -- dim_leads drops leads merged away; their events are left out
    select
        lead_id,
        funnel_state_hash

    from leads
    {{ where_lead_to_rebuild('leads') }}

),

stage_history as (

    select * from {{ ref('fct_lead_stage_history') }}

),

recycling as (

    select * from {{ ref('stg_leadflow__lead_recycling') }}

),

events as (

    -- every stage entered (funnel and terminal) and every recycling
    select
        lead_id,
        stage as event,
        entered_at as occurred_at

    from stage_history

    union all

    select
        lead_id,
        'recycled' as event,
        recycled_at as occurred_at

    from recycling
    where recycle_action = 'recycled'

),

final as (

    select
        events.lead_id,
        events.event,
        events.occurred_at,
        cast(events.occurred_at as date) as activity_date,
        to_derive.funnel_state_hash

    from events
    inner join to_derive
        on to_derive.lead_id = events.lead_id

)

select * from final
