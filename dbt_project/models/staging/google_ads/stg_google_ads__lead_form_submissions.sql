{#- Incremental by record (dbt_project.yml, macros/raw_versions.sql): a build re-stages the
    records with a newly loaded raw version. -#}

with

source as (

    {{ raw_versions_to_stage(source('google_ads', 'lead_form_submissions')) }}

),

latest as (

    -- raw keeps one row per version of a record: the newest one wins
    {{ newest_raw_versions('source') }}

),

renamed as (

    select
        -- ids (Google's int64 ids kept as text: they are names, not numbers)
        record_id as google_ads_lead_id,
        {{ dbt.concat(["'google_ads:lead_form_submissions:'", "record_id"]) }} as record_key,
        coalesce(nullif({{ json_text('payload', 'form_id') }}, ''), _partition) as form_id,

        -- attribution
        nullif({{ json_text('payload', 'campaign_id') }}, '') as campaign_id,
        nullif({{ json_text('payload', 'adgroup_id') }}, '') as ad_group_id,
        nullif({{ json_text('payload', 'creative_id') }}, '') as creative_id,
        nullif({{ json_text('payload', 'asset_group_id') }}, '') as asset_group_id,
        nullif({{ json_text('payload', 'gcl_id') }}, '') as gclid,

        -- delivery
        nullif({{ json_text('payload', 'api_version') }}, '') as api_version,
        nullif({{ json_text('payload', 'lead_stage') }}, '') as lead_stage,
        coalesce({{ vendor_flag(json_text('payload', 'is_test')) }}, false) as is_test,

        -- timestamps
        {{ iso_to_utc_timestamp(json_text('payload', 'lead_submit_time')) }} as submitted_at,
        {{ iso_to_utc_timestamp(json_text('payload', '_received_at')) }} as received_at,
        record_updated_at,
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from latest

)

select * from renamed
