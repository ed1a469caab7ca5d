with

source as (

    select * from {{ source('leadflow', 'lead_records') }}

),

renamed as (

    select
        -- ids
        record_key,
        source,
        stream,
        record_id,
        _raw_id as raw_id,
        crm_contact_id,
        crm_owner_id,
        leadflow_lead_id,
        crm_merged_ids,  -- ';'-separated ids the CRM merged into this record (HubSpot)
        form_id,

        -- person (normalized by enrichment/)
        email,
        email_domain,
        is_free_email,
        phone_e164,
        phone_timezone,
        first_name,
        last_name,

        -- firmographics and geography (seniority and department are read from the job title)
        company,
        job_title,
        seniority,
        department,
        industry,
        employee_band,
        country_code,

        -- email status
        is_unsubscribed,
        is_bounced,

        -- intent
        intent_event,

        -- timestamps
        record_created_at,
        record_updated_at,
        -- when the source last changed a golden-record value (survivorship's recency)
        coalesce(values_changed_at, record_updated_at) as values_changed_at,
        first_seen_at,

        -- lineage
        run_id

    from source

)

select * from renamed
