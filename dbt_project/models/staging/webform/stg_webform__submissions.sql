{#- Incremental by record (dbt_project.yml, macros/raw_versions.sql): a build re-stages the
    records with a newly loaded raw version. -#}

with

source as (

    {{ raw_versions_to_stage(source('webform', 'submissions')) }}

),

latest as (

    -- raw keeps one row per version of a record: the newest one wins
    {{ newest_raw_versions('source') }}

),

renamed as (

    select
        -- ids
        record_id as submission_id,
        {{ dbt.concat(["'webform:submissions:'", "record_id"]) }} as record_key,
        coalesce(nullif({{ json_text('payload', 'form_id') }}, ''), _partition) as form_id,

        -- attribution (the page the form was on and its UTM parameters)
        nullif({{ json_text('payload', 'page_url') }}, '') as page_url,
        nullif({{ json_text('payload', ['utm', 'source']) }}, '') as utm_source,
        nullif({{ json_text('payload', ['utm', 'medium']) }}, '') as utm_medium,
        nullif({{ json_text('payload', ['utm', 'campaign']) }}, '') as utm_campaign,

        -- consent
        {{ vendor_flag(json_text('payload', ['consent', 'marketing'])) }} as has_marketing_consent,

        -- timestamps
        {{ iso_to_utc_timestamp(json_text('payload', 'submitted_at')) }} as submitted_at,
        {{ iso_to_utc_timestamp(json_text('payload', '_received_at')) }} as received_at,
        record_updated_at,
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from latest

)

select * from renamed
