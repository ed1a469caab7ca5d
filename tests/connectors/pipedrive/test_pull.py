"""Pulling Pipedrive over real HTTP from the sandbox: v2 cursor paging, v1 offset paging of
leads, incremental windows with lookback, deletes, merges and archived leads, the burst limit,
auth errors, and the person/lead parsers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from connectors import pipedrive
from connectors.http import AuthError
from connectors.pipedrive import settings
from connectors.streams import Page, PullWindow
from tests.connectors.pipedrive.conftest import NOW, TOKEN, Pd


def _pull(pd: Pd, stream: str, since: datetime | None = None, **config: Any) -> list[Page]:
    cfg = pd.source(**config)
    with pipedrive.open_client(cfg) as client:
        window = PullWindow(since, timedelta(minutes=cfg.lookback_minutes))
        return list(pipedrive.pull(client, cfg, stream, window))


def _ids(pages: list[Page]) -> list[str]:
    return [str(r["id"]) for p in pages for r in p.records]


def _newest(pages: list[Page], stream: str = "persons") -> datetime:
    cursor = pipedrive.STREAMS[stream].record_cursor
    stamps = [cursor(r) for p in pages for r in p.records]
    return max(s for s in stamps if s is not None)


def test_streams_declare_cursors_and_honest_sorting(pd: Pd) -> None:
    assert set(pipedrive.STREAMS) == {"persons", "leads", "deals", "users"}
    sorted_flags = {name: s.sorted_by_cursor for name, s in pipedrive.STREAMS.items()}
    assert sorted_flags == {"persons": True, "deals": True, "leads": False, "users": False}
    stream = pipedrive.STREAMS["persons"]
    payload = {"id": 42, "update_time": "2026-05-01T09:30:00Z"}
    assert (stream.primary_key, stream.cursor_field) == ("id", "update_time")
    assert stream.record_id(payload) == "42"
    assert stream.record_cursor(payload) == datetime(2026, 5, 1, 9, 30)
    users = pipedrive.STREAMS["users"]
    assert users.record_cursor({"modified": "2026-04-01 08:00:00"}) == datetime(2026, 4, 1, 8)
    assert pipedrive.partitions(pd.source(), "persons") == [None]


def test_a_first_pull_of_persons_follows_the_cursor_across_pages(pd: Pd) -> None:
    # GIVEN a company with more persons than fit a page of 100
    persons = pd.company.records("person")
    assert len(persons) > 200
    # WHEN persons are pulled from scratch
    pages = _pull(pd, "persons", page_size=100)
    # THEN every live person arrives once, oldest change first, in pages of 100
    assert sorted(_ids(pages)) == sorted(str(p["id"]) for p in persons)
    assert [len(p.records) for p in pages][:-1] == [100] * (len(pages) - 1)
    assert [p.last for p in pages] == [False] * (len(pages) - 1) + [True]
    stamps = [(r["update_time"], r["id"]) for p in pages for r in p.records]
    assert stamps == sorted(stamps)
    # AND one request per page, each sorted by update_time with the page size asked
    assert len(pd.requests("/api/v2/persons")) == len(pages)


def test_deals_pull_every_live_deal_and_not_the_deleted_ones(pd: Pd) -> None:
    deal = pd.company.records("deal")[0]["id"]
    pd.company.delete("deal", deal)
    pages = _pull(pd, "deals", page_size=20)
    assert sorted(_ids(pages)) == sorted(str(d["id"]) for d in pd.company.records("deal"))
    assert str(deal) not in _ids(pages)
    assert len(pages) > 1
    assert {"owner_id", "person_id", "status", "value", "stage_id"} <= set(pages[0].records[0])


def test_leads_page_by_offset_with_archived_ones_included(pd: Pd) -> None:
    leads = pd.company.records("lead")
    assert any(lead["is_archived"] for lead in leads)
    pages = _pull(pd, "leads", page_size=50)
    ids = _ids(pages)
    # every lead once, archived ones too, newest change first
    assert sorted(ids) == sorted(lead["id"] for lead in leads)
    assert len(ids) == len(set(ids))
    assert any(pipedrive.is_archived(r) for p in pages for r in p.records)
    stamps = [r["update_time"] for p in pages for r in p.records]
    assert stamps == sorted(stamps, reverse=True)
    assert pages[-1].last and not any(p.last for p in pages[:-1])
    calls = pd.requests("/api/v1/leads")
    assert len(calls) == len(pages) > 3


def test_a_lead_deleted_mid_pull_does_not_make_the_pull_skip_one(pd: Pd) -> None:
    # GIVEN a pull of leads that has yielded its first page
    cfg = pd.source(page_size=40)
    seen: list[str] = []
    with pipedrive.open_client(cfg) as client:
        pages = pipedrive.pull(client, cfg, "leads", PullWindow(None))
        first = next(pages)
        seen += [r["id"] for r in first.records]
        # WHEN a lead already read is deleted (every later row shifts up by one)
        pd.company.delete("lead", first.records[3]["id"])
        for page in pages:
            seen += [r["id"] for r in page.records]
    # THEN every remaining lead was still read, and none twice
    assert set(seen) >= {lead["id"] for lead in pd.company.records("lead")}
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("stream", ["persons", "leads"])
def test_an_incremental_pull_rereads_the_boundary_within_the_lookback(pd: Pd, stream: str) -> None:
    # GIVEN a first pull that ended at the newest update_time
    kind = stream.removesuffix("s")
    first = _pull(pd, stream)
    cursor = _newest(first, stream)
    # AND afterwards: a record stamped exactly at the cursor, one 5 minutes before it
    # (committed late), one a minute after it, and one 20 minutes before it
    ids = [r["id"] for r in pd.company.records(kind)][:4]
    at_boundary, late, after, too_old = ids
    for record_id, when in (
        (at_boundary, cursor),
        (late, cursor - timedelta(minutes=5)),
        (after, cursor + timedelta(minutes=1)),
        (too_old, cursor - timedelta(minutes=20)),
    ):
        pd.clock.now = when.replace(tzinfo=NOW.tzinfo)
        pd.company.update(
            kind, record_id, **({"name": "Changed"} if kind == "person" else {"title": "Changed"})
        )
    # WHEN the next pull starts from the cursor with the 10-minute lookback
    pages = _pull(pd, stream, since=cursor)
    seen = _ids(pages)
    # THEN the boundary, late and later records are read; one older than the lookback is not
    assert {str(at_boundary), str(late), str(after)} <= set(seen)
    assert str(too_old) not in seen
    floor = cursor - timedelta(minutes=10)
    assert all(
        pipedrive.STREAMS[stream].record_cursor(r) >= floor for p in pages for r in p.records
    )


def test_deleted_and_merged_persons_are_gone_and_the_kept_one_is_reread(pd: Pd) -> None:
    # GIVEN a first pull, then one person deleted and two merged
    first = _pull(pd, "persons")
    cursor = _newest(first)
    live = [p["id"] for p in pd.company.records("person")]
    deleted, keep, gone = live[10], live[20], live[21]
    pd.clock.now = cursor.replace(tzinfo=NOW.tzinfo) + timedelta(minutes=1)
    pd.company.delete("person", deleted)
    pd.company.merge_persons(keep, gone)
    # WHEN a full pull and an incremental one run
    everything = _ids(_pull(pd, "persons"))
    changed = _ids(_pull(pd, "persons", since=cursor))
    # THEN the deleted and the merged-away persons are listed nowhere; the kept one changed
    assert str(deleted) not in everything and str(gone) not in everything
    assert str(keep) in changed
    assert str(deleted) not in changed and str(gone) not in changed


def test_users_are_read_whole_every_run(pd: Pd) -> None:
    pages = _pull(pd, "users", since=NOW.replace(tzinfo=None))
    assert len(pages) == 1 and pages[0].last
    users = pages[0].records
    assert len(users) == len(pd.company.records("user"))
    assert any(u["active_flag"] is False for u in users)
    assert {"id", "name", "email", "active_flag", "is_admin", "modified"} <= set(users[0])


def test_a_429_is_waited_out_and_the_pull_succeeds(pd: Pd) -> None:
    # GIVEN a token whose burst window allows 3 requests per 2 s, and a client told the plan
    # allows far more (another integration could be spending the same window)
    pd.app.burst_limit = 3
    # WHEN persons are pulled 20 a page (more than 3 requests)
    pages = _pull(pd, "persons", page_size=20, burst_limit=120)
    # THEN some requests met 429 and were sent again after the reset; nothing was lost
    statuses = [status for _, _, status in pd.requests("/api/v2/persons")]
    assert 429 in statuses
    assert statuses.count(200) == len(pages)
    assert sorted(_ids(pages)) == sorted(str(p["id"]) for p in pd.company.records("person"))


def test_the_client_paces_itself_under_the_burst_limit(pd: Pd) -> None:
    # GIVEN the sandbox enforcing 5 requests per 2 s and the config saying so
    pd.app.burst_limit = 5
    # WHEN a pull needs more requests than one window holds
    pages = _pull(pd, "persons", page_size=40, burst_limit=5)
    # THEN it got through without a single 429
    statuses = [status for _, _, status in pd.requests()]
    assert len(pages) > 5
    assert statuses == [200] * len(pages)


def test_a_wrong_token_is_an_auth_error_that_never_shows_the_token(
    pd: Pd, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_TEST_PIPEDRIVE_TOKEN", "wrong-token-987654321")
    with pytest.raises(AuthError) as caught:
        _pull(pd, "persons")
    assert caught.value.status == 401
    assert "unauthorized access" in str(caught.value)
    assert "wrong-token-987654321" not in str(caught.value) and TOKEN not in str(caught.value)
    assert len(pd.requests()) == 1  # not retried


KEY = "a" * 40

PERSON_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "v2-primary-email-and-phone",
        {
            "id": 7,
            "first_name": "Ana",
            "last_name": "Silva",
            "owner_id": 12000003,
            "emails": [
                {"value": "old@x.example", "primary": False},
                {"value": "ana@x.example", "primary": True},
            ],
            "phones": [{"value": "+351 21 000 0000", "primary": True, "label": "work"}],
            "add_time": "2026-04-01T08:00:00Z",
            "update_time": "2026-04-02T09:30:00Z",
            "custom_fields": {KEY: "lf-123"},
        },
        {
            "record_id": "7",
            "crm_contact_id": "7",
            "crm_owner_id": "12000003",
            "email": "ana@x.example",
            "phone": "+351 21 000 0000",
            "first_name": "Ana",
            "last_name": "Silva",
            "leadflow_lead_id": "lf-123",
            "created_at": datetime(2026, 4, 1, 8),
            "updated_at": datetime(2026, 4, 2, 9, 30),
        },
    ),
    (
        "no-primary-flag-takes-the-first-readable",
        {"id": 8, "emails": [{"value": ""}, {"value": "b@x.example"}], "phones": []},
        {"email": "b@x.example", "phone": None},
    ),
    (
        "name-only-is-split",
        {"id": 9, "name": "Ana Maria Silva", "first_name": None, "last_name": ""},
        {"first_name": "Ana Maria", "last_name": "Silva"},
    ),
    (
        "v1-owner-and-org-objects",
        {
            "id": 10,
            "owner_id": {"id": 55, "name": "Rep"},
            "org_id": {"value": 3, "name": "Acme"},
            "email": [{"value": "c@x.example", "primary": True}],
        },
        {"crm_owner_id": "55", "company": "Acme", "email": "c@x.example"},
    ),
    (
        "malformed-values-are-none",
        {
            "id": [1],
            "emails": "not-a-list-but-a-string",
            "phones": {"value": "x"},
            "owner_id": True,
            "add_time": "yesterday",
            "update_time": 10**400,
            "custom_fields": [KEY],
            "first_name": {"x": 1},
        },
        {
            "record_id": None,
            "email": "not-a-list-but-a-string",
            "phone": None,
            "crm_owner_id": None,
            "created_at": None,
            "updated_at": None,
            "leadflow_lead_id": None,
            "first_name": None,
        },
    ),
    ("empty", {}, {"record_id": None, "email": None, "last_name": None}),
]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [(p, e) for _, p, e in PERSON_CASES],
    ids=[name for name, _, _ in PERSON_CASES],
)
def test_parse_person(payload: dict[str, Any], expected: dict[str, Any]) -> None:
    record = pipedrive.parse_person(payload, None, lead_id_key=KEY)
    assert record.source == "pipedrive" and record.stream == "persons"
    assert {k: getattr(record, k) for k in expected} == expected


def test_parse_person_without_the_key_leaves_the_lead_id_none() -> None:
    payload = {"id": 1, "custom_fields": {KEY: "lf-1"}}
    assert pipedrive.parse_person(payload).leadflow_lead_id is None


LEAD_CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    (
        "linked-to-a-person",
        {
            "id": "adf21080-0e10-11eb-879b-05d71fb426ec",
            "person_id": 1189,
            "organization_id": 369,
            "owner_id": 12000005,
            "add_time": "2026-04-24T02:13:58.803Z",
            "update_time": "2026-04-24T10:21:46.620Z",
            "is_archived": True,
        },
        {
            "record_id": "adf21080-0e10-11eb-879b-05d71fb426ec",
            "crm_contact_id": "1189",
            "crm_owner_id": "12000005",
            "created_at": datetime(2026, 4, 24, 2, 13, 58, 803000),
            "updated_at": datetime(2026, 4, 24, 10, 21, 46, 620000),
            "email": None,
            "company": None,
        },
    ),
    (
        "organization-only",
        {"id": "x", "person_id": None, "organization_id": 4},
        {"crm_contact_id": None},
    ),
    (
        "malformed",
        {"id": None, "person_id": "", "owner_id": [], "update_time": {"t": 1}},
        {"record_id": None, "crm_contact_id": None, "crm_owner_id": None, "updated_at": None},
    ),
]


@pytest.mark.parametrize(
    ("payload", "expected"),
    [(p, e) for _, p, e in LEAD_CASES],
    ids=[name for name, _, _ in LEAD_CASES],
)
def test_parse_lead(payload: dict[str, Any], expected: dict[str, Any]) -> None:
    record = pipedrive.parse_lead(payload, None)
    assert record.stream == "leads"
    assert {k: getattr(record, k) for k in expected} == expected


def test_the_sandbox_payloads_parse(pd: Pd) -> None:
    keys = None
    with pipedrive.open_client(pd.source()) as client:
        keys = pipedrive.custom_field_keys(client, [settings.LEAD_ID_FIELD])
    person = pd.company.records("person")[0]["id"]
    pd.company.update("person", person, custom={settings.LEAD_ID_FIELD: "lf-9"})
    pages = _pull(pd, "persons")
    payload = next(r for p in pages for r in p.records if r["id"] == person)
    record = pipedrive.parse_person(payload, lead_id_key=keys[settings.LEAD_ID_FIELD])
    assert record.leadflow_lead_id == "lf-9"
    assert record.email == pd.company.get("person", person)["emails"][0]["value"]
