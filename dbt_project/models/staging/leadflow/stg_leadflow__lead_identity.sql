with

source as (

    select * from {{ source('leadflow', 'lead_identity') }}

),

renamed as (

    select
        -- ids
        record_key,
        lead_id,
        matched_record_key,

        -- resolution
        rule as match_rule,
        match_probability,

        -- timestamps
        resolved_at,

        -- lineage
        run_id

    from source

)

select * from renamed
