"""The steps of one sync run as plain functions: what each Prefect task in flows/ calls.

Each step opens the warehouse for as long as it needs it and closes it before returning, because
dbt (run between some steps) needs the file to itself. No step knows about Prefect, so every step
can be run and tested on its own.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from types import ModuleType
from typing import Any

from connectors import file_drop, fivetran, hubspot, source_module
from connectors.http import ApiClient, ConnectorError
from connectors.hubspot import settings as hubspot_settings
from connectors.reverse_etl import PushResult, push_changed, read_changed_sync_rows
from connectors.streams import Page, PullWindow
from connectors.sync import PushOutcome, SyncRow
from dedupe.accounts import match_accounts
from dedupe.deterministic import ResolveResult, resolve
from enrichment.firmographics import FirmographicsResult, enrich_companies
from enrichment.pipeline import StageResult, stage_new_versions
from intake.inbox import Inbox
from intake.land import IntakeLandResult, fetchers, land_inbox
from leadflow.accounting import record_accounting
from leadflow.config import ConfigError, FileDropSourceConfig, HttpSettings, Settings
from leadflow.landing import LandResult, land, land_files
from leadflow.redact import redact
from leadflow.warehouse import Warehouse, has_table, utcnow
from routing import RouteResult, notify, route_new_leads
from routing.notify import NotifyResult
from routing.nurture import NurtureResult, run_nurture
from routing.recycle import RecycleResult, recycle_stale_leads
from routing.sla import SlaResult
from routing.sla import check_slas as sla_check
from scoring import ScoreResult, score_all

log = logging.getLogger("leadflow.pipeline")

ACCOUNT_DETAILS = "/account-info/v3/details"  # HubSpot: the portal id in record links


def warehouse(settings: Settings) -> Warehouse:
    return Warehouse(settings.warehouse_path)


def start_run(settings: Settings, run_id: str, as_of: datetime) -> None:
    wh = warehouse(settings)
    wh.ensure_schema()
    with wh.connect() as con:
        con.execute(
            "insert into ops.sync_runs (run_id, started_at, as_of, status) values (?, ?, ?, 'running')",
            [run_id, utcnow(), as_of],
        )


def finish_run(
    settings: Settings, run_id: str, status: str, summary: dict[str, Any] | None
) -> None:
    with warehouse(settings).connect() as con:
        con.execute(
            "update ops.sync_runs set finished_at = ?, status = ?, summary = ? where run_id = ?",
            [
                utcnow(),
                status,
                json.dumps(summary, default=str) if summary is not None else None,
                run_id,
            ],
        )


def pull_source(settings: Settings, source: str, run_id: str, as_of: datetime) -> list[LandResult]:
    """Every stream of one source, from its cursors into raw. When the source's API allowance runs
    out (a daily request limit), the source stops cleanly: what landed stays, and the next run
    resumes from the saved cursors (LandResult.stopped says why). A source loaded by Fivetran
    (`loader: fivetran`) is read from Fivetran's tables into the same streams, with no API call."""
    config = settings.sources.enabled()[source]
    if isinstance(config, FileDropSourceConfig):  # a folder: files, not pages, and no cursor
        return land_file_drop(settings, config, run_id, as_of)
    module: ModuleType | fivetran.FivetranSource = source_module(source)
    if getattr(config, "loader", "api") == "fivetran":
        module = fivetran.reader(source, warehouse=settings.warehouse_path, root=settings.root)
    results = []
    client = module.open_client(config)
    try:
        with warehouse(settings).connect() as con:
            for name, stream in module.STREAMS.items():

                def pages(
                    window: PullWindow, partition: str | None, name: str = name
                ) -> Iterator[Page]:
                    return module.pull(client, config, name, window, partition)

                landed = land(
                    con,
                    stream,
                    pages,
                    module.partitions(config, name),
                    lookback=timedelta(minutes=getattr(config, "lookback_minutes", 0)),
                    run_id=run_id,
                    as_of=as_of,
                )
                results.append(landed)
                if landed.stopped:  # the source's allowance is used up: its other streams wait
                    break
    finally:
        client.close()
    return results


