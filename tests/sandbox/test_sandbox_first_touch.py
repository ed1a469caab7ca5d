"""The HubSpot stand-in's first touch: a new owner is stamped, touches come due on the sandbox clock,
and the incremental search sees them. Also the account details record links need."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sandbox import Sandbox
from sandbox.hubspot import SANDBOX_PORTAL_ID
from sandbox.properties import first_touch_delay_ms
from tests.sandbox.sandbox_helpers import SEARCH, UPDATE, Client

FIRST_TOUCH = [
    "hubspot_owner_id",
    "hubspot_owner_assigneddate",
    "hs_sa_first_engagement_date",
    "hs_sa_first_engagement_object_type",
    "lastmodifieddate",
]


def contact(hubspot: Client, contact_id: str) -> dict[str, Any]:
    response = hubspot.get(
        f"/crm/v3/objects/contacts/{contact_id}", params={"properties": ",".join(FIRST_TOUCH)}
    )
    assert response.status_code == 200
    props: dict[str, Any] = response.json()["properties"]
    return props


def unowned_contact_and_owner(sb: Sandbox, hubspot: Client) -> tuple[str, str]:
    """A contact without an owner, and an owner whose first touch of it comes within minutes."""
    owners = [o["id"] for o in hubspot.get("/crm/v3/owners").json()["results"]]
    for c in sb.hubspot_contacts():
        if c["properties"]["hubspot_owner_id"] is None:
            for owner in owners:
                delay = first_touch_delay_ms(c["id"], owner)
                if delay is not None and delay < 5 * 60_000:
                    return c["id"], owner
    raise AssertionError("the world has no unowned contact")


def test_a_new_owner_is_stamped_and_first_touches_when_the_clock_passes(
    sb: Sandbox, hubspot: Client
) -> None:
    contact_id, owner = unowned_contact_and_owner(sb, hubspot)
    # WHEN LeadFlow's push gives the contact an owner
    response = hubspot.post(
        UPDATE, json={"inputs": [{"id": contact_id, "properties": {"hubspot_owner_id": owner}}]}
    )
    assert response.status_code == 200
    stamped = contact(hubspot, contact_id)
    # THEN HubSpot's owner-assigned date is set and no touch exists yet
    assert stamped["hubspot_owner_assigneddate"] is not None
    assert stamped["hs_sa_first_engagement_date"] is None
    # WHEN the sandbox clock passes the owner's (deterministic) first-touch delay
    sb.advance_clock(timedelta(minutes=5))
    touched = contact(hubspot, contact_id)
    # THEN the touch shows, at its own time, and lastmodifieddate moved so a pull sees it
    assert touched["hs_sa_first_engagement_date"] > stamped["hubspot_owner_assigneddate"]
    assert touched["hs_sa_first_engagement_object_type"] in ("CALL", "EMAIL", "MEETING")
    assert touched["lastmodifieddate"] > stamped["lastmodifieddate"]
    since = {
        "filterGroups": [
            {
                "filters": [
                    {
                        "propertyName": "lastmodifieddate",
                        "operator": "GTE",
                        "value": stamped["lastmodifieddate"],
                    }
                ]
            }
        ],
        "properties": FIRST_TOUCH,
        "limit": 100,
    }
    found = hubspot.post(SEARCH, json=since).json()["results"]
    assert contact_id in {c["id"] for c in found}


def test_an_owner_change_clears_the_previous_owners_touch(sb: Sandbox, hubspot: Client) -> None:
    contact_id, owner = unowned_contact_and_owner(sb, hubspot)
    hubspot.post(
        UPDATE, json={"inputs": [{"id": contact_id, "properties": {"hubspot_owner_id": owner}}]}
    )
    sb.advance_clock(timedelta(minutes=5))
    assert contact(hubspot, contact_id)["hs_sa_first_engagement_date"] is not None
    other = next(
        o["id"] for o in hubspot.get("/crm/v3/owners").json()["results"] if o["id"] != owner
    )
    hubspot.post(
        UPDATE, json={"inputs": [{"id": contact_id, "properties": {"hubspot_owner_id": other}}]}
    )
    assert contact(hubspot, contact_id)["hs_sa_first_engagement_date"] is None


def test_most_owners_touch_within_minutes_some_late_some_never() -> None:
    delays = [first_touch_delay_ms(str(c), "51000001") for c in range(2000)]
    quick = sum(1 for d in delays if d is not None and d <= 5 * 60_000)
    never = sum(1 for d in delays if d is None)
    late = len(delays) - quick - never
    assert 0.6 < quick / len(delays) < 0.8
    assert late > 100 and never > 50
    assert delays == [first_touch_delay_ms(str(c), "51000001") for c in range(2000)]


def test_account_details_give_the_portal_id(hubspot: Client) -> None:
    details = hubspot.get("/account-info/v3/details").json()
    assert details["portalId"] == SANDBOX_PORTAL_ID and details["uiDomain"] == "app.hubspot.com"
