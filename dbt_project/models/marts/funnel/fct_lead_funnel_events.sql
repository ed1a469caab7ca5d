{#- Incremental by lead (delete+insert on lead_id): an hourly build re-derives the events of only
    the leads changed since the last build (dim_leads.last_changed_at newer than the newest one this
    table holds, less var funnel_lookback_days for source timestamps that arrive late). It deletes
    every stored event of those leads and inserts their current ones, so an entry that moved to
    another day (a CRM date rewritten) leaves nothing behind. A lead that no longer exists (merged
    into another) keeps its rows here until a full refresh; rpt_funnel_daily drops them by joining
    dim_leads. `dbt build --full-refresh` rebuilds everything. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='lead_id',
        on_schema_change='fail',
    )
}}

with

leads as (

    select * from {{ ref('dim_leads') }}

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

{% if is_incremental() %}
changed_leads as (

    select lead_id
    from leads
    where last_changed_at > (
        select {{ dbt.dateadd('day', -1 * var('funnel_lookback_days'), "coalesce(max(lead_changed_at), cast('1900-01-01' as timestamp))") }}
        from {{ this }}
    )

),
{% endif %}

final as (

    select
        events.lead_id,
        events.event,
        events.occurred_at,
        cast(events.occurred_at as date) as activity_date,
        leads.last_changed_at as lead_changed_at

    from events
    inner join leads
        on leads.lead_id = events.lead_id
    {% if is_incremental() %}
    where events.lead_id in (select lead_id from changed_leads)
    {% endif %}

)

select * from final
