with

source as (

    select * from {{ source('linkedin', 'lead_form_responses') }}

),

latest as (

    -- raw keeps one row per version of a record: the newest one wins
    {{ newest_raw_versions('source') }}

),

renamed as (

    select
        -- ids
        record_id as response_id,
        {{ dbt.concat(["'linkedin:lead_form_responses:'", "record_id"]) }} as record_key,
        -- the form from the response's versioned form URN, else from the form it answered, else
        -- the form the connector pulled it under (the parser's order)
        coalesce(
            {{ linkedin_urn_id(json_text('payload', 'versionedLeadGenFormUrn'), 'leadGenForm') }},
            {{ linkedin_urn_id(json_text('payload', ['form', 'id']), 'leadGenForm') }},
            _partition
        ) as form_id,
        -- urn:li:versionedLeadGenForm:(urn:li:leadGenForm:<id>,<version>)
        nullif(
            {{ dbt.split_part(dbt.split_part(json_text('payload', 'versionedLeadGenFormUrn'), "','", 2), "')'", 1) }},
            ''
        ) as form_version,
        nullif({{ json_text('payload', ['form', 'name']) }}, '') as form_name,

        -- attribution
        {{ linkedin_urn_id(json_text('payload', ['owner', 'sponsoredAccount']), 'sponsoredAccount') }} as sponsored_account_id,
        {{ linkedin_urn_id(json_text('payload', ['leadMetadata', 'sponsoredLeadMetadata', 'campaign']), 'sponsoredCampaign') }} as campaign_id,
        {{ linkedin_urn_id(json_text('payload', ['associatedEntity', 'associatedCreative']), 'sponsoredCreative') }} as creative_id,
        nullif({{ json_text('payload', 'leadType') }}, '') as lead_type,

        -- submission (test leads read as the parser reads testLead: macros/lenient_casts.sql)
        coalesce({{ vendor_flag(json_text('payload', 'testLead')) }}, false) as is_test,
        {{ vendor_flag(json_text('payload', ['formResponse', 'consentResponses', 0, 'accepted'])) }} as has_consented,

        -- timestamps: submittedAt is epoch milliseconds, read by the connector when it landed the
        -- response (its cursor); a response is never edited, so it is also its last change
        record_updated_at as submitted_at,
        record_updated_at,
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from latest

)

select * from renamed
