with

source as (

    select * from {{ source('salesforce', 'contacts') }}

),

latest as (

    -- raw keeps one row per version of a record: the newest one wins (a deletion or a merge is a
    -- version of its own, with IsDeleted set)
    {{ newest_raw_versions('source') }}

),

renamed as (

    select
        -- ids
        record_id as contact_id,
        {{ dbt.concat(["'salesforce:contacts:'", "record_id"]) }} as record_key,
        nullif({{ json_text('payload', 'OwnerId') }}, '') as owner_id,
        nullif({{ json_text('payload', 'AccountId') }}, '') as account_id,
        nullif({{ json_text('payload', 'MasterRecordId') }}, '') as master_record_id,
        nullif({{ json_text('payload', 'LeadFlow_Lead_Id__c') }}, '') as leadflow_lead_id,

        -- contact
        nullif({{ json_text('payload', ['Account', 'Name']) }}, '') as account_name,
        nullif({{ json_text('payload', 'LeadSource') }}, '') as lead_source,
        nullif({{ json_text('payload', 'MailingCity') }}, '') as mailing_city,

        -- what LeadFlow last wrote back
        {{ dbt.safe_cast(json_text('payload', 'LeadFlow_Score__c'), 'numeric(18,2)') }} as leadflow_score,
        nullif({{ json_text('payload', 'LeadFlow_Grade__c') }}, '') as leadflow_grade,

        -- state (yes/no fields read as the parser reads them: macros/lenient_casts.sql)
        coalesce({{ vendor_flag(json_text('payload', 'IsDeleted')) }}, false) as is_deleted,
        nullif({{ json_text('payload', 'MasterRecordId') }}, '') is not null as is_merged,
        {{ vendor_flag(json_text('payload', 'HasOptedOutOfEmail')) }} as is_unsubscribed,
        -- IsEmailBounced, else whether a bounce reason is set (connectors/salesforce `_bounced`)
        coalesce(
            {{ vendor_flag(json_text('payload', 'IsEmailBounced')) }},
            nullif({{ json_text('payload', 'EmailBouncedReason') }}, '') is not null
        ) as is_bounced,

        -- timestamps
        {{ iso_to_utc_timestamp(json_text('payload', 'CreatedDate')) }} as created_at,
        {{ iso_to_utc_timestamp(json_text('payload', 'LastModifiedDate')) }} as updated_at,
        {{ iso_to_utc_timestamp(json_text('payload', 'EmailBouncedDate')) }} as email_bounced_at,
        record_updated_at,
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from latest

)

select * from renamed
