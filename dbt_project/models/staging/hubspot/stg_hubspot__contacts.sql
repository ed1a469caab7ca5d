{#- Incremental by record (dbt_project.yml, macros/raw_versions.sql): a build re-stages the
    records with a newly loaded raw version. -#}

with

source as (

    {{ raw_versions_to_stage(source('hubspot', 'contacts')) }}

),

latest as (

    -- raw keeps one row per version of a record: the newest one wins
    {{ newest_raw_versions('source') }}

),

renamed as (

    select
        -- ids
        record_id as contact_id,
        {{ dbt.concat(["'hubspot:contacts:'", "record_id"]) }} as record_key,
        {{ hubspot_property('hubspot_owner_id') }} as owner_id,
        {{ hubspot_property('leadflow_lead_id') }} as leadflow_lead_id,

        -- lifecycle
        {{ hubspot_property('lifecyclestage') }} as lifecycle_stage,
        {{ hubspot_property('hs_lead_status') }} as lead_status,
        {{ iso_to_utc_timestamp(hubspot_property('hs_lifecyclestage_lead_date')) }} as became_lead_at,
        {{ iso_to_utc_timestamp(hubspot_property('hs_lifecyclestage_marketingqualifiedlead_date')) }} as became_mql_at,
        {{ iso_to_utc_timestamp(hubspot_property('hs_lifecyclestage_salesqualifiedlead_date')) }} as became_sql_at,
        {{ iso_to_utc_timestamp(hubspot_property('hs_lifecyclestage_opportunity_date')) }} as became_opportunity_at,
        {{ iso_to_utc_timestamp(hubspot_property('hs_lifecyclestage_customer_date')) }} as became_customer_at,

        -- ownership and first touch (HubSpot sets these; the SLA check reads them)
        {{ iso_to_utc_timestamp(hubspot_property('hubspot_owner_assigneddate')) }} as owner_assigned_at,
        {{ iso_to_utc_timestamp(hubspot_property('hs_sa_first_engagement_date')) }} as first_engagement_at,
        {{ hubspot_property('hs_sa_first_engagement_object_type') }} as first_engagement_type,

        -- sales activity (HubSpot's "Number of sales activities", "Last contacted", "Last activity date")
        {{ dbt.safe_cast(hubspot_property('num_contacted_notes'), dbt.type_int()) }} as count_sales_touches,
        {{ iso_to_utc_timestamp(hubspot_property('notes_last_contacted')) }} as last_contacted_at,
        {{ iso_to_utc_timestamp(hubspot_property('notes_last_updated')) }} as last_activity_at,

        -- firmographics, as the contact holds them (normalized ones are in stg_leadflow__lead_records)
        {{ hubspot_property('industry') }} as industry,
        {{ hubspot_property('numemployees') }} as employee_range,

        -- email status
        {{ hubspot_property('hs_email_optout') }} = 'true' as is_unsubscribed,
        {{ hubspot_property('hs_email_hard_bounce_reason_enum') }} as hard_bounce_reason,

        -- web analytics
        {{ hubspot_property('hs_analytics_source') }} as analytics_source,
        {{ dbt.safe_cast(hubspot_property('hs_analytics_num_page_views'), dbt.type_int()) }} as page_views,
        {{ iso_to_utc_timestamp(hubspot_property('hs_analytics_last_visit_timestamp')) }} as last_visit_at,
        {{ dbt.safe_cast(hubspot_property('num_conversion_events'), dbt.type_int()) }} as count_conversion_events,

        -- state
        coalesce({{ dbt.safe_cast(json_text('payload', 'archived'), dbt.type_boolean()) }}, false) as is_archived,

        -- timestamps
        {{ iso_to_utc_timestamp('coalesce(' ~ hubspot_property('createdate') ~ ', ' ~ json_text('payload', 'createdAt') ~ ')') }} as created_at,
        {{ iso_to_utc_timestamp('coalesce(' ~ hubspot_property('lastmodifieddate') ~ ', ' ~ json_text('payload', 'updatedAt') ~ ')') }} as updated_at,
        record_updated_at,
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from latest

)

select * from renamed
