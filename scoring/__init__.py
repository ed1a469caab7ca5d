"""Score every lead from its unified profile and intent events; store scores, history, lifecycle.

Reads intermediate.int_leads_unified (firmographics included: enrichment/firmographics.py) and
intermediate.int_lead_events_unioned (built by dbt's `prepare` selector) and writes, in one transaction:

- ops.lead_scores: the current score of each lead, with every factor (see scoring.rules);
- ops.lead_score_history: a row whenever a lead's score, grade, temperature, MQL flag or model
  changes, with its cause (`change_cause`);
- ops.lead_lifecycle_events: the moment a lead first crossed the MQL (and SQL) threshold. The first
  crossing is kept: a later drop below the threshold does not remove it.

A run re-scores only the leads whose score could differ (cost follows what changed): a lead's
input_fingerprint hashes its whole int_leads_unified row, its intent events, the scoring moment
(decay steps once a day, or an hour) and the rules' version; a lead whose fingerprint is the stored
one keeps its score. A new day, or edited rules, re-scores every lead. With a predictive model
(scoring.mode model or blend) every lead is scored every run: its features read more than the row.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import pandas as pd

from enrichment.firmographics import technology_lists
from leadflow.config import ScoringConfig
from leadflow.faults import crash_point
from leadflow.warehouse import nulls_to_none, registered, stable_hash, transaction, utcnow
from scoring.model import model_reasons, with_model
from scoring.rules import REASONS_MAX_CHARS, Event, LeadScore, score_lead, scoring_moment

__all__ = [
    "ScoreResult",
    "change_cause",
    "load_events",
    "model_version",
    "score_all",
    "score_lead",
]

log = logging.getLogger("leadflow.scoring")

# Leads scored at a time: their rows, events and score dicts are what a run holds in Python
SCORE_CHUNK = 50_000

SCORE_COLUMNS = [
    "lead_id",
    "score",
    "fit_score",
    "intent_score",
    "negative_score",
    "grade",
    "temperature",
    "is_mql",
    "is_sql",
    "factors",
    "reasons",
    "model_version",
    "scored_as_of",
    "scored_at",
    "run_id",
    "input_fingerprint",
]
HISTORY_COLUMNS = [
    "lead_id",
    "score",
    "grade",
    "temperature",
    "is_mql",
    "model_version",
    "scored_as_of",
    "scored_at",
    "run_id",
    "cause",
]
# A change in any of these is a new history row.
TRACKED = ("score", "grade", "temperature", "is_mql", "model_version")


@dataclass
class ScoreResult:
    scored: int  # leads with a current score
    changed: int  # leads whose tracked score fields changed (a history row each)
    new_mqls: int
    new_sqls: int = 0
    rescored: int = 0  # leads scored this run (the others' inputs had not changed)


# Settings that choose and train the predictive model, not the rules: editing them must not look
# like a rules change on every lead's score history.
MODEL_KEYS = {"mode", "blend_weight", "model"}


def model_version(config: ScoringConfig) -> str:
    """The configured version plus a hash of the rules, so a rule edit is visible on every score."""
    rules = config.model_dump(mode="json", exclude=MODEL_KEYS)
    return f"{config.model_version}+{stable_hash(rules)[:8]}"


@dataclass
class ModelScores:
    """The active model's view of every lead at the scoring moment (mode model or blend)."""

    version: str
    probability: dict[str, float]
    contributions: dict[str, list[tuple[str, float]]]


def model_scores(
    con: duckdb.DuckDBPyConnection, config: ScoringConfig, moment: datetime
) -> ModelScores | None:
    """Predictions of the active model, or None when the rules alone score (and why, logged)."""
    if config.mode == "rules":
        return None
    from scoring.features import features_for_scoring
    from scoring.model import active_model

    model = active_model(con)
    if model is None:
        log.warning(
            "scoring.mode is %s but no model is active (train one with `leadflow train`); "
            "scoring uses the rules",
            config.mode,
        )
        return None
    features = features_for_scoring(con, None, moment)
    ids = features.index.astype(str).tolist()  # indexed by lead_id
    probabilities = model.predict(features)
    contributions = model.contributions(features, top=config.top_factors)
    return ModelScores(
        model.version,
        {lead_id: float(p) for lead_id, p in zip(ids, probabilities, strict=True)},
        dict(zip(ids, contributions, strict=True)),
    )


def load_events(
    con: duckdb.DuckDBPyConnection, lead_ids: Iterable[str] | None = None
) -> dict[str, list[Event]]:
    """Intent events per lead from intermediate.int_lead_events_unioned."""
    sql = "select lead_id, event, occurred_at, quantity from intermediate.int_lead_events_unioned"
    params: list[Any] = []
    if lead_ids is not None:
        sql += " where lead_id = any(?)"
        params.append(list(lead_ids))
    return _events(con.execute(sql, params).fetchall())


