{#- Incremental by record (dbt_project.yml, macros/raw_versions.sql): a build re-stages the
    records with a newly loaded raw version. -#}

with

source as (

    {{ raw_versions_to_stage(source('typeform', 'responses')) }}

),

latest as (

    -- raw keeps one row per version of a record: the newest one wins
    {{ newest_raw_versions('source') }}

),

renamed as (

    select
        -- ids
        record_id as response_id,
        {{ dbt.concat(["'typeform:responses:'", "record_id"]) }} as record_key,
        nullif({{ json_text('payload', 'token') }}, '') as response_token,
        -- a response does not name its form: the connector pulls per form and records it
        _partition as form_id,

        -- attribution (the form's hidden fields)
        nullif({{ json_text('payload', ['hidden', 'utm_source']) }}, '') as utm_source,
        nullif({{ json_text('payload', ['hidden', 'utm_medium']) }}, '') as utm_medium,
        nullif({{ json_text('payload', ['hidden', 'utm_campaign']) }}, '') as utm_campaign,
        nullif({{ json_text('payload', ['hidden', 'utm_content']) }}, '') as utm_content,
        nullif({{ json_text('payload', ['hidden', 'utm_term']) }}, '') as utm_term,
        nullif({{ json_text('payload', ['metadata', 'referer']) }}, '') as referer_url,

        -- timestamps
        {{ iso_to_utc_timestamp(json_text('payload', 'landed_at')) }} as landed_at,
        {{ iso_to_utc_timestamp(json_text('payload', 'submitted_at')) }} as submitted_at,
        record_updated_at,
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from latest

)

select * from renamed
