{#- The records a CRM push may write to, one row per (lead, record) of `crm`'s `streams`, ranked
    per lead by `order_by` (record_rank 1 is the target). A record is no target when the CRM
    deleted it (a deletion quarantined after its live version was staged: the recycle bin, the
    archive, the losing side of a merge; restored records are live again) or merged it into
    another record of the same lead (listed in that record's crm_merged_ids: HubSpot's
    hs_merged_object_ids). Writes to either would fail, or land on a record nobody sees. -#}
{% macro crm_target_records(crm, streams, order_by) %}
    select *
    from (
        select
            identity.lead_id,
            records.record_id,
            records.stream,
            records.record_created_at,
            records.record_updated_at,
            row_number() over (partition by identity.lead_id order by {{ order_by }}) as record_rank

        from {{ ref('stg_leadflow__lead_records') }} as records
        inner join {{ ref('stg_leadflow__lead_identity') }} as identity
            on identity.record_key = records.record_key
        left join {{ source('leadflow', 'sync_runs') }} as staged_in
            on staged_in.run_id = records.run_id
        where records.source = '{{ crm }}'
            and records.stream in ({% for stream in streams %}'{{ stream }}'{{ ', ' if not loop.last }}{% endfor %})
            and not exists (
                select 1
                from {{ ref('stg_leadflow__quarantine') }} as deletions
                where deletions.source = records.source
                    and deletions.stream = records.stream
                    and deletions.record_id = records.record_id
                    and cast(deletions.reasons as {{ dbt.type_string() }}) like '%deleted in the CRM%'
                    and deletions.quarantined_at >= coalesce(staged_in.as_of, records.first_seen_at)
            )
            and not exists (
                select 1
                from {{ ref('stg_leadflow__lead_records') }} as survivors
                inner join {{ ref('stg_leadflow__lead_identity') }} as survivor_identity
                    on survivor_identity.record_key = survivors.record_key
                where survivor_identity.lead_id = identity.lead_id
                    and survivors.source = records.source
                    and survivors.record_id <> records.record_id
                    and ';' || survivors.crm_merged_ids || ';' like '%;' || records.record_id || ';%'
            )
    ) as ranked
{% endmacro %}

{#- A CRM's active users by lower-cased email, one each (the lowest id where two share an email):
    how routing's owner (a rep's email) becomes that CRM's owner id. -#}
{% macro crm_users_by_email(users_model) %}
    select email, user_id
    from (
        select
            lower(email) as email,
            user_id,
            row_number() over (partition by lower(email) order by user_id) as user_rank
        from {{ ref(users_model) }}
        where is_active and email is not null
    ) as ranked
    where user_rank = 1
{% endmacro %}
