with

source as (

    select * from {{ source('hubspot', 'deals') }}

),

latest as (

    -- raw keeps one row per version of a record: the newest one wins
    {{ newest_raw_versions('source') }}

),

typed as (

    select
        *,
        {{ hubspot_property('dealstage') }} as deal_stage_value,
        -- HubSpot's own flags where the portal sends them; else the stage ids in vars
        -- hubspot_won_deal_stages / hubspot_lost_deal_stages
        coalesce(
            {{ dbt.safe_cast(hubspot_property('hs_is_closed_won'), dbt.type_boolean()) }},
            {{ hubspot_deal_stage_in(hubspot_property('dealstage'), 'hubspot_won_deal_stages') }}
        ) as is_won_value,
        coalesce(
            {{ dbt.safe_cast(hubspot_property('hs_is_closed'), dbt.type_boolean()) }},
            {{ hubspot_deal_stage_in(hubspot_property('dealstage'), 'hubspot_won_deal_stages') }}
            or {{ hubspot_deal_stage_in(hubspot_property('dealstage'), 'hubspot_lost_deal_stages') }}
        ) as is_closed_value,
        {{ iso_to_utc_timestamp(hubspot_property('closedate')) }} as close_date_value

    from latest

),

renamed as (

    select
        -- ids
        record_id as deal_id,
        {{ hubspot_property('hubspot_owner_id') }} as owner_id,

        -- deal
        {{ hubspot_property('dealname') }} as deal_name,
        {{ hubspot_property('pipeline') }} as pipeline,
        deal_stage_value as deal_stage,
        coalesce(is_closed_value, false) as is_closed,
        coalesce(is_won_value, false) as is_won,
        {{ dbt.safe_cast(hubspot_property('amount'), 'numeric(18,2)') }} as amount,
        upper({{ hubspot_property('deal_currency_code') }}) as currency_code,

        -- state
        coalesce({{ dbt.safe_cast(json_text('payload', 'archived'), dbt.type_boolean()) }}, false) as is_archived,

        -- timestamps
        {{ iso_to_utc_timestamp('coalesce(' ~ hubspot_property('createdate') ~ ', ' ~ json_text('payload', 'createdAt') ~ ')') }} as created_at,
        -- closedate is the expected close date while a deal is open, the actual one once closed
        case when coalesce(is_closed_value, false) then close_date_value end as closed_at,
        case when not coalesce(is_closed_value, false) then close_date_value end as expected_close_at,
        {{ iso_to_utc_timestamp('coalesce(' ~ hubspot_property('hs_lastmodifieddate') ~ ', ' ~ json_text('payload', 'updatedAt') ~ ')') }} as updated_at,
        record_updated_at,
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from typed

)

select * from renamed
