{#- Incremental by record (dbt_project.yml, macros/raw_versions.sql): a build re-stages the
    records with a newly loaded raw version. -#}

with

source as (

    {{ raw_versions_to_stage(source('meta', 'leads')) }}

),

latest as (

    -- raw keeps one row per version of a record: the newest one wins
    {{ newest_raw_versions('source') }}

),

renamed as (

    select
        -- ids
        record_id as meta_lead_id,
        {{ dbt.concat(["'meta:leads:'", "record_id"]) }} as record_key,
        coalesce(nullif({{ json_text('payload', 'form_id') }}, ''), _partition) as form_id,

        -- attribution
        nullif({{ json_text('payload', 'campaign_id') }}, '') as campaign_id,
        nullif({{ json_text('payload', 'campaign_name') }}, '') as campaign_name,
        nullif({{ json_text('payload', 'adset_id') }}, '') as adset_id,
        nullif({{ json_text('payload', 'adset_name') }}, '') as adset_name,
        nullif({{ json_text('payload', 'ad_id') }}, '') as ad_id,
        nullif({{ json_text('payload', 'ad_name') }}, '') as ad_name,
        nullif({{ json_text('payload', 'platform') }}, '') as platform,
        coalesce({{ dbt.safe_cast(json_text('payload', 'is_organic'), dbt.type_boolean()) }}, false) as is_organic,

        -- timestamps
        {{ iso_to_utc_timestamp(json_text('payload', 'created_time')) }} as created_at,
        record_updated_at,
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from latest

)

select * from renamed