def _events(rows: Iterable[tuple[Any, ...]]) -> dict[str, list[Event]]:
    events: dict[str, list[Event]] = defaultdict(list)
    for lead_id, event, occurred_at, quantity in rows:
        events[lead_id].append(Event(event, occurred_at, float(quantity or 1)))
    return events


def _by_factor(factors: list[dict[str, Any]], groups: tuple[str, ...]) -> dict[str, dict]:
    return {f["factor"]: f for f in factors if f.get("group") in groups}


def change_cause(
    old_factors: list[dict[str, Any]] | None,
    old_version: str | None,
    new_factors: list[dict[str, Any]],
    new_version: str,
) -> str:
    """Why a lead's score changed, from the previous factors and the new ones.

    'new lead' | 'rules changed (<old> -> <new>)' | 'new activity: <events>' |
    'attributes changed: +<factor>, -<factor>' (both may appear, joined by '; ') |
    'decay (activity aged)' | 'recomputed' (nothing above, e.g. an unchanged lead re-scored).
    """
    if old_factors is None:
        return "new lead"
    if old_version != new_version:
        return f"rules changed ({old_version} -> {new_version})"
    parts = []
    old_intent = _by_factor(old_factors, ("intent",))
    new_intent = _by_factor(new_factors, ("intent",))
    active = []
    for name, factor in new_intent.items():
        before = old_intent.get(name)
        if before is None:
            active.append(name)
            continue
        new_detail, old_detail = factor.get("detail") or {}, before.get("detail") or {}
        if new_detail.get("occurrences", 0) > old_detail.get("occurrences", 0) or (
            new_detail.get("last_at") or ""
        ) > (old_detail.get("last_at") or ""):
            active.append(name)
        elif not old_detail and factor["points"] > before["points"]:
            active.append(name)  # a score stored before factors carried their detail
    if active:
        parts.append("new activity: " + ", ".join(sorted(active)))
    old_attrs = set(_by_factor(old_factors, ("fit", "negative")))
    new_attrs = set(_by_factor(new_factors, ("fit", "negative")))
    if old_attrs != new_attrs:
        changes = [f"+{n}" for n in sorted(new_attrs - old_attrs)]
        changes += [f"-{n}" for n in sorted(old_attrs - new_attrs)]
        parts.append("attributes changed: " + ", ".join(changes))
    if parts:
        return "; ".join(parts)
    faded = any(
        name not in new_intent or new_intent[name]["points"] < factor["points"]
        for name, factor in old_intent.items()
    )
    return "decay (activity aged)" if faded else "recomputed"


def _fingerprints(
    con: duckdb.DuckDBPyConnection, moment: datetime, rules_version: str
) -> pd.DataFrame:
    """lead_id, input_fingerprint and whether the stored score has the same one: everything a
    rules score is computed from, hashed in the warehouse (no lead leaves DuckDB for this). The
    row's hash is DuckDB's 64-bit hash of the whole row (0.08 s for 100k leads; an md5 of its text
    took 3 s): a DuckDB upgrade that changes it re-scores every lead once."""
    return con.execute(
        """
        with events as (
            select lead_id, count(*) as n, bit_xor(hash(event, occurred_at, quantity)) as h
            from intermediate.int_lead_events_unioned
            group by lead_id
        ),
        current as (
            select
                leads.lead_id,
                md5(concat_ws('|', hash(leads), coalesce(events.n, 0),
                              coalesce(events.h, 0), cast(? as varchar), ?)) as input_fingerprint
            from intermediate.int_leads_unified as leads
            left join events on events.lead_id = leads.lead_id
        )
        select current.lead_id, current.input_fingerprint,
               coalesce(scores.input_fingerprint = current.input_fingerprint, false) as unchanged
        from current
        left join ops.lead_scores as scores on scores.lead_id = current.lead_id
        """,
        [moment, rules_version],
    ).df()


