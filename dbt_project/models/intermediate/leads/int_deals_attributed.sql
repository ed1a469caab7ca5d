{#- Each deal of every CRM credited to one LeadFlow lead, one row per deal (deal_key):
    - HubSpot: the lead of its associated contact, or, when several associated contacts are known
      leads, of the contact with the lowest id (HubSpot ids grow with time, so the oldest contact).
    - Salesforce: the lead of the opportunity's primary contact (ContactId); failing that, of a Lead
      Salesforce converted into that contact (ConvertedContactId), the oldest if several were. The
      pull does not select ConvertedOpportunityId, so a converted Lead is found through its contact.
    - Pipedrive: the lead of the deal's person.
    A deal none of whose contacts is a known lead keeps a null lead_id and still counts in pipeline
    totals. Deleted deals stay, with is_archived set, as HubSpot's archived ones do. -#}

with

hubspot_deals as (

    select * from {{ ref('stg_hubspot__deals') }}

),

hubspot_deal_contacts as (

    select * from {{ ref('stg_hubspot__deal_contacts') }}

),

salesforce_opportunities as (

    select * from {{ ref('stg_salesforce__opportunities') }}

),

salesforce_leads as (

    select * from {{ ref('stg_salesforce__leads') }}

),

pipedrive_deals as (

    select * from {{ ref('stg_pipedrive__deals') }}

),

identity as (

    select * from {{ ref('stg_leadflow__lead_identity') }}

),

-- HubSpot ------------------------------------------------------------------------------------

hubspot_contact_leads as (

    select
        hubspot_deal_contacts.deal_id,
        hubspot_deal_contacts.hubspot_contact_id,
        identity.lead_id,
        -- ids are numeric strings: shorter is lower
        row_number() over (
            partition by hubspot_deal_contacts.deal_id
            order by {{ dbt.length('hubspot_deal_contacts.hubspot_contact_id') }}, hubspot_deal_contacts.hubspot_contact_id
        ) as contact_rank

    from hubspot_deal_contacts
    inner join identity
        on identity.record_key = {{ dbt.concat(["'hubspot:contacts:'", 'hubspot_deal_contacts.hubspot_contact_id']) }}

),

hubspot_contact_counts as (

    select
        deal_id,
        count(*) as count_contacts

    from hubspot_deal_contacts
    group by deal_id

),

hubspot_attributed as (

    select
        'hubspot' as crm,
        hubspot_deals.deal_id,
        hubspot_deals.owner_id,
        hubspot_deals.deal_name,
        hubspot_deals.pipeline,
        hubspot_deals.deal_stage,
        hubspot_deals.is_closed,
        hubspot_deals.is_won,
        hubspot_deals.amount,
        hubspot_deals.currency_code,
        hubspot_deals.is_archived,
        hubspot_deals.created_at,
        hubspot_deals.closed_at,
        hubspot_deals.expected_close_at,
        hubspot_deals.updated_at,
        hubspot_deals.record_updated_at,
        hubspot_deals.loaded_at,
        hubspot_deals.raw_id,
        hubspot_contact_leads.lead_id,
        hubspot_contact_leads.hubspot_contact_id,
        hubspot_contact_leads.hubspot_contact_id as crm_contact_id,
        coalesce(hubspot_contact_counts.count_contacts, 0) as count_contacts

    from hubspot_deals
    left join hubspot_contact_leads
        on hubspot_contact_leads.deal_id = hubspot_deals.deal_id
        and hubspot_contact_leads.contact_rank = 1
    left join hubspot_contact_counts
        on hubspot_contact_counts.deal_id = hubspot_deals.deal_id

),

-- Salesforce ---------------------------------------------------------------------------------

salesforce_converted_leads as (

    -- the Leads converted into each contact that are known leads, oldest first
    select
        salesforce_leads.converted_contact_id,
        identity.lead_id,
        row_number() over (
            partition by salesforce_leads.converted_contact_id
            order by salesforce_leads.created_at, salesforce_leads.lead_id
        ) as converted_rank

    from salesforce_leads
    inner join identity
        on identity.record_key = salesforce_leads.record_key
    where salesforce_leads.converted_contact_id is not null

),

salesforce_attributed as (

    select
        'salesforce' as crm,
        salesforce_opportunities.opportunity_id as deal_id,
        salesforce_opportunities.owner_id,
        salesforce_opportunities.opportunity_name as deal_name,
        cast(null as {{ dbt.type_string() }}) as pipeline,
        salesforce_opportunities.stage_name as deal_stage,
        salesforce_opportunities.is_closed,
        salesforce_opportunities.is_won,
        salesforce_opportunities.amount,
        -- staging has no CurrencyIsoCode (single-currency orgs have none): the org's currency
        cast(null as {{ dbt.type_string() }}) as currency_code,
        salesforce_opportunities.is_deleted as is_archived,
        salesforce_opportunities.created_at,
        -- CloseDate is the expected close date while open, the actual one once closed (a date)
        case
            when salesforce_opportunities.is_closed
                then cast(salesforce_opportunities.close_date as {{ dbt.type_timestamp() }})
        end as closed_at,
        case
            when not salesforce_opportunities.is_closed
                then cast(salesforce_opportunities.close_date as {{ dbt.type_timestamp() }})
        end as expected_close_at,
        salesforce_opportunities.updated_at,
        salesforce_opportunities.record_updated_at,
        salesforce_opportunities.loaded_at,
        salesforce_opportunities.raw_id,
        coalesce(contact_identity.lead_id, salesforce_converted_leads.lead_id) as lead_id,
        cast(null as {{ dbt.type_string() }}) as hubspot_contact_id,
        case
            when coalesce(contact_identity.lead_id, salesforce_converted_leads.lead_id) is not null
                then salesforce_opportunities.contact_id
        end as crm_contact_id,
        case when salesforce_opportunities.contact_id is null then 0 else 1 end as count_contacts

    from salesforce_opportunities
    left join identity as contact_identity
        on contact_identity.record_key = {{ dbt.concat(["'salesforce:contacts:'", 'salesforce_opportunities.contact_id']) }}
    left join salesforce_converted_leads
        on salesforce_converted_leads.converted_contact_id = salesforce_opportunities.contact_id
        and salesforce_converted_leads.converted_rank = 1

),

-- Pipedrive ----------------------------------------------------------------------------------

pipedrive_attributed as (

    select
        'pipedrive' as crm,
        pipedrive_deals.deal_id,
        pipedrive_deals.owner_id,
        pipedrive_deals.deal_title as deal_name,
        pipedrive_deals.pipeline_id as pipeline,
        pipedrive_deals.stage_id as deal_stage,
        pipedrive_deals.is_closed,
        pipedrive_deals.is_won,
        pipedrive_deals.amount,
        pipedrive_deals.currency_code,
        pipedrive_deals.is_deleted as is_archived,
        pipedrive_deals.created_at,
        case
            when pipedrive_deals.is_closed
                then coalesce(pipedrive_deals.closed_at, pipedrive_deals.won_at, pipedrive_deals.lost_at)
        end as closed_at,
        case
            when not pipedrive_deals.is_closed
                then cast(pipedrive_deals.expected_close_date as {{ dbt.type_timestamp() }})
        end as expected_close_at,
        pipedrive_deals.updated_at,
        pipedrive_deals.record_updated_at,
        pipedrive_deals.loaded_at,
        pipedrive_deals.raw_id,
        identity.lead_id,
        cast(null as {{ dbt.type_string() }}) as hubspot_contact_id,
        case when identity.lead_id is not null then pipedrive_deals.person_id end as crm_contact_id,
        case when pipedrive_deals.person_id is null then 0 else 1 end as count_contacts

    from pipedrive_deals
    left join identity
        on identity.record_key = {{ dbt.concat(["'pipedrive:persons:'", 'pipedrive_deals.person_id']) }}

),

unioned as (

    select * from hubspot_attributed
    union all
    select * from salesforce_attributed
    union all
    select * from pipedrive_attributed

),

final as (

    select
        {{ dbt.concat(['crm', "':'", 'deal_id']) }} as deal_key,
        unioned.*

    from unioned

)

select * from final
