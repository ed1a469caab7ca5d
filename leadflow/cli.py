"""The `leadflow` command.

    leadflow run [--json] [--as-of ISO]   one sync run, end to end, and its summary
    leadflow serve                        the webhook intake (speed to lead), until Ctrl-C
    leadflow sandbox serve                the local vendor APIs, until Ctrl-C
    leadflow config check                 validate leadflow.yml
    leadflow explain <email or lead id>   every point of a lead's score, its history, its routing
    leadflow forget <email> [--crm-delete] [--reference TICKET] [--dry-run] [--json]
                                          erase a person from the warehouse (docs/privacy.md)
    leadflow backtest --candidate FILE    how a candidate scoring config would have graded recent leads
    leadflow route [--dry-run] [--sample leads.csv|.json] [--json]
                                          route the unrouted leads now, or preview it
    leadflow train [--from-history] [--no-activate] [--out report.md]
                                          train the predictive score and report on it
    leadflow dbt-postgres [--dbname NAME] copy raw + ops into PostgreSQL, build and test dbt there
    leadflow report [--out report.html] [--top N] [--json]
                                          write the funnel report, one self-contained HTML file
    leadflow push --dry-run [--destination NAME] [--json]
                                          what the next push would create, update, leave unchanged
                                          or skip as invalid; sends and writes nothing
    leadflow dead-letters [--destination NAME] [--requeue] [--json]
                                          the rejected writes waiting in ops.dead_letter; --requeue
                                          sends the permanent ones again on the next run

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
DestinationOption = Annotated[
    str | None,
    typer.Option("--destination", help="One CRM: hubspot, salesforce or pipedrive"),
]


def _fail(message: str) -> None:
    typer.echo(f"leadflow: {message}", err=True)
    raise typer.Exit(2)


def _fail_if_warehouse_locked(settings: Settings, exc: Exception) -> None:
    """DuckDB's "Could not set lock" (another process has the file open) as one plain line."""
    if "Could not set lock" in str(exc):
        _fail(
            f"the warehouse {settings.warehouse_path} is open in another process; close it and re-run"
        )


def _settings(config: Path | None) -> tuple[Settings, Path]:
    path = config or Path(os.environ.get("LEADFLOW_CONFIG", "leadflow.yml"))
    try:
        return load_settings(path), path
    except ConfigError as exc:
        _fail(str(exc))
        raise AssertionError from exc  # unreachable: _fail exits


def _as_of(value: str | None) -> datetime | None:
    """--as-of as a naive UTC time (the warehouse's convention); a bad value is one line, exit 2."""
    if not value:
        return None
    from leadflow.warehouse import to_utc_naive

    try:
        return to_utc_naive(datetime.fromisoformat(value.replace("Z", "+00:00")))
    except ValueError:
        _fail(f"--as-of {value!r} is not an ISO-8601 time (e.g. 2026-11-23T09:00:00Z)")
        raise AssertionError from None  # unreachable: _fail exits


@app.command()
def run(
    config: ConfigOption = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the summary as one JSON object")
    ] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Pin the run's clock (ISO-8601, UTC)")
    ] = None,
    full_refresh: Annotated[
        bool,
        typer.Option(
            "--full-refresh",
            help="Rebuild dbt's incremental models from scratch (after an upgrade or a seed edit)",
        ),
    ] = False,
) -> None:
    """Run the sync once: pull, validate, dedupe, model, score, route, push."""
    from leadflow.redact import redact

    settings, path = _settings(config)
    pinned = _as_of(as_of)
    try:
        from flows.lead_sync import lead_sync

        summary = lead_sync(
            config_path=str(path.resolve()), as_of=pinned, full_refresh=full_refresh
        )
    except ConfigError as exc:
        _fail(str(exc))
    except Exception as exc:
        from connectors.http import ConnectorError
        from leadflow.dbt import DbtError

        if isinstance(exc, ConnectorError | DbtError):
            _fail(f"run failed: {redact(str(exc))}")
        _fail_if_warehouse_locked(settings, exc)
        raise
    if summary.get("status") == "skipped":
        _fail(f"run skipped: {summary['reason']}")
    if as_json:
        typer.echo(json.dumps(summary, default=str))
    else:
        typer.echo(render_summary(summary))


