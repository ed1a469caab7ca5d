with

source as (

    select * from {{ source('pipedrive', 'deals') }}

),

latest as (

    -- raw keeps one row per version of a record: the newest one wins
    {{ newest_raw_versions('source') }}

),

typed as (

    select
        *,
        nullif({{ json_text('payload', 'status') }}, '') as status_value

    from latest

),

renamed as (

    select
        -- ids (numbers, or v1's objects: macros/pipedrive.sql)
        record_id as deal_id,
        {{ pipedrive_id('person_id') }} as person_id,
        {{ pipedrive_id('org_id') }} as organization_id,
        {{ pipedrive_id('owner_id') }} as owner_id,
        {{ pipedrive_id('creator_user_id') }} as creator_user_id,
        nullif({{ json_text('payload', 'pipeline_id') }}, '') as pipeline_id,
        nullif({{ json_text('payload', 'stage_id') }}, '') as stage_id,

        -- deal
        nullif({{ json_text('payload', 'title') }}, '') as deal_title,
        status_value as deal_status,
        coalesce(status_value in ('won', 'lost'), false) as is_closed,
        coalesce(status_value = 'won', false) as is_won,
        {{ dbt.safe_cast(json_text('payload', 'value'), 'numeric(18,2)') }} as amount,
        upper(nullif({{ json_text('payload', 'currency') }}, '')) as currency_code,
        {{ dbt.safe_cast(json_text('payload', 'probability'), 'numeric(18,2)') }} as probability_percent,
        nullif({{ json_text('payload', 'lost_reason') }}, '') as lost_reason,

        -- state: v2 lists deleted deals only when asked (status=deleted)
        coalesce({{ vendor_flag(json_text('payload', 'is_deleted')) }}, false)
            or coalesce(status_value = 'deleted', false) as is_deleted,

        -- timestamps
        {{ iso_to_utc_timestamp(json_text('payload', 'add_time')) }} as created_at,
        {{ iso_to_utc_timestamp(json_text('payload', 'update_time')) }} as updated_at,
        {{ iso_to_utc_timestamp(json_text('payload', 'stage_change_time')) }} as stage_changed_at,
        {{ iso_to_utc_timestamp(json_text('payload', 'close_time')) }} as closed_at,
        {{ iso_to_utc_timestamp(json_text('payload', 'won_time')) }} as won_at,
        {{ iso_to_utc_timestamp(json_text('payload', 'lost_time')) }} as lost_at,
        {{ dbt.safe_cast(json_text('payload', 'expected_close_date'), 'date') }} as expected_close_date,
        record_updated_at,
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from typed

)

select * from renamed
