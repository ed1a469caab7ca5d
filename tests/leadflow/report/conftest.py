"""A small warehouse holding the report's marts with given rows (the columns of contracts.md)."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

MARTS_SQL = """
create schema marts;
create schema ops;
create table ops.sync_runs (run_id varchar, started_at timestamp, finished_at timestamp,
    as_of timestamp, status varchar, summary json);
insert into ops.sync_runs values
    ('r1', '2026-11-30 08:00', '2026-11-30 08:01', '2026-11-30 08:00', 'completed', null),
    ('r2', '2026-11-30 09:00', '2026-11-30 09:01', '2026-11-30 09:00', 'completed', null),
    ('r3', '2026-11-30 10:00', null, '2026-11-30 10:00', 'failed', null);

create table marts.dim_leads as select 'lf_' || i as lead_id from range(10) t(i);

create table marts.rpt_cohort_conversion (created_week date, source varchar, leads int, mqls int,
    sqls int, opportunities int, won int, lead_to_mql numeric(9,4));
insert into marts.rpt_cohort_conversion values
    ('2026-11-02', 'meta', 4, 2, 1, 1, 1, 0.5),
    ('2026-11-09', 'meta', 2, 0, 0, 0, 0, 0.0),
    ('2026-11-09', 'hubspot', 4, 3, 2, 1, 0, 0.75);

create table marts.rpt_time_in_stage (stage varchar, entries int, exits int,
    mean_hours numeric(12,2), median_hours numeric(12,2), p90_hours numeric(12,2));
insert into marts.rpt_time_in_stage values
    ('sql', 3, 2, 30, 24, 48), ('lead', 10, 5, 12, 10, 20), ('won', 1, 0, null, null, null);

create table marts.fct_lead_first_touch (lead_id varchar, minutes_to_first_touch numeric(18,2),
    is_within_5_minutes boolean);
insert into marts.fct_lead_first_touch values
    ('lf_0', 1.5, true), ('lf_1', 4.99, true), ('lf_2', 5, false), ('lf_3', 90, false),
    ('lf_4', 5000, false), ('lf_5', null, false);

create table marts.rpt_speed_to_lead (source varchar, owner_id varchar, leads int,
    touched_leads int, median_minutes numeric(18,2), p90_minutes numeric(18,2),
    share_within_5_minutes numeric(9,4), sla_breaches int);
insert into marts.rpt_speed_to_lead values
    ('all', 'all', 6, 5, 5, 3000, 0.4, 1), ('meta', 'all', 3, 3, 4, 60, 0.6667, 0);

create table marts.rpt_stale_leads (lead_id varchar, owner_id varchar, current_stage varchar,
    days_in_stage numeric(12,2), stale_after_days int, days_since_activity numeric(12,2),
    is_stale boolean, is_dead boolean);
insert into marts.rpt_stale_leads values
    ('lf_7', 'o1', 'lead', 20, 14, 10, true, false),
    ('lf_8', null, 'mql', 90, 7, 70, true, true),
    ('lf_9', 'o2', 'lead', 40, 14, 30, true, false);

create table marts.rpt_rep_leaderboard (owner_id varchar, owner_email varchar, assigned int,
    contacted int, converted int, won int, median_response_minutes numeric(18,2),
    touches_per_lead numeric(12,2));
insert into marts.rpt_rep_leaderboard values
    ('o1', 'ana@sales.example', 6, 5, 3, 1, 4.5, 2.5),
    ('o2', 'bo@sales.example', 4, 2, 1, 0, null, 1.0);

create table marts.rpt_pipeline_velocity (period_month date, opportunities int, won int, lost int,
    avg_deal_value numeric(18,2), win_rate numeric(9,4), avg_cycle_days numeric(12,2),
    velocity_per_day numeric(18,2));
insert into marts.rpt_pipeline_velocity values
    ('2026-10-01', 4, 1, 1, 10000, 0.5, 20, 1000),
    ('2026-11-01', 2, 1, 0, 5000, 1.0, 10, 1000);
"""


@pytest.fixture
def marts_warehouse(tmp_path: Path) -> Path:
    """A DuckDB file with every mart the report reads, filled with the rows above."""
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(MARTS_SQL)
    return path
