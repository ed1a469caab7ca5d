with

source as (

    select * from {{ source('hubspot', 'deals') }}

),

latest as (

    -- the associations of a deal's newest raw version only: a removed contact is gone
    select *
    from (
        select
            *,
            row_number() over (
                partition by record_id
                order by record_updated_at desc nulls last, _loaded_at desc
            ) as version_rank
        from source
    ) as versions
    where version_rank = 1

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
