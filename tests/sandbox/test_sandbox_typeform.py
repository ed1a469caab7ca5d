"""The Typeform Responses stand-in over real HTTP: auth, ordering, tokens, filters, limits."""

from __future__ import annotations

import math
from typing import Any

import pytest
import requests

from sandbox import Sandbox
from sandbox.clock import parse_iso_ms
from tests.sandbox.sandbox_helpers import TYPEFORM_FORMS, Client, typeform_responses

DEMO = f"/forms/{TYPEFORM_FORMS[0]}/responses"


def _submitted(item: dict[str, Any]) -> int:
    return parse_iso_ms(item["submitted_at"])


def test_a_missing_or_wrong_token_is_authentication_failed(sb: Sandbox) -> None:
    for headers in ({}, {"Authorization": "Bearer nope"}):
        resp = requests.get(sb.urls["typeform"] + DEMO, headers=headers, timeout=10)
        assert resp.status_code == 401
        assert resp.json()["code"] == "AUTHENTICATION_FAILED"
        assert resp.json()["description"]


def test_an_unknown_form_is_form_not_found(typeform: Client) -> None:
    resp = typeform.get("/forms/zzzzzz/responses")
    assert resp.status_code == 404
    assert resp.json()["code"] == "FORM_NOT_FOUND"


@pytest.mark.parametrize("page_size", ["1001", "0", "ten"])
def test_a_page_size_outside_1_to_1000_is_a_validation_error(
    typeform: Client, page_size: str
) -> None:
    resp = typeform.get(DEMO, params={"page_size": page_size})
    assert resp.status_code == 400
    body = resp.json()
    assert body["code"] == "VALIDATION_ERROR"
    assert body["details"][0]["field"] == "page_size"


def test_the_default_page_is_25_newest_first_with_counts(typeform: Client) -> None:
    body = typeform.get(DEMO).json()
    assert len(body["items"]) == min(25, body["total_items"])
    assert body["page_count"] == math.ceil(body["total_items"] / 25)
    stamps = [_submitted(i) for i in body["items"]]
    assert stamps == sorted(stamps, reverse=True)


def test_walking_back_with_before_yields_every_response_once(sb: Sandbox, typeform: Client) -> None:
    expected = {rid for (source, rid) in sb.world.truth if source == "typeform"}
    seen: list[str] = []
    for form in TYPEFORM_FORMS:
        items = typeform_responses(typeform, form, page_size=6)
        stamps = [_submitted(i) for i in items]
        assert stamps == sorted(stamps, reverse=True)
        seen += [i["token"] for i in items]
    assert len(seen) == len(set(seen))
    assert set(seen) == expected


def test_after_returns_newer_responses_oldest_first(typeform: Client) -> None:
    # GIVEN the form's responses, newest first, and one in the middle
    items = typeform_responses(typeform, TYPEFORM_FORMS[0])
    pivot = items[len(items) // 2]
    # WHEN asking for those after its token
    body = typeform.get(DEMO, params={"after": pivot["token"], "page_size": 1000}).json()
    # THEN exactly the newer ones come back, in the order they were submitted
    newer = [i for i in items if _submitted(i) > _submitted(pivot)]
    assert [i["token"] for i in body["items"]] == [i["token"] for i in reversed(newer)]
    assert body["total_items"] == len(newer)


def test_since_and_until_are_inclusive_and_take_iso_or_unix_seconds(typeform: Client) -> None:
    items = typeform_responses(typeform, TYPEFORM_FORMS[0])
    low, high = items[-5], items[4]
    since = str(_submitted(low) // 1000)
    until = high["submitted_at"]
    body = typeform.get(DEMO, params={"since": since, "until": until, "page_size": 1000}).json()
    expected = {i["token"] for i in items if _submitted(low) <= _submitted(i) <= _submitted(high)}
    assert {i["token"] for i in body["items"]} == expected
    assert {low["token"], high["token"]} <= expected


def test_sort_ascending_reverses_the_order(typeform: Client) -> None:
    body = typeform.get(DEMO, params={"sort": "submitted_at,asc", "page_size": 50}).json()
    stamps = [_submitted(i) for i in body["items"]]
    assert stamps == sorted(stamps)


def test_sort_cannot_be_combined_with_a_token(typeform: Client) -> None:
    token = typeform.get(DEMO).json()["items"][0]["token"]
    resp = typeform.get(DEMO, params={"sort": "submitted_at,asc", "before": token})
    assert resp.status_code == 400
    assert resp.json()["code"] == "VALIDATION_ERROR"


def test_answers_are_typed_and_keyed_by_field_ref(typeform: Client) -> None:
    refs: set[str] = set()
    for form in TYPEFORM_FORMS:
        for item in typeform_responses(typeform, form):
            assert item["response_id"] == item["token"] == item["landing_id"]
            assert item["landed_at"] < item["submitted_at"]
            assert set(item["metadata"]) == {
                "user_agent",
                "platform",
                "referer",
                "network_id",
                "browser",
            }
            assert set(item["hidden"]) == {"utm_source", "utm_campaign"}
            for answer in item["answers"]:
                ref, kind = answer["field"]["ref"], answer["type"]
                refs.add(ref)
                assert kind in answer
                expected_kind = {"email": "email", "phone": "phone_number", "country": "choice"}
                assert kind == expected_kind.get(ref, "text")
                if kind == "phone_number":
                    assert answer["phone_number"].startswith("+")
                if kind == "choice":
                    assert set(answer["choice"]) == {"label"}
    assert refs == {"first_name", "last_name", "email", "phone", "company", "job_title", "country"}


def test_completed_false_returns_nothing_because_every_response_is_complete(
    typeform: Client,
) -> None:
    body = typeform.get(DEMO, params={"completed": "false"}).json()
    assert (body["total_items"], body["items"]) == (0, [])


def test_requests_past_the_limit_are_throttled(sb: Sandbox, typeform: Client) -> None:
    sb.set_rate_limit("typeform", 2, 30)
    statuses = [typeform.get(DEMO).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    resp = typeform.get(DEMO)
    assert resp.json()["code"]
    assert int(resp.headers["Retry-After"]) >= 1


def test_an_injected_429_carries_retry_after_one(sb: Sandbox, typeform: Client) -> None:
    sb.inject_faults("typeform", 429, 1)
    resp = typeform.get(DEMO)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "1"
    assert set(resp.json()) >= {"code", "description"}


def test_the_form_definition_lists_field_ids_and_refs(typeform: Client) -> None:
    form = typeform.get(f"/forms/{TYPEFORM_FORMS[1]}").json()
    assert form["title"] == "Download the ebook"
    assert [f["ref"] for f in form["fields"]] == [
        "first_name",
        "last_name",
        "email",
        "company",
        "job_title",
    ]
    answer_ids = {
        a["field"]["id"]
        for i in typeform_responses(typeform, TYPEFORM_FORMS[1])
        for a in i["answers"]
    }
    assert answer_ids <= {f["id"] for f in form["fields"]}
