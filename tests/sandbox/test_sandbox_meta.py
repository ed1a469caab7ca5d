"""The Meta Graph lead-retrieval stand-in over real HTTP: tokens, cursors, fields, filtering."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from sandbox import Sandbox
from sandbox.clock import parse_iso_ms
from tests.sandbox.sandbox_helpers import META_FORMS, Client, meta_leads

LEADS = f"/v21.0/{META_FORMS[0]}/leads"


def _created(lead: dict[str, str]) -> int:
    return parse_iso_ms(lead["created_time"])


@pytest.mark.parametrize("where", ["query", "header"])
def test_the_token_is_accepted_as_a_query_parameter_or_a_bearer_header(
    sb: Sandbox, where: str
) -> None:
    url = sb.urls["meta"] + LEADS
    if where == "query":
        resp = requests.get(url, params={"access_token": "tok-m"}, timeout=10)
    else:
        resp = requests.get(url, headers={"Authorization": "Bearer tok-m"}, timeout=10)
    assert resp.status_code == 200
    assert resp.json()["data"]


@pytest.mark.parametrize(
    ("params", "code"),
    [({}, 104), ({"access_token": "nope"}, 190)],
    ids=["missing", "invalid"],
)
def test_a_missing_or_bad_token_gets_graphs_oauth_error(
    sb: Sandbox, params: dict[str, str], code: int
) -> None:
    resp = requests.get(sb.urls["meta"] + LEADS, params=params, timeout=10)
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert error["type"] == "OAuthException"
    assert error["code"] == code
    assert error["fbtrace_id"]
    assert "OAuth" in resp.headers["WWW-Authenticate"]


def test_an_unknown_form_is_graphs_unsupported_get_request(meta: Client) -> None:
    resp = meta.get("/v21.0/810000000000099/leads")
    assert resp.status_code == 400
    error = resp.json()["error"]
    assert (error["code"], error["error_subcode"], error["type"]) == (
        100,
        33,
        "GraphMethodException",
    )
    assert error["message"].startswith("Unsupported get request. Object with ID '810000000000099'")


def test_paging_both_forms_to_the_end_yields_every_lead_once_newest_first(
    sb: Sandbox, meta: Client
) -> None:
    # GIVEN every Meta lead the world generated
    expected = {rid for (source, rid) in sb.world.truth if source == "meta"}
    # WHEN both forms are paged to the end 7 at a time
    seen: list[str] = []
    for form in META_FORMS:
        leads = meta_leads(meta, form, limit=7)
        # THEN each form's leads come newest first
        stamps = [_created(lead) for lead in leads]
        assert stamps == sorted(stamps, reverse=True)
        seen += [lead["id"] for lead in leads]
    # AND no lead was missed or repeated
    assert len(seen) == len(set(seen))
    assert set(seen) == expected


def test_the_next_link_is_on_this_server_and_never_carries_a_header_token(
    sb: Sandbox, meta: Client
) -> None:
    page = meta.get(LEADS, params={"limit": 5, "fields": "id"}).json()
    nxt = urlsplit(page["paging"]["next"])
    assert f"{nxt.scheme}://{nxt.netloc}" == sb.urls["meta"]
    query = parse_qs(nxt.query)
    assert "access_token" not in query
    assert query["fields"] == ["id"] and query["limit"] == ["5"]
    assert query["after"] == [page["paging"]["cursors"]["after"]]


def test_a_query_token_is_kept_in_the_next_link(sb: Sandbox) -> None:
    params = {"access_token": "tok-m", "limit": 5}
    page = requests.get(sb.urls["meta"] + LEADS, params=params, timeout=10).json()
    assert parse_qs(urlsplit(page["paging"]["next"]).query)["access_token"] == ["tok-m"]


def test_the_last_page_has_no_next_link(meta: Client) -> None:
    leads = meta.get(LEADS, params={"limit": 500}).json()
    assert "next" not in leads["paging"]
    assert set(leads["paging"]["cursors"]) == {"before", "after"}


def test_only_the_requested_fields_come_back_plus_the_id(meta: Client) -> None:
    default = meta.get(LEADS, params={"limit": 3}).json()["data"]
    assert all(set(lead) == {"id", "created_time", "field_data"} for lead in default)
    chosen = meta.get(LEADS, params={"limit": 50, "fields": "created_time,platform,ad_id"}).json()
    for lead in chosen["data"]:
        assert set(lead) <= {"id", "created_time", "platform", "ad_id"}
        assert lead["platform"] in ("fb", "ig")
        assert lead["created_time"].endswith("+0000")


def test_field_data_uses_metas_standard_keys_and_string_values(meta: Client) -> None:
    keys: set[str] = set()
    for form in META_FORMS:
        for lead in meta_leads(meta, form, limit=100):
            for item in lead["field_data"]:
                keys.add(item["name"])
                assert all(isinstance(v, str) for v in item["values"])
    standard = {"email", "phone_number", "company_name", "job_title", "country", "city"}
    assert standard <= keys
    assert {"full_name", "first_name", "last_name"} <= keys


def test_organic_leads_carry_no_ad_fields(meta: Client) -> None:
    fields = "id,is_organic,ad_id,campaign_id,form_id"
    leads = meta_leads(meta, META_FORMS[1], limit=100, fields=fields)
    organic = [lead for lead in leads if lead["is_organic"]]
    paid = [lead for lead in leads if not lead["is_organic"]]
    assert organic and paid
    assert all("ad_id" not in lead for lead in organic)
    assert all(lead["ad_id"] and lead["campaign_id"] for lead in paid)
    assert {lead["form_id"] for lead in leads} == {META_FORMS[1]}


def test_an_unknown_field_is_a_graph_parameter_error(meta: Client) -> None:
    resp = meta.get(LEADS, params={"fields": "id,shoe_size"})
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == 100


def test_filtering_on_time_created_returns_only_later_leads(meta: Client) -> None:
    everything = meta_leads(meta, META_FORMS[0], limit=100)
    cutoff = _created(everything[len(everything) // 2]) // 1000
    flt = json.dumps([{"field": "time_created", "operator": "GREATER_THAN", "value": cutoff}])
    later = meta_leads(meta, META_FORMS[0], limit=10, filtering=flt)
    assert {lead["id"] for lead in later} == {
        lead["id"] for lead in everything if _created(lead) // 1000 > cutoff
    }


@pytest.mark.parametrize(
    "filtering",
    [
        '[{"field": "time_created", "operator": "CONTAIN", "value": 1}]',
        '[{"field": "email", "operator": "EQUAL", "value": "x"}]',
        "not json",
    ],
    ids=["bad-operator", "bad-field", "not-json"],
)
def test_unsupported_filtering_is_a_graph_parameter_error(meta: Client, filtering: str) -> None:
    resp = meta.get(LEADS, params={"filtering": filtering})
    assert resp.status_code == 400
    assert resp.json()["error"]["code"] == 100


def test_the_before_cursor_pages_back_to_newer_leads(meta: Client) -> None:
    first = meta.get(LEADS, params={"limit": 4}).json()
    second = meta.session.get(first["paging"]["next"], timeout=10).json()
    back = meta.get(LEADS, params={"limit": 4, "before": second["paging"]["cursors"]["before"]})
    assert [lead["id"] for lead in back.json()["data"]] == [lead["id"] for lead in first["data"]]
    assert "previous" in second["paging"]


def test_the_limit_is_capped_silently(sb: Sandbox, meta: Client) -> None:
    sb.knobs.meta_max_limit = 10
    page = meta.get(LEADS, params={"limit": 1000}).json()
    assert len(page["data"]) == 10
    assert parse_qs(urlsplit(page["paging"]["next"]).query)["limit"] == ["10"]


def test_throttling_is_graphs_code_4_and_transient(sb: Sandbox, meta: Client) -> None:
    sb.set_rate_limit("meta", 2, 60)
    statuses = [meta.get(LEADS).status_code for _ in range(2)]
    resp = meta.get(LEADS)
    assert statuses == [200, 200]
    assert resp.status_code == 403
    error = resp.json()["error"]
    assert (error["code"], error["is_transient"]) == (4, True)
    assert json.loads(resp.headers["X-App-Usage"])["call_count"] == 100


@pytest.mark.parametrize(("status", "code"), [(500, 1), (503, 2)])
def test_server_faults_are_graphs_transient_codes(
    sb: Sandbox, meta: Client, status: int, code: int
) -> None:
    sb.inject_faults("meta", status, 1)
    resp = meta.get(LEADS)
    assert resp.status_code == status
    assert resp.json()["error"]["code"] == code
    assert meta.get(LEADS).status_code == 200


def test_arrivals_are_the_newest_leads_on_the_next_pull(sb: Sandbox, meta: Client) -> None:
    # GIVEN a pull that saw everything so far
    newest_before = max(_created(lead) for form in META_FORMS for lead in meta_leads(meta, form))
    # WHEN people arrive now
    at = datetime.fromisoformat("2026-05-01T12:30:00+00:00")
    people = sb.add_arrivals(40, at=at)
    # THEN their Meta leads are new ids, newer than anything seen, and belong to them
    flt = json.dumps(
        [{"field": "time_created", "operator": "GREATER_THAN", "value": newest_before // 1000}]
    )
    new = [lead for form in META_FORMS for lead in meta_leads(meta, form, filtering=flt)]
    expected = {
        rid for (source, rid), pid in sb.world.truth.items() if source == "meta" and pid in people
    }
    assert expected
    assert {lead["id"] for lead in new} == expected
    assert all(lead["created_time"] == "2026-05-01T12:30:00+0000" for lead in new)


def test_the_pages_forms_are_listed(meta: Client) -> None:
    data = meta.get("/v21.0/100000000000001/leadgen_forms").json()["data"]
    assert [(f["id"], f["name"]) for f in data] == [
        ("810000000000001", "Webinar signup"),
        ("810000000000002", "Pricing guide"),
    ]
