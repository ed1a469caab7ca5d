with

source as (

    select * from {{ source('pipedrive', 'persons') }}

),

latest as (

    -- raw keeps one row per version of a record: the newest one wins
    {{ newest_raw_versions('source') }}

),

renamed as (

    select
        -- ids (numbers, or v1's objects: macros/pipedrive.sql)
        record_id as person_id,
        {{ dbt.concat(["'pipedrive:persons:'", "record_id"]) }} as record_key,
        {{ pipedrive_id('owner_id') }} as owner_id,
        {{ pipedrive_id('org_id') }} as organization_id,

        -- state: a deleted person is no longer listed, so this is rarely true
        coalesce({{ vendor_flag(json_text('payload', 'is_deleted')) }}, false) as is_deleted,

        -- timestamps
        {{ iso_to_utc_timestamp(json_text('payload', 'add_time')) }} as created_at,
        {{ iso_to_utc_timestamp(json_text('payload', 'update_time')) }} as updated_at,
        record_updated_at,
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from latest

)

select * from renamed
