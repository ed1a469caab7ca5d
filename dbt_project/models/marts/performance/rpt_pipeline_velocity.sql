{#- Velocity is computed from the rounded figures the row shows, so anyone can redo the sum from
    the row; a factor that is null (no deal created, none closed, no won deal with a cycle) or a
    zero cycle leaves the velocity null rather than zero or infinite. -#}

with

deals as (

    -- archived (deleted) deals are not pipeline
    select * from {{ ref('int_deals_attributed') }}
    where not coalesce(is_archived, false)

),

created as (

    -- opportunities: deals created in the month, and their average amount
    select
        cast({{ dbt.date_trunc('month', 'created_at') }} as date) as period_month,
        count(*) as opportunities,
        avg(amount) as avg_deal_value

    from deals
    where created_at is not null
    group by 1

),

closed as (

    -- outcomes: deals closed in the month; the cycle of a won deal runs from its creation
    select
        cast({{ dbt.date_trunc('month', 'closed_at') }} as date) as period_month,
        cast(sum(case when is_won then 1 else 0 end) as {{ dbt.type_bigint() }}) as won,
        cast(sum(case when is_won then 0 else 1 end) as {{ dbt.type_bigint() }}) as lost,
        sum(case when is_won then amount end) as won_amount,
        avg(
            case
                when is_won and closed_at >= created_at
                    then cast({{ dbt.datediff('created_at', 'closed_at', 'second') }} as {{ dbt.type_numeric() }}) / 86400
            end
        ) as avg_cycle_days

    from deals
    where is_closed and closed_at is not null
    group by 1

),

months as (

    select period_month from created
    union
    select period_month from closed

),

rounded as (

    select
        months.period_month,
        coalesce(created.opportunities, 0) as opportunities,
        coalesce(closed.won, 0) as won,
        coalesce(closed.lost, 0) as lost,
        cast(coalesce(closed.won_amount, 0) as numeric(18, 2)) as won_amount,
        cast(round(cast(created.avg_deal_value as {{ dbt.type_numeric() }}), 2) as numeric(18, 2)) as avg_deal_value,
        cast(
            round(cast(closed.won as {{ dbt.type_numeric() }}) / nullif(closed.won + closed.lost, 0), 4)
            as numeric(9, 4)
        ) as win_rate,
        cast(round(cast(closed.avg_cycle_days as {{ dbt.type_numeric() }}), 2) as numeric(12, 2)) as avg_cycle_days

    from months
    left join created
        on created.period_month = months.period_month
    left join closed
        on closed.period_month = months.period_month

),

final as (

    select
        period_month,
        opportunities,
        won,
        lost,
        won_amount,
        avg_deal_value,
        win_rate,
        avg_cycle_days,
        cast(
            round(
                cast(opportunities as {{ dbt.type_numeric() }}) * avg_deal_value * win_rate
                / nullif(avg_cycle_days, 0),
                2
            )
            as numeric(18, 2)
        ) as velocity_per_day

    from rounded

)

select * from final
