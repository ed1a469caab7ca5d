"""HubSpot merges and the recycle bin, over real HTTP: `POST /crm/v3/objects/contacts/merge`,
`DELETE /crm/v3/objects/contacts/{id}`, `batch/archive`, and `GET ...?archived=true`."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests

from sandbox import Sandbox
from sandbox.clock import parse_iso_ms
from tests.sandbox.sandbox_helpers import UPDATE, Client, search_all

CONTACTS = "/crm/v3/objects/contacts"
MERGE = f"{CONTACTS}/merge"
ARCHIVE = f"{CONTACTS}/batch/archive"


def contacts_with_email(sb: Sandbox, n: int) -> list[dict[str, Any]]:
    found = [c for c in sb.hubspot_contacts() if c["properties"]["email"]]
    assert len(found) >= n
    return found[:n]


def stamped_between(stamp: str, sb: Sandbox, since_ms: int) -> bool:
    """A HubSpot time the sandbox set between `since_ms` and now (its clock runs in real time)."""
    return since_ms <= parse_iso_ms(stamp) <= sb.clock.now_ms()


def live_ids(hubspot: Client) -> set[str]:
    return {r["id"] for r in search_all(hubspot, {"limit": 100})}


def get(hubspot: Client, contact_id: str, **params: str) -> requests.Response:
    return hubspot.get(f"{CONTACTS}/{contact_id}", params=params)


def delete(hubspot: Client, contact_id: str) -> requests.Response:
    return hubspot.session.delete(f"{hubspot.base}{CONTACTS}/{contact_id}", timeout=10)


def archived_list(hubspot: Client, **params: Any) -> list[dict[str, Any]]:
    """Every contact in the recycle bin, following paging.next.after to the end."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        query = {"archived": "true", **params, **({"after": after} if after else {})}
        body = hubspot.get(CONTACTS, params=query).json()
        found.extend(body["results"])
        after = (body.get("paging") or {}).get("next", {}).get("after")
        if after is None:
            return found


# --------------------------------------------------------------------------- merges


def test_a_merge_makes_a_new_contact_with_both_ids_and_the_old_ones_leave(
    sb: Sandbox, hubspot: Client
) -> None:
    # GIVEN two live contacts
    primary, other = contacts_with_email(sb, 2)
    sb.advance_clock(timedelta(minutes=5))
    before = sb.clock.now_ms()
    # WHEN the second is merged into the first
    resp = hubspot.post(
        MERGE, json={"primaryObjectId": primary["id"], "objectIdToMerge": other["id"]}
    )
    # THEN HubSpot's answer is the new contact, under a new id, with the primary's email
    assert resp.status_code == 200
    merged = resp.json()
    assert merged["id"] not in (primary["id"], other["id"]) and merged["archived"] is False
    assert merged["properties"]["email"] == primary["properties"]["email"]
    # AND it lists both old ids, and was modified now (an incremental search sees it)
    full = get(hubspot, merged["id"], properties="hs_merged_object_ids,lastmodifieddate").json()
    expected = ";".join(sorted((primary["id"], other["id"]), key=int))
    assert full["properties"]["hs_merged_object_ids"] == expected
    assert stamped_between(full["properties"]["lastmodifieddate"], sb, before)
    # AND search holds the new contact and neither old one
    ids = live_ids(hubspot)
    assert merged["id"] in ids and not {primary["id"], other["id"]} & ids


def test_a_get_of_a_merged_away_id_answers_with_the_contact_it_became(
    sb: Sandbox, hubspot: Client
) -> None:
    primary, other = contacts_with_email(sb, 2)
    new_id = sb.hubspot_merge(primary["id"], other["id"])
    for old in (primary["id"], other["id"]):
        resp = get(hubspot, old)
        assert resp.status_code == 200 and resp.json()["id"] == new_id
    # AND a write to an old id is not followed: HubSpot documents the aliases for reads only
    update = hubspot.post(UPDATE, json={"inputs": [{"id": other["id"], "properties": {}}]})
    assert update.status_code == 207
    assert update.json()["errors"][0]["category"] == "OBJECT_NOT_FOUND"


