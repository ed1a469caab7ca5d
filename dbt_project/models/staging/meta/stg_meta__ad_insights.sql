with

source as (

    select * from {{ source('meta', 'ad_insights') }}

),

latest as (

    -- Meta restates a day's numbers for up to 28 days; the connector re-reads them and the newest
    -- version wins
    {{ newest_raw_versions('source', order_by='_loaded_at desc, record_updated_at desc nulls last') }}

),

renamed as (

    select
        -- ids
        coalesce(
            nullif({{ json_text('payload', 'account_id') }}, ''),
            {{ dbt.replace('_partition', "'act_'", "''") }}
        ) as ad_account_id,
        nullif({{ json_text('payload', 'campaign_id') }}, '') as campaign_id,
        nullif({{ json_text('payload', 'campaign_name') }}, '') as campaign_name,

        -- the day (in the ad account's time zone, as Meta reports it)
        cast(nullif({{ json_text('payload', 'date_start') }}, '') as date) as spend_date,

        -- performance: Meta sends numbers as strings
        {{ dbt.safe_cast(json_text('payload', 'spend'), 'numeric(18,2)') }} as spend,
        upper(nullif({{ json_text('payload', 'account_currency') }}, '')) as currency_code,
        {{ dbt.safe_cast(json_text('payload', 'impressions'), dbt.type_bigint()) }} as impressions,
        {{ dbt.safe_cast(json_text('payload', 'clicks'), dbt.type_bigint()) }} as clicks,

        -- timestamps
        _loaded_at as loaded_at,

        -- lineage
        _raw_id as raw_id

    from latest

)

select * from renamed
