with

source as (

    select * from {{ source('leadflow', 'nurture_memberships') }}

),

renamed as (

    select
        -- ids
        lead_id,
        track as nurture_track,
        lemlist_campaign_id,

        -- state
        exit_reason as nurture_exit_reason,
        exited_at is null as is_open,

        -- timestamps
        entered_at,
        exited_at,

        -- lineage
        run_id,
        exited_run_id

    from source

)

select * from renamed