def land_file_drop(
    settings: Settings, config: FileDropSourceConfig, run_id: str, as_of: datetime
) -> list[LandResult]:
    """The files dropped in the folder since the last run, each stream's in turn, each file once
    by its content hash (connectors/file_drop). A file that cannot be read lands one record saying
    why and is marked rejected; the other files go on."""
    folder = file_drop.drop_folder(settings.resolve(config.path))
    results = []
    with warehouse(settings).connect() as con:
        for name, stream in file_drop.STREAMS.items():

            def read_new(known: set[str], name: str = name) -> Iterator[file_drop.DroppedFile]:
                return file_drop.new_files(folder, name, config, known, as_of=as_of)

            results.append(land_files(con, stream, read_new, run_id=run_id))
    return results


def intent_events(settings: Settings) -> dict[tuple[str, str], str]:
    """(source, form id) -> the intent event a submission of that form counts as (a form named
    nowhere counts as `form_submission`)."""
    events: dict[tuple[str, str], str] = {}
    for name, config in settings.sources.enabled().items():
        for form in getattr(config, "forms", []):
            events[(name, form.id)] = form.intent_event
    for name, intake_config in settings.intake.enabled().items():
        for form in intake_config.forms:
            events.setdefault((name, form.id), form.intent_event)
    return events


def land_intake(settings: Settings, run_id: str) -> IntakeLandResult:
    """What `leadflow serve` accepted and has not landed yet, into raw (intake/land.py); first in
    a run, so the run processes it whether or not the service is up."""
    path = settings.inbox_path
    if not path.exists():
        return IntakeLandResult()
    with Inbox(path) as inbox, warehouse(settings).connect() as con:
        return land_inbox(inbox, con, fetchers(settings), run_id=run_id)


def intake_pending(settings: Settings) -> int:
    """How many inbox entries wait to be landed."""
    path = settings.inbox_path
    if not path.exists():
        return 0
    with Inbox(path) as inbox:
        return inbox.pending_count()


def has_published(settings: Settings) -> bool:
    """Whether a sync has built the push payload (the speed lane needs a first full build)."""
    with warehouse(settings).connect() as con:
        return has_table(con, "marts", "sync_hubspot__contacts")


def stage_records(settings: Settings, run_id: str, as_of: datetime) -> StageResult:
    from expectations.gate import Gate  # GX takes seconds to import; only this step needs it

    gate = Gate()
    with warehouse(settings).connect() as con:
        return stage_new_versions(
            con,
            gate,
            intent_events=intent_events(settings),
            default_region=settings.enrichment.default_region,
            run_id=run_id,
            as_of=as_of,
        )


def resolve_identities(settings: Settings, run_id: str, as_of: datetime) -> ResolveResult:
    """Records -> leads (dedupe/deterministic.py), then leads -> CRM accounts (dedupe/accounts.py):
    the account match reads the identities just written, and routing and dbt read both."""
    identity = settings.identity
    if identity.model is not None:
        identity = identity.model_copy(update={"model": settings.resolve(identity.model)})
    with warehouse(settings).connect() as con:
        result = resolve(con, run_id=run_id, as_of=as_of, identity=identity)
        match_accounts(con, settings.accounts, run_id=run_id, as_of=as_of)
        return result


