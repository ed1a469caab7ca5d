with

source as (

    select * from {{ source('salesforce', 'users') }}

),

latest as (

    -- raw keeps one row per version of a record: the newest one wins
    {{ newest_raw_versions('source') }}

),

renamed as (

    select
        -- ids
        record_id as user_id,
        nullif({{ json_text('payload', 'Username') }}, '') as username,

        -- person
        lower(nullif({{ json_text('payload', 'Email') }}, '')) as email,
        nullif({{ json_text('payload', 'FirstName') }}, '') as first_name,
        nullif({{ json_text('payload', 'LastName') }}, '') as last_name,
        nullif({{ json_text('payload', 'Name') }}, '') as full_name,
        nullif({{ json_text('payload', 'Title') }}, '') as job_title,
        nullif({{ json_text('payload', 'Department') }}, '') as department,
        nullif({{ json_text('payload', 'UserType') }}, '') as user_type,

        -- state: Salesforce deactivates users, it never deletes them
        coalesce({{ vendor_flag(json_text('payload', 'IsActive')) }}, false) as is_active,

        -- timestamps
        {{ iso_to_utc_timestamp(json_text('payload', 'CreatedDate')) }} as created_at,
        {{ iso_to_utc_timestamp(json_text('payload', 'LastModifiedDate')) }} as updated_at,
        record_updated_at,
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from latest

)

select * from renamed
