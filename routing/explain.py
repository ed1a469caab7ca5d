"""Reconstruct a lead's routing from the audit, as lines a person reads (`leadflow explain`).

Every routing decision leaves one row in ops.routing_audit (routing/audit.py writes it): the rules
evaluated in order and why each did or did not match, the candidate reps, who was skipped and why,
the chosen owner and the reason, the pool's strategy state before and after, the run and the time.
A later re-route (an SLA breach) is a row of its own that names the previous owner, so the lines
below tell the whole history of the lead's ownership, oldest first.
"""

from __future__ import annotations

import json
from typing import Any

import duckdb

from leadflow.redact import redact
from leadflow.warehouse import table_columns
from routing.roster import load_roster

__all__ = ["explain_routing"]

_OUTCOME = {
    "assigned": "assigned to",
    "kept": "kept with",
    "reassigned": "re-assigned to",
    "queued": "queued",
    "held": "held (nobody available; the next run routes it again)",
    "unassigned": "left unassigned",
}


def _load(value: Any) -> Any:
    if value is None:
        return None
    return json.loads(value) if isinstance(value, str) else value


def _rule_line(step: dict[str, Any]) -> str:
    mark = "matched" if step.get("matched") else "did not match"
    line = f"    rule {step.get('rule')}: {mark}"
    if step.get("why"):
        line += f" ({step['why']})"
    if step.get("outcome"):
        line += f" -> {step['outcome']}"
    return line


def explain_routing(con: duckdb.DuckDBPyConnection, lead_id: str) -> list[str]:
    """Human lines reconstructing every routing decision recorded for `lead_id`, oldest first.

    An unknown lead, or a lead never routed, gives one line saying so (never an exception), so the
    caller can print the result as it is.
    """
    cols = set(table_columns(con, "ops", "routing_audit"))
    if not cols:
        return ["routing: no routing audit in this warehouse yet"]
    wanted = [
        "decided_at",
        "run_id",
        "rule",
        "owner_id",
        "reason",
        "evaluated",
        "outcome",
        "action",
        "owner_email",
        "pool",
        "queue",
        "candidates",
        "skipped",
        "strategy_before",
        "strategy_after",
        "previous_owner_id",
    ]
    select = ", ".join(c if c in cols else f"null as {c}" for c in wanted)
    order = "decided_at"
    if "recorded_at" in cols:
        order += ", recorded_at nulls first"
    if "seq" in cols:
        order += ", seq"
    rows = con.execute(
        f"select {select} from ops.routing_audit where lead_id = ? order by {order}",
        [lead_id],
    ).fetchall()
    if not rows:
        return [f"routing: lead {lead_id} has no routing decision recorded"]
    emails = _owner_emails(con)
    lines = [f"routing: {len(rows)} decision{'s' if len(rows) > 1 else ''} for lead {lead_id}"]
    for row in rows:
        rec = dict(zip(wanted, row, strict=True))
        outcome = rec["outcome"] or ("assigned" if rec["owner_id"] else "unassigned")
        who = rec["owner_email"] or rec["owner_id"]
        head = f"  {rec['decided_at']:%Y-%m-%d %H:%M:%S} run {rec['run_id']}: "
        head += _OUTCOME.get(outcome, outcome)
        if outcome in {"assigned", "kept", "reassigned"} and who:
            head += f" {who}"
        if outcome == "queued" and rec["queue"]:
            head += f" in {rec['queue']}"
        head += f" by rule {rec['rule']}"
        lines.append(head)
        if rec["previous_owner_id"]:
            previous = str(rec["previous_owner_id"])
            lines.append(f"    previous owner: {emails.get(previous) or previous}")
        lines.append(f"    reason: {redact(rec['reason'])}")
        for step in _load(rec["evaluated"]) or []:
            lines.append(redact(_rule_line(step)))
            for skip in step.get("skipped", []) if isinstance(step, dict) else []:
                lines.append(f"      skipped {skip.get('rep')}: {skip.get('why')}")
        candidates = _load(rec["candidates"])
        if candidates:
            lines.append(f"    candidates: {', '.join(str(c) for c in candidates)}")
        skipped = _load(rec["skipped"])
        if skipped:
            for skip in skipped:
                lines.append(f"    skipped {skip.get('rep')}: {skip.get('why')}")
        before, after = _load(rec["strategy_before"]), _load(rec["strategy_after"])
        if rec["pool"] and (before or after):
            lines.append(
                f"    pool {rec['pool']} state: before {_state(before, candidates)}; "
                f"after {_state(after, candidates)}"
            )
    return lines


def _owner_emails(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """CRM owner id -> email, to name a previous owner (empty when no owners were pulled)."""
    try:
        roster = load_roster(con)
    except duckdb.Error:
        return {}
    return {owner_id: owner.email for owner_id, owner in roster.by_id.items() if owner.email}


def _state(state: Any, candidates: list[str] | None) -> str:
    """A pool's strategy state with each value next to its rep."""
    if not state:
        return "-"
    if not isinstance(state, dict):
        return str(state)
    parts = [f"{k}={_num(v)}" for k, v in state.items() if not isinstance(v, list)]
    for values in state.values():
        if isinstance(values, list):
            names = candidates or [str(n) for n in range(len(values))]
            parts += [
                f"{rep}={_num(v)}" for rep, v in zip(names, values, strict=False) if v is not None
            ]
    return ", ".join(parts)


def _num(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)
