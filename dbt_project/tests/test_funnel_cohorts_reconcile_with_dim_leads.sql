{#- rpt_cohort_conversion adds up to dim_leads: leads to its rows, each stage to the leads whose
    furthest funnel stage is that one or a later one. Returns one row per count that does not. -#}
{%- set stage_counts = {'mqls': 'mql', 'sqls': 'sql', 'opportunities': 'opportunity', 'won': 'won'} -%}

with

cohorts as (

    select
        sum(leads) as leads,
        {% for column in stage_counts -%}
        sum({{ column }}) as {{ column }}{{ ',' if not loop.last }}
        {% endfor %}
    from {{ ref('rpt_cohort_conversion') }}

),

expected as (

    select
        count(*) as leads,
        {% for column, stage in stage_counts.items() -%}
        sum(
            case when {{ funnel_stage_order_of('current_stage') }} >= {{ funnel_stage_order(stage) }} then 1 else 0 end
        ) as {{ column }}{{ ',' if not loop.last }}
        {% endfor %}
    from {{ ref('dim_leads') }}

),

compared as (

    {% for column in ['leads'] + stage_counts.keys() | list %}
    select
        '{{ column }}' as count_name,
        coalesce(cohorts.{{ column }}, 0) as in_funnel,
        coalesce(expected.{{ column }}, 0) as in_dim_leads
    from cohorts
    cross join expected
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from compared
where in_funnel != in_dim_leads
