"""Pulling LinkedIn lead form responses over real HTTP from the sandbox: start/count paging,
incremental windows with lookback, form versions, the pinned LinkedIn-Version, auth and rate-limit
errors, test leads, and the response parser."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from connectors import linkedin
from connectors.http import AuthError, FatalError, RetriableError
from connectors.streams import Page, PullWindow
from tests.connectors.linkedin.conftest import DEMO_FORM, GUIDE_FORM, NOW, TOKEN, Account

STREAM = "lead_form_responses"


def _pull(
    li: Account, form: int = DEMO_FORM, since: datetime | None = None, **config: Any
) -> list[Page]:
    cfg = li.source(**config)
    with linkedin.open_client(cfg) as client:
        window = PullWindow(since, timedelta(minutes=cfg.lookback_minutes))
        return list(linkedin.pull(client, cfg, STREAM, window, str(form)))


def _ids(pages: list[Page]) -> list[str]:
    return [r["id"] for p in pages for r in p.records]


def _cursor(payload: dict[str, Any]) -> datetime:
    value = linkedin.STREAMS[STREAM].record_cursor(payload)
    assert isinstance(value, datetime)
    return value


def test_the_stream_declares_submitted_at_unsorted_and_one_partition_per_form(li: Account) -> None:
    stream = linkedin.STREAMS[STREAM]
    assert (stream.primary_key, stream.cursor_field, stream.sorted_by_cursor) == (
        "id",
        "submittedAt",
        False,
    )
    payload = {"id": "abc-1", "submittedAt": 1_793_620_800_000}
    assert stream.record_id(payload) == "abc-1"
    assert stream.record_cursor(payload) == datetime(2026, 11, 2, 12, 0)
    # a form given by URN is pulled by its numeric id
    assert linkedin.partitions(li.source(), STREAM) == [str(DEMO_FORM), str(GUIDE_FORM)]


def test_a_first_pull_pages_through_every_response_of_the_form_once(li: Account) -> None:
    # GIVEN a form with more than three pages of responses (40 a page)
    expected = li.ids(DEMO_FORM)
    assert len(expected) > 80
    # WHEN it is pulled from scratch
    pages = _pull(li)
    # THEN full pages then a short one hold each of its responses exactly once, none of the other
    # form's, and only the last page says it is last
    sizes = [len(p.records) for p in pages]
    assert sizes[:-1] == [40] * (len(pages) - 1) and 0 < sizes[-1] <= 40
    assert [p.last for p in pages] == [False] * (len(pages) - 1) + [True]
    assert sorted(_ids(pages)) == sorted(expected)
    # AND each payload carries the form it answered, so its answers map without another call
    first = pages[0].records[0]
    assert first["form"]["content"]["questions"][0]["predefinedField"] == "FIRST_NAME"


def test_paging_skips_nothing_when_a_page_boundary_splits_equal_timestamps(li: Account) -> None:
    # GIVEN 30 responses submitted in the same millisecond, straddling a page boundary
    same = NOW + timedelta(minutes=-1)
    added = {
        li.account.add_response(DEMO_FORM, {"EMAIL": f"same{i}@example.com"}, same)
        for i in range(30)
    }
    # WHEN the form is pulled with pages of 7
    ids = _ids(_pull(li, page_size=7))
    # THEN every response is read exactly once
    assert len(ids) == len(set(ids))
    assert added <= set(ids) and set(ids) == li.ids(DEMO_FORM)


def test_an_incremental_pull_rereads_the_boundary_within_the_lookback(li: Account) -> None:
    # GIVEN a first pull and its cursor, the newest submittedAt it saw
    first = _pull(li)
    cursor = max(_cursor(r) for p in first for r in p.records)
    # AND afterwards: a response landing late exactly at the cursor, one 5 minutes before it, one
    # a minute after it, one 20 minutes before it
    add = li.account.add_response
    at = add(DEMO_FORM, {"EMAIL": "at@example.com"}, cursor)
    late = add(DEMO_FORM, {"EMAIL": "late@example.com"}, cursor - timedelta(minutes=5))
    after = add(DEMO_FORM, {"EMAIL": "new@example.com"}, cursor + timedelta(minutes=1))
    old = add(DEMO_FORM, {"EMAIL": "old@example.com"}, cursor - timedelta(minutes=20))
    # WHEN the next pull starts at the cursor with the 10-minute lookback
    seen = _ids(_pull(li, since=cursor))
    # THEN the boundary, the late and the new response are read; the one older than the lookback
    # is not, and nothing before cursor - lookback is re-read
    assert {at, late, after} <= set(seen)
    assert old not in seen
    floor = cursor - timedelta(minutes=10)
    payloads = {r["id"]: r for r in li.account.responses}
    assert all(_cursor(payloads[i]) >= floor for i in seen)


def test_responses_to_every_version_of_an_edited_form_are_pulled(li: Account) -> None:
    # GIVEN a form edited after some responses (its version 2), and a response to version 2
    li.account.edit_form(DEMO_FORM)
    newer = li.account.add_response(DEMO_FORM, {"EMAIL": "v2@example.com"}, NOW)
    # WHEN the form is pulled
    pages = _pull(li)
    # THEN responses to both versions arrive, the version 2 one included
    urns = {r["versionedLeadGenFormUrn"] for p in pages for r in p.records}
    assert urns == {
        f"urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{DEMO_FORM},1)",
        f"urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{DEMO_FORM},2)",
    }
    assert newer in _ids(pages) and sorted(_ids(pages)) == sorted(li.ids(DEMO_FORM))
    assert [p.last for p in pages].count(True) == 1 and pages[-1].last


def test_every_request_carries_the_pinned_linkedin_version(li: Account) -> None:
    # GIVEN a config pinning 202606 (not the default)
    li.app.seen_versions.clear()
    # WHEN a form is pulled
    _pull(li, api_version="202606")
    # THEN every request named exactly that version
    assert li.app.seen_versions and set(li.app.seen_versions) == {"202606"}


def test_a_sunset_version_fails_at_once_with_a_message_that_says_what_to_change(
    li: Account,
) -> None:
    # GIVEN a pinned version LinkedIn has sunset (202510: October 15, 2026)
    li.app.seen_versions.clear()
    # WHEN a pull runs
    with pytest.raises(FatalError) as raised:
        _pull(li, api_version="202510")
    # THEN it fails with LinkedIn's 426, naming the setting to change, without retrying
    assert raised.value.status == 426
    assert raised.value.category == "NONEXISTENT_VERSION"
    assert "20251001 is not active" in str(raised.value)
    assert "sources.linkedin.api_version" in str(raised.value)
    assert len(li.app.seen_versions) == 1


def test_a_wrong_token_is_an_auth_error_that_never_shows_the_token(
    li: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEADFLOW_TEST_LINKEDIN_TOKEN", "not-the-token-1234567890")
    with pytest.raises(AuthError) as raised:
        _pull(li)
    assert raised.value.status == 401 and raised.value.category == "INVALID_ACCESS_TOKEN"
    assert "not-the-token-1234567890" not in str(raised.value)
    assert TOKEN not in str(raised.value)


def test_an_unknown_form_fails_with_a_clear_message(li: Account) -> None:
    with pytest.raises(FatalError) as raised:
        _pull(li, form=999)
    assert raised.value.status == 404
    assert "lead form 999 was not found" in str(raised.value)


def test_429s_are_retried_and_the_pull_then_completes(li: Account) -> None:
    # GIVEN LinkedIn throttles the next two requests
    li.app.faults.extend([429, 429])
    # WHEN the form is pulled (3 attempts a request)
    pages = _pull(li)
    # THEN the pull completes with every response
    assert sorted(_ids(pages)) == sorted(li.ids(DEMO_FORM))
    assert li.app.faults == []


def test_a_spent_daily_member_limit_stops_the_pull_as_retriable_after_bounded_tries(
    li: Account,
) -> None:
    # GIVEN the token may make only 2 more calls today
    li.app.set_daily_limit(member=2, token=TOKEN)
    # WHEN a pull needing more than 2 calls runs
    with pytest.raises(RetriableError) as raised:
        _pull(li)
    # THEN it ends retriable (the next run resumes), with LinkedIn's throttle message
    assert raised.value.status == 429
    assert "MEMBER DAY limit" in str(raised.value)


def test_test_leads_arrive_flagged(li: Account) -> None:
    test_id = li.account.add_response(DEMO_FORM, {"EMAIL": "test@example.com"}, NOW, test_lead=True)
    payloads = {r["id"]: r for p in _pull(li) for r in p.records}
    assert linkedin.parse_response(payloads[test_id], str(DEMO_FORM)).is_test is True
    real = next(p for i, p in payloads.items() if not p["testLead"])
    assert linkedin.parse_response(real, str(DEMO_FORM)).is_test is False


def test_a_pulled_response_parses_to_the_person_who_submitted_it(li: Account) -> None:
    rid = li.account.add_response(
        GUIDE_FORM,
        {
            "FIRST_NAME": "Ana",
            "LAST_NAME": "Silva",
            "EMAIL": "ana@silva.example",
            "PHONE_NUMBER": "+351 555 0101",
            "COMPANY_NAME": "Silva Labs",
            "JOB_TITLE": "CTO",
            "COUNTRY": "Portugal",
            "teamSize": "11-50",
        },
        NOW,
    )
    payload = next(r for p in _pull(li, form=GUIDE_FORM) for r in p.records if r["id"] == rid)
    record = linkedin.parse_response(payload, str(GUIDE_FORM))
    assert (record.first_name, record.last_name, record.email, record.phone) == (
        "Ana",
        "Silva",
        "ana@silva.example",
        "+351 555 0101",
    )
    assert (record.company, record.job_title, record.country) == ("Silva Labs", "CTO", "Portugal")
    assert record.form_id == str(GUIDE_FORM) and record.record_id == rid
    assert record.created_at == NOW.replace(tzinfo=None) == record.updated_at
    # the campaign stays in the payload for dbt
    assert payload["leadMetadata"]["sponsoredLeadMetadata"]["campaign"].startswith(
        "urn:li:sponsoredCampaign:"
    )


# --------------------------------------------------------------------------- the parser

FORM_URN = "urn:li:versionedLeadGenForm:(urn:li:leadGenForm:42,3)"
QUESTIONS = [
    {"questionId": 1, "predefinedField": "FIRST_NAME"},
    {"questionId": 2, "predefinedField": "EMAIL"},
    {"questionId": 3, "predefinedField": "COUNTRY"},
    {"questionId": 9},  # a custom question
]


def _payload(answers: Any, **more: Any) -> dict[str, Any]:
    return {
        "id": "r-1",
        "submittedAt": 1_793_620_800_000,
        "testLead": False,
        "versionedLeadGenFormUrn": FORM_URN,
        "form": {"id": 42, "content": {"questions": QUESTIONS}},
        "formResponse": {"answers": answers},
        **more,
    }


def _text(qid: Any, value: Any) -> dict[str, Any]:
    return {"questionId": qid, "answerDetails": {"textQuestionAnswer": {"answer": value}}}


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        pytest.param(
            _payload([_text(1, "Ana"), _text(2, "ana@x.example"), _text(3, "Brazil")]),
            {"first_name": "Ana", "email": "ana@x.example", "country": "Brazil"},
            id="standard-answers",
        ),
        pytest.param(
            _payload([_text(9, "11-50"), _text(77, "who?"), _text(2, "a@b.example")]),
            {"first_name": None, "email": "a@b.example", "country": None},
            id="custom-and-unknown-questions-ignored",
        ),
        pytest.param(
            _payload([_text("2", "a@b.example")]),
            {"email": "a@b.example"},
            id="question-id-as-string",
        ),
        pytest.param(
            _payload(
                [_text(1, ""), _text(2, ["a@b.example"]), _text(3, {"x": 1}), _text(1, "   ")]
            ),
            {"first_name": None, "email": None, "country": None},
            id="empty-list-and-object-answers-are-unreadable",
        ),
        pytest.param(
            _payload(
                [
                    {"questionId": 1, "answerDetails": {"multipleChoiceAnswer": {"options": [1]}}},
                    {"questionId": 2},
                    {"answerDetails": {"textQuestionAnswer": {"answer": "x"}}},
                    "junk",
                    None,
                ]
            ),
            {"first_name": None, "email": None},
            id="malformed-answers",
        ),
        pytest.param(
            _payload("not a list", form="not a form"),
            {"first_name": None, "form_id": "42"},
            id="answers-not-a-list",
        ),
        pytest.param(
            {**_payload([_text(1, "Ana")]), "form": None},
            {"first_name": None, "record_id": "r-1", "form_id": "42"},
            id="no-form-decoration-no-person-fields",
        ),
        pytest.param(
            _payload([], submittedAt="soon", testLead="yes-ish", versionedLeadGenFormUrn=7),
            {"created_at": None, "is_test": None, "form_id": "42"},
            id="malformed-time-flag-and-urn",
        ),
        pytest.param(
            _payload([], submittedAt=True, testLead="true", id={"x": 1}),
            {"created_at": None, "is_test": True, "record_id": None},
            id="boolean-time-string-flag-object-id",
        ),
        pytest.param(
            _payload([], submittedAt=10**400, form={"id": "urn:li:leadGenForm:5"}),
            {"created_at": None, "form_id": "42"},
            id="time-out-of-range",
        ),
        pytest.param(
            {"id": "r-2", "versionedLeadGenFormUrn": None},
            {"record_id": "r-2", "form_id": "7", "created_at": None},
            id="bare-payload-form-from-partition",
        ),
    ],
)
def test_parse_response(payload: dict[str, Any], expected: dict[str, Any]) -> None:
    record = linkedin.parse_response(payload, "urn:li:leadGenForm:7")
    assert {key: getattr(record, key) for key in expected} == expected
    assert (record.source, record.stream) == ("linkedin", STREAM)
