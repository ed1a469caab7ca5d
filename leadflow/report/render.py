"""The report page: one self-contained HTML document (inline CSS, inline SVG, no script, no fetch).

`render(data)` is pure: the same ReportData gives the same page, apart from the generated-at time
passed in. Every value from the warehouse is HTML-escaped on its way into the page.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from html import escape

from leadflow.report import svg
from leadflow.report.queries import CohortRate, ReportData, StageTime

# Lines drawn in the conversion-by-source chart: the sources with the most leads, the rest summed.
MAX_SOURCES = 6
# Weeks pooled into each point of the conversion chart: one week of one source is often a handful
# of leads, whose rate jumps between 0% and 100%; a trailing 4-week rate shows the trend.
ROLLING_WEEKS = 4
# viewBox width of a chart that spans both columns (half-width charts use svg.WIDTH).
WIDE = 1160
# What a cell shows when the mart has no value (an en dash).
NONE = "\u2013"

CSS = """
:root { --ink:#0f172a; --muted:#64748b; --line:#e2e8f0; --panel:#ffffff; --bg:#f1f5f9;
  --accent:#2563eb; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  -webkit-font-smoothing: antialiased; }
header { background:#0f172a; color:#f8fafc; padding:28px 0 64px; }
header .inner, main { max-width:1240px; margin:0 auto; padding-left:32px; padding-right:32px; }
header h1 { margin:0 0 4px; font-size:24px; font-weight:650; letter-spacing:-0.01em; }
header .meta { color:#cbd5e1; font-size:13px; }
header .meta code { color:#e2e8f0; font-size:12px; }
main { padding-bottom:48px; }
svg { display:block; max-width:100%; height:auto; }
.kpis { display:grid; grid-template-columns:repeat(auto-fit, minmax(150px, 1fr)); gap:12px;
  margin:-44px 0 24px; }
.kpi { background:var(--panel); border:1px solid var(--line); border-radius:10px; padding:14px 16px;
  box-shadow:0 1px 2px rgba(15,23,42,.06); }
.kpi .label { color:var(--muted); font-size:12px; text-transform:uppercase; letter-spacing:.04em; }
.kpi .value { font-size:22px; font-weight:650; font-variant-numeric:tabular-nums; white-space:nowrap; }
.kpi .sub { color:var(--muted); font-size:12px; }
.grid { display:grid; grid-template-columns:repeat(2, minmax(0, 1fr)); gap:20px; }
.card { background:var(--panel); border:1px solid var(--line); border-radius:12px; padding:18px 20px;
  box-shadow:0 1px 2px rgba(15,23,42,.06); min-width:0; }
.card.wide { grid-column:1 / -1; }
.card h2 { margin:0; font-size:16px; font-weight:620; }
.card p.note { margin:2px 0 14px; color:var(--muted); font-size:13px; }
.stats { display:flex; gap:24px; margin:4px 0 8px; flex-wrap:wrap; }
.stats div { font-size:12px; color:var(--muted); }
.stats strong { display:block; font-size:18px; color:var(--ink); font-variant-numeric:tabular-nums; }
table { width:100%; border-collapse:collapse; font-size:13px; font-variant-numeric:tabular-nums; }
th { text-align:left; font-weight:600; color:#475569; border-bottom:1px solid #cbd5e1;
  padding:6px 8px; white-space:nowrap; }
td { border-bottom:1px solid var(--line); padding:6px 8px; }
th.n, td.n { text-align:right; }
tbody tr:nth-child(even) { background:#f8fafc; }
.empty { color:var(--muted); font-style:italic; padding:12px 0; }
.tag { display:inline-block; padding:1px 8px; border-radius:999px; font-size:11px; font-weight:600; }
.tag.dead { background:#fee2e2; color:#991b1b; }
.tag.stale { background:#fef3c7; color:#92400e; }
footer { color:var(--muted); font-size:12px; text-align:center; padding:8px 0 24px; }
@media (max-width: 900px) { .grid { grid-template-columns:1fr; } }
@media print { body { background:#fff; } .card, .kpi { box-shadow:none; } }
"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def fmt_int(value: float | None) -> str:
    return NONE if value is None else f"{round(value):,}"


def fmt_rate(value: float | None) -> str:
    return NONE if value is None else svg.percent(value)


def fmt_money(value: float | None) -> str:
    return NONE if value is None else f"{value:,.0f}"


def fmt_minutes(value: float | None) -> str:
    """A response time in the unit a person reads it in: 4.2 min, 3.5 h, 2.1 days."""
    if value is None:
        return NONE
    if value < 60:
        return f"{value:.1f} min"
    if value < 1440:
        return f"{value / 60:.1f} h"
    return f"{value / 1440:.1f} days"


def fmt_days(value: float | None) -> str:
    return NONE if value is None else f"{value:,.1f}"


def week_label(day: date) -> str:
    return f"{day:%b} {day.day}"


def month_label(day: date) -> str:
    return f"{day:%b %Y}"


def _card(title: str, note: str, body: str, *, wide: bool = False, section: str = "") -> str:
    return (
        f'<section class="card{" wide" if wide else ""}" id="{_e(section)}">'
        f'<h2>{escape(title)}</h2><p class="note">{escape(note)}</p>{body}</section>'
    )


def _table(headers: Sequence[tuple[str, bool]], rows: Sequence[Sequence[str]], empty: str) -> str:
    """headers: (label, numeric); cells are already-escaped HTML."""
    if not rows:
        return f'<p class="empty">{escape(empty)}</p>'
    head = "".join(
        f"<th{' class=n' if numeric else ''}>{escape(label)}</th>" for label, numeric in headers
    )
    body = "".join(
        "<tr>"
        + "".join(
            f"<td{' class=n' if numeric else ''}>{cell}</td>"
            for (_, numeric), cell in zip(headers, row, strict=True)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _kpi(label: str, value: str, sub: str = "") -> str:
    return (
        f'<div class="kpi"><div class="label">{escape(label)}</div>'
        f'<div class="value">{escape(value)}</div><div class="sub">{escape(sub)}</div></div>'
    )


def conversion_series(
    cohorts: Sequence[CohortRate],
    max_sources: int = MAX_SOURCES,
    window: int = ROLLING_WEEKS,
) -> tuple[list[date], list[svg.Series]]:
    """Trailing `window`-week lead -> MQL rate per created week, one series per source.

    Every calendar week from the first cohort to the last gets a point (MQLs / leads of that week
    and the window - 1 before it; None when those weeks had no leads). The largest sources get
    their own line; the rest are pooled as 'other'.
    """
    if not cohorts:
        return [], []
    first = min(c.created_week for c in cohorts)
    last = max(c.created_week for c in cohorts)
    weeks = [first + timedelta(weeks=i) for i in range((last - first).days // 7 + 1)]
    volume: dict[str, int] = defaultdict(int)
    for c in cohorts:
        volume[c.source] += c.leads
    ranked = sorted(volume, key=lambda s: (-volume[s], s))
    shown = ranked if len(ranked) <= max_sources else ranked[: max_sources - 1]
    cells: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0])
    for c in cohorts:
        name = c.source if c.source in shown else "other"
        cells[(name, c.created_week)][0] += c.leads
        cells[(name, c.created_week)][1] += c.mqls
    names = shown + (["other"] if len(ranked) > len(shown) else [])
    series = []
    for name in names:
        values: list[float | None] = []
        for index in range(len(weeks)):
            pooled = [
                cells.get((name, w), [0, 0]) for w in weeks[max(0, index - window + 1) : index + 1]
            ]
            leads = sum(p[0] for p in pooled)
            values.append(sum(p[1] for p in pooled) / leads if leads else None)
        series.append(svg.Series(name, values))
    return weeks, series


def _stage_time_chart(times: Sequence[StageTime]) -> str:
    shown = [t for t in times if t.median_hours is not None or t.p90_hours is not None]
    longest = max((t.p90_hours or t.median_hours or 0) for t in shown) if shown else 0
    in_days = longest > 72
    scale = 24.0 if in_days else 1.0
    unit = "days" if in_days else "hours"

    def scaled(value: float | None) -> float | None:
        return None if value is None else value / scale

    return svg.bar_chart(
        "time-in-stage",
        "Time in stage (median and p90)",
        [t.stage for t in shown],
        [
            svg.Series("Median", [scaled(t.median_hours) for t in shown]),
            svg.Series("P90", [scaled(t.p90_hours) for t in shown]),
        ],
        x_label="Stage",
        y_label=f"Time in stage ({unit})",
    )


def render(data: ReportData, *, generated_at: datetime) -> str:
    """The whole page as one HTML string."""
    funnel = data.funnel
    speed = data.speed
    as_of = f"{data.as_of:%Y-%m-%d %H:%M} UTC" if data.as_of else "unknown (no completed run)"
    qualified = funnel.mqls / funnel.leads if funnel.leads else None
    win = funnel.won / funnel.leads if funnel.leads else None

    kpis = "".join(
        [
            _kpi("Leads", fmt_int(data.leads_total), "in dim_leads"),
            _kpi("MQLs", fmt_int(funnel.mqls), f"qualified-lead rate {fmt_rate(qualified)}"),
            _kpi("SQLs", fmt_int(funnel.sqls)),
            _kpi("Opportunities", fmt_int(funnel.opportunities)),
            _kpi("Won", fmt_int(funnel.won), f"lead → won {fmt_rate(win)}"),
            _kpi(
                "Speed to lead",
                fmt_minutes(speed.median_minutes if speed else None),
                f"median; {fmt_rate(speed.share_within_5_minutes if speed else None)} within 5 min",
            ),
            _kpi("Stale / dead", f"{data.stale_total:,} / {data.dead_total:,}", "open leads"),
        ]
    )

    funnel_svg = svg.funnel_chart("funnel", "Lead funnel", funnel.stages())
    weeks, series = conversion_series(data.cohorts)
    conversion_svg = svg.line_chart(
        "conversion-by-source",
        f"Lead → MQL conversion by source (trailing {ROLLING_WEEKS} weeks)",
        [week_label(w) for w in weeks],
        series,
        x_label="Week the leads were created",
        y_label="Lead → MQL rate",
        fmt=lambda v: f"{v * 100:.0f}%",
        y_top=1.0,
        width=WIDE,
    )
    stage_svg = _stage_time_chart(data.stage_times)
    stage_table = _table(
        [("Stage", False), ("Entries", True), ("Mean", True), ("Median", True), ("P90", True)],
        [
            [
                _e(t.stage),
                fmt_int(t.entries),
                _e(fmt_minutes(None if t.mean_hours is None else t.mean_hours * 60)),
                _e(fmt_minutes(None if t.median_hours is None else t.median_hours * 60)),
                _e(fmt_minutes(None if t.p90_hours is None else t.p90_hours * 60)),
            ]
            for t in data.stage_times
        ],
        "No stage history yet.",
    )

    speed_svg = svg.histogram(
        "speed-to-lead",
        "Speed to lead: created → first touch",
        speed.buckets if speed else [],
        x_label="Time to first touch (m minutes, h hours, d days)",
        y_label="Leads",
    )
    speed_stats = (
        '<div class="stats">'
        f"<div><strong>{_e(fmt_minutes(speed.median_minutes if speed else None))}</strong>median</div>"
        f"<div><strong>{_e(fmt_minutes(speed.p90_minutes if speed else None))}</strong>p90</div>"
        f"<div><strong>{_e(fmt_rate(speed.share_within_5_minutes if speed else None))}</strong>"
        "within 5 minutes</div>"
        f"<div><strong>{fmt_int(speed.touched if speed else 0)} / {fmt_int(speed.leads if speed else 0)}"
        "</strong>leads touched</div></div>"
    )

    stale_svg = svg.bar_chart(
        "stale-leads",
        "Open stale and dead leads by current stage",
        [c.stage for c in data.stale_counts],
        [
            svg.Series("Stale", [c.stale for c in data.stale_counts]),
            svg.Series("Dead", [c.dead for c in data.stale_counts]),
        ],
        x_label="Current stage",
        y_label="Open leads",
        integer=True,
    )
    stale_by_stage = _table(
        [("Stage", False), ("Stale after (days)", True), ("Stale", True), ("Dead", True)],
        [
            [_e(c.stage), _e(fmt_days(c.stale_after_days)), fmt_int(c.stale), fmt_int(c.dead)]
            for c in data.stale_counts
        ],
        "No stale or dead leads.",
    )
    stale_table = _table(
        [
            ("Lead", False),
            ("Owner", False),
            ("Stage", False),
            ("Days in stage", True),
            ("Limit (days)", True),
            ("Days idle", True),
            ("Status", False),
        ],
        [
            [
                f"<code>{_e(lead.lead_id)}</code>",
                _e(lead.owner),
                _e(lead.current_stage),
                _e(fmt_days(lead.days_in_stage)),
                _e(fmt_days(lead.stale_after_days)),
                _e(fmt_days(lead.days_since_activity)),
                ('<span class="tag dead">dead</span> ' if lead.is_dead else "")
                + ('<span class="tag stale">stale</span>' if lead.is_stale else ""),
            ]
            for lead in data.stale_leads
        ],
        "No stale or dead leads.",
    )

    rep_table = _table(
        [
            ("Rep", False),
            ("Assigned", True),
            ("Contacted", True),
            ("Contact rate", True),
            ("Converted (SQL+)", True),
            ("Won", True),
            ("Median response", True),
            ("Touches / lead", True),
        ],
        [
            [
                _e(rep.owner_email or rep.owner_id),
                fmt_int(rep.assigned),
                fmt_int(rep.contacted),
                _e(fmt_rate(rep.contacted / rep.assigned if rep.assigned else None)),
                fmt_int(rep.converted),
                fmt_int(rep.won),
                _e(fmt_minutes(rep.median_response_minutes)),
                _e(NONE if rep.touches_per_lead is None else f"{rep.touches_per_lead:.1f}"),
            ]
            for rep in data.reps
        ],
        "No leads assigned yet.",
    )

    velocity_svg = svg.bar_chart(
        "pipeline-velocity",
        "Pipeline velocity per month",
        [month_label(v.period_month) for v in data.velocity],
        [svg.Series("Velocity", [v.velocity_per_day for v in data.velocity])],
        x_label="Month",
        y_label="Velocity (value per day)",
        fmt=lambda v: f"{v:,.0f}",
        width=WIDE,
    )
    velocity_table = _table(
        [
            ("Month", False),
            ("Opportunities", True),
            ("Won", True),
            ("Lost", True),
            ("Win rate", True),
            ("Avg deal value", True),
            ("Avg cycle (days)", True),
            ("Velocity / day", True),
        ],
        [
            [
                _e(month_label(v.period_month)),
                fmt_int(v.opportunities),
                fmt_int(v.won),
                fmt_int(v.lost),
                _e(fmt_rate(v.win_rate)),
                _e(fmt_money(v.avg_deal_value)),
                _e(fmt_days(v.avg_cycle_days)),
                _e(fmt_money(v.velocity_per_day)),
            ]
            for v in data.velocity
        ],
        "No opportunities yet.",
    )

    cards = "".join(
        [
            _card(
                "Funnel",
                "All leads, and how many of them reached each stage; the share beside each step is "
                "its conversion from the stage above (rpt_cohort_conversion).",
                funnel_svg,
                section="funnel",
            ),
            _card(
                "Speed to lead",
                "Time from a lead's creation to its first sales touch (fct_lead_first_touch, "
                "rpt_speed_to_lead).",
                speed_stats + speed_svg,
                section="speed-to-lead",
            ),
            _card(
                "Conversion by source over time",
                f"Share of new leads that became MQLs, per first-touch source and created week, "
                f"pooled over the trailing {ROLLING_WEEKS} weeks (rpt_cohort_conversion).",
                conversion_svg,
                wide=True,
                section="conversion",
            ),
            _card(
                "Time in stage",
                "How long leads stay in each stage before moving on (rpt_time_in_stage).",
                stage_svg + stage_table,
                section="time-in-stage",
            ),
            _card(
                "Stale and dead leads",
                "Open leads past their stage's limit (stale) or without activity for too long "
                "(dead), by the stage they sit in (rpt_stale_leads).",
                stale_svg + stale_by_stage,
                section="stale-leads",
            ),
            _card(
                f"Oldest stale and dead leads (top {len(data.stale_leads)})",
                "Dead leads first, then the longest in their stage; lead ids and owners only.",
                stale_table,
                wide=True,
                section="stale-list",
            ),
            _card(
                "Rep leaderboard",
                "Leads per owner: assigned, contacted, converted to SQL or beyond, won, and how "
                "fast they answer (rpt_rep_leaderboard).",
                rep_table,
                wide=True,
                section="rep-leaderboard",
            ),
            _card(
                "Pipeline velocity",
                "Opportunities \u00d7 average deal value \u00d7 win rate \u00f7 average cycle days, by month "
                "(rpt_pipeline_velocity).",
                velocity_svg + velocity_table,
                wide=True,
                section="pipeline-velocity",
            ),
        ]
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>LeadFlow funnel report</title>"
        f"<style>{CSS}</style></head><body>"
        '<header><div class="inner"><h1>LeadFlow funnel report</h1>'
        f'<div class="meta">Data as of <strong>{_e(as_of)}</strong> · generated '
        f"{_e(f'{generated_at:%Y-%m-%d %H:%M} UTC')} · warehouse <code>{_e(data.warehouse)}</code>"
        "</div></div></header>"
        f'<main><div class="kpis">{kpis}</div><div class="grid">{cards}</div></main>'
        "<footer>Built by <code>leadflow report</code> from the dbt marts; no data leaves this "
        "file.</footer></body></html>\n"
    )
