"""The speed lane (intake/lane.py): a webhook in, the owner in the CRM and the rep told within
seconds; the hourly flow afterwards changes nothing; a kill loses nothing.

One module-scoped sandbox world, synced once by the real hourly flow (Prefect's harness), then
driven over real HTTP: the intake service and the lane in this process, or `leadflow serve` in a
child process where a kill is needed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import requests
from pydantic import SecretStr

from flows.lead_sync import lead_sync
from intake.inbox import Inbox
from intake.lane import SpeedLane
from intake.server import IntakeService
from intake.webhooks import webform_signature
from leadflow.config import Settings, load_settings
from leadflow.run_lock import warehouse_lock
from sandbox import Sandbox
from tests.flows.test_lead_sync import TOKEN_ENV, TOKENS, write_config

SECRET = "lane-test-webform-secret"
WAIT_S = 90  # generous: CI machines are slow; the lane usually takes a few seconds


@dataclass
class World:
    sandbox: Sandbox
    config: Path
    settings: Settings
    env: dict[str, str]


@pytest.fixture(scope="module")
def world(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    tmp = tmp_path_factory.mktemp("lane")
    patch = pytest.MonkeyPatch()
    env = {env: TOKENS[vendor] for vendor, env in TOKEN_ENV.items()}
    # `leadflow serve` needs every configured source's secret (the in-process service only
    # webform's); these are test values
    env |= {
        "LEADFLOW_WEBFORM_SECRET": SECRET,
        "META_APP_SECRET": "lane-meta-secret",
        "META_WEBHOOK_VERIFY_TOKEN": "lane-meta-verify",
        "TYPEFORM_WEBHOOK_SECRET": "lane-typeform-secret",
        "HUBSPOT_CLIENT_SECRET": "lane-hubspot-secret",
        "GOOGLE_ADS_WEBHOOK_KEY": "lane-google-key",
    }
    try:
        with Sandbox(seed=41, leads=30, tokens=TOKENS) as sandbox:
            env["LEADFLOW_SLACK_WEBHOOK_URL"] = sandbox.slack_webhook_url
            for name, value in env.items():
                patch.setenv(name, value)
            sandbox.set_rate_limit("slack", 0, 1)
            config = write_config(tmp, sandbox.urls, smtp_port=sandbox.smtp_address[1])
            first = lead_sync(config_path=str(config))
            assert first["leads_routed"] > 0
            yield World(sandbox, config, load_settings(config), env)
    finally:
        patch.undo()


def submission(key: str) -> dict[str, Any]:
    return {
        "form_id": "contact-us",
        "submission_id": f"lane-{key}",
        "submitted_at": "2026-05-04T09:31:12Z",
        "fields": {
            "email": f"lane.{key}@lane-{key}.example",
            "first_name": f"Lane{key}",
            "last_name": "Tester",
            "company": f"Lane {key} Inc",
            "job_title": "VP Marketing",
            "country": "US",
        },
    }


def post(url: str, key: str) -> requests.Response:
    body = json.dumps(submission(key)).encode()
    stamp = str(int(time.time()))
    headers = {
        "X-LeadFlow-Timestamp": stamp,
        "X-LeadFlow-Signature": webform_signature(SECRET, stamp, body),
    }
    return requests.post(f"{url}/webhooks/webform", data=body, headers=headers, timeout=5)


def contact(sb: Sandbox, key: str) -> dict[str, Any] | None:
    email = f"lane.{key}@lane-{key}.example"
    found = [c for c in sb.hubspot_contacts() if c["properties"].get("email") == email]
    assert len(found) <= 1, "the lead was created twice in the CRM"
    return found[0] if found else None


def wait_for(what: Callable[[], Any], timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := what():
            return value
        time.sleep(0.2)
    raise AssertionError(f"not within {timeout} s: {what}")


def owned(sb: Sandbox, key: str) -> Callable[[], dict[str, Any] | None]:
    def check() -> dict[str, Any] | None:
        found = contact(sb, key)
        return found if found and found["properties"].get("hubspot_owner_id") else None

    return check


def mails_about(sb: Sandbox, key: str) -> list[Any]:
    return [m for m in sb.emails() if f"Lane{key} Tester" in str(m.message["Subject"])]


def slack_about(sb: Sandbox, key: str) -> list[Any]:
    return [m for m in sb.slack_messages() if f"Lane{key} Tester" in json.dumps(m.payload)]


def assignment(world: World, key: str) -> tuple[str, str]:
    with duckdb.connect(str(world.settings.warehouse_path), read_only=True) as con:
        row = con.execute(
            "select a.lead_id, a.owner_id from ops.lead_assignments a"
            " join intermediate.int_leads_unified l using (lead_id) where l.email = ?",
            [f"lane.{key}@lane-{key}.example"],
        ).fetchone()
    assert row is not None
    return str(row[0]), str(row[1])


@pytest.fixture
def running(world: World, tmp_path: Path) -> Iterator[tuple[IntakeService, SpeedLane]]:
    """The intake service and its lane in this process, as `leadflow serve` wires them."""
    lane = SpeedLane(world.settings)
    inbox = Inbox(world.settings.inbox_path)
    secrets = {"webform": SecretStr(SECRET)}
    service = IntakeService(
        world.settings.intake, secrets, inbox, on_stored=lane.wake, health=lane.health
    ).start(port=0)
    lane.start()
    try:
        wait_for(lambda: requests.get(f"{service.url}/healthz", timeout=5).json()["lane"]["warm"])
        yield service, lane
    finally:
        service.stop()
        lane.stop(timeout=120)
        inbox.close()


def test_a_webhook_lead_is_owned_in_the_crm_and_announced_and_the_hourly_run_agrees(
    world: World, running: tuple[IntakeService, SpeedLane]
) -> None:
    service, lane = running
    sb = world.sandbox
    # WHEN a form submission arrives
    answer = post(service.url, "a1")
    assert answer.status_code == 200 and answer.json() == {"received": 1, "new": 1}
    # THEN, without any hourly run, the CRM has the contact with its owner and LeadFlow's score
    found = wait_for(owned(sb, "a1"))
    assert found["properties"]["leadflow_score"] not in (None, "")
    # AND the owner is told on both channels, once
    wait_for(lambda: mails_about(sb, "a1") and slack_about(sb, "a1"))
    # AND the same webhook again (vendors retry) is acknowledged and changes nothing
    again = post(service.url, "a1")
    assert again.status_code == 200 and again.json() == {"received": 1, "new": 0}
    contacts = len(sb.hubspot_contacts())
    wait_for(lambda: pending(world) == 0)
    service.stop()
    lane.stop(timeout=120)  # this process reads the warehouse now: DuckDB has one writer
    lead_id, owner_id = assignment(world, "a1")
    assert str(found["properties"]["hubspot_owner_id"]) == owner_id
    # WHEN the hourly flow runs after the lane went quiet
    hourly = lead_sync(config_path=str(world.config))
    # THEN it found the lead handled: nothing routed, pushed or announced again
    assert hourly["intake_landed"] == 0
    assert hourly["leads_routed"] == 0 and hourly["records_pushed"] == 0
    assert hourly["notifications_sent"] == 0
    assert assignment(world, "a1") == (lead_id, owner_id)
    assert len(sb.hubspot_contacts()) == contacts
    assert len(mails_about(sb, "a1")) == 1 and len(slack_about(sb, "a1")) == 1
    # AND the lane's batches are recorded runs
    with duckdb.connect(str(world.settings.warehouse_path), read_only=True) as con:
        lane_runs = con.execute(
            "select count(*) from ops.sync_runs where status = 'completed'"
            " and json_extract_string(summary, '$.flow') = 'speed-lane'"
            " and cast(json_extract(summary, '$.intake_landed') as int) > 0"
        ).fetchone()
    assert lane_runs is not None and lane_runs[0] >= 1


def test_the_lane_waits_while_another_run_holds_the_warehouse(
    world: World, running: tuple[IntakeService, SpeedLane]
) -> None:
    service, lane = running
    # GIVEN another run holding the warehouse (the hourly sync in another process would)
    with warehouse_lock(world.settings.warehouse_path, flow="lead-sync", wait_seconds=5):
        assert post(service.url, "b1").status_code == 200
        time.sleep(lane.config.lock_wait_s + 1)
        # THEN the lane has not touched it
        assert contact(world.sandbox, "b1") is None
    # AND once it is free the lead goes through
    wait_for(owned(world.sandbox, "b1"))
    wait_for(lambda: mails_about(world.sandbox, "b1"))


def test_a_lead_survives_the_service_killed_mid_batch(world: World, tmp_path: Path) -> None:
    # GIVEN `leadflow serve` set to die right after routing a lead (before the push)
    env = {**os.environ, **world.env, "LEADFLOW_KILL_AT": "route:done#2"}  # #1: the start batch
    log = tmp_path / "serve.log"
    port = free_port()
    child = serve(world.config, port, env, log)
    try:
        wait_for(lambda: health(port).get("lane", {}).get("warm"))
        assert post(f"http://127.0.0.1:{port}", "c1").status_code == 200
        # THEN it dies there, SIGKILLed: the lead is routed in the warehouse, not in the CRM
        assert child.wait(timeout=WAIT_S) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
    assert contact(world.sandbox, "c1") is None
    # WHEN the service starts again
    env.pop("LEADFLOW_KILL_AT")
    child = serve(world.config, port, env, log)
    try:
        # THEN its first batch finishes the job: owner in the CRM, the rep told once
        wait_for(owned(world.sandbox, "c1"))
        wait_for(lambda: mails_about(world.sandbox, "c1"))
    finally:
        child.send_signal(signal.SIGINT)
        child.wait(timeout=WAIT_S)
    assert len(mails_about(world.sandbox, "c1")) == 1
    text = log.read_text(encoding="utf-8")
    assert "lane.c1@" not in text and "Lanec1" not in text  # no personal data in its log


def pending(world: World) -> int:
    with Inbox(world.settings.inbox_path) as inbox:
        return inbox.pending_count()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def health(port: int) -> dict[str, Any]:
    try:
        answer: dict[str, Any] = requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).json()
        return answer
    except requests.RequestException:
        return {}


def serve(config: Path, port: int, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    leadflow = Path(sys.executable).with_name("leadflow")
    with log.open("ab") as out:
        return subprocess.Popen(
            [str(leadflow), "serve", "--config", str(config), "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
