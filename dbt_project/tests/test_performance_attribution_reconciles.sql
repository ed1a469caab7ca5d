-- rpt_source_attribution credits every lead once per model: under each model the leads add up to
-- dim_leads, and the won amounts to the won deals of known leads. Returns a row per model that
-- disagrees.

with

report as (

    select * from {{ ref('rpt_source_attribution') }}

),

leads as (

    select lead_id from {{ ref('dim_leads') }}

),

expected as (

    select
        (select count(*) from leads) as leads,
        (
            select coalesce(sum(amount), 0)
            from {{ ref('int_deals_attributed') }}
            where is_won
                and not coalesce(is_archived, false)
                and lead_id in (select lead_id from leads)
        ) as won_amount

),

per_model as (

    select
        attribution_model,
        sum(leads) as leads,
        sum(won_amount) as won_amount

    from report
    group by attribution_model

)

select per_model.*
from per_model
cross join expected
where per_model.leads <> expected.leads
    or per_model.won_amount <> expected.won_amount
