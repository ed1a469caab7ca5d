{#- A view, unlike the other intermediate models: it joins LeadFlow's own MQL/SQL events, which
    scoring writes after `prepare` has run, so a table built in `prepare` would show this run's new
    MQLs only on the next run. As a view, `publish` (fct_lead_stage_history, the funnel) sees them. -#}
{{ config(materialized='view') }}

with

leads as (

    select * from {{ ref('int_leads_unified') }}

),

lifecycle_events as (

    select * from {{ ref('stg_leadflow__lead_lifecycle_events') }}

),

leadflow_qualified as (

    -- when LeadFlow's score first crossed the MQL / SQL thresholds (scoring/)
    select
        lead_id,
        min(case when event = 'mql' then occurred_at end) as became_mql_at,
        min(case when event = 'sql' then occurred_at end) as became_sql_at

    from lifecycle_events
    where event in ('mql', 'sql')
    group by lead_id

),

stage_dates as (

    -- one column per funnel stage (var funnel_stages): when the lead entered it, null if never
    select
        leads.lead_id,
        leads.created_at as lead_entered_at,
        -- the CRM and LeadFlow's scoring can each qualify a lead: whichever came first wins
        {{ earliest('leads.became_mql_at', 'leadflow_qualified.became_mql_at') }} as mql_entered_at,
        {{ earliest('leads.became_sql_at', 'leadflow_qualified.became_sql_at') }} as sql_entered_at,
        leads.became_opportunity_at as opportunity_entered_at,
        leads.became_customer_at as won_entered_at

    from leads
    left join leadflow_qualified
        on leadflow_qualified.lead_id = leads.lead_id

),

unpivoted as (

    {% for stage in var('funnel_stages') %}
    select
        lead_id,
        '{{ stage }}' as stage,
        {{ funnel_stage_order(stage) }} as stage_order,
        {{ stage }}_entered_at as entered_at

    from stage_dates
    where {{ stage }}_entered_at is not null
    {% if not loop.last %}
    union all
    {% endif %}
    {%- endfor %}

)

select * from unpivoted
