with

memberships as (

    select * from {{ ref('stg_leadflow__nurture_memberships') }}

),

final as (

    select
        nurture_track,
        cast({{ dbt.date_trunc('week', 'entered_at') }} as date) as enrolled_week,
        count(*) as enrolled,
        sum(case when {{ is_requalified_exit('nurture_exit_reason') }} then 1 else 0 end) as requalified,
        sum(case when is_open then 1 else 0 end) as still_enrolled,
        {{ funnel_rate(
            'sum(case when ' ~ is_requalified_exit('nurture_exit_reason') ~ ' then 1 else 0 end)',
            'count(*)'
        ) }} as requalification_rate

    from memberships
    group by 1, 2

)

select * from final
