"""Starting, stopping and steering the sandbox: loopback only, ports, control endpoints, CLI."""

from __future__ import annotations

import pytest
import requests

from sandbox import VENDORS, Sandbox
from sandbox.__main__ import main
from tests.sandbox.sandbox_helpers import NOW, SEARCH, TOKENS, Client


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3", "example.com"])
def test_non_loopback_hosts_are_refused(host: str) -> None:
    with pytest.raises(ValueError, match="loopback only"):
        Sandbox(leads=10).start(host=host)


def test_the_cli_refuses_a_public_host_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--host", "0.0.0.0", "--leads", "5"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("sandbox: the sandbox binds to loopback only")
    assert "\n" not in err


def test_a_busy_port_is_reported_with_the_vendor_and_port() -> None:
    with Sandbox(leads=10, now=NOW) as first:
        port = int(first.urls["meta"].rsplit(":", 1)[1])
        second = Sandbox(leads=10, now=NOW)
        with pytest.raises(OSError, match=f"meta sandbox cannot listen on 127.0.0.1:{port}"):
            second.start(ports={"meta": port})
        assert second.urls == {}


def test_the_context_manager_serves_on_free_ports_and_stops_on_exit() -> None:
    with Sandbox(leads=10, now=NOW) as sb:
        urls = sb.urls
        assert set(urls) == set(VENDORS)  # every HTTP vendor: hubspot, meta, typeform, lemlist, ...
        assert len(set(urls.values())) == len(VENDORS)
        assert requests.get(urls["hubspot"] + "/_sandbox/health", timeout=5).status_code == 200
    with pytest.raises(requests.ConnectionError):
        requests.get(urls["hubspot"] + "/_sandbox/health", timeout=5)


def test_an_in_memory_world_keeps_its_writes_across_stop_and_start() -> None:
    sb = Sandbox(leads=30, tokens=TOKENS, now=NOW)
    sb.start()
    sb.add_arrivals(3)
    sb.stop()
    sb.start()
    try:
        assert len(sb.world.people) == 33
    finally:
        sb.stop()


def test_health_reports_the_world(sb: Sandbox) -> None:
    body = requests.get(sb.urls["typeform"] + "/_sandbox/health", timeout=5).json()
    assert body["status"] == "ok"
    assert body["vendor"] == "typeform"
    assert (body["seed"], body["leads"]) == (7, 300)
    assert body["counts"]["people"] == 300


def test_arrivals_can_be_posted_and_show_up_in_a_search(sb: Sandbox, hubspot: Client) -> None:
    before = hubspot.post(SEARCH, json={"limit": 1}).json()["total"]
    resp = requests.post(sb.urls["hubspot"] + "/_sandbox/arrivals", json={"count": 30}, timeout=5)
    assert resp.status_code == 201
    ids = resp.json()["person_ids"]
    assert len(ids) == 30
    new_contacts = sum(
        1 for (source, _), pid in sb.world.truth.items() if source == "hubspot" and pid in ids
    )
    assert hubspot.post(SEARCH, json={"limit": 1}).json()["total"] == before + new_contacts


def test_faults_can_be_posted_for_another_vendor(sb: Sandbox, meta: Client) -> None:
    body = {"vendor": "meta", "status": 502, "count": 1}
    resp = requests.post(sb.urls["hubspot"] + "/_sandbox/faults", json=body, timeout=5)
    assert resp.status_code == 201
    assert meta.get("/v21.0/810000000000001/leads").status_code == 502
    assert meta.get("/v21.0/810000000000001/leads").status_code == 200


def test_a_rate_limit_can_be_posted(sb: Sandbox, typeform: Client) -> None:
    body = {"requests": 1, "per_seconds": 60}
    resp = requests.post(sb.urls["typeform"] + "/_sandbox/rate_limit", json=body, timeout=5)
    assert resp.status_code == 200
    statuses = [typeform.get("/forms/dEm0rQ/responses").status_code for _ in range(2)]
    assert statuses == [200, 429]


@pytest.mark.parametrize(
    ("path", "body"),
    [("/_sandbox/faults", {"status": 200}), ("/_sandbox/arrivals", ["x"]), ("/_sandbox/nope", {})],
    ids=["fault-not-an-error", "body-not-an-object", "unknown-endpoint"],
)
def test_bad_control_requests_are_refused(sb: Sandbox, path: str, body: object) -> None:
    resp = requests.post(sb.urls["meta"] + path, json=body, timeout=5)
    assert resp.status_code in (400, 404)
    assert "error" in resp.json()


def test_control_requests_need_no_token_and_are_not_rate_limited(sb: Sandbox) -> None:
    sb.set_rate_limit("hubspot", 1, 60)
    statuses = [
        requests.get(sb.urls["hubspot"] + "/_sandbox/health", timeout=5).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 200]
