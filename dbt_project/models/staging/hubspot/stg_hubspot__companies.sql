with

source as (

    select * from {{ source('hubspot', 'companies') }}

),

latest as (

    -- raw keeps one row per version of a record: the newest one wins
    {{ newest_raw_versions('source') }}

),

renamed as (

    select
        -- ids
        record_id as company_id,
        {{ hubspot_property('hubspot_owner_id') }} as owner_id,

        -- company
        {{ hubspot_property('name') }} as company_name,
        lower(trim({{ hubspot_property('domain') }})) as domain,
        {{ hubspot_property('website') }} as website,
        {{ hubspot_property('hs_additional_domains') }} as additional_domains,
        {{ hubspot_property('phone') }} as phone,
        {{ hubspot_property('city') }} as city,
        {{ hubspot_property('country') }} as country,
        {{ hubspot_property('industry') }} as industry,
        {{ dbt.safe_cast(hubspot_property('numberofemployees'), dbt.type_int()) }} as count_employees,
        {{ dbt.safe_cast(hubspot_property('num_associated_contacts'), dbt.type_int()) }} as count_contacts,

        -- state
        coalesce({{ dbt.safe_cast(json_text('payload', 'archived'), dbt.type_boolean()) }}, false) as is_archived,

        -- timestamps
        {{ iso_to_utc_timestamp('coalesce(' ~ hubspot_property('createdate') ~ ', ' ~ json_text('payload', 'createdAt') ~ ')') }} as created_at,
        {{ iso_to_utc_timestamp(hubspot_property('notes_last_updated')) }} as last_activity_at,
        {{ iso_to_utc_timestamp('coalesce(' ~ hubspot_property('hs_lastmodifieddate') ~ ', ' ~ json_text('payload', 'updatedAt') ~ ')') }} as updated_at,
        record_updated_at,
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from latest

)

select * from renamed
