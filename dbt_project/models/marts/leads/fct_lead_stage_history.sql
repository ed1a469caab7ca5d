{#- Rebuilt in full every run, not incremental: a lead's rows change whenever a later stage is
    entered (exited_at, next_stage, is_current) and hours_in_stage of current stages grows with
    time, so an incremental version would re-derive every open lead's rows anyway. -#}
{%- set terminal = terminal_stages() -%}

with

stages as (

    select * from {{ ref('int_lead_stages_unpivoted') }}

),

leads as (

    select * from {{ ref('dim_leads') }}

),

entries as (

    select
        lead_id,
        stage,
        stage_order,
        entered_at,
        false as is_terminal

    from stages

    -- the terminal outcomes, after the funnel stages: a lost deal, a disqualification
    union all

    select
        lead_id,
        'lost' as stage,
        {{ terminal['lost'] }} as stage_order,
        lost_at as entered_at,
        true as is_terminal

    from leads
    where lost_at is not null

    union all

    select
        lead_id,
        'disqualified' as stage,
        {{ terminal['disqualified'] }} as stage_order,
        disqualified_at as entered_at,
        true as is_terminal

    from leads
    where disqualified_at is not null

),

sequenced as (

    -- a lead leaves a stage when it enters the next stage it reaches, in funnel order (stages it
    -- skipped have no row)
    select
        lead_id,
        stage,
        stage_order,
        is_terminal,
        entered_at,
        lead(entered_at) over (partition by lead_id order by stage_order) as exited_at,
        lead(stage) over (partition by lead_id order by stage_order) as next_stage

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
        -- a terminal stage is an end, not a stay: it has no duration
        case
            when exited_at is not null then {{ duration_between('entered_at', 'exited_at', 'hour') }}
            when not is_terminal then {{ duration_between('entered_at', as_of(), 'hour') }}
        end as hours_in_stage

    from sequenced

)

select * from final
