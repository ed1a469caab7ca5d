with

source as (

    select * from {{ source('leadflow', 'push_state') }}

),

renamed as (

    select
        -- ids
        destination,
        lead_id,
        destination_record_id,

        -- state
        payload_hash,

        -- timestamps
        acknowledged_at,

        -- lineage
        run_id

    from source

)

select * from renamed