def enrich_firmographics(
    settings: Settings, run_id: str, as_of: datetime, *, lane: bool = False
) -> FirmographicsResult:
    """Firmographics for the leads' company domains (enrichment/firmographics.py), after resolve
    and before dbt. Never fails the run: a provider down, a spent budget or a missing key leave the
    domains for a later run and say so in `stopped`. In the speed lane (`lane`) at most
    `lane_lookups` domains, one short attempt each, so a slow provider cannot hold a batch up; a
    domain already cached costs no request at all."""
    config = settings.enrichment.firmographics
    if config is None or not config.enabled:
        return FirmographicsResult()
    http = HttpSettings(timeout_s=config.lane_timeout_s, max_attempts=1) if lane else None
    from connectors import apollo

    try:
        client = apollo.open_client(config, http)
    except ConfigError as exc:
        log.warning("firmographics skipped: %s", exc)
        return FirmographicsResult(enabled=True, stopped=str(exc))
    try:
        with warehouse(settings).connect() as con:
            return enrich_companies(
                con,
                lambda domain: apollo.enrich_organization(client, domain),
                config,
                run_id=run_id,
                as_of=as_of,
                max_lookups=config.lane_lookups if lane else None,
            )
    finally:
        client.close()


def dbt_vars(settings: Settings) -> dict[str, Any]:
    """The dbt vars leadflow.yml decides (the grade and temperature bands' names, the golden
    record's survivorship)."""
    bands = settings.scoring.bands
    return {
        "score_grades": list(bands.grades),
        "score_temperatures": list(bands.temperature),
        **settings.identity.survivorship.dbt_vars(),
    }


def build_models(
    settings: Settings, selector: str, *, full_refresh: bool = False
) -> dict[str, Any]:
    """dbt build for one selector; a failed model or test raises and stops the run.
    `full_refresh` rebuilds the incremental models from scratch. With
    `warehouse.skip_unchanged_models` (the default) the models whose inputs did not change since
    their last passing build, and their tests, are left as they are (leadflow/dbt_state.py)."""
    from leadflow.dbt import build
    from leadflow.dbt_state import build_changed

    skipped = 0
    if settings.warehouse.skip_unchanged_models:
        result, plan = build_changed(
            selector,
            settings.warehouse_path,
            dbt_vars=dbt_vars(settings),
            full_refresh=full_refresh,
        )
        skipped = len(plan.skipped)
    else:
        result = build(
            selector,
            settings.warehouse_path,
            dbt_vars=dbt_vars(settings),
            unit_tests=False,  # logic tests belong to the test suite; the data tests still run
            extra_args=["--full-refresh"] if full_refresh else (),
        )
    return {
        "selector": selector,
        "nodes": result.count_nodes,
        "skipped_unchanged": skipped,
        "elapsed_s": round(result.elapsed_s, 2),
        "status_counts": dict(result.status_counts),
    }


def score_leads(settings: Settings, run_id: str, as_of: datetime) -> ScoreResult:
    with warehouse(settings).connect() as con:
        return score_all(con, settings.scoring, run_id=run_id, as_of=as_of)


def _lemlist_client(settings: Settings) -> ApiClient | None:
    config = settings.destinations.lemlist
    if config is None or not config.enabled:
        return None
    from connectors import lemlist

    return lemlist.open_client(config)


def nurture_leads(settings: Settings, run_id: str, as_of: datetime) -> NurtureResult:
    """Nurture exits and enrolments (routing/nurture.py), before routing so an exit is routed now."""
    client = _lemlist_client(settings)
    try:
        with warehouse(settings).connect() as con:
            return run_nurture(
                con,
                settings.nurture,
                settings.routing,
                lemlist_client=client,
                run_id=run_id,
                as_of=as_of,
            )
    finally:
        if client is not None:
            client.close()


def recycle_leads(settings: Settings, run_id: str, as_of: datetime) -> RecycleResult:
    """Recycle or close stale leads (routing/recycle.py), then make the Lemlist calls it owes."""
    with warehouse(settings).connect() as con:
        if not has_table(con, "intermediate", "int_leads_unified"):
            return RecycleResult()  # no sync has built the lead profile yet: nothing is stale
        result = recycle_stale_leads(con, settings.nurture, run_id=run_id, as_of=as_of)
    client = _lemlist_client(settings)
    if client is not None:
        from routing.nurture import sync_lemlist

        try:
            with warehouse(settings).connect() as con:
                result.lemlist_added, result.lemlist_removed, result.lemlist_failed = sync_lemlist(
                    con, client, run_id=run_id, as_of=as_of
                )
        finally:
            client.close()
    return result


