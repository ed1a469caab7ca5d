with

source as (

    select * from {{ source('hubspot', 'deals') }}

),

latest as (

    -- the associations of a deal's newest raw version only: a removed contact is gone
    {{ newest_raw_versions('source') }}

),

associations as (

    -- the connector stores the v4 batch read's `to` list for the deal as associations.contacts
    select
        record_id as deal_id,
        {{ json_array_field_elements('payload', ['associations', 'contacts'], 'toObjectId') }} as hubspot_contact_id

    from latest

),

renamed as (

    -- one contact can be associated under several labels (unlabeled, primary): one row per pair
    select distinct
        -- ids
        deal_id,
        hubspot_contact_id

    from associations
    where hubspot_contact_id is not null

)

select * from renamed
