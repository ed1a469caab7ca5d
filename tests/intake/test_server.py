"""`leadflow serve` over real HTTP: what is answered, what is stored, what survives a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from pydantic import SecretStr

from intake.inbox import Inbox
from intake.server import IntakeService, load_secrets
from intake.webhooks import meta_signature, webform_signature
from leadflow.config import ConfigError, IntakeConfig, parse_settings

SECRET = "whsec-server-test-0123"
VERIFY = "meta-verify-token-xyz"


def config(**overrides: object) -> IntakeConfig:
    return IntakeConfig.model_validate(
        {
            "meta": {},
            "webform": {"rate_per_second": 1, "burst": 3},
            "max_body_bytes": 2048,
            **overrides,
        }
    )


@pytest.fixture
def service(tmp_path: Path) -> Iterator[IntakeService]:
    inbox = Inbox(tmp_path / "inbox.sqlite")
    secrets = {"meta": SecretStr(SECRET), "meta:verify": SecretStr(VERIFY)}
    secrets["webform"] = SecretStr(SECRET)
    svc = IntakeService(config(), secrets, inbox).start(port=0)
    try:
        yield svc
    finally:
        svc.stop()
        inbox.close()


def post_meta(url: str, *leadgen_ids: str, secret: str = SECRET) -> requests.Response:
    changes = [
        {"field": "leadgen", "value": {"leadgen_id": i, "form_id": "81"}} for i in leadgen_ids
    ]
    body = json.dumps({"object": "page", "entry": [{"changes": changes}]}).encode()
    headers = {"X-Hub-Signature-256": meta_signature(secret, body)}
    return requests.post(f"{url}/webhooks/meta", data=body, headers=headers, timeout=5)


def post_form(url: str, submission_id: str, padding: int = 0) -> requests.Response:
    body = json.dumps(
        {"form_id": "contact-us", "submission_id": submission_id, "note": "x" * padding}
    ).encode()
    stamp = str(int(time.time()))
    headers = {
        "X-LeadFlow-Timestamp": stamp,
        "X-LeadFlow-Signature": webform_signature(SECRET, stamp, body),
    }
    return requests.post(f"{url}/webhooks/webform", data=body, headers=headers, timeout=5)


def test_a_signed_webhook_is_stored_before_the_200_and_a_repeat_is_stored_once(
    service: IntakeService,
) -> None:
    first = post_meta(service.url, "1200000000001", "1200000000002")
    assert first.status_code == 200 and first.json() == {"received": 2, "new": 2}
    # Meta retries a delivery it is unsure of: acknowledged, not stored twice.
    again = post_meta(service.url, "1200000000002")
    assert again.status_code == 200 and again.json() == {"received": 1, "new": 0}
    pending = service.inbox.pending()
    assert [(e.source, e.source_key, e.partition) for e in pending] == [
        ("meta", "1200000000001", "81"),
        ("meta", "1200000000002", "81"),
    ]


def test_a_badly_signed_webhook_is_refused_and_nothing_is_stored(service: IntakeService) -> None:
    answer = post_meta(service.url, "1200000000001", secret="not-ours")
    assert answer.status_code == 401
    assert "X-Hub-Signature-256" in answer.json()["error"]
    assert service.inbox.counts() == {}


def test_an_oversize_body_is_refused_413_unread(service: IntakeService) -> None:
    answer = post_form(service.url, "s-big", padding=4096)
    assert answer.status_code == 413
    assert service.inbox.counts() == {}


def test_a_refused_body_never_becomes_the_next_request_on_a_kept_alive_connection(
    service: IntakeService,
) -> None:
    with requests.Session() as session:
        unknown = session.post(f"{service.url}/webhooks/typeform", data=b'{"x": 1}' * 100)
        assert unknown.status_code == 404 and unknown.headers["Connection"] == "close"
        body = b'{"entry": []}'
        headers = {"X-Hub-Signature-256": meta_signature(SECRET, body)}
        answer = session.post(f"{service.url}/webhooks/meta", data=body, headers=headers)
        assert answer.status_code == 200


def test_a_source_past_its_rate_limit_gets_429_with_retry_after(service: IntakeService) -> None:
    answers = [post_form(service.url, f"s-{i}").status_code for i in range(5)]
    assert answers[:3] == [200, 200, 200]  # the burst
    assert 429 in answers[3:]
    limited = post_form(service.url, "s-late")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    # Another source has its own bucket.
    assert post_meta(service.url, "1200000000009").status_code == 200


def test_an_unconfigured_source_is_404(service: IntakeService) -> None:
    answer = requests.post(f"{service.url}/webhooks/typeform", data=b"{}", timeout=5)
    assert answer.status_code == 404


def test_meta_subscription_check_echoes_the_challenge_only_for_our_verify_token(
    service: IntakeService,
) -> None:
    params = {"hub.mode": "subscribe", "hub.challenge": "1158201444", "hub.verify_token": VERIFY}
    ours = requests.get(f"{service.url}/webhooks/meta", params=params, timeout=5)
    assert ours.status_code == 200 and ours.text == "1158201444"
    theirs = requests.get(
        f"{service.url}/webhooks/meta", params={**params, "hub.verify_token": "x"}, timeout=5
    )
    assert theirs.status_code == 403


def test_health_reports_the_inbox(service: IntakeService) -> None:
    post_meta(service.url, "1200000000003")
    assert requests.get(f"{service.url}/healthz", timeout=5).json() == {
        "status": "ok",
        "inbox": {"pending": 1},
    }


def test_the_service_binds_loopback_unless_configured() -> None:
    assert IntakeConfig().host == "127.0.0.1"


def test_development_secrets_only_on_the_embedded_default_bound_to_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("LEADFLOW_WEBFORM_SECRET", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    local = parse_settings({"intake": {"webform": {}}})
    assert load_secrets(local)["webform"].get_secret_value() == "sandbox-webform-webhook-secret"
    exposed = parse_settings({"intake": {"host": "0.0.0.0", "webform": {}}})
    with pytest.raises(ConfigError, match="LEADFLOW_WEBFORM_SECRET"):
        load_secrets(exposed)
    monkeypatch.setenv("LEADFLOW_WEBFORM_SECRET", "a-real-secret-value")
    assert load_secrets(exposed)["webform"].get_secret_value() == "a-real-secret-value"


SERVE = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from pydantic import SecretStr
    from intake.inbox import Inbox
    from intake.server import IntakeService
    from leadflow.config import IntakeConfig
    svc = IntakeService(IntakeConfig.model_validate({"meta": {}}),
                        {"meta": SecretStr(sys.argv[2])}, Inbox(Path(sys.argv[1]))).start(port=0)
    print(svc.url, flush=True)
    while True:
        time.sleep(60)
    """
)


