{%- set rates = funnel_conversion_rates() -%}

with

daily as (

    select * from {{ ref('rpt_funnel_daily') }}

),

weekly as (

    select
        cast({{ dbt.date_trunc('week', 'activity_date') }} as date) as activity_week,
        source,
        campaign,
        owner_id,
        segment,
        sum(leads) as leads,
        sum(mqls) as mqls,
        sum(sqls) as sqls,
        sum(opportunities) as opportunities,
        sum(won) as won,
        sum(lost) as lost,
        sum(disqualified) as disqualified,
        sum(recycled) as recycled

    from daily
    group by 1, 2, 3, 4, 5

),

final as (

    select
        weekly.*,
        {% for name, numerator, denominator in rates -%}
        {{ funnel_rate(numerator, denominator) }} as {{ name }},
        {% endfor -%}
        {% for name, numerator, denominator in rates -%}
        cast(1 - {{ funnel_rate(numerator, denominator) }} as numeric(9, 4)) as {{ name }}_drop_off{{ ',' if not loop.last }}
        {% endfor %}
    from weekly

)

select * from final
