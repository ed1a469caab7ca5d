{#- Incremental by lead (dbt_project.yml, macros/incremental.sql): an hourly build re-derives the
    rows of the leads whose dim_leads.funnel_state_hash changed, and deletes the rows of leads
    merged away. Every column is a function of the lead's stage dates and outcomes alone, so a
    lead's rows change only when its hash does; how long an open stay has lasted so far depends on
    "now" and is left to the reports (rpt_stale_leads, dim_leads.current_stage_entered_at). -#}
{%- set terminal = terminal_stages() -%}

with

leads as (

    select * from {{ ref('dim_leads') }}

),

to_derive as (

    select
        lead_id,
        {% for stage in var('funnel_stages') -%}
        {{ stage }}_entered_at,
        {% endfor -%}
        lost_at,
        disqualified_at,
        funnel_state_hash

    from leads
    {{ where_lead_to_rebuild('leads') }}

),

entries as (

    -- every funnel stage the lead entered (a skipped stage has no row), then the terminal
    -- outcomes: a lost deal, a disqualification
    {% for stage in var('funnel_stages') %}
    select
        lead_id,
        '{{ stage }}' as stage,
        {{ funnel_stage_order(stage) }} as stage_order,
        {{ stage }}_entered_at as entered_at,
        false as is_terminal,
        funnel_state_hash

    from to_derive
    where {{ stage }}_entered_at is not null

    union all
    {% endfor %}
    {%- for outcome in ['lost', 'disqualified'] %}
    select
        lead_id,
        '{{ outcome }}' as stage,
        {{ terminal[outcome] }} as stage_order,
        {{ outcome }}_at as entered_at,
        true as is_terminal,
        funnel_state_hash

    from to_derive
    where {{ outcome }}_at is not null
    {% if not loop.last %}
    union all
    {% endif %}
    {%- endfor %}

),

sequenced as (

    -- a lead leaves a stage when it enters the next stage it reaches, in funnel order
    select
        lead_id,
        stage,
        stage_order,
        is_terminal,
        entered_at,
        lead(entered_at) over (partition by lead_id order by stage_order) as exited_at,
        lead(stage) over (partition by lead_id order by stage_order) as next_stage,
        funnel_state_hash

    from entries

),

final as (

    select
        lead_id,
        stage,
        stage_order,
        is_terminal,
        entered_at,
        exited_at,
        next_stage,
        next_stage is null as is_current,
        -- a completed stay's length; an open stay (and a terminal stage, an end rather than a stay)
        -- has none
        case
            when exited_at is not null then {{ duration_between('entered_at', 'exited_at', 'hour') }}
        end as hours_in_stage,
        funnel_state_hash

    from sequenced

)

select * from final