def test_a_lead_answered_200_survives_the_service_being_killed(tmp_path: Path) -> None:
    # GIVEN the service in its own process
    inbox_path = tmp_path / "inbox.sqlite"
    child = subprocess.Popen(
        [sys.executable, "-c", SERVE, str(inbox_path), SECRET],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
    )
    try:
        assert child.stdout is not None
        url = child.stdout.readline().strip()
        # WHEN leads are accepted and the process is killed before anything lands them
        assert post_meta(url, "1200000000011", "1200000000012").status_code == 200
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    # THEN both are in the inbox, pending, for the next run to land
    with Inbox(inbox_path) as inbox:
        assert [e.source_key for e in inbox.pending()] == ["1200000000011", "1200000000012"]


def test_serve_refuses_to_start_without_its_secrets_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from leadflow.cli import app

    monkeypatch.delenv("LEADFLOW_WEBFORM_SECRET", raising=False)
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    config = tmp_path / "leadflow.yml"
    config.write_text("intake: {host: 0.0.0.0, webform: {}}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["serve", "--config", str(config)])
    assert result.exit_code == 2
    assert "LEADFLOW_WEBFORM_SECRET is not set" in result.output
    assert "Traceback" not in result.output
    config.write_text("warehouse: {path: w.duckdb}\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["serve", "--config", str(config)])
    assert result.exit_code == 2
    assert "no webhook source is configured under intake:" in result.output
