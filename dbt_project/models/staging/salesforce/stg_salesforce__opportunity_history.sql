with

source as (

    select * from {{ source('salesforce', 'opportunity_history') }}

),

latest as (

    -- Salesforce never edits a history row, but deletes it with its opportunity (IsDeleted): that
    -- is a newer version of the row
    {{ newest_raw_versions('source') }}

),

renamed as (

    select
        -- ids
        record_id as opportunity_history_id,
        nullif({{ json_text('payload', 'OpportunityId') }}, '') as opportunity_id,
        nullif({{ json_text('payload', 'CreatedById') }}, '') as created_by_user_id,

        -- the opportunity as of this row
        nullif({{ json_text('payload', 'StageName') }}, '') as stage_name,
        nullif({{ json_text('payload', 'ForecastCategory') }}, '') as forecast_category,
        {{ dbt.safe_cast(json_text('payload', 'Amount'), 'numeric(18,2)') }} as amount,
        {{ dbt.safe_cast(json_text('payload', 'Probability'), 'numeric(18,2)') }} as probability_percent,
        {{ dbt.safe_cast(json_text('payload', 'ExpectedRevenue'), 'numeric(18,2)') }} as expected_revenue,
        {{ dbt.safe_cast(json_text('payload', 'CloseDate'), 'date') }} as close_date,

        -- state
        coalesce({{ vendor_flag(json_text('payload', 'IsDeleted')) }}, false) as is_deleted,

        -- timestamps
        {{ iso_to_utc_timestamp(json_text('payload', 'CreatedDate')) }} as created_at,
        record_updated_at,
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from latest

)

select * from renamed