def test_chained_merges_accumulate_every_merged_id(sb: Sandbox, hubspot: Client) -> None:
    # GIVEN A and B merged into X
    a, b, c = contacts_with_email(sb, 3)
    x = sb.hubspot_merge(b["id"], a["id"])
    # WHEN X is merged with C (C the primary)
    y = sb.hubspot_merge(c["id"], x)
    # THEN the contact it makes lists A, B, C and X, and every old id resolves to it
    body = get(hubspot, y, properties="hs_merged_object_ids").json()
    assert body["properties"]["hs_merged_object_ids"] == ";".join(
        sorted((a["id"], b["id"], c["id"], x), key=int)
    )
    assert {get(hubspot, old).json()["id"] for old in (a["id"], b["id"], c["id"], x)} == {y}
    # AND merging with an old id merges what it became
    d = contacts_with_email(sb, 4)[3]
    z = sb.hubspot_merge(d["id"], a["id"])
    assert get(hubspot, y).json()["id"] == z


def test_merged_values_follow_hubspots_rules(sb: Sandbox, hubspot: Client) -> None:
    # GIVEN a primary at stage lead without a job title, the other a customer with one
    primary, other = contacts_with_email(sb, 2)
    writes = [
        {"id": primary["id"], "properties": {"lifecyclestage": "lead", "jobtitle": ""}},
        {"id": other["id"], "properties": {"lifecyclestage": "customer", "jobtitle": "CTO"}},
    ]
    assert hubspot.post(UPDATE, json={"inputs": writes}).status_code == 200
    # WHEN they are merged
    new_id = sb.hubspot_merge(primary["id"], other["id"])
    # THEN the stage furthest down the funnel is kept, the gap filled from the other contact,
    # the primary's own values win elsewhere, and form submissions of both are added up
    props = next(c for c in sb.hubspot_contacts() if c["id"] == new_id)["properties"]
    assert props["lifecyclestage"] == "customer"
    assert props["jobtitle"] == "CTO"
    assert props["firstname"] == (
        primary["properties"]["firstname"] or other["properties"]["firstname"]
    )
    submissions = [int(c["properties"]["num_conversion_events"] or 0) for c in (primary, other)]
    assert int(props["num_conversion_events"] or 0) == sum(submissions)


@pytest.mark.parametrize(
    "body, status",
    [
        ({"primaryObjectId": "1"}, 400),
        ({"objectIdToMerge": "1"}, 400),
        ({"primaryObjectId": "same", "objectIdToMerge": "same"}, 400),
        ({"primaryObjectId": "999999999", "objectIdToMerge": "first"}, 404),
    ],
    ids=["no-id-to-merge", "no-primary", "itself", "unknown-id"],
)
def test_merge_refusals(sb: Sandbox, hubspot: Client, body: dict[str, str], status: int) -> None:
    first = contacts_with_email(sb, 1)[0]["id"]
    body = {k: (first if v in ("same", "first") else v) for k, v in body.items()}
    before = live_ids(hubspot)
    resp = hubspot.post(MERGE, json=body)
    assert resp.status_code == status and resp.json()["status"] == "error"
    assert live_ids(hubspot) == before


# --------------------------------------------------------------------------- archive


def test_an_archived_contact_leaves_search_and_is_listed_with_archived_at(
    sb: Sandbox, hubspot: Client
) -> None:
    # GIVEN a live contact
    contact = contacts_with_email(sb, 1)[0]
    sb.advance_clock(timedelta(minutes=3))
    before = sb.clock.now_ms()
    # WHEN it is deleted (archived)
    resp = delete(hubspot, contact["id"])
    # THEN HubSpot's 204, no body; it is no longer searchable or readable
    assert resp.status_code == 204 and resp.content == b""
    assert contact["id"] not in live_ids(hubspot)
    assert get(hubspot, contact["id"]).status_code == 404
    # AND the archived list holds it, archived since now, with its properties
    [listed] = archived_list(hubspot, properties="email,lastmodifieddate")
    assert listed["id"] == contact["id"] and listed["archived"] is True
    assert stamped_between(listed["archivedAt"], sb, before)
    assert listed["properties"]["email"] == contact["properties"]["email"]
    assert listed["properties"]["lastmodifieddate"] == contact["properties"]["lastmodifieddate"]
    # AND a get with archived=true reads it; deleting it again changes nothing
    assert get(hubspot, contact["id"], archived="true").json()["archived"] is True
    assert delete(hubspot, contact["id"]).status_code == 204
    assert len(archived_list(hubspot)) == 1