def render_summary(summary: dict[str, Any]) -> str:
    """The human summary `make demo` ends with."""
    lines = ["", "LeadFlow sync finished", "=" * 22]
    if (
        summary.get("intake_landed")
        or summary.get("intake_gone")
        or summary.get("intake_pending_failed")
    ):
        by_source = ", ".join(f"{n} {s}" for s, n in summary["intake_landed_by_source"].items())
        lines.append(
            f"Webhooks landed      {summary['intake_landed']:>7}"
            + (f"   ({by_source})" if by_source else "")
        )
        if summary["intake_gone"] or summary["intake_pending_failed"]:
            lines.append(
                f"  {summary['intake_gone']:>5}  gone at the source, "
                f"{summary['intake_pending_failed']} waiting for the next run (see docs/intake.md)"
            )
    lines.append(f"Records pulled       {summary['records_pulled']:>7}")
    for stream, count in summary["records_pulled_by_stream"].items():
        lines.append(f"  {stream:<19}{count:>7}")
    for stream, why in summary.get("sources_stopped", {}).items():
        lines.append(f"  stopped at {stream}: {why}")
    lines.append(f"Quarantined          {summary['records_quarantined']:>7}")
    for reason, count in list(summary["quarantine_reasons"].items())[:5]:
        lines.append(f"  {count:>5}  {reason}")
    lines.append(f"Merged as duplicates {summary['records_merged']:>7}")
    lines.append(f"Leads in warehouse   {summary['leads']:>7}   ({summary['leads_new']} new)")
    if summary.get("firmographics_enabled"):
        lines.append(
            f"Companies enriched   {summary['firmographics_known']:>7}   of "
            f"{summary['firmographics_domains']} business domains "
            f"({summary['firmographics_looked_up']} looked up, "
            f"{summary['firmographics_waiting']} waiting)"
        )
        if summary.get("firmographics_stopped"):
            lines.append(f"  lookups stopped: {summary['firmographics_stopped']}")
    lines.append(
        f"Leads scored         {summary['leads_scored']:>7}   "
        f"({summary['leads_rescored']} re-scored, "
        f"{summary['scores_changed']} changed, {summary['new_mqls']} new MQLs)"
    )
    lines.append(f"Leads routed         {summary['leads_routed']:>7}")
    for rep, count in summary["leads_routed_by_rep"].items():
        lines.append(f"  {count:>5}  {rep}")
    if summary["leads_unassigned"]:
        lines.append(f"  {summary['leads_unassigned']:>5}  left unassigned (see ops.routing_audit)")
    if summary.get("leads_not_eligible"):
        lines.append(
            f"  {summary['leads_not_eligible']:>5}  not for sales yet (routing.eligible): nurture"
        )
    if "nurture_enrolled" in summary:
        lines.append(
            f"Nurture              {summary['in_nurture']:>7}   in a track ({summary['nurture_enrolled']} "
            f"enrolled, {summary['nurture_exited']} exited, "
            f"{summary['leads_recycled_total']} recycled to date)"
        )
        for reason, count in summary["nurture_exits_by_reason"].items():
            lines.append(f"  {count:>5}  exited: {reason}")
    if summary.get("dbt_nodes_run") is not None:
        lines.append(
            f"dbt models and tests {summary['dbt_nodes_run']:>7}   run "
            f"({summary['dbt_nodes_unchanged']} unchanged since their last build, left as they were)"
        )
    lines.append(f"Pushed to the CRM    {summary['records_pushed']:>7}")
    by_destination = summary.get("push_by_destination", {})
    if len(by_destination) > 1:
        for name, numbers in by_destination.items():
            lines.append(f"  {numbers['pushed']:>5}  {name}")
    if summary["push_failed"]:
        lines.append(f"  {summary['push_failed']:>5}  rejected, kept in ops.dead_letter")
    if summary.get("sla_checked"):
        lines.append(
            f"SLA first touch      {summary['sla_checked']:>7}   on the clock "
            f"({summary['sla_breaches']} new breaches, {summary['sla_rerouted']} re-routed)"
        )
    if summary.get("notifications_queued") or summary.get("notifications_pending"):
        by_channel = ", ".join(
            f"{n} {c}" for c, n in summary.get("notifications_sent_by_channel", {}).items()
        )
        lines.append(
            f"Notifications sent   {summary['notifications_sent']:>7}"
            + (f"   ({by_channel})" if by_channel else "")
        )
        if summary["notifications_pending"] or summary["notifications_failed"]:
            lines.append(
                f"  {summary['notifications_pending']:>5}  pending for the next run, "
                f"{summary['notifications_failed']} failed (see ops.notifications)"
            )
    acc = summary["accounting"]
    lines.append(
        f"Every raw record accounted for: {acc['lead']} leads + {acc['merged']} merged + "
        f"{acc['crm_copy']} CRM copies + {acc['quarantined']} quarantined"
        + (f" + {acc['erased']} erased" if acc.get("erased") else "")
        + f" = {acc['total']}"
        + (f" ({acc['unprocessed']} UNPROCESSED)" if acc["unprocessed"] else "")
    )
    warehouse = summary["warehouse"]
    lines += [
        "",
        "Where to look next",
        f"  warehouse      {warehouse}",
        "  report         .venv/bin/leadflow report  (the funnel as one HTML page; docs/report.md)",
        f"  funnel         .venv/bin/python -c \"import duckdb; print(duckdb.connect('{warehouse}', read_only=True)"
        ".sql('from marts.rpt_cohort_conversion order by created_week desc limit 10'))\"",
        "  leads          marts.dim_leads, marts.fct_lead_stage_history; quarantine: ops.quarantine",
        "  Prefect UI     .venv/bin/prefect server start, then open http://127.0.0.1:4200 (see README)",
    ]
    return "\n".join(lines)


