with

source as (

    select * from {{ source('salesforce', 'opportunities') }}

),

latest as (

    -- raw keeps one row per version of a record: the newest one wins
    {{ newest_raw_versions('source') }}

),

renamed as (

    select
        -- ids
        record_id as opportunity_id,
        nullif({{ json_text('payload', 'AccountId') }}, '') as account_id,
        nullif({{ json_text('payload', 'ContactId') }}, '') as contact_id,
        nullif({{ json_text('payload', 'OwnerId') }}, '') as owner_id,

        -- opportunity
        nullif({{ json_text('payload', 'Name') }}, '') as opportunity_name,
        nullif({{ json_text('payload', 'StageName') }}, '') as stage_name,
        coalesce({{ vendor_flag(json_text('payload', 'IsClosed')) }}, false) as is_closed,
        coalesce({{ vendor_flag(json_text('payload', 'IsWon')) }}, false) as is_won,
        {{ dbt.safe_cast(json_text('payload', 'Amount'), 'numeric(18,2)') }} as amount,
        {{ dbt.safe_cast(json_text('payload', 'Probability'), 'numeric(18,2)') }} as probability_percent,
        nullif({{ json_text('payload', 'LeadSource') }}, '') as lead_source,

        -- state
        coalesce({{ vendor_flag(json_text('payload', 'IsDeleted')) }}, false) as is_deleted,

        -- timestamps
        {{ iso_to_utc_timestamp(json_text('payload', 'CreatedDate')) }} as created_at,
        {{ iso_to_utc_timestamp(json_text('payload', 'LastModifiedDate')) }} as updated_at,
        -- the expected close date while open, the actual one once closed
        {{ dbt.safe_cast(json_text('payload', 'CloseDate'), 'date') }} as close_date,
        record_updated_at,
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from latest

)

select * from renamed
