{#- What the Pipedrive push (connectors/pipedrive push_persons) writes for each scored lead that
    has a person in Pipedrive: its most recently changed one, by id; and the person's open Leads
    Inbox items (inbox_lead_ids, 'id;id' in id order), which get the same owner. Pipedrive is
    update only: LeadFlow does not create persons there. -#}

with

leads as (

    select * from {{ ref('dim_leads') }}
    where score is not null

),

persons as (

    {{ crm_target_records(
        'pipedrive', ['persons'], 'records.record_updated_at desc nulls last, records.record_id'
    ) }}

),

users as (

    {{ crm_users_by_email('stg_pipedrive__users') }}

),

inbox as (

    -- a person's Leads Inbox items still being worked (archived ones are out of the inbox)
    select
        person_id,
        {{ dbt.listagg('lead_id', "';'", 'order by lead_id') }} as inbox_lead_ids
    from {{ ref('stg_pipedrive__leads') }}
    where not is_archived
        and person_id is not null
    group by person_id

),

payloads as (

    select
        -- request
        cast(leads.lead_id as {{ dbt.type_string() }}) as lead_id,
        cast('update' as {{ dbt.type_string() }}) as operation,
        cast(persons.record_id as {{ dbt.type_string() }}) as object_id,
        -- the person's owner, when routing's owner is an active Pipedrive user (by email)
        cast(users.user_id as {{ dbt.type_string() }}) as owner_id,
        cast(leads.lead_id as {{ dbt.type_string() }}) as leadflow_lead_id,
        cast(leads.score as {{ dbt.type_string() }}) as leadflow_score,
        cast(leads.grade as {{ dbt.type_string() }}) as leadflow_grade,
        cast(leads.temperature as {{ dbt.type_string() }}) as leadflow_temperature,
        cast(leads.score_reasons as {{ dbt.type_string() }}) as leadflow_reasons,
        cast(inbox.inbox_lead_ids as {{ dbt.type_string() }}) as inbox_lead_ids

    from leads
    inner join persons
        on persons.lead_id = leads.lead_id
        and persons.record_rank = 1
    left join users
        on users.email = lower(leads.owner_email)
    left join inbox
        on inbox.person_id = persons.record_id

)

select * from payloads
