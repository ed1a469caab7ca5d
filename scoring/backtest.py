"""`leadflow backtest`: how a candidate scoring config would have graded last quarter's leads.

Each lead created in the last `days` days is scored twice, with the current config's rules and the
candidate's, at its own scoring moment (created_at + model.feature_delay_hours, the same moment the
model trains at; see scoring/outcomes.py). Only intent events that happened before that moment
count, so a lead's later demo request cannot explain its own conversion. What "converted" means is
the current config's `scoring.model` (conversion_stage within window_days), read from
scoring.outcomes.lead_outcomes, so the backtest and the model agree.

Limits, stated rather than hidden: attributes (title, industry, size, ...) are the lead's golden
record today, as LeadFlow keeps no history of them; the CRM's own funnel fields (lifecycle stage and
stage dates) are blanked so a rule on them cannot read the outcome. Leads that had already converted
at their scoring moment tell nothing about a score and are left out (and counted). Nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pandas as pd

from enrichment.firmographics import technology_lists
from leadflow.config import ScoringConfig
from leadflow.warehouse import nulls_to_none
from scoring import load_events
from scoring.outcomes import lead_outcomes
from scoring.rules import score_lead

__all__ = ["BacktestResult", "auc", "backtest", "render"]

DEFAULT_DAYS = 90

# Columns of int_leads_unified that hold the outcome (the CRM's funnel), hidden from the rules.
OUTCOME_COLUMNS = (
    "lifecycle_stage",
    "became_lead_at",
    "became_mql_at",
    "became_sql_at",
    "became_opportunity_at",
    "became_customer_at",
)


@dataclass
class GradeRow:
    grade: str
    leads: int
    converted: int

    def rate(self) -> float | None:
        return self.converted / self.leads if self.leads else None


@dataclass
class SideResult:
    grades: list[GradeRow]
    auc: float | None
    mqls: int


@dataclass
class BacktestResult:
    as_of: datetime
    days: int
    conversion_stage: str
    window_days: int
    leads: int
    converted: int
    matured: int
    excluded_already_converted: int
    current: SideResult
    candidate: SideResult
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        def side(s: SideResult) -> dict[str, Any]:
            return {
                "auc": s.auc,
                "mqls": s.mqls,
                "grades": [
                    {
                        "grade": g.grade,
                        "leads": g.leads,
                        "converted": g.converted,
                        "conversion_rate": g.rate(),
                        "share_of_conversions": (
                            g.converted / self.converted if self.converted else None
                        ),
                    }
                    for g in s.grades
                ],
            }

        return {
            "as_of": self.as_of.isoformat(),
            "days": self.days,
            "conversion_stage": self.conversion_stage,
            "window_days": self.window_days,
            "leads": self.leads,
            "converted": self.converted,
            "matured": self.matured,
            "excluded_already_converted": self.excluded_already_converted,
            "current": side(self.current),
            "candidate": side(self.candidate),
            "notes": self.notes,
        }


def auc(scores: list[float], labels: list[bool]) -> float | None:
    """Area under the ROC curve (ties count half); None without both classes."""
    positives = sum(1 for label in labels if label)
    negatives = len(labels) - positives
    if not positives or not negatives:
        return None
    ranks = pd.Series(scores, dtype="float64").rank(method="average")
    rank_sum = float(ranks[[bool(label) for label in labels]].sum())
    return (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)


def _grade_rows(config: ScoringConfig, grades: list[str], labels: list[bool]) -> list[GradeRow]:
    order = [g for g, _ in sorted(config.bands.grades.items(), key=lambda kv: -kv[1])]
    rows = []
    for grade in order:
        picked = [label for g, label in zip(grades, labels, strict=True) if g == grade]
        rows.append(GradeRow(grade, len(picked), sum(picked)))
    return rows


def backtest(
    con: duckdb.DuckDBPyConnection,
    current: ScoringConfig,
    candidate: ScoringConfig,
    *,
    days: int = DEFAULT_DAYS,
    as_of: datetime,
) -> BacktestResult:
    """Score the last `days` days of leads with both configs; labels from the current config."""
    if days < 1:
        raise ValueError("--days must be at least 1")
    model = current.model
    outcomes = lead_outcomes(
        con,
        conversion_stage=model.conversion_stage,
        window_days=model.window_days,
        feature_delay_hours=model.feature_delay_hours,
        as_of=as_of,
    )
    since = pd.Timestamp(as_of - timedelta(days=days))
    outcomes = outcomes[
        (pd.to_datetime(outcomes["created_at"]) >= since)
        & (pd.to_datetime(outcomes["scoring_moment"]) <= pd.Timestamp(as_of))
    ]
    excluded = int(outcomes["converted_before_moment"].fillna(False).astype(bool).sum())
    outcomes = outcomes[~outcomes["converted_before_moment"].fillna(False).astype(bool)]

    lead_ids = outcomes["lead_id"].tolist()
    leads = nulls_to_none(
        technology_lists(  # as score_all sees a lead
            con.execute(
                "select * from intermediate.int_leads_unified where lead_id = any(?)", [lead_ids]
            ).df(),
        )
    )
    profiles = {
        row["lead_id"]: {k: (None if k in OUTCOME_COLUMNS else v) for k, v in row.items()}
        for row in leads.to_dict("records")
    }
    events = load_events(con, lead_ids)

    labels: list[bool] = []
    scored: dict[str, tuple[list[float], list[str], int]] = {
        "current": ([], [], 0),
        "candidate": ([], [], 0),
    }
    for item in outcomes.itertuples(index=False):
        moment = pd.Timestamp(item.scoring_moment).to_pydatetime()
        known = [
            e
            for e in events.get(item.lead_id, [])
            if e.occurred_at is not None and e.occurred_at <= moment
        ]
        profile = profiles.get(item.lead_id, {"lead_id": item.lead_id})
        labels.append(bool(item.converted))
        for name, config in (("current", current), ("candidate", candidate)):
            result = score_lead(profile, known, config, moment)
            scores, grades, mqls = scored[name]
            scores.append(result.score)
            grades.append(result.grade)
            scored[name] = (scores, grades, mqls + int(result.is_mql))

    def side(name: str, config: ScoringConfig) -> SideResult:
        scores, grades, mqls = scored[name]
        return SideResult(_grade_rows(config, grades, labels), auc(scores, labels), mqls)

    notes = []
    matured = int(outcomes["matured"].fillna(False).astype(bool).sum())
    if matured < len(outcomes):
        notes.append(
            f"{len(outcomes) - matured} of {len(outcomes)} leads are younger than the "
            f"{model.window_days}-day window: they may still convert"
        )
    return BacktestResult(
        as_of=as_of,
        days=days,
        conversion_stage=model.conversion_stage,
        window_days=model.window_days,
        leads=len(labels),
        converted=sum(labels),
        matured=matured,
        excluded_already_converted=excluded,
        current=side("current", current),
        candidate=side("candidate", candidate),
        notes=notes,
    )


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def render(result: BacktestResult) -> str:
    r = result
    lines = [
        f"Backtest of {r.leads} leads created in the {r.days} days to {r.as_of:%Y-%m-%d %H:%M} UTC",
        f"converted = reached {r.conversion_stage} within {r.window_days} days of the scoring "
        f"moment: {r.converted} of {r.leads}"
        + (
            f" ({r.excluded_already_converted} already converted at their scoring moment: left out)"
            if r.excluded_already_converted
            else ""
        ),
        "",
        f"{'':<6}| {'current':^34} | {'candidate':^34}",
        f"{'grade':<6}| {'leads':>6} {'conv':>6} {'rate':>8} {'share':>9}  "
        f"| {'leads':>6} {'conv':>6} {'rate':>8} {'share':>9}",
    ]
    cur = {g.grade: g for g in r.current.grades}
    cand = {g.grade: g for g in r.candidate.grades}
    names = list(cur) + [g for g in cand if g not in cur]

    def cells(row: GradeRow | None) -> str:
        if row is None:
            return f"{'':>6} {'':>6} {'':>8} {'':>9} "
        share = row.converted / r.converted if r.converted else None
        return f"{row.leads:>6} {row.converted:>6} {_pct(row.rate()):>8} {_pct(share):>9} "

    for name in names:
        lines.append(f"{name:<6}| {cells(cur.get(name))} | {cells(cand.get(name))}")

    def fmt_auc(value: float | None) -> str:
        return "-" if value is None else f"{value:.3f}"

    lines += [
        "",
        f"AUC (score vs converted)   current {fmt_auc(r.current.auc)}   "
        f"candidate {fmt_auc(r.candidate.auc)}",
        f"MQLs                       current {r.current.mqls}   candidate {r.candidate.mqls}",
    ]
    lines += [f"note: {n}" for n in r.notes]
    return "\n".join(line.rstrip() for line in lines)
