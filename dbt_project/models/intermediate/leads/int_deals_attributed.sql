{#- Each deal credited to one LeadFlow lead: the lead of its associated contact, or, when several
    associated contacts are known leads, of the contact with the lowest id (HubSpot ids grow with
    time, so the oldest contact). A deal none of whose contacts is a known lead keeps a null lead_id
    and still counts in pipeline totals. -#}

with

deals as (

    select * from {{ ref('stg_hubspot__deals') }}

),

deal_contacts as (

    select * from {{ ref('stg_hubspot__deal_contacts') }}

),

identity as (

    select * from {{ ref('stg_leadflow__lead_identity') }}

),

contact_leads as (

    select
        deal_contacts.deal_id,
        deal_contacts.hubspot_contact_id,
        identity.lead_id,
        -- ids are numeric strings: shorter is lower
        row_number() over (
            partition by deal_contacts.deal_id
            order by {{ dbt.length('deal_contacts.hubspot_contact_id') }}, deal_contacts.hubspot_contact_id
        ) as contact_rank

    from deal_contacts
    inner join identity
        on identity.record_key = {{ dbt.concat(["'hubspot:contacts:'", 'deal_contacts.hubspot_contact_id']) }}

),

contact_counts as (

    select
        deal_id,
        count(*) as count_contacts

    from deal_contacts
    group by deal_id

),

attributed as (

    select
        deals.*,
        contact_leads.lead_id,
        contact_leads.hubspot_contact_id,
        coalesce(contact_counts.count_contacts, 0) as count_contacts

    from deals
    left join contact_leads
        on contact_leads.deal_id = deals.deal_id
        and contact_leads.contact_rank = 1
    left join contact_counts
        on contact_counts.deal_id = deals.deal_id

)

select * from attributed
