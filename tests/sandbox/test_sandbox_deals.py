"""HubSpot deals and their contacts, sales activity on contacts, and Meta ad insights."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sandbox import Sandbox
from sandbox.world import META_AD_ACCOUNT_ID
from tests.sandbox.sandbox_helpers import META_FORMS, NOW, Client

DEALS_SEARCH = "/crm/v3/objects/deals/search"
DEAL_CONTACTS = "/crm/v4/associations/deals/contacts/batch/read"
INSIGHTS = f"/v21.0/act_{META_AD_ACCOUNT_ID}/insights"
DEAL_PROPS = ["dealname", "amount", "dealstage", "pipeline", "closedate", "hs_is_closed_won"]


def all_deals(hubspot: Client, limit: int = 200) -> list[dict[str, Any]]:
    results: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        body: dict[str, Any] = {"limit": limit, "properties": DEAL_PROPS}
        if after:
            body["after"] = after
        page = hubspot.post(DEALS_SEARCH, json=body)
        assert page.status_code == 200, page.text
        data = page.json()
        results.extend(data["results"])
        after = data.get("paging", {}).get("next", {}).get("after")
        if after is None:
            return results


def test_deals_follow_the_funnel_of_their_contacts(sb: Sandbox, hubspot: Client) -> None:
    # GIVEN every deal, paged 7 at a time, and every contact
    deals = all_deals(hubspot, limit=7)
    contacts = {c["id"]: c["properties"] for c in sb.hubspot_contacts()}
    assert len(deals) == len({d["id"] for d in deals}) > 7
    links = hubspot.post(DEAL_CONTACTS, json={"inputs": [{"id": d["id"]} for d in deals]})
    assert links.status_code == 200, links.text
    contact_of = {r["from"]["id"]: str(r["to"][0]["toObjectId"]) for r in links.json()["results"]}
    assert set(contact_of) == {d["id"] for d in deals}
    # THEN every customer has a deal won at its customer date
    won = {contact_of[d["id"]]: d for d in deals if d["properties"]["dealstage"] == "closedwon"}
    customers = {cid for cid, p in contacts.items() if p["lifecyclestage"] == "customer"}
    assert customers and set(won) == customers
    for cid in customers:
        assert (
            won[cid]["properties"]["closedate"] == contacts[cid]["hs_lifecyclestage_customer_date"]
        )
        assert won[cid]["properties"]["hs_is_closed_won"] == "true"
    # AND most opportunities have a deal, open or lost, never won; only SQLs and later have one
    stage_of = {d["id"]: contacts[contact_of[d["id"]]]["lifecyclestage"] for d in deals}
    opportunities = {cid for cid, p in contacts.items() if p["lifecyclestage"] == "opportunity"}
    with_deal = {contact_of[d] for d, stage in stage_of.items() if stage == "opportunity"}
    assert len(with_deal) >= 0.7 * len(opportunities)
    assert set(stage_of.values()) <= {"salesqualifiedlead", "opportunity", "customer"}
    stages = Counter(d["properties"]["dealstage"] for d in deals)
    assert stages["closedlost"] >= 1 and stages["closedwon"] == len(customers)
    # AND values are plausible amounts in the default pipeline
    amounts = [float(d["properties"]["amount"]) for d in deals]
    assert min(amounts) >= 500 and 2_000 < sum(amounts) / len(amounts) < 50_000
    assert {d["properties"]["pipeline"] for d in deals} == {"default"}
    # AND nothing happened after the world's now
    now = NOW.strftime("%Y-%m-%dT%H:%M:%S")
    for d in deals:
        assert d["createdAt"] <= d["updatedAt"] < now
        if d["properties"]["dealstage"] in ("closedwon", "closedlost"):
            assert d["createdAt"] <= d["properties"]["closedate"] < now


def test_deals_search_filters_sorts_and_caps_like_contacts(sb: Sandbox, hubspot: Client) -> None:
    deals = all_deals(hubspot)
    stamps = sorted(d["updatedAt"] for d in deals)
    middle = stamps[len(stamps) // 2]
    body = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "hs_lastmodifieddate", "operator": "GTE", "value": middle}
                ]
            }
        ],
        "sorts": [{"propertyName": "hs_lastmodifieddate", "direction": "ASCENDING"}],
        "limit": 200,
    }
    page = hubspot.post(DEALS_SEARCH, json=body).json()
    got = [r["updatedAt"] for r in page["results"]]
    assert got == sorted(s for s in stamps if s >= middle)
    # default properties, with hs_object_id the deal's id
    first = page["results"][0]["properties"]
    assert {"dealname", "amount", "dealstage", "hs_object_id"} <= set(first)
    assert first["hs_object_id"] == page["results"][0]["id"]
    # a property deals do not have is refused, as HubSpot does
    bad = hubspot.post(
        DEALS_SEARCH,
        json={
            "filterGroups": [{"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}]}]
        },
    )
    assert bad.status_code == 400
    # and the 10,000-result cap applies here too
    sb.knobs.hubspot_search_cap = 10
    try:
        capped = hubspot.post(DEALS_SEARCH, json={"limit": 5, "after": "8"})
    finally:
        sb.knobs.hubspot_search_cap = 10_000
    assert capped.status_code == 400


def test_associations_batch_read_reports_deals_without_contacts(hubspot: Client) -> None:
    deal_id = all_deals(hubspot)[0]["id"]
    resp = hubspot.post(DEAL_CONTACTS, json={"inputs": [{"id": deal_id}, {"id": "42"}]})
    # THEN a 207: the known deal's contact, an OBJECT_NOT_FOUND error for the other
    assert resp.status_code == 207
    body = resp.json()
    assert [r["from"]["id"] for r in body["results"]] == [deal_id]
    to = body["results"][0]["to"][0]
    assert isinstance(to["toObjectId"], int)
    assert to["associationTypes"] == [{"category": "HUBSPOT_DEFINED", "typeId": 3, "label": None}]
    assert body["numErrors"] == 1
    assert body["errors"][0]["context"] == {"fromObjectId": ["42"]}
    # AND more than 1,000 inputs are refused
    too_many = hubspot.post(DEAL_CONTACTS, json={"inputs": [{"id": str(i)} for i in range(1001)]})
    assert too_many.status_code == 400


def test_sales_activity_grows_down_the_funnel(sb: Sandbox) -> None:
    contacts = [c["properties"] for c in sb.hubspot_contacts()]
    by_stage: dict[str, list[int]] = {}
    for p in contacts:
        by_stage.setdefault(p["lifecyclestage"], []).append(int(p["num_contacted_notes"]))
        if int(p["num_contacted_notes"]):
            # after the contact was created, last activity not before last contact, by its last change
            assert p["createdate"] <= p["notes_last_contacted"] <= p["notes_last_updated"]
            assert p["notes_last_updated"] <= p["lastmodifieddate"]
        else:
            assert p["notes_last_contacted"] is None
    mean = {stage: sum(v) / len(v) for stage, v in by_stage.items()}
    assert mean["lead"] < mean["salesqualifiedlead"] < mean["opportunity"] < mean["customer"]
    assert mean["customer"] > 4


def test_insights_page_one_row_per_campaign_per_day(sb: Sandbox, meta: Client) -> None:
    params = {
        "level": "campaign",
        "fields": "campaign_id,campaign_name,spend,impressions,clicks,date_start,date_stop",
        "time_increment": "1",
        "time_range": json.dumps({"since": "2026-04-01", "until": "2026-04-10"}),
        "limit": "7",
    }
    rows: list[dict[str, Any]] = []
    resp = meta.get(INSIGHTS, params=params)
    pages = 0
    while True:
        assert resp.status_code == 200, resp.text
        data = resp.json()
        rows.extend(data["data"])
        pages += 1
        nxt = data.get("paging", {}).get("next")
        if not nxt:
            break
        assert data["paging"]["cursors"]["after"] in nxt
        resp = meta.session.get(nxt, timeout=10)
    # THEN 10 days x 3 campaigns, in pages of 7, each day once per campaign
    assert pages == 5 and len(rows) == 30
    assert len({(r["campaign_id"], r["date_start"]) for r in rows}) == 30
    assert {r["date_start"] for r in rows} == {f"2026-04-{d:02d}" for d in range(1, 11)}
    assert all(r["date_start"] == r["date_stop"] for r in rows)
    assert all(isinstance(r["spend"], str) and float(r["spend"]) >= 0 for r in rows)
    # AND the same request gives the same numbers (a seeded draw per campaign and day)
    again = meta.get(INSIGHTS, params={**params, "limit": "30"}).json()["data"]
    assert sorted(again, key=str) == sorted(rows, key=str)


def test_spend_matches_the_leads_each_campaign_brought(sb: Sandbox, meta: Client) -> None:
    resp = meta.get(
        INSIGHTS,
        params={
            "level": "campaign",
            "fields": "campaign_id,spend,clicks",
            "time_increment": "all_days",
            "time_range": json.dumps({"since": "2025-01-01", "until": "2026-05-01"}),
        },
    )
    spend = {r["campaign_id"]: float(r["spend"]) for r in resp.json()["data"]}
    leads: Counter[str] = Counter()
    for form in META_FORMS:
        page = meta.get(f"/v21.0/{form}/leads", params={"fields": "campaign_id", "limit": "1000"})
        leads.update(lead.get("campaign_id") for lead in page.json()["data"])
    # THEN each campaign's cost per lead is tens of dollars
    for campaign_id, total in spend.items():
        assert leads[campaign_id] > 0
        assert 10 < total / leads[campaign_id] < 150, campaign_id


def test_insights_errors_look_like_graph(meta: Client) -> None:
    bad_range = meta.get(INSIGHTS, params={"level": "campaign", "time_range": '{"since": 1}'})
    assert bad_range.status_code == 400 and bad_range.json()["error"]["code"] == 100
    other = meta.get("/v21.0/act_123/insights", params={"level": "campaign"})
    assert other.status_code == 400 and other.json()["error"]["error_subcode"] == 33
    field = meta.get(INSIGHTS, params={"fields": "spend,email"})
    assert "AdsInsights" in field.json()["error"]["message"]
