{#- Each lead is credited whole to one source and campaign per model: its first touch (the
    earliest record) and its last touch (the newest record). Stage counts are leads that reached
    the stage or a later funnel stage (by name, so terminal stages such as lost never count);
    amounts come from the deals associated with the lead. Spend is matched by campaign name for
    var ad_spend_source (Meta), summed over every day loaded: a campaign that spent but brought no
    lead still gets a row, with leads = 0. -#}
{%- set stages = var('funnel_stages') -%}
{%- set mql_and_later = stages[funnel_stage_order('mql') - 1:] -%}
{%- set opportunity_and_later = stages[funnel_stage_order('opportunity') - 1:] -%}
{%- set won_and_later = stages[funnel_stage_order('won') - 1:] -%}

with

leads as (

    select * from {{ ref('dim_leads') }}

),

stage_history as (

    select * from {{ ref('fct_lead_stage_history') }}

),

deals as (

    select * from {{ ref('int_deals_attributed') }}
    where not coalesce(is_archived, false)

),

ad_insights as (

    select * from {{ ref('stg_meta__ad_insights') }}

),

lead_stages as (

    select
        lead_id,
        max(case when stage in ('{{ mql_and_later | join("', '") }}') then 1 else 0 end) as is_mql,
        max(case when stage in ('{{ opportunity_and_later | join("', '") }}') then 1 else 0 end) as is_opportunity,
        max(case when stage in ('{{ won_and_later | join("', '") }}') then 1 else 0 end) as is_won

    from stage_history
    group by lead_id

),

lead_deals as (

    -- pipeline: open and won deals; revenue: won deals
    select
        lead_id,
        sum(case when is_won or not is_closed then amount end) as pipeline_amount,
        sum(case when is_won then amount end) as won_amount

    from deals
    where lead_id is not null
    group by lead_id

),

touches as (

    select
        'first_touch' as attribution_model,
        lead_id,
        coalesce(first_touch_source, 'unknown') as source,
        coalesce(campaign, 'unknown') as campaign

    from leads

    union all

    select
        'last_touch' as attribution_model,
        lead_id,
        coalesce(last_touch_source, 'unknown') as source,
        coalesce(last_touch_campaign, 'unknown') as campaign

    from leads

),

credited as (

    select
        touches.attribution_model,
        touches.source,
        touches.campaign,
        count(*) as leads,
        cast(coalesce(sum(lead_stages.is_mql), 0) as {{ dbt.type_bigint() }}) as mqls,
        cast(coalesce(sum(lead_stages.is_opportunity), 0) as {{ dbt.type_bigint() }}) as opportunities,
        cast(coalesce(sum(lead_stages.is_won), 0) as {{ dbt.type_bigint() }}) as won,
        coalesce(sum(lead_deals.pipeline_amount), 0) as pipeline_amount,
        coalesce(sum(lead_deals.won_amount), 0) as won_amount

    from touches
    left join lead_stages
        on lead_stages.lead_id = touches.lead_id
    left join lead_deals
        on lead_deals.lead_id = touches.lead_id
    group by touches.attribution_model, touches.source, touches.campaign

),

spend as (

    select
        coalesce(campaign_name, 'unknown') as campaign,
        sum(cast(spend as numeric(18, 2))) as spend

    from ad_insights
    group by coalesce(campaign_name, 'unknown')

),

attribution_models as (

    select 'first_touch' as attribution_model
    union all
    select 'last_touch' as attribution_model

),

keys as (

    select attribution_model, source, campaign from credited
    union
    select
        attribution_models.attribution_model,
        '{{ var("ad_spend_source") }}' as source,
        spend.campaign

    from attribution_models
    cross join spend

),

final as (

    select
        keys.attribution_model,
        keys.source,
        keys.campaign,
        coalesce(credited.leads, 0) as leads,
        coalesce(credited.mqls, 0) as mqls,
        coalesce(credited.opportunities, 0) as opportunities,
        coalesce(credited.won, 0) as won,
        cast(coalesce(credited.pipeline_amount, 0) as numeric(18, 2)) as pipeline_amount,
        cast(coalesce(credited.won_amount, 0) as numeric(18, 2)) as won_amount,
        cast(spend.spend as numeric(18, 2)) as spend,
        -- In whole cents, rounded half up: (2 * cents + leads) / (2 * leads), floored. Dividing the
        -- amount itself rounds differently per engine (DuckDB divides a decimal as a double:
        -- 310.78 / 4 = 77.69499.. -> 77.69; PostgreSQL's numeric gives 77.70).
        cast(
            floor(
                cast(2 * cast(spend.spend * 100 as bigint) + credited.leads as {{ dbt.type_numeric() }})
                / nullif(2 * credited.leads, 0)
            ) / 100.0
            as numeric(18, 2)
        ) as cost_per_lead

    from keys
    left join credited
        on credited.attribution_model = keys.attribution_model
        and credited.source = keys.source
        and credited.campaign = keys.campaign
    left join spend
        on keys.source = '{{ var("ad_spend_source") }}'
        and spend.campaign = keys.campaign

)

select * from final
