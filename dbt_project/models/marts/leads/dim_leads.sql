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

hubspot_contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

deals as (

    select * from {{ ref('int_deals_attributed') }}

),

recycling as (

    select * from {{ ref('stg_leadflow__lead_recycling') }}

),

lead_accounts as (

    -- the CRM account each lead matched (dedupe/accounts.py)
    select * from {{ ref('stg_leadflow__lead_accounts') }}

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

stage_entries as (

    -- when the lead entered each funnel stage (null if never, e.g. a skipped stage)
    select
        lead_id,
        {% for stage in var('funnel_stages') -%}
        max(case when stage = '{{ stage }}' then entered_at end) as {{ stage }}_entered_at,
        {% endfor -%}
        max(entered_at) as last_stage_entered_at

    from stages
    group by lead_id

),

deal_outcomes as (

    -- a lead is lost when it has deals and every one of them closed lost, at the last one's close
    select
        lead_id,
        count(*) as count_deals,
        sum(case when is_closed and not coalesce(is_won, false) then 1 else 0 end) as count_lost_deals,
        max(case when is_closed and not coalesce(is_won, false) then closed_at end) as last_lost_at

    from deals
    where lead_id is not null
    group by lead_id

),

recycling_outcomes as (

    -- LeadFlow's recycle flow: 'recycled' back to nurture, or 'closed' (disqualified, UNQUALIFIED)
    select
        lead_id,
        min(
            case
                when recycle_action = 'closed' or {{ is_disqualified_lead_status('crm_lead_status') }}
                    then recycled_at
            end
        ) as disqualified_at,
        sum(case when recycle_action = 'recycled' then 1 else 0 end) as count_recycles,
        max(case when recycle_action = 'recycled' then recycled_at end) as recycled_at

    from recycling
    group by lead_id

),

outcomes as (

    select
        leads.lead_id,
        case
            when deal_outcomes.count_lost_deals = deal_outcomes.count_deals
                then deal_outcomes.last_lost_at
        end as lost_at,
        -- LeadFlow's own decision is dated; a status set in the CRM is not (HubSpot keeps no date
        -- for hs_lead_status), so it counts from the contact's last modification
        {{ earliest(
            'recycling_outcomes.disqualified_at',
            'case when ' ~ is_disqualified_lead_status('hubspot_contacts.lead_status') ~ ' then hubspot_contacts.updated_at end'
        ) }} as disqualified_at,
        coalesce(recycling_outcomes.count_recycles, 0) as count_recycles,
        recycling_outcomes.recycled_at

    from leads
    left join hubspot_contacts
        on hubspot_contacts.contact_id = leads.hubspot_contact_id
    left join deal_outcomes
        on deal_outcomes.lead_id = leads.lead_id
    left join recycling_outcomes
        on recycling_outcomes.lead_id = leads.lead_id

),

joined as (

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

        -- account (dedupe/accounts.py)
        lead_accounts.account_id,
        lead_accounts.match_rule as account_match_rule,

        -- funnel
        current_stages.current_stage,
        current_stages.current_stage_entered_at,
        {% for stage in var('funnel_stages') -%}
        stage_entries.{{ stage }}_entered_at,
        {% endfor -%}
        {{ employee_band_segment('leads.employee_band') }} as segment,

        -- outcomes
        outcomes.lost_at is not null as is_lost,
        outcomes.lost_at,
        outcomes.disqualified_at is not null as is_disqualified,
        outcomes.disqualified_at,
        outcomes.count_recycles > 0 as is_recycled,
        outcomes.recycled_at,
        outcomes.count_recycles,

        -- the newest sign of life: CRM activity, a sales touch, a web visit, a stage entered
        {{ latest_since('leads.created_at', [
            'leads.last_activity_at',
            'leads.last_contacted_at',
            'leads.last_visit_at',
            'stage_entries.last_stage_entered_at',
        ]) }} as latest_activity_at

    from leads
    left join scores
        on scores.lead_id = leads.lead_id
    left join assignments
        on assignments.lead_id = leads.lead_id
    left join current_stages
        on current_stages.lead_id = leads.lead_id
    left join stage_entries
        on stage_entries.lead_id = leads.lead_id
    left join outcomes
        on outcomes.lead_id = leads.lead_id
    left join lead_accounts
        on lead_accounts.lead_id = leads.lead_id

),

final as (

    select
        joined.*,
        -- open: still somewhere in the funnel (not won, lost or disqualified)
        (
            current_stage != 'won'
            and not is_lost
            and not is_disqualified
        ) as is_open,
        {{ duration_between('created_at', as_of(), 'day') }} as lead_age_days,
        {{ duration_between('latest_activity_at', as_of(), 'day') }} as days_since_activity,
        -- what the incremental lead-grain facts are derived from (macros/incremental.sql)
        {{ state_hash(funnel_state_columns()) }} as funnel_state_hash

    from joined

)

select * from final