def recycle_summary(
    settings: Settings, run_id: str, as_of: datetime, result: RecycleResult, pushed: PushResult
) -> dict[str, Any]:
    """The daily recycle run's numbers (ops.sync_runs.summary of that run)."""
    return {
        "run_id": run_id,
        "flow": "lead-recycle",
        "as_of": as_of.isoformat(),
        "leads_considered": result.considered,
        "leads_recycled": result.recycled,
        "leads_closed": result.closed,
        "recycle_reasons": dict(result.by_reason.most_common()),
        "lemlist_added": result.lemlist_added,
        "lemlist_removed": result.lemlist_removed,
        "lemlist_failed": result.lemlist_failed,
        "records_pushed": pushed.pushed,
        "push_failed": pushed.failed,
        "warehouse": str(settings.warehouse_path),
    }


def check_slas(settings: Settings, run_id: str, as_of: datetime) -> SlaResult:
    """First-touch SLA breaches (routing/sla.py): recorded, escalated or re-routed; before routing."""
    with warehouse(settings).connect() as con:
        return sla_check(con, settings.sla, settings.routing, run_id=run_id, as_of=as_of)


def _crm_portal(settings: Settings) -> tuple[int | None, str]:
    """(portal id, UI domain) for CRM record links: from the config, else asked from HubSpot."""
    configured = settings.notifications.hubspot_portal_id
    if configured is not None:
        return configured, notify.HUBSPOT_UI
    config = settings.destinations.hubspot
    if config is None or not config.enabled:
        return None, notify.HUBSPOT_UI
    client = hubspot.open_client(config)
    try:
        details = client.get_json(ACCOUNT_DETAILS)
    except ConnectorError as exc:
        log.warning("no CRM links in notifications: %s", exc)
        return None, notify.HUBSPOT_UI
    finally:
        client.close()
    portal = details.get("portalId") if isinstance(details, dict) else None
    domain = str(details.get("uiDomain") or notify.HUBSPOT_UI) if isinstance(details, dict) else ""
    return (int(portal) if portal is not None else None), domain or notify.HUBSPOT_UI


def notify_reps(settings: Settings, run_id: str, as_of: datetime) -> NotifyResult:
    """Queue and send assignment / SLA notifications (routing/notify.py); after the push."""
    from connectors import email, slack

    config = settings.notifications
    if not config.enabled:
        return NotifyResult()
    portal_id, ui_domain = _crm_portal(settings)
    with warehouse(settings).connect() as con:
        queued = notify.enqueue(con, config, settings.sla, run_id=run_id, as_of=as_of)
        result = notify.deliver(
            con,
            config,
            slack_client=lambda: slack.open_client(config.slack),
            email_client=lambda: email.open_client(config.email),
            portal_id=portal_id,
            ui_domain=ui_domain,
            as_of=as_of,
        )
    result.queued = queued
    return result


def route_leads(settings: Settings, run_id: str, as_of: datetime) -> RouteResult:
    with warehouse(settings).connect() as con:
        return route_new_leads(con, settings.routing, run_id=run_id, as_of=as_of)


# The dbt sync_ model each CRM destination pushes (models/marts/reverse_etl), and the columns of it
# that say how to write a row rather than what to write.
SYNC_MODELS = {
    "hubspot": "marts.sync_hubspot__contacts",
    "salesforce": "marts.sync_salesforce__records",
    "pipedrive": "marts.sync_pipedrive__persons",
}
SYNC_IDENTITY_COLUMNS = (
    "lead_id", "operation", "object_type", "object_id", "id_property", "id_value",
)  # fmt: skip
# Pipedrive writes one person per request; this many go between two push-log commits.
PIPEDRIVE_LOG_BATCH = 100


