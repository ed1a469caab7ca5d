with

source as (

    select * from {{ source('hubspot', 'owners') }}

),

latest as (

    -- raw keeps one row per version of a record: the newest one wins
    {{ newest_raw_versions('source') }}

),

renamed as (

    select
        -- ids
        record_id as owner_id,
        nullif({{ json_text('payload', 'userId') }}, '') as user_id,

        -- person
        lower(nullif({{ json_text('payload', 'email') }}, '')) as email,
        nullif({{ json_text('payload', 'firstName') }}, '') as first_name,
        nullif({{ json_text('payload', 'lastName') }}, '') as last_name,

        -- state
        coalesce({{ dbt.safe_cast(json_text('payload', 'archived'), dbt.type_boolean()) }}, false) as is_archived,

        -- timestamps
        {{ iso_to_utc_timestamp(json_text('payload', 'createdAt')) }} as created_at,
        {{ iso_to_utc_timestamp(json_text('payload', 'updatedAt')) }} as updated_at,
        record_updated_at,
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from latest

)

select * from renamed
