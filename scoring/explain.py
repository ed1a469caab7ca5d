"""`leadflow explain`: why a lead has its score, and who owns it and why, from the warehouse.

Reads only (ops.lead_records, ops.lead_identity, ops.lead_scores, ops.lead_score_history,
ops.lead_lifecycle_events, ops.routing_audit) and prints every factor of the lead's score with its
points, so the printed points add up exactly to the score; then the score's history and its causes;
then the routing explanation. It names the lead by its id and never prints a lead's email or phone
number (the routing lines name reps, who are not leads), so the output can go into a ticket.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import duckdb

from enrichment.normalize import normalize_email
from leadflow.warehouse import table_columns

__all__ = ["LeadNotFound", "explain_lead", "find_lead", "render"]


class LeadNotFound(Exception):
    """No lead matches what the user gave; the message is one line and holds no email."""


@dataclass
class Explanation:
    lead_id: str
    records: list[dict[str, Any]]
    score: dict[str, Any] | None
    factors: list[dict[str, Any]]
    lifecycle: dict[str, Any]
    history: list[dict[str, Any]]
    routing: list[str]
    routing_source: str
    notes: list[str] = field(default_factory=list)

    def factor_total(self) -> Decimal:
        return sum((Decimal(str(f["points"])) for f in self.factors), Decimal(0))

    def as_dict(self) -> dict[str, Any]:
        return {
            "lead_id": self.lead_id,
            "records": self.records,
            "score": self.score,
            "factors": self.factors,
            "factor_total": float(self.factor_total()),
            "lifecycle": self.lifecycle,
            "history": self.history,
            "routing": self.routing,
            "routing_source": self.routing_source,
            "notes": self.notes,
        }


def find_lead(con: duckdb.DuckDBPyConnection, key: str) -> str:
    """The lead id for a lead id or an email address (normalized like enrichment does)."""
    key = key.strip()
    if not key:
        raise LeadNotFound("give a lead id (lf_...) or an email address")
    if "@" not in key:
        row = con.execute(
            "select lead_id from ops.lead_identity where lead_id = ?"
            " union select lead_id from ops.lead_scores where lead_id = ? limit 1",
            [key, key],
        ).fetchone()
        if row is None:
            raise LeadNotFound(f"no lead with id {key!r} in the warehouse")
        return str(row[0])
    address = normalize_email(key).address
    if address is None:
        raise LeadNotFound("that is not a valid email address")
    rows = con.execute(
        """
        select i.lead_id, max(coalesce(r.record_updated_at, r.first_seen_at)) as seen
        from ops.lead_records r join ops.lead_identity i using (record_key)
        where r.email = ?
        group by i.lead_id
        order by seen desc, i.lead_id
        """,
        [address],
    ).fetchall()
    if not rows:
        raise LeadNotFound("no lead has that email address")
    return str(rows[0][0])


def explain_lead(con: duckdb.DuckDBPyConnection, lead_id: str) -> Explanation:
    records = [
        {"source": s, "stream": st, "record_id": rid, "linked_by": rule}
        for s, st, rid, rule in con.execute(
            """
            select r.source, r.stream, r.record_id, i.rule
            from ops.lead_identity i join ops.lead_records r using (record_key)
            where i.lead_id = ?
            order by r.record_created_at nulls last, r.record_key
            """,
            [lead_id],
        ).fetchall()
    ]
    score_columns = set(table_columns(con, "ops", "lead_scores"))
    wanted = [
        c
        for c in (
            "score",
            "fit_score",
            "intent_score",
            "negative_score",
            "grade",
            "temperature",
            "is_mql",
            "is_sql",
            "reasons",
            "model_version",
            "scored_as_of",
            "scored_at",
            "factors",
        )
        if c in score_columns
    ]
    found = con.execute(
        f"select {', '.join(wanted)} from ops.lead_scores where lead_id = ?", [lead_id]
    ).fetchone()
    notes: list[str] = []
    score: dict[str, Any] | None = None
    factors: list[dict[str, Any]] = []
    if found is not None:
        score = dict(zip(wanted, found, strict=True))
        factors = json.loads(score.pop("factors") or "[]")
    lifecycle = {
        event: {"occurred_at": at, "score": s}
        for event, at, s in con.execute(
            "select event, occurred_at, score from ops.lead_lifecycle_events where lead_id = ?"
            " order by occurred_at",
            [lead_id],
        ).fetchall()
    }
    cause = "cause" if "cause" in table_columns(con, "ops", "lead_score_history") else "null"
    history = [
        {
            "scored_at": at,
            "scored_as_of": as_of,
            "score": s,
            "grade": g,
            "model_version": v,
            "cause": c,
        }
        for at, as_of, s, g, v, c in con.execute(
            f"""
            select scored_at, scored_as_of, score, grade, model_version, {cause}
            from ops.lead_score_history where lead_id = ?
            order by scored_at, scored_as_of
            """,
            [lead_id],
        ).fetchall()
    ]
    routing, routing_source = _routing(con, lead_id)
    explanation = Explanation(
        lead_id, records, score, factors, lifecycle, history, routing, routing_source, notes
    )
    if score is not None and explanation.factor_total() != Decimal(score["score"]):
        notes.append(
            "these factors were stored before every factor was kept and do not add up to the "
            "score; the next run re-scores the lead"
        )
    return explanation


def _routing(con: duckdb.DuckDBPyConnection, lead_id: str) -> tuple[list[str], str]:
    """routing.explain.explain_routing when routing provides it, else the raw audit rows."""
    try:
        import routing.explain as routing_explain

        explain_routing = getattr(routing_explain, "explain_routing", None)
    except ImportError:
        explain_routing = None
    if explain_routing is not None:
        return [str(line) for line in explain_routing(con, lead_id)], "routing.explain"
    rows = con.execute(
        "select decided_at, rule, owner_id, reason from ops.routing_audit where lead_id = ?"
        " order by decided_at",
        [lead_id],
    ).fetchall()
    lines = [
        f"{at:%Y-%m-%d %H:%M} {rule}: owner {owner or '-'} ({reason})"
        for at, rule, owner, reason in rows
    ]
    return lines or ["not routed yet"], "ops.routing_audit"


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value is not None else "-"


def _detail(factor: dict[str, Any]) -> str:
    d = factor.get("detail") or {}
    if "probability" in d:  # the predictive model's part of a blended or model score
        top = ", ".join(f"{name} {value:+.2f}" for name, value in d.get("top_model_factors", []))
        weight = f", weight {d['blend_weight']:g}" if "blend_weight" in d else ""
        return (
            f"{d.get('model_version')}: p={d['probability']:.3f} -> model score "
            f"{d.get('model_score')} vs rules {d.get('rules_score')}{weight}"
            + (f"; top log-odds: {top}" if top else "")
        )
    if factor.get("group") != "intent" or not d:
        return ""
    seen, counted = d.get("occurrences"), d.get("counted")
    occurrences = f"{seen} occurrence{'s' if seen != 1 else ''}"
    if counted != seen:
        occurrences += f", {counted} counted (max {d.get('max_occurrences')})"
    last = (d.get("last_at") or "-")[:10]
    return (
        f"{occurrences}, last {last}; {d.get('points_each')} each, half-life "
        f"{d.get('half_life_days')} d: {d.get('before_decay'):.2f} before decay, "
        f"{d.get('after_decay'):.2f} after"
    )


def render(explanation: Explanation) -> str:
    e = explanation
    lines = [f"Lead {e.lead_id}"]
    merged = ", ".join(f"{r['source']} {r['stream']} ({r['linked_by']})" for r in e.records)
    lines.append(f"  records   {len(e.records)}: {merged or 'none'}")
    if e.score is None:
        lines.append("  score     not scored yet")
    else:
        s = e.score
        lines.append(
            f"  score     {s['score']}  grade {s['grade']}  temperature {s['temperature']}"
            f"  (fit {s.get('fit_score')}, intent {s.get('intent_score')}, "
            f"negative {s.get('negative_score')})"
        )
        for event, label in (("mql", "MQL"), ("sql", "SQL")):
            now = bool(s.get(f"is_{event}"))
            crossed = e.lifecycle.get(event)
            since = f"; first crossed {_when(crossed['occurred_at'])}" if crossed else ""
            lines.append(f"  {label:<9} {'yes' if now else 'no'}{since}")
        lines.append(f"  model     {s.get('model_version')}, as of {_when(s.get('scored_as_of'))}")
        lines.append("")
        lines.append("Factors (points add up to the score)")
        width = max((len(str(f["factor"])) for f in e.factors), default=8)
        for f in e.factors:
            detail = _detail(f)
            lines.append(
                f"  {f['points']:>+8.2f}  {f['group']:<10} {f['factor']:<{width}}"
                + (f"  {detail}" if detail else "")
            )
        lines.append(f"  {'-' * 8}")
        lines.append(f"  {float(e.factor_total()):>8.2f}  = score {s['score']}")
        for note in e.notes:
            lines.append(f"  note: {note}")
    lines.append("")
    lines.append("Score history")
    if not e.history:
        lines.append("  none")
    for h in e.history:
        lines.append(
            f"  {_when(h['scored_at'])}  {h['score']:>3}  {h['grade']}  {h['cause'] or '-'}"
        )
    lines.append("")
    source = "" if e.routing_source == "routing.explain" else f" (from {e.routing_source})"
    lines.append(f"Routing{source}")
    lines += [f"  {line}" for line in e.routing]
    return "\n".join(line.rstrip() for line in lines)