def push_crms(
    settings: Settings,
    run_id: str,
    as_of: datetime,
    *,
    dry_run: bool = False,
    only: str | None = None,
) -> PushResult:
    """Push every enabled CRM destination's changed rows (or, with `dry_run`, count what would
    be sent and write nothing). The result holds the totals and each destination's own."""
    total = PushResult()
    for name, config in settings.destinations.crms().items():
        if only is not None and name != only:
            continue
        result = _push_destination(settings, name, config, run_id, as_of, dry_run)
        total.add(result)
        total.destinations[name] = result
    return total


def owned_fields(name: str) -> tuple[str, ...]:
    """The fields of a CRM's sync model LeadFlow owns: a change in any is a new push."""
    from connectors import pipedrive
    from connectors.salesforce import settings as salesforce_settings

    if name == "hubspot":
        return hubspot_settings.OWNED_PROPERTIES
    if name == "salesforce":
        return ("OwnerId", *salesforce_settings.LEADFLOW_FIELDS)
    return ("owner_id", *pipedrive.SYNC_FIELDS, pipedrive.INBOX_LEADS)


def _push_destination(
    settings: Settings, name: str, config: Any, run_id: str, as_of: datetime, dry_run: bool
) -> PushResult:
    with warehouse(settings).connect() as con:
        schema, table = SYNC_MODELS[name].split(".")
        if not has_table(con, schema, table):
            return PushResult()  # no sync has built the payload yet
        owned = owned_fields(name)
        read = read_changed_sync_rows(con, SYNC_MODELS[name], SYNC_IDENTITY_COLUMNS, name, owned)
        rows = read.rows
        options: dict[str, Any] = {
            "owned_properties": owned,
            "run_id": run_id,
            "as_of": as_of,
            "mode": config.mode,
            "max_attempts": config.max_attempts,
            "row_hashes": read.row_hashes,
            "unchanged_unread": read.unchanged_unread,
        }
        if dry_run:  # no client: a preview needs no token and sends nothing
            return push_changed(con, name, rows, _no_send, batch_size=1, dry_run=True, **options)
        client = source_module(name).open_client(config)
        try:
            send, batch_size = _sender(name, config, client)
            return push_changed(con, name, rows, send, batch_size=batch_size, **options)
        finally:
            client.close()


def _no_send(batch: Sequence[SyncRow]) -> list[PushOutcome]:
    raise AssertionError("a dry run sends nothing")


def _sender(
    name: str, config: Any, client: ApiClient
) -> tuple[Callable[[Sequence[SyncRow]], list[PushOutcome]], int]:
    """How a batch of sync rows reaches `name`, and how many rows go between push-log commits."""
    from connectors import pipedrive, salesforce

    if name == "hubspot":
        hubspot.ensure_properties(client, create=config.create_properties)
        return (lambda batch: hubspot.push_contacts(client, batch, config.batch_size)), int(
            config.batch_size
        )
    if name == "salesforce":

        def to_salesforce(batch: Sequence[SyncRow]) -> list[PushOutcome]:
            objects = sorted({r.object_type or "Lead" for r in batch})
            salesforce.check_custom_fields(client, objects, config.api_version)
            return salesforce.push_records(
                client, batch, batch_size=config.batch_size, api_version=config.api_version
            )

        return to_salesforce, int(config.batch_size)
    keys: dict[str, str] = {}

    def to_pipedrive(batch: Sequence[SyncRow]) -> list[PushOutcome]:
        if not keys:  # asked once, when there is something to write
            keys.update(pipedrive.custom_field_keys(client))
        return pipedrive.push_persons(client, batch, keys)

    return to_pipedrive, PIPEDRIVE_LOG_BATCH


