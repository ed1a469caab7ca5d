"""Score every lead from its unified profile and intent events; store scores, history, MQL events.

Reads intermediate.int_leads_unified and intermediate.int_lead_events_unioned (built by dbt's
`prepare` selector) and writes ops.lead_scores (current), ops.lead_score_history (a row whenever a
lead's score, grade, temperature or MQL flag changes) and ops.lead_lifecycle_events (the moment a
lead first crossed the MQL threshold), all in one transaction.
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pandas as pd

from leadflow.config import ScoringConfig
from leadflow.warehouse import nulls_to_none, registered, stable_hash, transaction, utcnow
from scoring.rules import Event, LeadScore, score_lead, scoring_moment

__all__ = ["ScoreResult", "model_version", "score_all", "score_lead"]


@dataclass
class ScoreResult:
    scored: int
    changed: int
    new_mqls: int


def model_version(config: ScoringConfig) -> str:
    """The configured version plus a hash of the rules, so a rule edit is visible on every score."""
    return f"{config.model_version}+{stable_hash(config.model_dump(mode='json'))[:8]}"


def score_all(
    con: duckdb.DuckDBPyConnection, config: ScoringConfig, *, run_id: str, as_of: datetime
) -> ScoreResult:
    leads = nulls_to_none(
        con.execute("select * from intermediate.int_leads_unified order by lead_id").df()
    )
    events_by_lead: dict[str, list[Event]] = defaultdict(list)
    for lead_id, event, occurred_at, quantity in con.execute(
        "select lead_id, event, occurred_at, quantity from intermediate.int_lead_events_unioned"
    ).fetchall():
        events_by_lead[lead_id].append(Event(event, occurred_at, float(quantity or 1)))

    moment = scoring_moment(as_of, config.decay_resolution)
    version = model_version(config)
    now = utcnow()
    rows = []
    for lead in leads.to_dict("records"):
        result: LeadScore = score_lead(
            lead, events_by_lead.get(lead["lead_id"], []), config, moment
        )
        rows.append(
            {
                "lead_id": lead["lead_id"],
                "score": result.score,
                "fit_score": result.fit_score,
                "intent_score": result.intent_score,
                "negative_score": result.negative_score,
                "grade": result.grade,
                "temperature": result.temperature,
                "is_mql": result.is_mql,
                "factors": json.dumps([f.as_dict() for f in result.factors]),
                "reasons": result.reasons(),
                "model_version": version,
                "scored_as_of": moment,
                "scored_at": now,
                "run_id": run_id,
            }
        )
    frame = pd.DataFrame(
        rows,
        columns=[
            "lead_id",
            "score",
            "fit_score",
            "intent_score",
            "negative_score",
            "grade",
            "temperature",
            "is_mql",
            "factors",
            "reasons",
            "model_version",
            "scored_as_of",
            "scored_at",
            "run_id",
        ],
    )
    with transaction(con), registered(con, "new_scores", frame):
        # A history row for every lead whose score, bands, MQL flag or model changed (or is new).
        changed = con.execute(
            """
            insert into ops.lead_score_history
            select n.lead_id, n.score, n.grade, n.temperature, n.is_mql, n.model_version,
                   n.scored_as_of, n.scored_at, n.run_id
            from new_scores n left join ops.lead_scores o using (lead_id)
            where o.lead_id is null or (n.score, n.grade, n.temperature, n.is_mql, n.model_version)
                  is distinct from (o.score, o.grade, o.temperature, o.is_mql, o.model_version)
            returning lead_id
            """
        ).fetchall()
        new_mqls = con.execute(
            """
            insert or ignore into ops.lead_lifecycle_events (lead_id, event, occurred_at, score, run_id)
            select lead_id, 'mql', ?, score, run_id from new_scores where is_mql
            returning lead_id
            """,
            [as_of],
        ).fetchall()
        # Leads absorbed by a merge no longer exist; their scores go with them.
        con.execute(
            "delete from ops.lead_scores where lead_id not in (select lead_id from new_scores)"
        )
        con.execute("insert or replace into ops.lead_scores by name select * from new_scores")
    return ScoreResult(scored=len(frame), changed=len(changed), new_mqls=len(new_mqls))
