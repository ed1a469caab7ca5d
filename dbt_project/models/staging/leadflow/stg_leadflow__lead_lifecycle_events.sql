with

source as (

    select * from {{ source('leadflow', 'lead_lifecycle_events') }}

),

renamed as (

    select
        -- ids
        lead_id,

        -- event
        event,
        score as score_at_event,

        -- timestamps
        occurred_at,

        -- lineage
        run_id

    from source

)

select * from renamed
