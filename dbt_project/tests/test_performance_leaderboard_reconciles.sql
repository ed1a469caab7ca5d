-- rpt_rep_leaderboard agrees with dim_leads: the reps' assigned leads add up to the leads with an
-- owner, and their contacted leads to those of them with a first sales touch. Returns a row per
-- figure that disagrees.

with

leaderboard as (

    select * from {{ ref('rpt_rep_leaderboard') }}

),

owned as (

    select * from {{ ref('dim_leads') }}
    where owner_id is not null

),

compared as (

    select
        'assigned' as checked,
        (select count(*) from owned) as expected,
        (select coalesce(sum(assigned), 0) from leaderboard) as actual

    union all

    select
        'contacted' as checked,
        (select count(*) from owned where first_engagement_at is not null) as expected,
        (select coalesce(sum(contacted), 0) from leaderboard) as actual

)

select * from compared
where expected <> actual
