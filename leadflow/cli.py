"""The `leadflow` command.

    leadflow run [--json] [--as-of ISO]   one sync run, end to end, and its summary
    leadflow sandbox serve                the local vendor APIs, until Ctrl-C
    leadflow config check                 validate leadflow.yml

A mistake the user can fix (bad config, missing token, a locked warehouse) ends in one line on
stderr and exit status 2, not a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from leadflow.config import ConfigError, Settings, load_settings

# Offline by default: no telemetry calls from Prefect or dbt.
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
# Without a Prefect server configured, a run starts a temporary one; its first start on a new machine
# creates Prefect's database, which can take longer than Prefect's default 20 s on two cores.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="LeadFlow: the lead pipeline you run yourself."
)
sandbox_app = typer.Typer(no_args_is_help=True, help="Local stand-ins for the vendor APIs.")
config_app = typer.Typer(no_args_is_help=True, help="Configuration.")
app.add_typer(sandbox_app, name="sandbox")
app.add_typer(config_app, name="config")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="leadflow.yml to use (default: ./leadflow.yml or $LEADFLOW_CONFIG)"
    ),
]


def _fail(message: str) -> None:
    typer.echo(f"leadflow: {message}", err=True)
    raise typer.Exit(2)


def _settings(config: Path | None) -> tuple[Settings, Path]:
    path = config or Path(os.environ.get("LEADFLOW_CONFIG", "leadflow.yml"))
    try:
        return load_settings(path), path
    except ConfigError as exc:
        _fail(str(exc))
        raise AssertionError from exc  # unreachable: _fail exits


@app.command()
def run(
    config: ConfigOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object")
    ] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Pin the run's clock (ISO-8601, UTC)")
    ] = None,
) -> None:
    """Run the sync once: pull, validate, dedupe, model, score, route, push."""
    from leadflow.redact import redact

    settings, path = _settings(config)
    pinned = None
    if as_of:
        try:
            pinned = datetime.fromisoformat(as_of.replace("Z", "+00:00"))
        except ValueError:
            _fail(f"--as-of {as_of!r} is not an ISO-8601 time (e.g. 2026-11-23T09:00:00Z)")
    try:
        from flows.lead_sync import lead_sync

        summary = lead_sync(config_path=str(path.resolve()), as_of=pinned)
    except ConfigError as exc:
        _fail(str(exc))
    except Exception as exc:
        from connectors.http import ConnectorError
        from leadflow.dbt import DbtError

        if isinstance(exc, ConnectorError | DbtError):
            _fail(f"run failed: {redact(str(exc))}")
        if "Could not set lock" in str(exc):
            _fail(
                f"the warehouse {settings.warehouse_path} is open in another process; close it and re-run"
            )
        raise
    if as_json:
        typer.echo(json.dumps(summary, default=str))
    else:
        typer.echo(render_summary(summary))


def render_summary(summary: dict[str, Any]) -> str:
    """The human summary `make demo` ends with."""
    lines = ["", "LeadFlow sync finished", "=" * 22]
    lines.append(f"Records pulled       {summary['records_pulled']:>7}")
    for stream, count in summary["records_pulled_by_stream"].items():
        lines.append(f"  {stream:<19}{count:>7}")
    lines.append(f"Quarantined          {summary['records_quarantined']:>7}")
    for reason, count in list(summary["quarantine_reasons"].items())[:5]:
        lines.append(f"  {count:>5}  {reason}")
    lines.append(f"Merged as duplicates {summary['records_merged']:>7}")
    lines.append(f"Leads in warehouse   {summary['leads']:>7}   ({summary['leads_new']} new)")
    lines.append(
        f"Leads scored         {summary['leads_scored']:>7}   ({summary['scores_changed']} changed, "
        f"{summary['new_mqls']} new MQLs)"
    )
    lines.append(f"Leads routed         {summary['leads_routed']:>7}")
    for rep, count in summary["leads_routed_by_rep"].items():
        lines.append(f"  {count:>5}  {rep}")
    if summary["leads_unassigned"]:
        lines.append(f"  {summary['leads_unassigned']:>5}  left unassigned (see ops.routing_audit)")
    lines.append(f"Pushed to the CRM    {summary['records_pushed']:>7}")
    if summary["push_failed"]:
        lines.append(f"  {summary['push_failed']:>5}  rejected, kept in ops.dead_letter")
    acc = summary["accounting"]
    lines.append(
        f"Every raw record accounted for: {acc['lead']} leads + {acc['merged']} merged + "
        f"{acc['crm_copy']} CRM copies + {acc['quarantined']} quarantined = {acc['total']}"
        + (f" ({acc['unprocessed']} UNPROCESSED)" if acc["unprocessed"] else "")
    )
    warehouse = summary["warehouse"]
    lines += [
        "",
        "Where to look next",
        f"  warehouse      {warehouse}",
        f"  funnel         .venv/bin/python -c \"import duckdb; print(duckdb.connect('{warehouse}', read_only=True)"
        ".sql('from marts.fct_funnel_weekly order by created_week desc limit 10'))\"",
        "  leads          marts.dim_leads, marts.fct_lead_stage_history; quarantine: ops.quarantine",
        "  Prefect UI     .venv/bin/prefect server start, then open http://127.0.0.1:4200 (see README)",
    ]
    return "\n".join(lines)


@sandbox_app.command("serve")
def sandbox_serve(config: ConfigOption = None) -> None:
    """Serve the HubSpot, Meta and Typeform sandboxes on the configured ports until Ctrl-C."""
    from leadflow.embedded import sandbox_tokens
    from sandbox import serve

    settings, _ = _settings(config)
    sb = settings.sandbox
    state_dir = settings.resolve(sb.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    ports = {"hubspot": sb.ports.hubspot, "meta": sb.ports.meta, "typeform": sb.ports.typeform}
    try:
        serve(
            host=sb.host,
            ports=ports,
            seed=sb.seed,
            leads=sb.leads,
            state_path=state_dir / "world.sqlite",
            tokens=sandbox_tokens(settings),
        )
    except (OSError, ValueError) as exc:
        _fail(f"sandbox could not start: {exc}")


@config_app.command("check")
def config_check(config: ConfigOption = None) -> None:
    """Validate leadflow.yml and say what it configures."""
    settings, path = _settings(config)
    sources = ", ".join(settings.sources.enabled()) or "none"
    typer.echo(f"{path}: ok (sources: {sources}; warehouse: {settings.warehouse_path})")


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
