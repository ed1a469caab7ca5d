"""Read the funnel marts the report draws into small dataclasses (read-only, one connection).

The marts are built by dbt (dbt_project/models/marts/); this module only selects from them, so the
numbers in the report are the numbers in the warehouse. No prospect's name or email is read: the
stale-lead table carries lead ids and the owning rep only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

# The funnel's stages in order (dbt var funnel_stages); other stages (lost, disqualified) follow.
FUNNEL_STAGES: tuple[str, ...] = ("lead", "mql", "sql", "opportunity", "won")

# Every mart the report reads; a warehouse without them has not been modelled yet.
REPORT_MARTS: tuple[str, ...] = (
    "dim_leads",
    "rpt_cohort_conversion",
    "rpt_time_in_stage",
    "fct_lead_first_touch",
    "rpt_speed_to_lead",
    "rpt_stale_leads",
    "rpt_rep_leaderboard",
    "rpt_pipeline_velocity",
)

# Speed-to-lead histogram buckets: (label, lower bound in minutes inclusive, upper exclusive).
SPEED_BUCKETS: tuple[tuple[str, float, float | None], ...] = (
    ("<5m", 0, 5),
    ("5\u201315m", 5, 15),
    ("15\u201330m", 15, 30),
    ("30\u201360m", 30, 60),
    ("1\u20134h", 60, 240),
    ("4\u201324h", 240, 1440),
    ("1\u20133d", 1440, 4320),
    ("3d+", 4320, None),
)


class Connection(Protocol):
    """The part of a DuckDB connection the report uses."""

    def execute(self, query: str, parameters: Sequence[Any] = ...) -> Any: ...


@dataclass(frozen=True)
class FunnelTotals:
    leads: int
    mqls: int
    sqls: int
    opportunities: int
    won: int

    def stages(self) -> list[tuple[str, int]]:
        return [
            ("Leads", self.leads),
            ("MQLs", self.mqls),
            ("SQLs", self.sqls),
            ("Opportunities", self.opportunities),
            ("Won", self.won),
        ]


@dataclass(frozen=True)
class CohortRate:
    """Lead -> MQL conversion of one source's leads created in one week."""

    created_week: date
    source: str
    leads: int
    mqls: int
    lead_to_mql: float | None


@dataclass(frozen=True)
class StageTime:
    stage: str
    entries: int
    mean_hours: float | None
    median_hours: float | None
    p90_hours: float | None


@dataclass(frozen=True)
class SpeedToLead:
    buckets: list[tuple[str, int]]
    leads: int
    touched: int
    median_minutes: float | None
    p90_minutes: float | None
    share_within_5_minutes: float | None


@dataclass(frozen=True)
class StaleCount:
    stage: str
    stale: int
    dead: int
    stale_after_days: float | None = None


@dataclass(frozen=True)
class StaleLead:
    lead_id: str
    owner: str
    current_stage: str
    days_in_stage: float | None
    stale_after_days: float | None
    days_since_activity: float | None
    is_stale: bool
    is_dead: bool


@dataclass(frozen=True)
class RepRow:
    owner_id: str
    owner_email: str | None
    assigned: int
    contacted: int
    converted: int
    won: int
    median_response_minutes: float | None
    touches_per_lead: float | None


@dataclass(frozen=True)
class VelocityMonth:
    period_month: date
    opportunities: int
    won: int
    lost: int
    avg_deal_value: float | None
    win_rate: float | None
    avg_cycle_days: float | None
    velocity_per_day: float | None


@dataclass
class ReportData:
    """Everything the page shows."""

    warehouse: str
    as_of: datetime | None
    leads_total: int
    funnel: FunnelTotals
    cohorts: list[CohortRate] = field(default_factory=list)
    stage_times: list[StageTime] = field(default_factory=list)
    speed: SpeedToLead | None = None
    stale_counts: list[StaleCount] = field(default_factory=list)
    stale_leads: list[StaleLead] = field(default_factory=list)
    stale_total: int = 0
    dead_total: int = 0
    reps: list[RepRow] = field(default_factory=list)
    velocity: list[VelocityMonth] = field(default_factory=list)


def missing_marts(con: Connection) -> list[str]:
    """The report's marts that the warehouse does not have (all of them before a first run)."""
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = 'marts'"
    ).fetchall()
    present = {name for (name,) in rows}
    return [name for name in REPORT_MARTS if name not in present]


def _num(value: Any) -> float | None:
    if value is None:
        return None
    return float(value)


def _int(value: Any) -> int:
    return int(value or 0)


def _stage_key(stage: str) -> tuple[int, str]:
    return (
        (FUNNEL_STAGES.index(stage), "") if stage in FUNNEL_STAGES else (len(FUNNEL_STAGES), stage)
    )


def read_funnel(con: Connection) -> FunnelTotals:
    row = con.execute(
        "select sum(leads), sum(mqls), sum(sqls), sum(opportunities), sum(won) "
        "from marts.rpt_cohort_conversion"
    ).fetchone()
    return FunnelTotals(*(_int(v) for v in row))


def read_cohorts(con: Connection) -> list[CohortRate]:
    rows = con.execute(
        "select created_week, source, leads, mqls, lead_to_mql from marts.rpt_cohort_conversion "
        "order by created_week, source"
    ).fetchall()
    return [
        CohortRate(
            week.date() if isinstance(week, datetime) else week,
            str(source),
            _int(leads),
            _int(mqls),
            _num(rate),
        )
        for week, source, leads, mqls, rate in rows
    ]


