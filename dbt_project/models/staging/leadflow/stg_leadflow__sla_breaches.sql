with

source as (

    select * from {{ source('leadflow', 'sla_breaches') }}

),

renamed as (

    select
        -- ids
        lead_id,
        owner_id,

        -- owner who missed the first touch
        owner_email,

        -- policy (sla.policies in leadflow.yml) and what was done about it
        policy as sla_policy,
        action as sla_action,
        new_owner as rerouted_to_owner_id,

        -- timestamps
        assigned_at as clock_started_at,
        due_at,
        touched_at,
        breached_at,

        -- lineage
        run_id

    from source

)

select * from renamed
