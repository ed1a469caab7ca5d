with

companies as (

    select * from {{ ref('stg_hubspot__companies') }}

),

owners as (

    select * from {{ ref('stg_hubspot__owners') }}

),

lead_accounts as (

    select * from {{ ref('stg_leadflow__lead_accounts') }}

),

matched_leads as (

    -- the leads dedupe/accounts.py matched to each account, by the kind of rule that matched them
    select
        account_id,
        count(*) as count_leads,
        sum(case when match_rule in ('domain_and_name', 'domain') then 1 else 0 end) as count_leads_by_domain,
        sum(case when match_rule in ('company_name', 'company_acronym') then 1 else 0 end) as count_leads_by_name,
        sum(case when match_rule = 'phone' then 1 else 0 end) as count_leads_by_phone,
        sum(case when count_candidates > 1 then 1 else 0 end) as count_leads_tie_broken,
        max(matched_at) as last_matched_at

    from lead_accounts
    where has_account
    group by account_id

),

final as (

    select
        -- ids
        companies.company_id as account_id,
        'hubspot' as account_source,

        -- account
        companies.company_name as account_name,
        companies.domain,
        companies.website,
        companies.additional_domains,
        companies.country,
        companies.industry,
        companies.count_employees,

        -- owner
        companies.owner_id,
        owners.email as owner_email,
        companies.owner_id is not null and not coalesce(owners.is_archived, false) as has_active_owner,

        -- leads
        coalesce(companies.count_contacts, 0) as count_crm_contacts,
        coalesce(matched_leads.count_leads, 0) as count_leads,
        coalesce(matched_leads.count_leads_by_domain, 0) as count_leads_by_domain,
        coalesce(matched_leads.count_leads_by_name, 0) as count_leads_by_name,
        coalesce(matched_leads.count_leads_by_phone, 0) as count_leads_by_phone,
        coalesce(matched_leads.count_leads_tie_broken, 0) as count_leads_tie_broken,

        -- timestamps
        companies.created_at,
        companies.updated_at,
        companies.last_activity_at,
        matched_leads.last_matched_at

    from companies
    left join owners
        on owners.owner_id = companies.owner_id
    left join matched_leads
        on matched_leads.account_id = companies.company_id
    where not companies.is_archived

)

select * from final