@app.command()
def train(
    config: ConfigOption = None,
    from_history: Annotated[
        bool,
        typer.Option(
            "--from-history",
            help="Train from scoring.model.history_export instead of the warehouse",
        ),
    ] = False,
    activate: Annotated[
        bool,
        typer.Option(
            "--activate/--no-activate",
            help="Make the model active if it passes the checks (default) or keep it a candidate",
        ),
    ] = True,
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the markdown report to this file")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Train as of this time (ISO-8601, UTC)")
    ] = None,
) -> None:
    """Train the predictive score on closed outcomes, compare it with the rules, store it."""
    from scoring.model import TrainingError, train_and_evaluate
    from scoring.report import render

    settings, _ = _settings(config)
    pinned = _as_of(as_of)
    try:
        result = train_and_evaluate(
            settings, as_of=pinned, from_history=from_history, activate=activate
        )
    except (TrainingError, ConfigError) as exc:
        _fail(str(exc))
        return
    except Exception as exc:
        _fail_if_warehouse_locked(settings, exc)
        raise
    report = render(result)
    if out is not None:
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(report, encoding="utf-8")
        except OSError as exc:
            _fail(f"could not write the report to {out}: {exc.strerror or exc}")
    metrics = result.metrics()
    typer.echo(result.message)
    if result.model is not None:
        typer.echo(
            f"holdout: {metrics['holdout_leads']} leads, {metrics['holdout_conversions']} conversions; "
            f"AUC model {_auc(metrics['model_auc'])} vs rules {_auc(metrics['rules_auc'])}"
            + (f"; report: {out}" if out else "")
        )


