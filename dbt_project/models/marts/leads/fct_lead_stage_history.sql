with

stages as (

    select * from {{ ref('int_lead_stages_unpivoted') }}

),

sequenced as (

    -- a lead leaves a stage when it enters the next stage it reaches, in funnel order (stages it
    -- skipped have no row)
    select
        lead_id,
        stage,
        stage_order,
        entered_at,
        lead(entered_at) over (partition by lead_id order by stage_order) as exited_at,
        lead(stage) over (partition by lead_id order by stage_order) as next_stage

    from stages

),

final as (

    select
        lead_id,
        stage,
        stage_order,
        entered_at,
        exited_at,
        next_stage,
        next_stage is null as is_current

    from sequenced

)

select * from final