def test_batch_archive_and_the_archived_list_pages_by_id(sb: Sandbox, hubspot: Client) -> None:
    # GIVEN seven contacts archived in one batch
    chosen = sorted((c["id"] for c in sb.hubspot_contacts()[:7]), key=int)
    resp = hubspot.post(ARCHIVE, json={"inputs": [{"id": i} for i in chosen]})
    assert resp.status_code == 204
    # WHEN the archive is listed three at a time
    first = hubspot.get(CONTACTS, params={"archived": "true", "limit": 3}).json()
    listed = archived_list(hubspot, limit=3)
    # THEN every archived contact comes once, by id, and pages carry HubSpot's `after` link
    assert [c["id"] for c in listed] == chosen
    assert first["paging"]["next"]["after"] == chosen[2]
    assert "archived=true" in first["paging"]["next"]["link"]
    # AND the live list does not hold them
    live = hubspot.get(CONTACTS, params={"limit": 100}).json()["results"]
    assert not {c["id"] for c in live} & set(chosen)


def test_batch_archive_takes_at_most_100_inputs(hubspot: Client) -> None:
    resp = hubspot.post(ARCHIVE, json={"inputs": [{"id": str(i)} for i in range(101)]})
    assert resp.status_code == 400 and resp.json()["category"] == "VALIDATION_ERROR"


def test_the_recycle_bin_keeps_contacts_90_days(sb: Sandbox, hubspot: Client) -> None:
    contact = contacts_with_email(sb, 1)[0]
    sb.hubspot_archive(contact["id"])
    sb.advance_clock(timedelta(days=89))
    assert [c["id"] for c in archived_list(hubspot)] == [contact["id"]]
    sb.advance_clock(timedelta(days=2))
    assert archived_list(hubspot) == []
    with pytest.raises(ValueError, match="not in the recycle bin"):
        sb.hubspot_restore(contact["id"])


def test_a_restored_contact_comes_back_modified_unless_its_email_was_taken(
    sb: Sandbox, hubspot: Client
) -> None:
    # GIVEN two archived contacts, the email of the second taken since by a new contact
    kept, taken = contacts_with_email(sb, 2)
    sb.hubspot_archive(kept["id"], taken["id"])
    created = hubspot.post(
        "/crm/v3/objects/contacts/batch/upsert",
        json={
            "inputs": [
                {"idProperty": "email", "id": taken["properties"]["email"], "properties": {}}
            ]
        },
    )
    assert created.status_code == 200
    sb.advance_clock(timedelta(hours=1))
    before = sb.clock.now_ms()
    # WHEN both are restored
    sb.hubspot_restore(kept["id"])
    with pytest.raises(ValueError, match="cannot be restored"):
        sb.hubspot_restore(taken["id"])
    # THEN the first is live again under its id, modified now; the second stays archived
    back = get(hubspot, kept["id"], properties="lastmodifieddate").json()
    assert stamped_between(back["properties"]["lastmodifieddate"], sb, before)
    assert [c["id"] for c in archived_list(hubspot)] == [taken["id"]]


def test_deals_stop_listing_an_archived_contact_and_follow_a_merge(
    sb: Sandbox, hubspot: Client
) -> None:
    # GIVEN deals and their contacts
    deals = hubspot.post("/crm/v3/objects/deals/search", json={"limit": 200}).json()["results"]
    links = hubspot.post(
        "/crm/v4/associations/deals/contacts/batch/read",
        json={"inputs": [{"id": d["id"]} for d in deals]},
    ).json()["results"]
    contact_of = {r["from"]["id"]: str(r["to"][0]["toObjectId"]) for r in links}
    (deal_a, contact_a), (deal_b, contact_b), (deal_c, contact_c) = [
        pair for pair in contact_of.items() if list(contact_of.values()).count(pair[1]) == 1
    ][:3]
    # WHEN one contact is archived and two others merged
    sb.hubspot_archive(contact_a)
    new_id = sb.hubspot_merge(contact_b, contact_c)
    after = hubspot.post(
        "/crm/v4/associations/deals/contacts/batch/read",
        json={"inputs": [{"id": deal_a}, {"id": deal_b}, {"id": deal_c}]},
    ).json()
    # THEN the archived contact's deal has no contact; the merged ones' deals name the new one
    assert [e["context"]["fromObjectId"] for e in after["errors"]] == [[deal_a]]
    assert {r["from"]["id"]: str(r["to"][0]["toObjectId"]) for r in after["results"]} == {
        deal_b: new_id,
        deal_c: new_id,
    }
