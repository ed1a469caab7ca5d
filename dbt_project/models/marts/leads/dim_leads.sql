with

leads as (

    select * from {{ ref('int_leads_unified') }}

),

scores as (

    select * from {{ ref('stg_leadflow__lead_scores') }}

),

assignments as (

    select * from {{ ref('stg_leadflow__lead_assignments') }}

),

stages as (

    select * from {{ ref('int_lead_stages_unpivoted') }}

),

current_stages as (

    -- the furthest stage the lead has entered
    select
        lead_id,
        stage as current_stage,
        entered_at as current_stage_entered_at

    from (
        select
            stages.*,
            row_number() over (partition by lead_id order by stage_order desc) as stage_rank
        from stages
    ) as ranked
    where stage_rank = 1

),

final as (

    select
        leads.*,

        -- score (scoring/)
        scores.score,
        scores.grade,
        scores.temperature,
        scores.is_mql,
        scores.is_sql,
        scores.score_reasons,
        scores.model_version,
        scores.scored_at,

        -- owner (routing/)
        assignments.owner_id,
        assignments.owner_email,
        assignments.routing_rule,
        assignments.assigned_at,

        -- funnel
        current_stages.current_stage,
        current_stages.current_stage_entered_at

    from leads
    left join scores
        on scores.lead_id = leads.lead_id
    left join assignments
        on assignments.lead_id = leads.lead_id
    left join current_stages
        on current_stages.lead_id = leads.lead_id

)

select * from final
