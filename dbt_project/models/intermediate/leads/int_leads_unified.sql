{#- Fields chosen per field by survivorship (var survivorship, from leadflow.yml's
    identity.survivorship; macro survivorship_order): the first non-null value by source priority
    (var source_priority), then the record whose values changed last (values_changed_at); or by recency first; or from the
    most complete record (the most identity fields filled). email_domain follows email;
    seniority and department follow job_title. The lead's time zone is its phone's zone (the
    prefix's, from ops.lead_records.phone_timezone) or else its country's main zone (the
    country_regions seed). An email flag (unsubscribed, bounced) is true when
    any of the lead's records says so: one opt-out is enough. A record's campaign is its Meta ad
    campaign, its Typeform hidden utm_campaign, its web form's utm.campaign or its Google Ads
    campaign id (the lead form webhook sends no campaign name); the first and the newest record
    give the lead's first- and last-touch source and campaign. Sales activity comes from the lead's
    HubSpot contacts: the earliest first engagement, the latest contact and activity, the most
    touches. Firmographics (enrichment/firmographics.py, ops.company_enrichment): what the provider
    knows of the company behind the lead's business email domain fills the industry and employee
    band the records leave empty (the records' own values win) and adds revenue_band and
    technologies, so scoring, routing and the marts all see the same enriched lead. -#}
{#- Incremental by lead: each row keeps input_state_hash, a fingerprint of everything the lead's
    row is derived from (its records' values and identity, the raw version of each staged source
    row joined to them, and this model's own SQL). A build re-derives exactly the leads whose
    fingerprint is new or different and deletes the rows of leads that no longer have a record
    (merged away, erased). A record's fingerprint includes when its domain's firmographics were
    fetched, so a lead is re-derived when its company is enriched. Computing the fingerprints reads every record once, without the windows
    and group-bys, which run on the changed leads only. The seeds it joins (country_regions,
    free_email_domains) are not in the fingerprint: after editing one, build with --full-refresh.
    The survivorship vars are: changing them re-derives every lead. -#}
{{
    config(
        materialized='incremental',
        incremental_strategy='delete+insert',
        unique_key='lead_id',
        on_schema_change='sync_all_columns',
        post_hook="{{ delete_rows_of_leads_without_records() }}",
    )
}}

{%- set survivor_fields = ['email', 'phone_e164', 'first_name', 'last_name', 'company', 'job_title', 'industry', 'employee_band', 'country_code'] -%}
{%- set any_true_flags = ['is_unsubscribed', 'is_bounced'] -%}
{#- the survivor orders the configured rules use: only those are computed (each is a sort) -#}
{%- set survivor_orders = [] -%}
{%- for field in survivor_fields -%}
    {%- do survivor_orders.append(survivorship_order(field)) -%}
{%- endfor -%}

with

identity as (

    select * from {{ ref('stg_leadflow__lead_identity') }}

),

records as (

    select * from {{ ref('stg_leadflow__lead_records') }}

),

hubspot_contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

country_regions as (

    select * from {{ ref('country_regions') }}

),

free_email_domains as (

    select * from {{ ref('free_email_domains') }}

),

meta_leads as (

    select * from {{ ref('stg_meta__leads') }}

),

typeform_responses as (

    select * from {{ ref('stg_typeform__responses') }}

),

webform_submissions as (

    select * from {{ ref('stg_webform__submissions') }}

),

google_ads_lead_form_submissions as (

    select * from {{ ref('stg_google_ads__lead_form_submissions') }}

),

companies as (

    -- the provider's answers that found a company (a "not found" fills nothing)
    select * from {{ ref('stg_leadflow__company_enrichment') }}
    where is_found

),

lead_records as (

    select
        identity.lead_id,
        records.record_key,
        records.source,
        records.stream,
        records.record_id,
        records.form_id,
        records.crm_owner_id,
        {% for field in survivor_fields -%}
        records.{{ field }},
        {% endfor -%}
        records.email_domain,
        records.phone_timezone,
        records.seniority,
        records.department,
        {% for flag in any_true_flags -%}
        records.{{ flag }},
        {% endfor -%}
        {{ source_priority('records.source') }} as source_priority,
        (records.source = 'hubspot' and records.stream = 'contacts') as is_hubspot_contact,
        -- a record without a source creation time counts from when LeadFlow first saw it
        coalesce(records.record_created_at, records.first_seen_at) as created_at,
        coalesce(records.record_updated_at, records.record_created_at, records.first_seen_at) as updated_at,
        records.record_updated_at,
        -- survivorship's recency: when the record's golden-record values last changed, so a
        -- version that only moves the source's modified time (our own push) ranks as before
        coalesce(records.values_changed_at, records.record_updated_at) as values_changed_at,
        -- the campaign the record came through, where its source says
        coalesce(
            meta_leads.campaign_name,
            typeform_responses.utm_campaign,
            webform_submissions.utm_campaign,
            google_ads_lead_form_submissions.campaign_id
        ) as campaign,
        -- sales activity, on HubSpot contacts only
        record_contacts.first_engagement_at,
        record_contacts.last_contacted_at,
        record_contacts.last_activity_at,
        record_contacts.count_sales_touches,
        -- what this record brings to its lead's row, for input_state_hash
        {{ state_hash(
            ['records.record_key', 'records.source', 'records.stream', 'records.record_id',
             'records.form_id', 'records.crm_owner_id', 'records.email_domain', 'records.seniority',
             'records.department', 'records.phone_timezone', 'records.record_created_at',
             'records.record_updated_at', 'records.values_changed_at',
             'records.first_seen_at', 'record_contacts.raw_id', 'meta_leads.raw_id',
             'typeform_responses.raw_id', 'webform_submissions.raw_id',
             'google_ads_lead_form_submissions.raw_id', 'record_companies.fetched_at']
            + prefixed('records.', survivor_fields + any_true_flags)
        ) }} as record_state_hash

    from identity
    inner join records
        on records.record_key = identity.record_key
    left join hubspot_contacts as record_contacts
        on record_contacts.record_key = records.record_key
    left join meta_leads
        on meta_leads.record_key = records.record_key
    left join typeform_responses
        on typeform_responses.record_key = records.record_key
    left join webform_submissions
        on webform_submissions.record_key = records.record_key
    left join google_ads_lead_form_submissions
        on google_ads_lead_form_submissions.record_key = records.record_key
    left join companies as record_companies
        on record_companies.domain = lower(records.email_domain)

),

fingerprints as (

    -- (ordered by the hashes themselves: hex text sorts alike under every collation, so DuckDB and
    -- PostgreSQL agree)
    select
        lead_id,
        {{ dbt.hash(dbt.concat([
            "'" ~ local_md5(
                model.raw_code
                ~ tojson(var('source_priority'), sort_keys=true)
                ~ tojson(var('survivorship', {}), sort_keys=true)
            ) ~ "'",
            dbt.listagg('record_state_hash', "','", 'order by record_state_hash'),
        ])) }} as input_state_hash

    from lead_records
    group by lead_id

),

leads_to_build as (

    select fingerprints.lead_id
    from fingerprints
    {%- if is_incremental() %}
    {%- if is_hash_stored_in_this('input_state_hash') %}
    left join {{ this }} as built
        on built.lead_id = fingerprints.lead_id
    where built.input_state_hash is distinct from fingerprints.input_state_hash
    {%- endif %}
    {%- endif %}

),

ranked as (

    -- Survivor orders per lead (macro survivorship_order picks one per field): the survivor of a
    -- field is its non-null value with the lowest order. No IGNORE NULLS or arg_max: a row_number()
    -- and a min() per field work on every warehouse.
    select
        lead_records.*,
        {% if 'priority_order' in survivor_orders -%}
        row_number() over (
            partition by lead_id
            order by source_priority, values_changed_at desc nulls last, record_key
        ) as priority_order,
        {% endif -%}
        {% if 'recency_order' in survivor_orders -%}
        row_number() over (
            partition by lead_id
            order by values_changed_at desc nulls last, source_priority, record_key
        ) as recency_order,
        {% endif -%}
        {% if 'completeness_order' in survivor_orders -%}
        row_number() over (
            partition by lead_id
            order by
                {% for field in survivor_fields -%}
                (case when {{ field }} is not null then 1 else 0 end){{ ' +' if not loop.last }}
                {% endfor -%} desc,
                source_priority, values_changed_at desc nulls last, record_key
        ) as completeness_order,
        {% endif -%}
        row_number() over (
            partition by lead_id
            order by created_at, source_priority, record_key
        ) as first_touch_rank,
        row_number() over (
            partition by lead_id
            order by created_at desc, source_priority, record_key
        ) as last_touch_rank,
        row_number() over (
            partition by lead_id
            order by case when form_id is null then 1 else 0 end, created_at, record_key
        ) as first_form_rank,
        row_number() over (
            partition by lead_id
            order by case when is_hubspot_contact then 0 else 1 end, created_at, record_id
        ) as hubspot_contact_rank

    from lead_records
    where lead_id in (select lead_id from leads_to_build)

),

survivors as (

    -- per lead and field, the survivor order of the record whose value wins
    select
        {% for field in survivor_fields -%}
        min(case when {{ field }} is not null then {{ survivorship_order(field) }} end) as {{ field }}_survivor,
        {% endfor -%}
        lead_id

    from ranked
    group by lead_id

),

collapsed as (

    select
        ranked.lead_id,
        {% for field in survivor_fields -%}
        max(case when {{ survivorship_order(field) }} = {{ field }}_survivor then {{ field }} end) as {{ field }},
        {% endfor -%}
        max(case when {{ survivorship_order('email') }} = email_survivor then email_domain end) as email_domain,
        max(case when {{ survivorship_order('phone_e164') }} = phone_e164_survivor then phone_timezone end) as phone_timezone,
        max(case when {{ survivorship_order('job_title') }} = job_title_survivor then seniority end) as seniority,
        max(case when {{ survivorship_order('job_title') }} = job_title_survivor then department end) as department,
        {% for flag in any_true_flags -%}
        case max(case when {{ flag }} then 1 when not {{ flag }} then 0 end)
            when 1 then true
            when 0 then false
        end as {{ flag }},
        {% endfor -%}
        min(created_at) as created_at,
        max(updated_at) as updated_at,
        count(*) as count_records,
        count(distinct source) as count_sources,
        max(case when first_touch_rank = 1 then source end) as first_touch_source,
        max(case when first_touch_rank = 1 then campaign end) as campaign,
        max(case when last_touch_rank = 1 then source end) as last_touch_source,
        max(case when last_touch_rank = 1 then campaign end) as last_touch_campaign,
        min(first_engagement_at) as first_engagement_at,
        max(last_contacted_at) as last_contacted_at,
        max(last_activity_at) as last_activity_at,
        max(count_sales_touches) as count_sales_touches,
        max(case when first_form_rank = 1 then form_id end) as first_form_id,
        max(case when hubspot_contact_rank = 1 and is_hubspot_contact then record_id end) as hubspot_contact_id,
        max(case when hubspot_contact_rank = 1 and is_hubspot_contact then crm_owner_id end) as hubspot_record_owner_id

    from ranked
    inner join survivors
        on survivors.lead_id = ranked.lead_id
    group by ranked.lead_id

),

unified as (

    select
        -- ids
        collapsed.lead_id,

        -- person
        collapsed.email,
        collapsed.email_domain,
        case
            when collapsed.email_domain is null then null
            when free_email_domains.domain is not null then true
            else false
        end as is_free_email,
        collapsed.phone_e164,
        collapsed.first_name,
        collapsed.last_name,

        -- firmographics and geography
        collapsed.company,
        collapsed.job_title,
        collapsed.seniority,
        collapsed.department,
        coalesce(collapsed.industry, companies.industry) as industry,
        coalesce(collapsed.employee_band, companies.employee_band) as employee_band,
        companies.revenue_band,
        companies.technologies,
        companies.domain is not null as is_company_enriched,
        collapsed.country_code,
        country_regions.region,
        -- where the lead is in time: the phone's zone, else the country's main zone
        coalesce(collapsed.phone_timezone, country_regions.timezone) as timezone,
        case
            when collapsed.phone_timezone is not null then 'phone'
            when country_regions.timezone is not null then 'country'
        end as timezone_source,

        -- email status
        collapsed.is_unsubscribed,
        collapsed.is_bounced,

        -- provenance
        collapsed.count_records,
        collapsed.count_sources,
        collapsed.first_touch_source,
        collapsed.first_form_id,
        collapsed.campaign,
        collapsed.last_touch_source,
        collapsed.last_touch_campaign,

        -- CRM (the lead's oldest HubSpot contact)
        collapsed.hubspot_contact_id,
        coalesce(hubspot_contacts.owner_id, collapsed.hubspot_record_owner_id) as crm_owner_id,
        hubspot_contacts.lifecycle_stage,
        hubspot_contacts.became_lead_at,
        hubspot_contacts.became_mql_at,
        hubspot_contacts.became_sql_at,
        hubspot_contacts.became_opportunity_at,
        hubspot_contacts.became_customer_at,
        hubspot_contacts.page_views,
        hubspot_contacts.last_visit_at,

        -- sales activity (over all the lead's HubSpot contacts)
        collapsed.first_engagement_at,
        collapsed.last_contacted_at,
        collapsed.last_activity_at,
        collapsed.count_sales_touches,

        -- timestamps
        collapsed.created_at,
        collapsed.updated_at,

        -- change detection (incremental builds)
        fingerprints.input_state_hash

    from collapsed
    inner join fingerprints
        on fingerprints.lead_id = collapsed.lead_id
    left join hubspot_contacts
        on hubspot_contacts.contact_id = collapsed.hubspot_contact_id
    left join country_regions
        on country_regions.country_code = collapsed.country_code
    left join free_email_domains
        on free_email_domains.domain = collapsed.email_domain
    left join companies
        on companies.domain = lower(collapsed.email_domain)
        and free_email_domains.domain is null

)

select * from unified
