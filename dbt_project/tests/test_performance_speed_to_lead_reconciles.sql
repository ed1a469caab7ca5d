-- rpt_speed_to_lead adds up: its 'all' x 'all' row counts every lead in dim_leads, every touched
-- lead and every breach in ops.sla_breaches, and the source x owner rows sum to the same numbers.
-- Returns a row per figure that disagrees.

with

report as (

    select * from {{ ref('rpt_speed_to_lead') }}

),

expected as (

    select
        (select count(*) from {{ ref('dim_leads') }}) as leads,
        (select count(*) from {{ ref('dim_leads') }} where first_engagement_at is not null) as touched_leads,
        (select count(*) from {{ ref('stg_leadflow__sla_breaches') }}) as sla_breaches

),

total_row as (

    select leads, touched_leads, sla_breaches
    from report
    where source = 'all' and owner_id = 'all'

),

cell_sums as (

    select
        coalesce(sum(leads), 0) as leads,
        coalesce(sum(touched_leads), 0) as touched_leads,
        coalesce(sum(sla_breaches), 0) as sla_breaches

    from report
    where source <> 'all' and owner_id <> 'all'

),

compared as (

    select 'total row' as checked, total_row.leads, total_row.touched_leads, total_row.sla_breaches
    from total_row
    union all
    select 'source x owner rows' as checked, cell_sums.leads, cell_sums.touched_leads, cell_sums.sla_breaches
    from cell_sums

)

select compared.*
from compared
cross join expected
where compared.leads <> expected.leads
    or compared.touched_leads <> expected.touched_leads
    or compared.sla_breaches <> expected.sla_breaches
