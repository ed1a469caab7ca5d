with

source as (

    select * from {{ source('pipedrive', 'leads') }}

),

latest as (

    -- raw keeps one row per version of a record: the newest one wins
    {{ newest_raw_versions('source') }}

),

renamed as (

    select
        -- ids (numbers, or v1's objects: macros/pipedrive.sql)
        record_id as lead_id,
        {{ pipedrive_id('person_id') }} as person_id,
        {{ pipedrive_id('organization_id') }} as organization_id,
        {{ pipedrive_id('owner_id') }} as owner_id,
        {{ pipedrive_id('creator_id') }} as creator_user_id,

        -- lead
        nullif({{ json_text('payload', 'title') }}, '') as lead_title,
        nullif({{ json_text('payload', 'source_name') }}, '') as source_name,
        nullif({{ json_text('payload', 'origin') }}, '') as origin,
        nullif({{ json_text('payload', 'channel') }}, '') as channel,
        {{ dbt.safe_cast(json_text('payload', ['value', 'amount']), 'numeric(18,2)') }} as amount,
        upper(nullif({{ json_text('payload', ['value', 'currency']) }}, '')) as currency_code,

        -- state: an archived lead is out of the working inbox, still listed
        coalesce({{ vendor_flag(json_text('payload', 'is_archived')) }}, false) as is_archived,
        coalesce({{ vendor_flag(json_text('payload', 'was_seen')) }}, false) as is_seen,

        -- timestamps
        {{ iso_to_utc_timestamp(json_text('payload', 'add_time')) }} as created_at,
        {{ iso_to_utc_timestamp(json_text('payload', 'update_time')) }} as updated_at,
        {{ dbt.safe_cast(json_text('payload', 'expected_close_date'), 'date') }} as expected_close_date,
        record_updated_at,
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from latest

)

select * from renamed
