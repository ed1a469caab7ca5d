{#- HubSpot contact properties only sent when the push creates the contact (operation 'upsert'):
    for an existing contact the CRM's own values win, so a rep's edit is never overwritten. -#}
{%- set identity_properties = [
    ('email', 'email'),
    ('firstname', 'first_name'),
    ('lastname', 'last_name'),
    ('phone', 'phone_e164'),
    ('company', 'company'),
    ('jobtitle', 'job_title'),
    ('country', 'country_code'),
] -%}

with

leads as (

    select * from {{ ref('dim_leads') }}

),

push_state as (

    select * from {{ ref('stg_leadflow__push_state') }}

),

nurture_latest as (

    -- the lead's latest nurture membership (routing/nurture.py, routing/recycle.py)
    select *
    from (
        select
            lead_id,
            nurture_track,
            is_open,
            row_number() over (partition by lead_id order by entered_at desc) as membership_rank
        from {{ ref('stg_leadflow__nurture_memberships') }}
    ) as ranked
    where membership_rank = 1

),

recycling_latest as (

    -- the lead's latest recycle action (routing/recycle.py)
    select *
    from (
        select
            lead_id,
            recycle_action,
            crm_lead_status,
            row_number() over (partition by lead_id order by recycled_at desc) as action_rank
        from {{ ref('stg_leadflow__lead_recycling') }}
    ) as ranked
    where action_rank = 1

),

live_contacts as (

    -- the lead's HubSpot contact: its first, among those HubSpot still has (not archived, not
    -- merged into another: a merge makes a new contact that lists the old ids)
    {{ crm_target_records(
        'hubspot', ['contacts'],
        'coalesce(records.record_created_at, records.first_seen_at), records.record_id'
    ) }}

),

pushed_contacts as (

    -- contacts a previous push created: updated by id until the pull brings them back
    select
        lead_id,
        destination_record_id as contact_id

    from push_state
    where destination = '{{ var("hubspot_destination") }}'
        and destination_record_id is not null

),

targets as (

    select
        leads.*,
        coalesce(live_contacts.record_id, pushed_contacts.contact_id) as target_contact_id,
        nurture_latest.nurture_track,
        nurture_latest.is_open as is_in_nurture,
        recycling_latest.recycle_action,
        recycling_latest.crm_lead_status

    from leads
    left join live_contacts
        on live_contacts.lead_id = leads.lead_id
        and live_contacts.record_rank = 1
    left join pushed_contacts
        on pushed_contacts.lead_id = leads.lead_id
    left join nurture_latest
        on nurture_latest.lead_id = leads.lead_id
    left join recycling_latest
        on recycling_latest.lead_id = leads.lead_id
    -- only scored leads have anything to push
    where leads.score is not null

),

payloads as (

    select
        -- request
        cast(lead_id as varchar) as lead_id,
        cast(case when target_contact_id is not null then 'update' else 'upsert' end as varchar) as operation,
        cast(target_contact_id as varchar) as object_id,
        cast(
            case
                when target_contact_id is not null then null
                when email is not null then 'email'
                else 'leadflow_lead_id'
            end as varchar
        ) as id_property,
        cast(
            case
                when target_contact_id is not null then null
                when email is not null then email
                else lead_id
            end as varchar
        ) as id_value,

        -- identity properties: new contacts only
        {% for property, column in identity_properties -%}
        cast(case when target_contact_id is null then {{ column }} end as varchar) as {{ property }},
        {% endfor %}
        -- LeadFlow properties: always
        -- a recycled lead's owner is released: '' clears it in HubSpot (null would leave it)
        cast(
            case
                when owner_id is null and recycle_action = 'recycled' then ''
                else owner_id
            end as varchar
        ) as hubspot_owner_id,
        cast(lead_id as varchar) as leadflow_lead_id,
        cast(score as varchar) as leadflow_score,
        cast(grade as varchar) as leadflow_grade,
        cast(temperature as varchar) as leadflow_temperature,
        cast(score_reasons as varchar) as leadflow_reasons,
        -- the open track; '' clears it once the lead left nurture; null: never nurtured
        cast(
            case
                when is_in_nurture then nurture_track
                when nurture_track is not null then ''
            end as varchar
        ) as leadflow_nurture_track,
        cast(model_version as varchar) as leadflow_model_version,
        -- set by the recycle flow (BAD_TIMING / UNQUALIFIED); otherwise the CRM's own value stands
        cast(crm_lead_status as varchar) as hs_lead_status

    from targets

)

select * from payloads
