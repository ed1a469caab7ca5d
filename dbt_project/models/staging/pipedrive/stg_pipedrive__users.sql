with

source as (

    select * from {{ source('pipedrive', 'users') }}

),

latest as (

    -- read whole every run: a version lands only when a user changed
    {{ newest_raw_versions('source') }}

),

renamed as (

    select
        -- ids
        record_id as user_id,

        -- person
        nullif({{ json_text('payload', 'name') }}, '') as full_name,
        lower(nullif({{ json_text('payload', 'email') }}, '')) as email,
        nullif({{ json_text('payload', 'locale') }}, '') as locale,
        nullif({{ json_text('payload', 'timezone_name') }}, '') as timezone_name,

        -- state: Pipedrive deactivates users (active_flag false), it does not delete them
        coalesce({{ vendor_flag(json_text('payload', 'active_flag')) }}, false) as is_active,
        coalesce({{ vendor_flag(json_text('payload', 'is_admin')) }}, false) as is_admin,

        -- timestamps (v1: UTC without an offset)
        {{ pipedrive_v1_time('created') }} as created_at,
        {{ pipedrive_v1_time('modified') }} as updated_at,
        record_updated_at,
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from latest

)

select * from renamed
