"""`leadflow route --dry-run`: what routing would do now, without writing anything.

The warehouse is opened read-only, so nothing can be written even by mistake: the same read and
decide steps as a real route (routing.plan) run on the current unrouted leads, or on a sample file
of leads with the same fields (CSV with a header row, or JSON: a list of objects or {"leads": [...]}).
The roster, the pools' round-robin state and the reps' workload still come from the warehouse, so
the answer is the one the next run would give.
"""

from __future__ import annotations

import csv
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from leadflow.config import ConfigError, RoutingConfig
from routing import RouteResult, plan

__all__ = ["dry_run", "read_sample", "render"]


def read_sample(path: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Leads from a CSV or JSON file, and the fields they have; one-line ConfigError when bad."""
    if not path.is_file():
        raise ConfigError(f"{path}: no such sample file")
    suffix = path.suffix.lower()
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the sample ({exc.__class__.__name__})") from None
    if suffix == ".csv":
        reader = csv.DictReader(text.splitlines())
        fields = list(reader.fieldnames or [])
        leads: list[dict[str, Any]] = [
            {k: (v if v != "" else None) for k, v in row.items()} for row in reader
        ]
    elif suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}: not valid JSON (line {exc.lineno})") from None
        if isinstance(data, dict):
            data = data.get("leads")
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ConfigError(f'{path}: expected a list of lead objects (or {{"leads": [...]}})')
        leads = data
        fields = sorted({k for row in leads for k in row})
    else:
        raise ConfigError(f"{path}: a sample is a .csv or .json file")
    if "lead_id" not in fields:
        raise ConfigError(f"{path}: every lead needs a lead_id column")
    missing = [n for n, row in enumerate(leads, start=1) if not row.get("lead_id")]
    if missing:
        raise ConfigError(f"{path}: lead {missing[0]} has no lead_id")
    return leads, fields


def dry_run(
    warehouse: Path,
    config: RoutingConfig,
    *,
    as_of: datetime,
    sample: Path | None = None,
) -> RouteResult:
    """Decide every current unrouted lead (or the sample's) against a read-only warehouse."""
    if not warehouse.is_file():
        raise ConfigError(f"{warehouse}: no warehouse yet (run `leadflow run` first)")
    leads, fields = read_sample(sample) if sample is not None else (None, None)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = {
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select table_schema, table_name from information_schema.tables"
            ).fetchall()
        }
        if "intermediate.int_leads_unified" not in tables and sample is None:
            raise ConfigError(f"{warehouse}: no leads modelled yet (run `leadflow run` first)")
        missing = {"ops.routing_queue", "ops.routing_audit", "ops.lead_assignments"} - tables
        if missing:
            raise ConfigError(
                f"{warehouse}: made by an older LeadFlow ({sorted(missing)[0]} is missing); "
                "run `leadflow run` once to upgrade it"
            )
        result, _ = plan(con, config, as_of=as_of, leads=leads, fields=fields)
    return result


def render(result: RouteResult, *, as_json: bool) -> str:
    """The dry run as lines a person reads, or as one JSON object."""
    if as_json:
        return json.dumps(
            {
                "considered": result.considered,
                "not_eligible": result.not_eligible,
                "would_route": result.routed,
                "would_leave_unassigned": result.unassigned,
                "held": result.held,
                "queued": result.queued,
                "by_owner": dict(result.by_owner.most_common()),
                "decisions": [d.as_dict() for d in result.decisions],
            },
            default=str,
        )
    lines = [
        f"Dry run: {result.considered} unrouted lead(s), {result.not_eligible} not eligible "
        f"(nurture), {result.routed} would be routed, {result.unassigned} would stay unassigned. "
        "Nothing was written."
    ]
    for d in result.decisions:
        who = d.owner.email or d.owner.id if d.owner else "-"
        lines.append(f"  {d.lead_id}: {d.outcome} {who} (rule {d.rule}) - {d.reason}")
        for skip in d.skipped:
            lines.append(f"      skipped {skip['rep']}: {skip['why']}")
    return "\n".join(lines)
