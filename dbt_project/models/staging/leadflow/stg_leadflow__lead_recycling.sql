with

source as (

    select * from {{ source('leadflow', 'lead_recycling') }}

),

renamed as (

    select
        -- ids
        lead_id,
        previous_owner_id,

        -- decision
        action as recycle_action,
        reason as recycle_reason,
        track as nurture_track,
        crm_lead_status,

        -- timestamps
        last_activity_at,
        recycled_at,

        -- lineage
        run_id

    from source

)

select * from renamed
