with

source as (

    select * from {{ source('leadflow', 'lead_accounts') }}

),

renamed as (

    select
        -- ids
        lead_id,
        account_id,
        account_owner_id,

        -- match (dedupe/accounts.py)
        account_id is not null as has_account,
        match_rule,
        matched_on,
        count_candidates,
        tie_break,

        -- timestamps
        matched_at,

        -- lineage
        run_id

    from source

)

select * from renamed
