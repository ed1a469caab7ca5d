with

leads as (

    select * from {{ ref('dim_leads') }}

),

measured as (

    select
        lead_id,
        owner_id,
        current_stage,
        current_stage_entered_at,
        {{ duration_between('current_stage_entered_at', as_of(), 'day') }} as days_in_stage,
        {{ stale_after_days('current_stage') }} as stale_after_days,
        latest_activity_at as last_activity_at,
        days_since_activity

    from leads
    -- won, lost and disqualified leads are done: they cannot go stale
    where is_open

),

flagged as (

    select
        measured.*,
        coalesce(days_in_stage > stale_after_days, false) as is_stale,
        days_since_activity >= {{ var('dead_after_days') }} as is_dead

    from measured

),

final as (

    select * from flagged
    where is_stale or is_dead

)

select * from final
