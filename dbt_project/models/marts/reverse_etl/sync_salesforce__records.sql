{#- What the Salesforce push (connectors/salesforce push_records) writes for each scored lead.
    A lead with a live Salesforce record is updated by Id on that object: its Contact first (a
    converted lead's person lives there), else its most recently changed Lead. A lead without
    one (never in Salesforce, or its record deleted or merged away) is upserted as a Lead on the
    external id LeadFlow_Lead_Id__c, which also finds a Lead an earlier push created. Identity
    fields go with upserts only, so a value edited in Salesforce is never overwritten; the
    lengths are Salesforce's standard field sizes. -#}

with

leads as (

    select * from {{ ref('dim_leads') }}
    where score is not null

),

live_records as (

    -- a Contact first (a converted lead's person lives there), then the most recently changed
    {{ crm_target_records(
        'salesforce', ['contacts', 'leads'],
        "case when records.stream = 'contacts' then 0 else 1 end,"
        ~ " records.record_updated_at desc nulls last, records.record_id"
    ) }}

),

users as (

    {{ crm_users_by_email('stg_salesforce__users') }}

),

targets as (

    select
        leads.*,
        live_records.record_id as target_record_id,
        case when live_records.stream = 'contacts' then 'Contact' else 'Lead' end as target_object_type,
        users.user_id as salesforce_owner_id

    from leads
    left join live_records
        on live_records.lead_id = leads.lead_id
        and live_records.record_rank = 1
    left join users
        on users.email = lower(leads.owner_email)

),

payloads as (

    select
        -- request
        cast(lead_id as {{ dbt.type_string() }}) as lead_id,
        cast(
            case when target_record_id is not null then 'update' else 'upsert' end
            as {{ dbt.type_string() }}
        ) as operation,
        cast(coalesce(target_object_type, 'Lead') as {{ dbt.type_string() }}) as object_type,
        cast(target_record_id as {{ dbt.type_string() }}) as object_id,
        cast(
            case when target_record_id is null then 'LeadFlow_Lead_Id__c' end
            as {{ dbt.type_string() }}
        ) as id_property,
        cast(case when target_record_id is null then lead_id end as {{ dbt.type_string() }}) as id_value,

        -- identity fields: new Leads only. LastName and Company are required on a Lead;
        -- '[not provided]' is what Salesforce's own Web-to-Lead puts there, and what the pull
        -- reads back as no value (connectors/salesforce/models.py).
        cast(case when target_record_id is null then left(first_name, 40) end as {{ dbt.type_string() }}) as "FirstName",
        cast(
            case when target_record_id is null then coalesce(left(last_name, 80), '[not provided]') end
            as {{ dbt.type_string() }}
        ) as "LastName",
        cast(
            case when target_record_id is null then coalesce(left(company, 255), '[not provided]') end
            as {{ dbt.type_string() }}
        ) as "Company",
        cast(
            case when target_record_id is null and length(email) <= 80 then email end
            as {{ dbt.type_string() }}
        ) as "Email",
        cast(case when target_record_id is null then phone_e164 end as {{ dbt.type_string() }}) as "Phone",
        cast(case when target_record_id is null then left(job_title, 128) end as {{ dbt.type_string() }}) as "Title",
        cast(case when target_record_id is null then country_code end as {{ dbt.type_string() }}) as "Country",

        -- LeadFlow's fields: always. OwnerId only for an owner who is an active Salesforce user
        -- (matched by email); otherwise the record keeps the owner it has.
        cast(salesforce_owner_id as {{ dbt.type_string() }}) as "OwnerId",
        cast(lead_id as {{ dbt.type_string() }}) as "LeadFlow_Lead_Id__c",
        cast(score as {{ dbt.type_string() }}) as "LeadFlow_Score__c",
        cast(grade as {{ dbt.type_string() }}) as "LeadFlow_Grade__c",
        cast(temperature as {{ dbt.type_string() }}) as "LeadFlow_Temperature__c",
        cast(left(score_reasons, 255) as {{ dbt.type_string() }}) as "LeadFlow_Reasons__c",
        cast(left(model_version, 40) as {{ dbt.type_string() }}) as "LeadFlow_Model_Version__c"

    from targets

)

select * from payloads
