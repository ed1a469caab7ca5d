"""The sandbox's chaos control over real HTTP: each kind of fault, in the vendor's shape."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest
import requests

from sandbox import DEFAULT_PORTS, Sandbox
from sandbox.chaos import KINDS, settings_from_flags
from tests.sandbox.sandbox_helpers import NOW, SEARCH, TOKENS, UPDATE, Client, no_limits


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(seed=3, leads=30, tokens=TOKENS, now=NOW) as sandbox:
        yield no_limits(sandbox)


def _hubspot(sb: Sandbox) -> Client:
    return Client(sb.urls["hubspot"], {"Authorization": f"Bearer {TOKENS['hubspot']}"})


def test_off_by_default_and_at_rate_zero(sb: Sandbox) -> None:
    with _hubspot(sb) as hubspot:
        assert all(hubspot.post(SEARCH, json={"limit": 5}).status_code == 200 for _ in range(20))
        sb.set_chaos(0.0)
        assert hubspot.post(SEARCH, json={"limit": 5}).status_code == 200
    assert sb.chaos.counts == {}


def test_rate_limited_is_the_vendors_429_with_retry_after(sb: Sandbox) -> None:
    sb.set_chaos(1.0, kinds=("rate_limited",))
    with _hubspot(sb) as hubspot:
        resp = hubspot.post(SEARCH, json={"limit": 5})
    assert resp.status_code == 429
    assert int(resp.headers["Retry-After"]) >= 1
    assert resp.json()["status"] == "error"


def test_server_error_is_a_5xx_with_the_vendors_body(sb: Sandbox) -> None:
    sb.set_chaos(1.0, kinds=("server_error",))
    with _hubspot(sb) as hubspot:
        resp = hubspot.post(SEARCH, json={"limit": 5})
    assert resp.status_code in (500, 502, 503)
    assert resp.json()["status"] == "error"


def test_truncated_is_a_2xx_whose_json_is_cut(sb: Sandbox) -> None:
    sb.set_chaos(1.0, kinds=("truncated",))
    with _hubspot(sb) as hubspot:
        resp = hubspot.post(SEARCH, json={"limit": 5})
    assert resp.status_code == 200
    with pytest.raises(ValueError):
        resp.json()


def test_timeout_applies_the_write_and_answers_late(sb: Sandbox) -> None:
    contact = sb.hubspot_contacts()[0]
    sb.set_chaos(1.0, kinds=("timeout",), timeout_delay_s=1.0)
    started = time.monotonic()
    with _hubspot(sb) as hubspot, pytest.raises(requests.Timeout):
        hubspot.session.post(
            sb.urls["hubspot"] + UPDATE,
            json={"inputs": [{"id": contact["id"], "properties": {"leadflow_score": "77"}}]},
            timeout=0.3,
        )
    assert time.monotonic() - started < 1.0
    sb.set_chaos(0.0)
    written = next(c for c in sb.hubspot_contacts() if c["id"] == contact["id"])
    assert written["properties"]["leadflow_score"] == "77"


def test_partial_applies_some_inputs_and_names_the_others_in_a_207(sb: Sandbox) -> None:
    contacts = sb.hubspot_contacts()[:6]
    inputs = [{"id": c["id"], "properties": {"leadflow_score": "55"}} for c in contacts]
    sb.set_chaos(1.0, kinds=("partial",), seed=2)
    with _hubspot(sb) as hubspot:
        resp = hubspot.post(UPDATE, json={"inputs": inputs})
    assert resp.status_code == 207
    body = resp.json()
    done = {r["id"] for r in body["results"]}
    failed = {i for e in body["errors"] for i in e["context"]["ids"]}
    assert body["numErrors"] == len(body["errors"]) == len(failed) >= 1
    assert {e["category"] for e in body["errors"]} == {"RATE_LIMITS"}
    assert done | failed == {c["id"] for c in contacts} and not done & failed
    sb.set_chaos(0.0)
    scores = {c["id"]: c["properties"]["leadflow_score"] for c in sb.hubspot_contacts()}
    assert all(scores[i] == "55" for i in done)
    assert all(scores[i] != "55" for i in failed)


def test_latency_answers_in_full_but_late(sb: Sandbox) -> None:
    sb.set_chaos(1.0, kinds=("latency",), latency_s=0.4, seed=1)
    delays = []
    with _hubspot(sb) as hubspot:
        for _ in range(5):
            started = time.monotonic()
            resp = hubspot.post(SEARCH, json={"limit": 5})
            delays.append(time.monotonic() - started)
            assert resp.status_code == 200 and len(resp.json()["results"]) == 5
    assert sb.chaos.counts == {"latency": 5}
    assert max(delays) >= 0.05  # drawn up to 0.4 s (seeded)


def test_partial_waits_for_a_batch_write_and_other_kinds_come_first(sb: Sandbox) -> None:
    sb.set_chaos(1.0, seed=9, latency_s=0.1)
    with _hubspot(sb) as hubspot:
        statuses = [hubspot.post(SEARCH, json={"limit": 5}).status_code for _ in range(5)]
    # the first five faults are the five kinds a search can meet, each once
    assert set(sb.chaos.counts) == {
        "latency",
        "rate_limited",
        "server_error",
        "timeout",
        "truncated",
    }
    assert len(statuses) == 5


def test_the_command_line_flags_become_settings() -> None:
    assert settings_from_flags(0.1).kinds == KINDS
    chosen = settings_from_flags(0.25, "latency, rate_limited")
    assert (chosen.rate, chosen.kinds) == (0.25, ("latency", "rate_limited"))
    with pytest.raises(ValueError, match="between 0 and 1"):
        settings_from_flags(1.5)
    with pytest.raises(ValueError, match="flood"):
        settings_from_flags(0.1, "latency,flood")


def test_python_m_sandbox_serves_with_chaos_on_from_the_start() -> None:
    ports = [f"--{vendor}-port=0" for vendor in DEFAULT_PORTS]
    with subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--leads", "5", *ports, "--chaos-rate", "1",
         "--chaos-kinds", "rate_limited"],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "HUBSPOT_ACCESS_TOKEN": TOKENS["hubspot"]},
    ) as server:  # fmt: skip
        try:
            assert server.stdout is not None
            lines = [server.stdout.readline() for _ in range(len(DEFAULT_PORTS) + 1)]
            [hubspot_url] = [ln.split()[1] for ln in lines if ln.startswith("hubspot")]
            assert lines[-1].startswith("chaos     100% of requests meet one of rate_limited")
            resp = requests.post(
                hubspot_url + SEARCH,
                json={"limit": 5},
                headers={"Authorization": f"Bearer {TOKENS['hubspot']}"},
                timeout=10,
            )
            assert resp.status_code == 429 and "Retry-After" in resp.headers
        finally:
            server.terminate()


def test_control_endpoint_sets_and_rejects(sb: Sandbox) -> None:
    url = sb.urls["hubspot"] + "/_sandbox/chaos"
    ok = requests.post(url, json={"rate": 0.1, "seed": 4, "kinds": ["truncated"]}, timeout=5)
    assert ok.status_code == 200
    assert ok.json()["rate"] == 0.1 and ok.json()["kinds"] == ["truncated"]
    for bad in ({"rate": 2}, {"rate": 0.1, "kinds": ["flood"]}, {"rate": "x"}):
        resp = requests.post(url, data=json.dumps(bad), timeout=5)
        assert resp.status_code == 400, bad


def test_partial_on_salesforce_collections_fails_some_records_as_salesforce_does() -> None:
    from pydantic import SecretStr

    from connectors.salesforce import client as sf_client

    token = "chaos-sf-token"
    with Sandbox(seed=4, leads=60, tokens={"salesforce": token}, now=NOW) as sandbox:
        org = sandbox._apps["salesforce"].org  # type: ignore[attr-defined]
        ids = [r["Id"] for r in org.records("Lead")[:10]]
        assert len(ids) == 10
        sandbox.set_chaos(1.0, kinds=("partial",), seed=3, vendors=("salesforce",))
        client = sf_client.make_client(sandbox.urls["salesforce"], SecretStr(token))
        # WHEN ten Leads are updated in one sObject Collections request (allOrNone false)
        outcomes = sf_client.update_records(
            client, [{"Id": i, "LeadFlow_Grade__c": "Z"} for i in ids], sobject="Lead"
        )
        sandbox.set_chaos(0)
    # THEN some were applied and the others failed as a locked row does: retriable, not applied
    failed = [o for o in outcomes if not o.success]
    assert 0 < len(failed) < 10
    assert all(o.error_code == "UNABLE_TO_LOCK_ROW" and o.retriable for o in failed)
    grades = {i: org.get(i)["LeadFlow_Grade__c"] for i in ids}
    assert {o.key for o in outcomes if o.success} == {i for i, g in grades.items() if g == "Z"}
