with

source as (

    select * from {{ source('leadflow', 'lead_assignments') }}

),

renamed as (

    select
        -- ids
        lead_id,
        owner_id,

        -- owner
        owner_email,
        pool as routing_pool,

        -- decision
        rule as routing_rule,
        reason as routing_reason,

        -- timestamps
        assigned_at,

        -- lineage
        run_id

    from source

)

select * from renamed