def _auc(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


@app.command()
def push(
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Report what would be sent; send and write nothing")
    ] = False,
    destination: DestinationOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Preview the reverse-ETL push from the sync_ models the last run built (see
    docs/reverse_etl.md). Pushing itself happens in every `leadflow run`."""
    from leadflow import pipeline
    from leadflow.warehouse import utcnow

    settings, _ = _settings(config)
    if not dry_run:
        _fail("the push runs in every `leadflow run`; `leadflow push` only previews: add --dry-run")
    known = settings.destinations.crms()
    if destination is not None and destination not in known:
        _fail(f"no enabled CRM destination {destination!r}; enabled: {', '.join(known) or 'none'}")
    try:
        result = pipeline.push_crms(settings, "dry-run", utcnow(), dry_run=True, only=destination)
    except ConfigError as exc:
        _fail(str(exc))
        return
    except Exception as exc:
        _fail_if_warehouse_locked(settings, exc)
        raise
    plan = {name: r.as_plan() for name, r in result.destinations.items()}
    if as_json:
        typer.echo(json.dumps({"dry_run": True, "destinations": plan}))
        return
    typer.echo("Dry run: nothing was sent or written.")
    for name, numbers in plan.items():
        typer.echo(
            f"{name:<11} {numbers['creates']:>6} to create  {numbers['updates']:>6} to update  "
            f"{numbers['unchanged']:>6} unchanged  {numbers['invalid']:>6} invalid"
            + (
                f"  {numbers['not_in_destination']:>6} not in {name} (update mode)"
                if numbers["not_in_destination"]
                else ""
            )
        )


@app.command(name="dead-letters")
def dead_letters(
    config: ConfigOption = None,
    destination: DestinationOption = None,
    requeue: Annotated[
        bool,
        typer.Option("--requeue", help="Send the permanent ones again on the next run"),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """The rejected writes in ops.dead_letter, by destination and reason; --requeue clears their
    permanent mark (after fixing the cause: a missing field, a deactivated owner, ...)."""
    from connectors.reverse_etl import dead_letter_summary, requeue_dead_letters
    from leadflow.warehouse import Warehouse

    settings, _ = _settings(config)
    wh = Warehouse(settings.warehouse_path)
    try:
        wh.ensure_schema()
        with wh.connect() as con:
            requeued = requeue_dead_letters(con, destination) if requeue else 0
            rows = dead_letter_summary(con, destination)
    except Exception as exc:
        _fail_if_warehouse_locked(settings, exc)
        raise
    if as_json:
        typer.echo(json.dumps({"requeued": requeued, "dead_letters": rows}))
        return
    if requeue:
        typer.echo(f"{requeued} permanent dead letters will be sent again on the next run.")
    if not rows:
        typer.echo("No dead letters.")
    for row in rows:
        state = "permanent" if row["permanent"] else "retrying"
        typer.echo(
            f"{row['destination']:<11} {row['leads']:>6}  {state:<9}  {row['error_category']}: "
            f"{row['example_message']}"
        )


@app.command()
def route(
    config: ConfigOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what routing would do; write nothing")
    ] = False,
    sample: Annotated[
        Path | None,
        typer.Option(
            "--sample", help="Route these leads (.csv or .json) instead of the unrouted ones"
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Route as of this time (ISO-8601, UTC)")
    ] = None,
) -> None:
    """Route the unrouted leads now, or with --dry-run show what would happen (see docs/routing.md)."""
    from leadflow.warehouse import utcnow

    settings, _ = _settings(config)
    when = _as_of(as_of) or utcnow()
    if sample is not None and not dry_run:
        _fail("--sample only goes with --dry-run (sample leads are never written)")
    try:
        if dry_run:
            from routing.dry_run import dry_run as preview
            from routing.dry_run import render

            result = preview(settings.warehouse_path, settings.routing, as_of=when, sample=sample)
            typer.echo(render(result, as_json=as_json))
            return
        from leadflow.warehouse import Warehouse
        from routing import route_new_leads

        wh = Warehouse(settings.warehouse_path)
        wh.ensure_schema()
        with wh.connect() as con:
            routed = route_new_leads(
                con, settings.routing, run_id=f"route-{utcnow():%Y%m%dT%H%M%S}", as_of=when
            )
    except ConfigError as exc:
        _fail(str(exc))
        return
    except Exception as exc:
        _fail_if_warehouse_locked(settings, exc)
        raise
    if routed.lease_busy:
        _fail("another router is routing right now; nothing was done (re-run when it finishes)")
    summary = {
        "considered": routed.considered,
        "not_eligible": routed.not_eligible,
        "routed": routed.routed,
        "unassigned": routed.unassigned,
        "by_owner": dict(routed.by_owner.most_common()),
    }
    typer.echo(
        json.dumps(summary) if as_json else ", ".join(f"{k}: {v}" for k, v in summary.items())
    )


def _read_only_warehouse(settings: Settings) -> Any:
    """A read-only connection to the warehouse, or one clear line when that is not possible."""
    import duckdb

    path = settings.warehouse_path
    if not path.is_file():
        _fail(f"no warehouse at {path}: run `leadflow run` first")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        if "lock" in str(exc).lower():
            _fail(f"the warehouse {path} is open in another process; retry when the run is done")
        _fail(f"cannot open the warehouse {path}: {type(exc).__name__}")


@app.command()
def explain(
    lead: Annotated[str, typer.Argument(help="A lead id (lf_...) or the lead's email address")],
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Why a lead has its score (every point), its score history, and how it was routed."""
    import duckdb

    from scoring.explain import LeadNotFound, explain_lead, find_lead, render

    settings, _ = _settings(config)
    con = _read_only_warehouse(settings)
    try:
        explanation = explain_lead(con, find_lead(con, lead))
    except LeadNotFound as exc:
        _fail(str(exc))
        return
    except duckdb.CatalogException:
        _fail("the warehouse has no scores yet: run `leadflow run` first")
        return
    finally:
        con.close()
    if as_json:
        typer.echo(json.dumps(explanation.as_dict(), default=str))
    else:
        typer.echo(render(explanation))


@app.command()
def forget(
    email: Annotated[str, typer.Argument(help="The person's email address")],
    config: ConfigOption = None,
    crm_delete: Annotated[
        bool,
        typer.Option("--crm-delete", help="Also ask HubSpot to delete the contact(s) permanently"),
    ] = False,
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="Your ticket id for the request, kept in the audit"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would be erased; change nothing")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Erase a person from raw, quarantine, ops and the marts, keep them out, audit it (docs/privacy.md).

    Exit status 0 when the warehouse is clean of them (also when it held nothing), 1 when the CRM
    delete failed after the local erasure, 2 when nothing was done (bad address, busy warehouse).
    """
    from leadflow.forget import ForgetError
    from leadflow.forget import forget as erase

    settings, _ = _settings(config)
    try:
        result = erase(settings, email, crm_delete=crm_delete, reference=reference, dry_run=dry_run)
    except (ForgetError, ConfigError) as exc:
        _fail(str(exc))
        return
    except Exception as exc:
        _fail_if_warehouse_locked(settings, exc)
        raise
    if result.status == "skipped":
        _fail(f"nothing was erased: {result.reason}")
    typer.echo(json.dumps(result.as_dict()) if as_json else render_forget(result))
    if result.crm.outcome == "failed":
        ids = ", ".join(result.crm.retry_object_ids)
        typer.echo(
            "leadflow: the local erasure is done, but HubSpot did not delete every contact "
            f"({', '.join(result.crm.errors)})"
            + (f"; contact ids still to delete there: {ids}" if ids else "")
            + ". Re-run with --crm-delete, or delete them in HubSpot (Privacy & consent).",
            err=True,
        )
        raise typer.Exit(1)


def render_forget(result: Any) -> str:
    """The human answer of `leadflow forget`: counts only, the address masked."""
    verb = "Would erase" if result.dry_run else "Erased"
    ref = f" (reference {result.reference})" if result.reference else ""
    if not result.found:
        lines = [
            f"Nothing to erase for {result.masked_email}{ref}: no record in the warehouse has it."
        ]
    else:
        records = sum(result.records.values())
        lines = [f"{verb} {result.masked_email}{ref}: {result.leads} lead(s), {records} record(s)"]
        for stream, count in result.records.items():
            lines.append(f"  {stream:<28}{count:>6} record(s)")
        lines.append("Rows" + (" to delete" if result.dry_run else " deleted"))
        for table, count in result.deleted.items():
            lines.append(f"  {table:<40}{count:>6}")
    if result.dry_run:
        if result.crm.requested:
            lines.append(
                f"CRM: would ask HubSpot to delete {result.crm_contacts} known contact(s) and the address"
            )
        lines.append("Dry run: nothing was changed.")
        return "\n".join(lines)
    lines.append("Suppressed: later syncs drop any record with this address or these records.")
    crm = result.crm
    if crm.requested:
        lines.append(
            f"CRM: HubSpot GDPR delete {crm.outcome} ({crm.deleted} deleted, "
            f"{crm.not_found} already gone, {crm.failed} failed)"
        )
    if result.lemlist_campaigns:
        lines.append(
            f"Lemlist: the lead was added to {result.lemlist_campaigns} campaign(s); "
            "remove them there (docs/privacy.md)."
        )
    lines.append(f"Audit: ops.erasure_log, erasure_id {result.erasure_id}")
    return "\n".join(lines)


@app.command()
def backtest(
    candidate: Annotated[
        Path, typer.Option("--candidate", help="A leadflow.yml whose scoring: section to try")
    ],
    days: Annotated[int, typer.Option("--days", help="Leads created in the last N days")] = 90,
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Pin the backtest's clock (ISO-8601, UTC)")
    ] = None,
) -> None:
    """Re-score recent leads with a candidate scoring config and compare how grades convert."""
    import duckdb

    from leadflow.warehouse import utcnow
    from scoring.backtest import backtest as run_backtest
    from scoring.backtest import render

    settings, _ = _settings(config)
    try:
        candidate_settings = load_settings(candidate)
    except ConfigError as exc:
        _fail(f"--candidate: {exc}")
        return
    if days < 1:
        _fail("--days must be at least 1")
    pinned = _as_of(as_of) or utcnow()
    con = _read_only_warehouse(settings)
    try:
        result = run_backtest(
            con, settings.scoring, candidate_settings.scoring, days=days, as_of=pinned
        )
    except duckdb.CatalogException:
        _fail("the warehouse has no modelled leads yet: run `leadflow run` first")
        return
    finally:
        con.close()
    if as_json:
        typer.echo(json.dumps(result.as_dict(), default=str))
    else:
        typer.echo(render(result))


@app.command()
def report(
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="HTML file to write (default: report.html next to the warehouse)"
        ),
    ] = None,
    config: ConfigOption = None,
    top: Annotated[int, typer.Option("--top", help="How many stale and dead leads to list")] = 25,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Write the funnel report: one self-contained HTML file to open in a browser (docs/report.md)."""
    from leadflow.report import build_report, missing_marts
    from leadflow.warehouse import utcnow

    settings, _ = _settings(config)
    if top < 1:
        _fail("--top must be at least 1")
    target = out or settings.warehouse_path.parent / "report.html"
    con = _read_only_warehouse(settings)
    try:
        missing = missing_marts(con)
        if missing:
            _fail(
                f"the warehouse has no {', '.join('marts.' + m for m in missing)} yet: "
                "run `leadflow run` first"
            )
        html = build_report(
            con, warehouse=str(settings.warehouse_path), generated_at=utcnow(), top_n=top
        )
    finally:
        con.close()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html, encoding="utf-8")
    except OSError as exc:
        _fail(f"could not write the report to {target}: {exc.strerror or exc}")
    charts = html.count("<svg data-chart=")
    empty = html.count('data-empty="true"')
    if as_json:
        typer.echo(json.dumps({"out": str(target), "charts": charts, "empty_charts": empty}))
    else:
        note = f" ({empty} with no data yet)" if empty else ""
        typer.echo(f"report: {target} ({charts} charts{note})")


@app.command("serve")
def serve(
    config: ConfigOption = None,
    port: Annotated[
        int | None, typer.Option("--port", help="Listen here instead of intake.port")
    ] = None,
) -> None:
    """Receive webhooks (Meta, Typeform, HubSpot, Google Ads, signed forms) until Ctrl-C.

    Each request is verified and stored in the inbox (intake.inbox) before it is answered; the
    speed lane (intake.speed_lane) then scores, routes, pushes and announces it within seconds, and
    the next `leadflow run` lands whatever is left. See docs/intake.md.
    """
    import logging

    from intake.inbox import Inbox
    from intake.lane import SpeedLane
    from intake.server import IntakeService, load_secrets
    from leadflow.embedded import embedded_sandbox
    from leadflow.redact import install_log_redaction, register_env_secrets

    settings, _ = _settings(config)
    intake = settings.intake
    if not intake.enabled():
        _fail("no webhook source is configured under intake: in leadflow.yml (docs/intake.md)")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    install_log_redaction()
    try:
        secrets = load_secrets(settings)
    except ConfigError as exc:
        _fail(str(exc))
        raise AssertionError from exc  # unreachable: _fail exits
    register_env_secrets(settings.secret_env_names())
    lane = SpeedLane(settings) if intake.speed_lane.enabled else None
    inbox = Inbox(settings.inbox_path)
    try:
        service = IntakeService(
            intake,
            secrets,
            inbox,
            on_stored=lane.wake if lane else lambda: None,
            health=lane.health if lane else dict,
        ).start(port)
    except OSError as exc:
        inbox.close()
        _fail(f"could not listen on {intake.host}:{port or intake.port}: {exc.strerror or exc}")
        raise AssertionError from exc  # unreachable: _fail exits
    then = "the speed lane processes each at once" if lane else "`leadflow run` lands them"
    typer.echo(
        f"leadflow serve: {service.url}/webhooks/{{{','.join(intake.enabled())}}}"
        f" -> {settings.inbox_path}; {then} (Ctrl-C to stop)"
    )
    try:
        # On the embedded default the lane's CRM, Slack and SMTP are the sandbox, up as long as
        # the service is (a `leadflow run` meanwhile finds it listening and uses it).
        with embedded_sandbox(settings):
            if lane is not None:
                lane.start()
            service.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
        if lane is not None:
            lane.stop()
        inbox.close()


@sandbox_app.command("serve")
def sandbox_serve(
    config: ConfigOption = None,
    chaos_rate: Annotated[
        float,
        typer.Option(
            "--chaos-rate",
            help="Share of requests (0-1) that meet a fault: latency, 429, 5xx, timeout, "
            "truncated body, partial batch failure",
        ),
    ] = 0.0,
    chaos_kinds: Annotated[
        str | None,
        typer.Option("--chaos-kinds", help="Only these faults, comma-separated (default: all)"),
    ] = None,
    chaos_seed: Annotated[
        int, typer.Option("--chaos-seed", help="Seed of the faults' draw (reproducible runs)")
    ] = 0,
) -> None:
    """Serve the vendor sandboxes (HubSpot, Meta, Typeform, Salesforce, LinkedIn, Pipedrive,
    Google Ads, Lemlist, Apollo, Slack, SMTP) on the configured
    ports until Ctrl-C; with --chaos-rate, a share of their requests fail as the real APIs do."""
    from leadflow.embedded import sandbox_tokens
    from sandbox import serve
    from sandbox.chaos import settings_from_flags

    try:
        chaos = settings_from_flags(chaos_rate, chaos_kinds)
    except ValueError as exc:
        _fail(f"--chaos-rate/--chaos-kinds: {exc}")
    settings, _ = _settings(config)
    sb = settings.sandbox
    state_dir = settings.resolve(sb.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    ports = {"hubspot": sb.ports.hubspot, "meta": sb.ports.meta, "typeform": sb.ports.typeform}
    ports.update(
        slack=sb.ports.slack,
        smtp=sb.ports.smtp,
        apollo=sb.ports.apollo,
        salesforce=sb.ports.salesforce,
        linkedin=sb.ports.linkedin,
        pipedrive=sb.ports.pipedrive,
        google_ads=sb.ports.google_ads,
    )
    try:
        serve(
            host=sb.host,
            ports=ports,
            seed=sb.seed,
            leads=sb.leads,
            state_path=state_dir / "world.sqlite",
            tokens=sandbox_tokens(settings),
            chaos=chaos,
            chaos_seed=chaos_seed,
        )
    except (OSError, ValueError) as exc:
        _fail(f"sandbox could not start: {exc}")


@config_app.command("check")
def config_check(config: ConfigOption = None) -> None:
    """Validate leadflow.yml and say what it configures."""
    settings, path = _settings(config)
    sources = ", ".join(settings.sources.enabled()) or "none"
    typer.echo(f"{path}: ok (sources: {sources}; warehouse: {settings.warehouse_path})")


@app.command("dbt-postgres")
def dbt_postgres(
    config: ConfigOption = None,
    dbname: Annotated[
        str | None,
        typer.Option(
            "--dbname", help="PostgreSQL database to mirror into (default: $LEADFLOW_PG_DBNAME)"
        ),
    ] = None,
) -> None:
    """Copy the warehouse's raw and ops tables into PostgreSQL, then build and test every model there.

    The server comes from LEADFLOW_PG_HOST/PORT/USER/PASSWORD/DBNAME (the dbt profile's `postgres`
    target); the database is created if missing. See leadflow/pg_mirror.py.
    """
    import psycopg

    from leadflow.dbt import DbtError
    from leadflow.pg_mirror import MirrorError, PgSettings, PostgresUnreachable, mirror_and_build
    from leadflow.pipeline import dbt_vars
    from leadflow.redact import redact

    settings, _ = _settings(config)
    try:
        pg = PgSettings.from_env(dbname=dbname)
        result = mirror_and_build(
            settings.warehouse_path,
            pg,
            # Not dbt_project/target: the sync's DuckDB builds keep their partial-parse cache there.
            target_path=settings.warehouse_path.parent / "dbt_target_postgres",
            dbt_vars=dbt_vars(settings),  # the same vars as the sync's DuckDB builds
        )
    except (PostgresUnreachable, MirrorError) as exc:
        _fail(str(exc))
        raise AssertionError from exc  # unreachable: _fail exits
    except DbtError as exc:
        _fail(f"dbt on PostgreSQL failed: {redact(str(exc))}")
        raise AssertionError from exc  # unreachable: _fail exits
    except psycopg.Error as exc:
        detail = redact(" ".join(str(exc).split()))[:300]
        _fail(f"PostgreSQL refused the mirror ({type(exc).__name__}: {detail})")
        raise AssertionError from exc  # unreachable: _fail exits
    typer.echo(result.summary())


def main() -> None:  # pragma: no cover - console entry point
    sys.exit(app())
