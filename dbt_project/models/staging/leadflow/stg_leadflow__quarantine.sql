with

source as (

    select * from {{ source('leadflow', 'quarantine') }}

),

renamed as (

    select
        -- ids
        _raw_id as raw_id,
        source,
        stream,
        record_id,

        -- failure
        failed_expectations,
        reasons,
        payload,

        -- timestamps
        quarantined_at,

        -- lineage
        run_id

    from source

)

select * from renamed