def score_all(
    con: duckdb.DuckDBPyConnection,
    config: ScoringConfig,
    *,
    run_id: str,
    as_of: datetime,
    chunk_size: int = SCORE_CHUNK,
) -> ScoreResult:
    """Score every lead whose inputs changed since its stored score, `chunk_size` leads at a time
    (each chunk's leads, events and scores are in Python only while it is scored; the scores wait
    in temporary tables), then write them all in one transaction."""
    moment = scoring_moment(as_of, config.decay_resolution)
    rules_version = model_version(config)
    predicted = model_scores(con, config, moment)
    fingerprints = _fingerprints(con, moment, rules_version)
    if predicted is not None:  # a model's features read more than the lead's row: score all
        fingerprints["unchanged"] = False
    due = fingerprints.loc[~fingerprints["unchanged"], ["lead_id", "input_fingerprint"]]
    version = (
        rules_version
        if predicted is None
        else predicted.version
        if config.mode == "model"
        else f"blend({rules_version},{predicted.version})"
    )
    now = utcnow()
    con.execute("create or replace temp table new_scores as from ops.lead_scores limit 0")
    con.execute("create or replace temp table new_history as from ops.lead_score_history limit 0")
    rescored = changed = 0
    for start in range(0, len(due), chunk_size):
        frame, history_frame = _score_chunk(
            con,
            due.iloc[start : start + chunk_size],
            config,
            predicted,
            moment,
            version,
            now,
            run_id,
        )
        with (
            registered(con, "chunk_scores", frame),
            registered(con, "chunk_history", history_frame),
        ):
            con.execute("insert into new_scores by name select * from chunk_scores")
            con.execute("insert into new_history by name select * from chunk_history")
        rescored, changed = rescored + len(frame), changed + len(history_frame)
    with transaction(con):
        con.execute("insert into ops.lead_score_history by name select * from new_history")
        crossings = {}
        for event, flag in (("mql", "is_mql"), ("sql", "is_sql")):
            # insert-or-ignore on (lead_id, event): only the first crossing is recorded.
            crossings[event] = con.execute(
                f"""
                insert or ignore into ops.lead_lifecycle_events
                    (lead_id, event, occurred_at, score, run_id)
                select lead_id, '{event}', ?, score, run_id from new_scores where {flag}
                returning lead_id
                """,
                [as_of],
            ).fetchall()
        # Leads absorbed by a merge no longer exist; their scores go with them.
        con.execute(
            "delete from ops.lead_scores s where not exists"
            " (select 1 from intermediate.int_leads_unified l where l.lead_id = s.lead_id)"
        )
        con.execute("insert or replace into ops.lead_scores by name select * from new_scores")
        crash_point("score:written")
    con.execute("drop table new_scores")
    con.execute("drop table new_history")
    return ScoreResult(
        scored=len(fingerprints),
        changed=changed,
        new_mqls=len(crossings["mql"]),
        new_sqls=len(crossings["sql"]),
        rescored=rescored,
    )


def _score_chunk(
    con: duckdb.DuckDBPyConnection,
    due: pd.DataFrame,
    config: ScoringConfig,
    predicted: Any,
    moment: datetime,
    version: str,
    now: datetime,
    run_id: str,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the scores, the history rows) of the leads in `due` (lead_id, input_fingerprint)."""
    with registered(con, "due_leads", due):
        leads = nulls_to_none(
            technology_lists(
                con.execute(
                    "select l.* from intermediate.int_leads_unified l"
                    " semi join due_leads d on d.lead_id = l.lead_id order by l.lead_id"
                ).df()
            )
        )
        previous = {
            row[0]: row[1:]
            for row in con.execute(
                f"select s.lead_id, s.factors, {', '.join('s.' + c for c in TRACKED)}"
                " from ops.lead_scores s semi join due_leads d on d.lead_id = s.lead_id"
            ).fetchall()
        }
        events_by_lead = _events(
            con.execute(
                "select e.lead_id, e.event, e.occurred_at, e.quantity"
                " from intermediate.int_lead_events_unioned e"
                " semi join due_leads d on d.lead_id = e.lead_id"
            ).fetchall()
        )
    fingerprint_of = dict(zip(due["lead_id"], due["input_fingerprint"], strict=True))
    rows = []
    history = []
    for lead in leads.to_dict("records"):
        result: LeadScore = score_lead(
            lead, events_by_lead.get(lead["lead_id"], []), config, moment
        )
        reasons = result.reasons()
        probability = predicted.probability.get(lead["lead_id"]) if predicted else None
        if predicted is not None and probability is not None:
            contributions = predicted.contributions[lead["lead_id"]]
            result = with_model(result, probability, contributions, predicted.version, config)
            reasons = f"{model_reasons(probability, contributions)}; {reasons}"[:REASONS_MAX_CHARS]
        factors = result.factor_dicts()
        row = {
            "lead_id": lead["lead_id"],
            "score": result.score,
            "fit_score": result.fit_score,
            "intent_score": result.intent_score,
            "negative_score": result.negative_score,
            "grade": result.grade,
            "temperature": result.temperature,
            "is_mql": result.is_mql,
            "is_sql": result.is_sql,
            "factors": json.dumps(factors),
            "reasons": reasons,
            "model_version": version,
            "scored_as_of": moment,
            "scored_at": now,
            "run_id": run_id,
            "input_fingerprint": fingerprint_of[lead["lead_id"]],
        }
        rows.append(row)
        old = previous.get(lead["lead_id"])
        if old is not None and tuple(old[1:]) == tuple(row[c] for c in TRACKED):
            continue
        cause = change_cause(
            json.loads(old[0]) if old is not None else None,
            old[-1] if old is not None else None,
            factors,
            version,
        )
        history.append({**{c: row[c] for c in HISTORY_COLUMNS if c != "cause"}, "cause": cause})

    return (
        pd.DataFrame(rows, columns=SCORE_COLUMNS),
        pd.DataFrame(history, columns=HISTORY_COLUMNS),
    )
