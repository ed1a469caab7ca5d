with

stage_history as (

    select * from {{ ref('fct_lead_stage_history') }}

),

stays as (

    -- completed stays only: a current stay has no length yet. A stay the CRM dated out of order
    -- (exited before it was entered) says nothing about time in stage and is left out of the figures.
    select
        stage,
        stage_order,
        case when exited_at is not null and exited_at >= entered_at then hours_in_stage end as completed_hours,
        case when exited_at is not null then 1 else 0 end as is_exit

    from stage_history
    where not is_terminal

),

final as (

    select
        stage,
        stage_order,
        count(*) as entries,
        sum(is_exit) as exits,
        {{ rounded_mean('completed_hours') }} as mean_hours,
        {{ rounded_percentile('completed_hours', 0.5) }} as median_hours,
        {{ rounded_percentile('completed_hours', 0.9) }} as p90_hours

    from stays
    group by stage, stage_order

)

select * from final