def summarize(
    settings: Settings,
    run_id: str,
    as_of: datetime,
    pulls: list[LandResult],
    staged: StageResult,
    identity: ResolveResult,
    scores: ScoreResult,
    routes: RouteResult,
    pushed: PushResult,
    *,
    nurture: NurtureResult | None = None,
    sla: SlaResult | None = None,
    notified: NotifyResult | None = None,
    intake: IntakeLandResult | None = None,
    firmographics: FirmographicsResult | None = None,
    dbt_builds: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """The run's numbers, as `leadflow run --json` prints them and ops.sync_runs keeps them.
    `dbt_builds`: what build_models returned for each dbt step."""
    pulled_by_source: Counter[str] = Counter()
    for land_result in pulls:
        pulled_by_source[f"{land_result.source}.{land_result.stream}"] += land_result.pulled
    with warehouse(settings).connect() as con:
        accounting = record_accounting(con)
        recycled = dict(
            con.execute(
                "select action, count(*) from ops.lead_recycling group by action"
            ).fetchall()
        )
    nurture = nurture or NurtureResult()
    return {
        "run_id": run_id,
        "as_of": as_of.isoformat(),
        "records_pulled": sum(pulled_by_source.values()),
        "records_pulled_by_stream": dict(pulled_by_source),
        "raw_versions_new": sum(r.new_versions for r in pulls),
        "records_processed": staged.processed,
        "records_quarantined": staged.quarantined,
        "quarantine_reasons": dict(staged.reasons.most_common()),
        "records_merged": identity.newly_linked,
        "leads": identity.leads,
        "leads_new": identity.new_leads,
        "lead_merges": identity.merges,
        "records_matched_probabilistic": identity.probabilistic,
        "identity_unchanged": identity.unchanged,  # nothing resolve reads had changed
        **(firmographics or FirmographicsResult()).as_summary(),
        "dbt_nodes_run": sum(int(build["nodes"]) for build in dbt_builds),
        "dbt_nodes_unchanged": sum(int(build["skipped_unchanged"]) for build in dbt_builds),
        "leads_scored": scores.scored,
        "leads_rescored": scores.rescored,  # scored this run: the others' inputs had not changed
        "scores_changed": scores.changed,
        "new_mqls": scores.new_mqls,
        "leads_routed": routes.routed,
        "leads_routed_by_rep": dict(routes.by_owner.most_common()),
        "leads_unassigned": routes.unassigned,
        "leads_not_eligible": routes.not_eligible,  # left to the nurture path (routing.eligible)
        "nurture_enrolled": nurture.enrolled,
        "nurture_enrolled_by_track": dict(nurture.enrolled_by_track.most_common()),
        "nurture_exited": nurture.exited,
        "nurture_exits_by_reason": dict(nurture.exits_by_reason.most_common()),
        "in_nurture": nurture.in_nurture,
        "nurture_unsubscribed_flagged": nurture.flagged_unsubscribed,
        "lemlist_failed": nurture.lemlist_failed,
        "leads_recycled_total": int(recycled.get("recycled", 0)),
        "leads_closed_total": int(recycled.get("closed", 0)),
        "records_pushed": pushed.pushed,
        "push_changed": pushed.changed,
        "push_failed": pushed.failed,
        "push_errors": pushed.errors,
        "push_by_destination": {
            name: {
                "changed": result.changed,
                "pushed": result.pushed,
                "failed": result.failed,
                "skipped_permanent": result.skipped_rejected,
                "not_in_destination": result.not_in_destination,
            }
            for name, result in pushed.destinations.items()
        },
        **(sla or SlaResult()).as_summary(),
        **(notified or NotifyResult()).as_summary(),
        **(intake or IntakeLandResult()).as_summary(),
        # a source whose API allowance ran out mid-pull (the rest comes on the next run)
        **({"sources_stopped": stopped} if (stopped := _stopped_sources(pulls)) else {}),
        "accounting": accounting,
        "warehouse": str(settings.warehouse_path),
    }


def _stopped_sources(pulls: list[LandResult]) -> dict[str, str]:
    return {f"{r.source}.{r.stream}": r.stopped for r in pulls if r.stopped}


def record_failure(settings: Settings, run_id: str, error: BaseException) -> None:
    """Mark the run failed; its partial work stays (every step is safe to re-run)."""
    try:
        finish_run(settings, run_id, "failed", {"error": redact(str(error))[:500]})
    except Exception:  # reporting a failure must never hide the failure itself
        log.exception("could not record the failure of run %s", run_id)
