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

form_submissions as (

    -- each submitted form counts once, as the intent event its form is configured as
    select
        identity.lead_id,
        records.intent_event as event,
        coalesce(records.record_created_at, records.first_seen_at) as occurred_at,
        1 as quantity,
        records.source,
        records.record_key

    from records
    inner join identity
        on identity.record_key = records.record_key
    where records.intent_event is not null

),

page_views as (

    -- HubSpot only keeps a running count of page views and the time of the last visit: one event
    -- per contact, with quantity = the count, at the last visit; a contact that gives no visit or
    -- update time counts from its creation, or from when LeadFlow first saw it
    select
        identity.lead_id,
        'page_view' as event,
        coalesce(
            hubspot_contacts.last_visit_at,
            hubspot_contacts.updated_at,
            hubspot_contacts.record_updated_at,
            hubspot_contacts.created_at,
            records.record_created_at,
            records.first_seen_at
        ) as occurred_at,
        hubspot_contacts.page_views as quantity,
        'hubspot' as source,
        hubspot_contacts.record_key

    from hubspot_contacts
    inner join identity
        on identity.record_key = hubspot_contacts.record_key
    inner join records
        on records.record_key = hubspot_contacts.record_key
    where hubspot_contacts.page_views > 0

),

unioned as (

    select * from form_submissions
    union all
    select * from page_views

),

final as (

    select
        {{ dbt.concat(['record_key', "':'", 'event']) }} as event_id,
        lead_id,
        event,
        occurred_at,
        quantity,
        source,
        record_key

    from unioned

)

select * from final
