{#- Every count in rpt_funnel_daily adds up to dim_leads: leads to its rows, each stage to the
    leads that entered it, lost / disqualified to the leads with that outcome, recycled to their
    recyclings. Returns one row per count that does not. -#}
{%- set stage_counts = {'mqls': 'mql', 'sqls': 'sql', 'opportunities': 'opportunity', 'won': 'won'} -%}

with

daily as (

    select
        sum(leads) as leads,
        {% for column in stage_counts -%}
        sum({{ column }}) as {{ column }},
        {% endfor -%}
        sum(lost) as lost,
        sum(disqualified) as disqualified,
        sum(recycled) as recycled

    from {{ ref('rpt_funnel_daily') }}

),

expected as (

    select
        count(*) as leads,
        {% for column, stage in stage_counts.items() -%}
        count({{ stage }}_entered_at) as {{ column }},
        {% endfor -%}
        sum(case when is_lost then 1 else 0 end) as lost,
        sum(case when is_disqualified then 1 else 0 end) as disqualified,
        sum(count_recycles) as recycled

    from {{ ref('dim_leads') }}

),

compared as (

    {% for column in ['leads'] + stage_counts.keys() | list + ['lost', 'disqualified', 'recycled'] %}
    select
        '{{ column }}' as count_name,
        coalesce(daily.{{ column }}, 0) as in_funnel,
        coalesce(expected.{{ column }}, 0) as in_dim_leads
    from daily
    cross join expected
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from compared
where in_funnel != in_dim_leads
