"""What the pipeline benchmarks share: a LeadFlow config pointed at a sandbox (in this process, or
in another: bench/scale.py) with its rate limits off (they measure LeadFlow, not the vendors'
limits), and one sync run's steps, timed, called directly (no Prefect server, whose ~10 s start-up
would drown the small numbers)."""

from __future__ import annotations

import os
import platform
import resource
import shutil
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# Imported where used: a process that only starts others (bench/scale.py) or reads results need not
# load the pipeline (pandas, duckdb, GX's and dbt's imports follow from it).
if TYPE_CHECKING:
    from leadflow.config import Settings
    from sandbox import Sandbox

TOKENS = {
    "hubspot": "bench-hubspot-token",
    "meta": "bench-meta-token",
    "typeform": "bench-typeform-token",
    "lemlist": "bench-lemlist-token",
    "apollo": "bench-apollo-key",
}
UNLIMITED_BUCKETS = ("hubspot", "hubspot_search", "meta", "typeform", "lemlist")
TOKEN_ENV = {
    "hubspot": "HUBSPOT_ACCESS_TOKEN",
    "meta": "META_ACCESS_TOKEN",
    "typeform": "TYPEFORM_ACCESS_TOKEN",
    "lemlist": "LEMLIST_API_KEY",
    "apollo": "APOLLO_API_KEY",
}


def export_tokens() -> None:
    """The bench tokens in the environment variables leadflow.yml names, for this process and the
    processes it starts."""
    for vendor, env in TOKEN_ENV.items():
        os.environ[env] = TOKENS[vendor]


def sandbox(seed: int, leads: int) -> Sandbox:
    """A sandbox world of `leads` people whose vendors never rate-limit once `settings_for` or
    `unlimit` has run (Slack's limit stays: the Slack client paces itself to it); the tokens are
    exported here and the Slack webhook in `settings_for`."""
    from sandbox import Sandbox

    export_tokens()
    return Sandbox(seed=seed, leads=leads, tokens=TOKENS)


def unlimit(sb: Sandbox) -> None:
    """Turn off the sources' and Lemlist's rate limits: the benchmarks measure LeadFlow, not them."""
    for bucket in UNLIMITED_BUCKETS:
        sb.set_rate_limit(bucket, 0, 1)


def write_config(
    workdir: Path,
    urls: dict[str, str],
    smtp_port: int,
    slack_webhook_url: str,
    edit: Any = None,
) -> Path:
    """leadflow.yml with its warehouse (and the intake's inbox) in `workdir` and every vendor,
    Slack and SMTP at a sandbox serving `urls` (in this process or another); `edit(config)` may
    change the parsed config before it is written. Returns the file's path."""
    config = yaml.safe_load((REPO / "leadflow.yml").read_text(encoding="utf-8"))
    config["warehouse"]["path"] = str(workdir / "warehouse.duckdb")
    config["intake"]["inbox"] = str(workdir / "inbox.sqlite")
    config["sandbox"]["embedded"] = False
    for vendor in ("hubspot", "meta", "typeform"):
        config["sources"][vendor]["base_url"] = urls[vendor]
    config["destinations"]["hubspot"]["base_url"] = urls["hubspot"]
    config["destinations"]["lemlist"]["base_url"] = urls["lemlist"]
    config["enrichment"]["firmographics"]["base_url"] = urls["apollo"]
    config["notifications"]["email"]["port"] = smtp_port
    os.environ[config["notifications"]["slack"]["webhook_url_env"]] = slack_webhook_url
    if edit is not None:
        edit(config)
    path = workdir / "leadflow.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


def settings_for(sb: Sandbox, workdir: Path) -> Settings:
    """leadflow.yml with its warehouse (and the intake's inbox) in `workdir` and every vendor,
    Slack and SMTP at the sandbox, whose sources' limits are turned off."""
    from leadflow.config import load_settings

    unlimit(sb)
    return load_settings(write_config(workdir, sb.urls, sb.smtp_address[1], sb.slack_webhook_url))


def one_run(
    settings: Settings,
    run_id: str,
    as_of: datetime,
    hook: Any = None,
    *,
    firmographics: bool = False,
) -> dict[str, Any]:
    """One sync run, step by step, with each step's seconds. `hook(event)` is called at
    "before_prepare", "after_prepare", "before_publish" and "after_publish" (to read dbt's
    artifacts, copy the warehouse), and with "start:<step>" before every step (to follow a long
    run). `firmographics` adds the hourly flow's Apollo lookups (`enrich_firmographics`) after
    dedupe, as flows/lead_sync.py runs them."""
    from leadflow import pipeline

    hook = hook or (lambda event: None)
    stages: dict[str, float] = {}

    def timed(name: str, fn: Any, *args: Any) -> Any:
        hook(f"start:{name}")
        started = time.perf_counter()
        result = fn(*args)
        stages[name] = round(time.perf_counter() - started, 3)
        return result

    pipeline.start_run(settings, run_id, as_of)
    pulls = []
    for source in settings.sources.enabled():
        pulls += timed(f"pull_{source}", pipeline.pull_source, settings, source, run_id, as_of)
    staged = timed("validate_enrich", pipeline.stage_records, settings, run_id, as_of)
    identity = timed("dedupe", pipeline.resolve_identities, settings, run_id, as_of)
    enriched = None
    if firmographics:
        enriched = timed(
            "enrich_firmographics", pipeline.enrich_firmographics, settings, run_id, as_of
        )
    hook("before_prepare")
    prepared = timed("dbt_prepare", pipeline.build_models, settings, "prepare")
    hook("after_prepare")
    scores = timed("score", pipeline.score_leads, settings, run_id, as_of)
    routes = timed("route", pipeline.route_leads, settings, run_id, as_of)
    hook("before_publish")
    published = timed("dbt_publish", pipeline.build_models, settings, "publish")
    hook("after_publish")
    pushed = timed("push", pipeline.push_crms, settings, run_id, as_of)
    hook("start:summarize")
    summary = pipeline.summarize(
        settings,
        run_id,
        as_of,
        pulls,
        staged,
        identity,
        scores,
        routes,
        pushed,
        firmographics=enriched,
        dbt_builds=(prepared, published),
    )
    pipeline.finish_run(settings, run_id, "completed", summary)
    return {
        "total_s": round(sum(stages.values()), 3),
        "stages_s": stages,
        "records_pulled": summary["records_pulled"],
        "leads": summary["leads"],
        "records_pushed": summary["records_pushed"],
        "summary": summary,
    }


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def machine_and_load(load_before: list[float]) -> dict[str, Any]:
    """machine(), with the load average taken before a measurement and now, after it."""
    return {
        **machine(),
        "load_average_before": load_before,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }


def copy_warehouse(workdir: Path, into: Path) -> Path:
    """A copy of a scale run's warehouse (DIR/warehouse.duckdb and its WAL) in `into`, to measure
    on without touching the run's own."""
    copy = into / "warehouse.duckdb"
    shutil.copyfile(workdir / "warehouse.duckdb", copy)
    wal = workdir / "warehouse.duckdb.wal"
    if wal.exists():
        shutil.copyfile(wal, into / "warehouse.duckdb.wal")
    return copy


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