def read_stage_times(con: Connection) -> list[StageTime]:
    rows = con.execute(
        "select stage, entries, mean_hours, median_hours, p90_hours from marts.rpt_time_in_stage"
    ).fetchall()
    times = [
        StageTime(str(stage), _int(entries), _num(mean), _num(median), _num(p90))
        for stage, entries, mean, median, p90 in rows
    ]
    return sorted(times, key=lambda t: _stage_key(t.stage))


def bucket_minutes(minutes: Sequence[float]) -> list[tuple[str, int]]:
    """Count first-touch times into SPEED_BUCKETS (all buckets, in order, zeros included)."""
    counts = []
    for label, low, high in SPEED_BUCKETS:
        counts.append((label, sum(1 for m in minutes if m >= low and (high is None or m < high))))
    return counts


def read_speed_to_lead(con: Connection) -> SpeedToLead:
    minutes = [
        float(m)
        for (m,) in con.execute(
            "select minutes_to_first_touch from marts.fct_lead_first_touch "
            "where minutes_to_first_touch is not null"
        ).fetchall()
    ]
    total = con.execute(
        "select leads, touched_leads, median_minutes, p90_minutes, share_within_5_minutes "
        "from marts.rpt_speed_to_lead where source = 'all' and owner_id = 'all'"
    ).fetchone()
    if total is None:
        return SpeedToLead(bucket_minutes(minutes), 0, 0, None, None, None)
    leads, touched, median, p90, share = total
    return SpeedToLead(
        bucket_minutes(minutes), _int(leads), _int(touched), _num(median), _num(p90), _num(share)
    )


def read_stale(con: Connection, top_n: int) -> tuple[list[StaleCount], list[StaleLead], int, int]:
    counts = [
        StaleCount(str(stage), _int(stale), _int(dead), _num(limit))
        for stage, stale, dead, limit in con.execute(
            "select current_stage, sum(case when is_stale then 1 else 0 end), "
            "sum(case when is_dead then 1 else 0 end), max(stale_after_days) "
            "from marts.rpt_stale_leads group by current_stage"
        ).fetchall()
    ]
    counts.sort(key=lambda c: _stage_key(c.stage))
    rows = con.execute(
        "select s.lead_id, coalesce(r.owner_email, s.owner_id, 'unassigned'), s.current_stage, "
        "s.days_in_stage, s.stale_after_days, s.days_since_activity, s.is_stale, s.is_dead "
        "from marts.rpt_stale_leads s "
        "left join marts.rpt_rep_leaderboard r on r.owner_id = s.owner_id "
        "order by s.is_dead desc, s.days_in_stage desc nulls last, s.lead_id limit ?",
        [top_n],
    ).fetchall()
    leads = [
        StaleLead(
            str(lead_id),
            str(owner),
            str(stage),
            _num(days),
            _num(limit),
            _num(idle),
            bool(stale),
            bool(dead),
        )
        for lead_id, owner, stage, days, limit, idle, stale, dead in rows
    ]
    return counts, leads, sum(c.stale for c in counts), sum(c.dead for c in counts)


def read_reps(con: Connection) -> list[RepRow]:
    rows = con.execute(
        "select owner_id, owner_email, assigned, contacted, converted, won, "
        "median_response_minutes, touches_per_lead from marts.rpt_rep_leaderboard "
        "order by won desc, converted desc, assigned desc, owner_id"
    ).fetchall()
    return [
        RepRow(
            str(owner_id),
            None if email is None else str(email),
            _int(assigned),
            _int(contacted),
            _int(converted),
            _int(won),
            _num(median),
            _num(touches),
        )
        for owner_id, email, assigned, contacted, converted, won, median, touches in rows
    ]


def read_velocity(con: Connection) -> list[VelocityMonth]:
    rows = con.execute(
        "select period_month, opportunities, won, lost, avg_deal_value, win_rate, avg_cycle_days, "
        "velocity_per_day from marts.rpt_pipeline_velocity order by period_month"
    ).fetchall()
    return [
        VelocityMonth(
            month.date() if isinstance(month, datetime) else month,
            _int(opps),
            _int(won),
            _int(lost),
            _num(value),
            _num(rate),
            _num(cycle),
            _num(velocity),
        )
        for month, opps, won, lost, value, rate, cycle, velocity in rows
    ]


def read_as_of(con: Connection) -> datetime | None:
    """The clock of the last completed sync run (ops.sync_runs), if the warehouse records one."""
    (has_runs,) = con.execute(
        "select count(*) from information_schema.tables "
        "where table_schema = 'ops' and table_name = 'sync_runs'"
    ).fetchone()
    if not has_runs:
        return None
    row = con.execute("select max(as_of) from ops.sync_runs where status = 'completed'").fetchone()
    value = row[0] if row else None
    return value if isinstance(value, datetime) else None


def load_report(con: Connection, warehouse: str, *, top_n: int = 25) -> ReportData:
    """Read every section of the report from the marts (call missing_marts first)."""
    (leads_total,) = con.execute("select count(*) from marts.dim_leads").fetchone()
    stale_counts, stale_leads, stale_total, dead_total = read_stale(con, top_n)
    return ReportData(
        warehouse=warehouse,
        as_of=read_as_of(con),
        leads_total=_int(leads_total),
        funnel=read_funnel(con),
        cohorts=read_cohorts(con),
        stage_times=read_stage_times(con),
        speed=read_speed_to_lead(con),
        stale_counts=stale_counts,
        stale_leads=stale_leads,
        stale_total=stale_total,
        dead_total=dead_total,
        reps=read_reps(con),
        velocity=read_velocity(con),
    )
