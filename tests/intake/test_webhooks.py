"""Each source's webhook: signatures (valid, invalid, missing, replayed) and the leads a body names."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from intake.inbox import Inbox
from intake.webhooks import (
    Rejected,
    Request,
    accept,
    hubspot_signature,
    meta_signature,
    typeform_signature,
    webform_signature,
)

SECRET = "whsec-test-0123456789"
NOW = 1_780_000_000.0  # seconds
WINDOW = 300
URL = "https://leads.example.com/webhooks/hubspot"


def meta_body(*leadgen_ids: str) -> bytes:
    changes = [
        {"field": "leadgen", "value": {"leadgen_id": i, "form_id": "810000000000001"}}
        for i in leadgen_ids
    ]
    return json.dumps({"object": "page", "entry": [{"id": "1", "changes": changes}]}).encode()


TYPEFORM_BODY = json.dumps(
    {"event_id": "01E", "form_response": {"form_id": "dEm0rQ", "token": "tok123", "answers": []}}
).encode()
HUBSPOT_BODY = json.dumps(
    [
        {"eventId": 101, "subscriptionType": "contact.creation", "objectId": 5001},
        {"eventId": 102, "subscriptionType": "deal.creation", "objectId": 77},
        {"eventId": 103, "subscriptionType": "contact.propertyChange", "objectId": 5001},
        {  # the echo of our own push
            "eventId": 104,
            "subscriptionType": "contact.propertyChange",
            "objectId": 5001,
            "propertyName": "leadflow_score",
        },
        {  # a rep took the lead over in HubSpot: news
            "eventId": 105,
            "subscriptionType": "contact.propertyChange",
            "objectId": 5002,
            "propertyName": "hubspot_owner_id",
        },
        {  # two contacts merged: HubSpot made a new one, which is what there is to fetch
            "eventId": 106,
            "subscriptionType": "contact.merge",
            "objectId": 5001,
            "primaryObjectId": 5001,
            "mergedObjectIds": [5003],
            "newObjectId": 5004,
        },
    ]
).encode()
GOOGLE_BODY = json.dumps(
    {"lead_id": "TeSter-123", "form_id": 42, "google_key": SECRET, "user_column_data": []}
).encode()
WEBFORM_BODY = json.dumps(
    {"form_id": "contact-us", "submission_id": "s-1", "fields": {"email": "ana@acme.example"}}
).encode()


def signed(source: str, body: bytes, *, secret: str = SECRET, at: float = NOW) -> Request:
    """A request signed as the source signs it."""
    stamp_ms, stamp_s = str(int(at * 1000)), str(int(at))
    headers: dict[str, str] = {
        "meta": {"x-hub-signature-256": meta_signature(secret, body)},
        "typeform": {"typeform-signature": typeform_signature(secret, body)},
        "hubspot": {
            "x-hubspot-request-timestamp": stamp_ms,
            "x-hubspot-signature-v3": hubspot_signature(secret, "POST", URL, body, stamp_ms),
        },
        "google_ads": {},
        "webform": {
            "x-leadflow-timestamp": stamp_s,
            "x-leadflow-signature": webform_signature(secret, stamp_s, body),
        },
    }[source]
    return Request("POST", URL, headers, body)


BODIES = {
    "meta": meta_body("1200000000001", "1200000000002"),
    "typeform": TYPEFORM_BODY,
    "hubspot": HUBSPOT_BODY,
    "google_ads": GOOGLE_BODY,
    "webform": WEBFORM_BODY,
}


def check(source: str, request: Request) -> list[tuple[str, str | None]]:
    arrivals = accept(source, request, SECRET, window_s=WINDOW, now_s=NOW)
    return [(a.source_key, a.record_ref) for a in arrivals]


@pytest.mark.parametrize("source", list(BODIES))
def test_a_correctly_signed_request_is_accepted(source: str) -> None:
    assert check(source, signed(source, BODIES[source]))


def test_each_source_names_the_leads_its_body_announces() -> None:
    assert check("meta", signed("meta", BODIES["meta"])) == [
        ("1200000000001", "1200000000001"),
        ("1200000000002", "1200000000002"),
    ]
    assert check("typeform", signed("typeform", TYPEFORM_BODY)) == [("tok123", "tok123")]
    # Contact events only, keyed by event (a later change to the contact is fetched again), not
    # the echo of LeadFlow's own leadflow_* properties; a merge names the contact it made.
    assert check("hubspot", signed("hubspot", HUBSPOT_BODY)) == [
        ("101", "5001"),
        ("103", "5001"),
        ("105", "5002"),
        ("106", "5004"),
    ]
    assert check("google_ads", signed("google_ads", GOOGLE_BODY)) == [("TeSter-123", None)]
    assert check("webform", signed("webform", WEBFORM_BODY)) == [("s-1", None)]


def test_a_lead_sent_in_the_body_is_stored_without_the_google_key() -> None:
    (arrival,) = accept("google_ads", signed("google_ads", GOOGLE_BODY), SECRET, window_s=WINDOW)
    assert arrival.payload is not None
    assert "google_key" not in arrival.payload
    assert arrival.payload["lead_id"] == "TeSter-123" and "_received_at" in arrival.payload
    assert arrival.partition == "42"


def _wrong_secret(source: str) -> Request:
    if source == "google_ads":
        return signed(source, GOOGLE_BODY.replace(SECRET.encode(), b"not-the-key"))
    return signed(source, BODIES[source], secret="someone-else")


def _tampered(source: str) -> Request:
    request = signed(source, BODIES[source])
    body = request.body.replace(b"}", b', "x": 1}', 1)
    if source == "google_ads":  # the key is in the body: a forged body with a guessed key
        body = body.replace(SECRET.encode(), b"guessed")
    return Request(request.method, request.url, request.headers, body)


def _unsigned(source: str) -> Request:
    if source == "google_ads":
        body = json.dumps({k: v for k, v in json.loads(GOOGLE_BODY).items() if k != "google_key"})
        return Request("POST", URL, {}, body.encode())
    return Request("POST", URL, {}, BODIES[source])


@pytest.mark.parametrize("source", list(BODIES))
@pytest.mark.parametrize(
    "forge",
    [_wrong_secret, _tampered, _unsigned],
    ids=["signed-with-another-secret", "body-changed-after-signing", "no-signature"],
)
def test_a_request_not_signed_by_the_source_is_refused_401(
    source: str, forge: Callable[[str], Request]
) -> None:
    with pytest.raises(Rejected) as refused:
        check(source, forge(source))
    assert refused.value.status == 401


def test_a_google_key_that_is_not_valid_unicode_is_refused_not_raised() -> None:
    body = GOOGLE_BODY.replace(SECRET.encode(), b"\\ud800")  # a lone surrogate, escaped in JSON
    with pytest.raises(Rejected) as refused:
        check("google_ads", signed("google_ads", body))
    assert refused.value.status == 401


@pytest.mark.parametrize("source", ["hubspot", "webform"])
@pytest.mark.parametrize("age_s", [WINDOW + 1, -(WINDOW + 1)], ids=["replayed-late", "from-future"])
def test_a_signed_timestamp_outside_the_window_is_refused_as_a_replay(
    source: str, age_s: int
) -> None:
    request = signed(source, BODIES[source], at=NOW - age_s)  # correctly signed, at another time
    with pytest.raises(Rejected, match="replay window") as refused:
        check(source, request)
    assert refused.value.status == 401


def test_a_timestamp_changed_after_signing_is_refused() -> None:
    request = signed("webform", WEBFORM_BODY, at=NOW - 10)
    headers = {**request.headers, "x-leadflow-timestamp": str(int(NOW))}
    with pytest.raises(Rejected, match="does not match"):
        check("webform", Request("POST", URL, headers, WEBFORM_BODY))


def test_hubspot_signs_the_uri_with_listed_escapes_decoded() -> None:
    # HubSpot decodes %3A, %2F, %40, ... before signing; other escapes (%20) stay as sent.
    sent = "https://leads.example.com/webhooks/hubspot?next=a%3Ab%2Fc&name=x%20y"
    as_signed = "https://leads.example.com/webhooks/hubspot?next=a:b/c&name=x%20y"
    stamp = str(int(NOW * 1000))
    headers = {
        "x-hubspot-request-timestamp": stamp,
        "x-hubspot-signature-v3": hubspot_signature(SECRET, "POST", as_signed, HUBSPOT_BODY, stamp),
    }
    assert check("hubspot", Request("POST", sent, headers, HUBSPOT_BODY))


@pytest.mark.parametrize(
    ("source", "body"),
    [
        ("meta", b"not json"),
        ("meta", json.dumps({"entry": "x"}).encode()),
        ("meta", meta_body("not-a-number")),
        ("typeform", json.dumps({"form_response": {"token": "t"}}).encode()),
        ("hubspot", json.dumps({"eventId": 1}).encode()),
        ("hubspot", json.dumps([{"eventId": 1, "subscriptionType": "contact.creation"}]).encode()),
        ("webform", json.dumps({"fields": {}}).encode()),
        ("webform", json.dumps(["a list"]).encode()),
    ],
    ids=[
        "meta-not-json",
        "meta-entry-not-a-list",
        "meta-leadgen-id-not-numeric",
        "typeform-no-form-id",
        "hubspot-not-a-list",
        "hubspot-event-without-object",
        "webform-no-submission-id",
        "webform-not-an-object",
    ],
)
def test_a_verified_body_of_the_wrong_shape_is_refused_400(source: str, body: bytes) -> None:
    with pytest.raises(Rejected) as refused:
        check(source, signed(source, body))
    assert refused.value.status == 400
    assert "not-a-number" not in refused.value.reason  # reasons name no request value


def test_text_that_is_not_valid_unicode_is_refused_as_an_id_and_kept_as_a_value(
    tmp_path: Path,
) -> None:
    # A JSON body may escape half a surrogate pair; Python decodes it to text UTF-8 cannot hold.
    bad_id = b'{"form_id": "f", "submission_id": "\\ud800"}'
    with pytest.raises(Rejected) as refused:
        check("webform", signed("webform", bad_id))
    assert refused.value.status == 400
    bad_value = b'{"form_id": "f", "submission_id": "s-9", "fields": {"first_name": "A\\udfffB"}}'
    arrivals = accept("webform", signed("webform", bad_value), SECRET, window_s=WINDOW, now_s=NOW)
    with Inbox(tmp_path / "inbox.sqlite") as inbox:
        assert inbox.store(arrivals) == 1
        (entry,) = inbox.pending()
    assert entry.payload is not None and entry.payload["fields"]["first_name"] == "A\udfffB"
