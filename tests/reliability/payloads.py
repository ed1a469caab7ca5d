"""Hypothesis strategies for hostile vendor payloads, in each lead stream's real wire shape.

Each source strategy starts from a record shaped exactly like the one the connector lands (see
tests/connectors/*/recorded/, sandbox/hubspot.py, sandbox/meta.py, sandbox/typeform.py,
sandbox/salesforce.py, sandbox/linkedin.py, sandbox/pipedrive.py, and for the webhook streams the
payloads connectors/webform/README.md and connectors/google_ads/README.md document, as the intake
lands them) and then mutates it the ways real APIs and real users do: every kind of unicode
(combining marks, right-to-left text, emoji, NUL and control characters, lone surrogates, which
JSON's \\uXXXX escapes can carry), 100k-character strings, nulls, wrong types (a list where a
string is, an object where a number is), numbers as strings and strings as numbers, SQL and HTML
injection, unknown fields, removed required fields, type changes of known fields and odd
timestamps (year 0001 and 9999, no timezone, epoch milliseconds as a string, garbage).

Values stay JSON values (what `response.json()` can hand the connector): str, int, float, bool,
None, list and dict with string keys. Python floats NaN and +-Infinity are included because
Python's json module reads them from a vendor that writes them.

Every value comes from a Hypothesis draw, never from the `random` module: a run is reproducible
and a failing example replays (tests/reliability/test_hostile_records.py checks it per strategy).
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from functools import cache
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

import connectors
from connectors.streams import Stream

Payload = dict[str, Any]

# Strings that must reach the warehouse as data, never as SQL or markup.
SQL_INJECTION = (
    "'); drop table ops.lead_records; --",
    "Robert'); DROP TABLE raw.hubspot__contacts;--",
    "' or '1'='1",
    '" or ""="',
    "1; delete from ops.quarantine where true; --",
    "\\'; select 1; --",
    "back\\slash \\\\ and 'quote' \"double\"",
    "$$; drop schema ops cascade; $$",
    "{{ config(materialized='table') }}{% do run_query('drop table ops.lead_records') %}",
)
HTML_INJECTION = (
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "<a href='javascript:alert(1)'>x</a>",
    "&lt;b&gt;&amp;&#x27;",
    "<!-- -->]]><![CDATA[",
)
UNICODE_SAMPLES = (
    "Zoe\u0301 Mu\u0308ller",  # combining marks
    "\u05e9\u05dc\u05d5\u05dd \u202eevil\u202c",  # Hebrew and a right-to-left override
    "\u0645\u0631\u062d\u0628\u0627",  # Arabic
    "\U0001f600\U0001f469\u200d\U0001f4bb\U0001f1fa\U0001f1f8",  # emoji, ZWJ sequence, flag
    "nul\x00byte",
    "bell\x07tab\tnew\nline\rcr\x1b[31m",
    "\ud800lone high",  # lone surrogates: JSON "\ud800" decodes to these
    "lone low\udfff",
    "\ufeffbom\u200bzero\u200bwidth",
    "\uff21\uff22\uff23 fullwidth",
    "\u00a0\u2003\u3000 odd spaces \u00a0",
    "Z\u0351\u0354\u034e\u0353a\u0352\u0350l\u0359\u0318g\u034d\u0316o",  # zalgo
    "\U0010ffff\U000e0001 private/tags",
)
ODD_TIMESTAMPS = (
    "0001-01-01T00:00:00Z",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59Z",
    "9999-12-31T23:59:59-05:00",
    "2026-04-10T08:30:00",  # no timezone
    "2026-04-10 08:30:00+0000",
    "2026-04-10",
    "1712737800000",  # epoch ms as a string
    "1712737800",
    "99999999999999999999",
    "-1",
    "\u00b2",  # a digit Python's str.isdigit() accepts and float() does not
    "\u0663\u0660",  # Arabic-Indic digits
    "not a date",
    "2026-13-45T99:99:99Z",
    "",
    " ",
    "null",
    "NaN",
)
LONG = 100_000
_RECENT = st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2026, 11, 30))


@cache
def _long_strings() -> st.SearchStrategy[str]:
    """Very long strings, built by repetition: drawing 100k characters one by one is slow."""
    return st.builds(
        lambda unit, n: (unit * (n // max(len(unit), 1) + 1))[:n],
        st.sampled_from(["a", "9", "é", "\U0001f600", "' or 1=1 --", "<b>", " ", "@", "1,000 "]),
        st.sampled_from([4_301, 10_000, LONG]),
    )


@cache
def _any_text() -> st.SearchStrategy[str]:
    """Arbitrary unicode, surrogates and control characters included."""
    return st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=40)


@cache
def hostile_text() -> st.SearchStrategy[str]:
    return st.one_of(
        _any_text(),
        st.sampled_from(SQL_INJECTION + HTML_INJECTION + UNICODE_SAMPLES + ODD_TIMESTAMPS),
        _long_strings(),
        st.integers(min_value=-(10**30), max_value=10**30).map(str),  # numbers as strings
        st.floats(allow_nan=True, allow_infinity=True).map(repr),
        st.sampled_from(["true", "false", "null", "[]", "{}", "0", "-0", "1e309"]),
    )


@cache
def scalars() -> st.SearchStrategy[Any]:
    """Any JSON scalar, hostile text and strings-as-numbers included."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(2**70), max_value=2**70),
        st.floats(allow_nan=True, allow_infinity=True),
        st.sampled_from([10**400, -(10**400)]),  # JSON allows integers of any size
        hostile_text(),
    )


@cache
def json_values(max_leaves: int = 6) -> st.SearchStrategy[Any]:
    """Any JSON value: a scalar, or lists and objects of them (wrong types where a string is)."""
    return st.recursive(
        scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(hostile_text(), inner, max_size=3)
        ),
        max_leaves=max_leaves,
    )


@cache
def hostile_value() -> st.SearchStrategy[Any]:
    return st.one_of(scalars(), json_values())


@cache
def timestamps() -> st.SearchStrategy[Any]:
    """A timestamp field: valid ISO in several vendor spellings, odd ones, and wrong types."""
    return st.one_of(
        st.datetimes(timezones=st.none()).map(lambda d: d.isoformat() + "Z"),
        _RECENT.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S+0000")),
        st.integers(min_value=-(10**14), max_value=10**21),  # epoch seconds or ms as a number
        st.integers(min_value=0, max_value=10**21).map(str),  # epoch as a string
        st.sampled_from(ODD_TIMESTAMPS),
        hostile_value(),
    )


def valid_timestamps() -> st.SearchStrategy[str]:
    """A recent timestamp in one of the spellings vendors use."""
    return st.one_of(
        _RECENT.map(lambda d: d.isoformat(timespec="milliseconds") + "Z"),
        _RECENT.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S+0000")),
    )


# How often a field of one record is hostile: some records are clean (they must become leads),
# most carry a few hostile fields, some are hostile throughout.
_HOSTILE_PERCENT = st.sampled_from([0, 0, 5, 15, 40, 100])


def _pick(
    draw: st.DrawFn,
    percent: int,
    valid: st.SearchStrategy[Any],
    hostile: st.SearchStrategy[Any] | None = None,
) -> Any:
    """A realistic value, or (percent % of the time) a hostile one."""
    if percent and draw(st.integers(0, 99)) < percent:
        return draw(hostile if hostile is not None else hostile_value())
    return draw(valid)


# ----------------------------------------------------------------------------- realistic values

_NAMES = st.sampled_from(["Ana", "bob", "CHEN", "Jürgen", "Zoë", "O'Brien", "José María", "李"])
_EMAILS = st.one_of(
    st.sampled_from(
        [
            "ana.silva@acme-robotics.io",
            "  Bob@Example.COM ",
            "mailto:chen@example.org",
            "<zoe@beispiel.de>",
            "jürgen@müller.de",
            "o'brien@example.ie",
            "not-an-email",
            "a@b",
            "",
        ]
    ),
    # many distinct people, so dedupe has groups to form and leads to keep apart
    st.builds(
        "lead.{}@{}".format,
        st.integers(0, 10**9),
        st.sampled_from(["acme-robotics.io", "gmail.com", "beispiel.de"]),
    ),
)
_PHONES = st.one_of(
    st.sampled_from(
        ["+14155550134", "(415) 555-0134", "+44 20 7946 0958", "0049 30 901820", "12", "+1", ""]
    ),
    st.builds("+1 212 555 {:04d}".format, st.integers(0, 9999)),
)
_COUNTRIES = st.sampled_from(["United States", "usa", "DE", "Deutschland", "Atlantis", "", "gb"])
_TITLES = st.sampled_from(["VP Sales", "Head of Growth", "CEO", "Data Analyst", "intern", "!!!"])
_EMPLOYEES = st.sampled_from(["25-50", "1000+", "51-200", "1,000-5,000", "10", "many", ""])
_IDS = st.integers(min_value=1, max_value=10**6).map(str)
_TIMESTAMPS = valid_timestamps()


def _mutate(draw: st.DrawFn, percent: int, base: Payload, required: tuple[str, ...]) -> Payload:
    """Remove some fields (required ones included), add unknown ones, change some types."""
    payload = dict(base)
    if not percent:
        return payload
    for key in list(payload):
        if draw(st.integers(0, 99)) < percent // 3:  # ids and cursors removed too
            del payload[key]
    for key in required:
        if key in payload and draw(st.integers(0, 99)) < percent // 3:
            payload[key] = draw(hostile_value())  # a type change of a known field
    extra = draw(st.dictionaries(hostile_text(), hostile_value(), max_size=2))
    for key, value in extra.items():
        payload.setdefault(key, value)
    return payload


# ----------------------------------------------------------------------------- HubSpot contacts

HUBSPOT_PROPERTIES: dict[str, st.SearchStrategy[Any]] = {
    "email": _EMAILS,
    "firstname": _NAMES,
    "lastname": _NAMES,
    "phone": _PHONES,
    "mobilephone": _PHONES,
    "company": _NAMES,
    "jobtitle": _TITLES,
    "country": _COUNTRIES,
    "industry": st.sampled_from(["REAL_ESTATE", "Computer Software", ""]),
    "numemployees": _EMPLOYEES,
    "hubspot_owner_id": st.sampled_from(["51000001", "51000003", ""]),
    "leadflow_lead_id": st.sampled_from(["lf_0123456789abcdef", ""]),
    "lifecyclestage": st.sampled_from(["lead", "marketingqualifiedlead", "customer"]),
    "hs_lead_status": st.sampled_from(["NEW", "UNQUALIFIED", "OPEN"]),
    "hs_email_optout": st.sampled_from(["true", "false", ""]),
    "hs_email_hard_bounce_reason_enum": st.sampled_from(["", "UNKNOWN_USER"]),
    "num_contacted_notes": st.integers(0, 20).map(str),
    "hs_analytics_num_page_views": st.integers(0, 500).map(str),
    "hs_analytics_source": st.sampled_from(["ORGANIC_SEARCH", "PAID_SOCIAL"]),
}
HUBSPOT_TIMESTAMP_PROPERTIES = (
    "createdate",
    "lastmodifieddate",
    "hs_lifecyclestage_lead_date",
    "hs_lifecyclestage_marketingqualifiedlead_date",
    "hubspot_owner_assigneddate",
    "hs_sa_first_engagement_date",
    "notes_last_contacted",
    "hs_analytics_last_visit_timestamp",
)


@cache
def hubspot_contact() -> st.SearchStrategy[Payload]:
    """A CRM v3 contact: {id, properties{...}, createdAt, updatedAt, archived}."""

    @st.composite
    def contact(draw: st.DrawFn) -> Payload:
        percent = draw(_HOSTILE_PERCENT)
        props: dict[str, Any] = {}
        for name, realistic in HUBSPOT_PROPERTIES.items():
            if draw(st.booleans()):
                props[name] = _pick(draw, percent, st.one_of(st.none(), realistic))
        for name in HUBSPOT_TIMESTAMP_PROPERTIES:
            if name in ("createdate", "lastmodifieddate") or draw(st.booleans()):
                props[name] = _pick(draw, percent, _TIMESTAMPS, timestamps())
        contact_id = _pick(draw, percent, _IDS)
        props["hs_object_id"] = _pick(draw, percent, st.just(contact_id))
        properties: Any = props
        if percent and draw(st.integers(0, 99)) < percent // 5:  # properties of the wrong type
            properties = draw(st.one_of(st.lists(hostile_value(), max_size=3), scalars()))
        base = {
            "id": contact_id,
            "properties": properties,
            "createdAt": props.get("createdate") or _pick(draw, percent, _TIMESTAMPS, timestamps()),
            "updatedAt": props.get("lastmodifieddate") or draw(_TIMESTAMPS),
            "archived": _pick(draw, percent, st.just(False)),
        }
        return _mutate(draw, percent, base, ("id", "createdAt", "updatedAt", "archived"))

    return contact()


# ----------------------------------------------------------------------------- Meta Lead Ads leads

META_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "email": _EMAILS,
    "work_email": _EMAILS,
    "full_name": st.sampled_from(["Chen Wei Ling", "Ana Maria Silva", "Zoë", "  "]),
    "first_name": _NAMES,
    "last_name": _NAMES,
    "phone_number": _PHONES,
    "company_name": _NAMES,
    "job_title": _TITLES,
    "country": _COUNTRIES,
    "what_is_your_budget?": st.sampled_from(["$10k-$50k", "<$10k"]),
}
META_FORM_ID = "810000000000001"


def _meta_field(draw: st.DrawFn, percent: int, name: str) -> Any:
    """One field_data item: {name, values: [string]}, or something else entirely."""
    if percent and draw(st.integers(0, 99)) < percent // 4:
        return draw(hostile_value())  # an item that is not {name, values}
    values = [_pick(draw, percent, META_FIELDS[name]) for _ in range(draw(st.integers(0, 2)))]
    item: dict[str, Any] = {
        "name": _pick(draw, percent // 4, st.just(name)),
        "values": _pick(draw, percent // 4, st.just(values)),
    }
    return item


def _sometimes_not_a_list(draw: st.DrawFn, percent: int, items: list[Any]) -> Any:
    """`items`, or (in a fifth of the hostile share) an object or scalar where the list belongs."""
    if percent and draw(st.integers(0, 99)) < percent // 5:
        return draw(st.one_of(st.dictionaries(hostile_text(), hostile_value()), scalars()))
    return items


@cache
def meta_lead() -> st.SearchStrategy[Payload]:
    """A Lead node: {id, created_time, field_data[{name, values}], form_id, ad/campaign fields}."""

    @st.composite
    def lead(draw: st.DrawFn) -> Payload:
        percent = draw(_HOSTILE_PERCENT)
        names = draw(st.lists(st.sampled_from(list(META_FIELDS)), max_size=6, unique=True))
        field_data: Any = [_meta_field(draw, percent, name) for name in names]
        field_data = _sometimes_not_a_list(draw, percent, field_data)
        base = {
            "id": _pick(draw, percent, st.integers(10**15, 10**16).map(str)),
            "created_time": _pick(draw, percent, _TIMESTAMPS, timestamps()),
            "field_data": field_data,
            "form_id": _pick(draw, percent, st.just(META_FORM_ID)),
            "ad_id": _pick(draw, percent, _IDS),
            "ad_name": _pick(draw, percent, _NAMES),
            "adset_id": _pick(draw, percent, _IDS),
            "adset_name": _pick(draw, percent, _NAMES),
            "campaign_id": _pick(draw, percent, _IDS),
            "campaign_name": _pick(draw, percent, _NAMES),
            "is_organic": _pick(draw, percent, st.booleans()),
            "platform": _pick(draw, percent, st.sampled_from(["fb", "ig"])),
        }
        return _mutate(draw, percent, base, ("id", "created_time", "form_id", "is_organic"))

    return lead()


# ----------------------------------------------------------------------------- Typeform responses

TYPEFORM_ANSWERS: dict[str, tuple[str, str, st.SearchStrategy[Any]]] = {
    # ref -> (field type, answer type, realistic value)
    "first_name": ("short_text", "text", _NAMES),
    "last_name": ("short_text", "text", _NAMES),
    "email": ("email", "email", _EMAILS),
    "phone": ("phone_number", "phone_number", _PHONES),
    "company": ("short_text", "text", _NAMES),
    "job_title": ("short_text", "text", _TITLES),
    "country": ("dropdown", "choice", _COUNTRIES.map(lambda label: {"label": label})),
    "team_size": ("multiple_choice", "choices", st.just({"labels": ["1-10", "11-50"]})),
}
_ANSWER_TYPES = ("text", "email", "phone_number", "choice", "choices", "number", "boolean", "url")


def _typeform_answer(draw: st.DrawFn, percent: int, ref: str) -> Any:
    """One answer: {field{id, type, ref}, type, <type>: value}, or something else entirely."""
    if percent and draw(st.integers(0, 99)) < percent // 4:
        return draw(hostile_value())
    field_type, kind, realistic = TYPEFORM_ANSWERS[ref]
    field = {
        "id": draw(_IDS),
        "type": field_type,
        "ref": _pick(draw, percent // 2, st.just(ref)),
    }
    answer_type = _pick(draw, percent // 2, st.just(kind), st.sampled_from(_ANSWER_TYPES))
    key = answer_type if isinstance(answer_type, str) else draw(hostile_text())
    return {
        "field": _pick(draw, percent // 4, st.just(field)),
        "type": answer_type,
        key: _pick(draw, percent, realistic),
    }


@cache
def typeform_response() -> st.SearchStrategy[Payload]:
    """A response: {response_id, token, submitted_at, landed_at, answers[...], hidden, metadata}."""

    @st.composite
    def response(draw: st.DrawFn) -> Payload:
        percent = draw(_HOSTILE_PERCENT)
        refs = draw(st.lists(st.sampled_from(list(TYPEFORM_ANSWERS)), max_size=7, unique=True))
        answers: Any = [_typeform_answer(draw, percent, ref) for ref in refs]
        answers = _sometimes_not_a_list(draw, percent, answers)
        token = draw(st.uuids().map(lambda u: u.hex))
        submitted = _pick(draw, percent, _TIMESTAMPS, timestamps())
        base = {
            "landing_id": token,
            "token": _pick(draw, percent, st.just(token)),
            "response_id": _pick(draw, percent, st.just(token)),
            "landed_at": _pick(draw, percent, st.just(submitted), timestamps()),
            "submitted_at": submitted,
            "metadata": _pick(draw, percent, st.just({"referer": "https://example.com/demo"})),
            "hidden": {
                "utm_source": _pick(draw, percent, st.sampled_from(["google", "linkedin"])),
                "utm_campaign": _pick(draw, percent, st.just("q2-demo")),
            },
            "answers": answers,
        }
        return _mutate(draw, percent, base, ("response_id", "token", "submitted_at", "hidden"))

    return response()


# ----------------------------------------------------------------------------- webhook streams
# Bodies `leadflow serve` stores as received and lands later (intake/webhooks.py): the sender's
# JSON plus `_received_at`, which the intake sets on every body (overwriting one the sender put
# there). A row landed another way (by hand, by an older intake) may lack it or hold anything.

_RECEIVED_AT = _RECENT.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))  # intake's utc_iso


def _received(draw: st.DrawFn, percent: int, payload: Payload) -> Payload:
    payload["_received_at"] = _pick(draw, percent // 5, _RECEIVED_AT, timestamps())
    return payload


def _sometimes_absent(draw: st.DrawFn, percent: int) -> bool:
    """Whether an optional field is left out: now and then in a clean record, more when hostile."""
    return draw(st.integers(0, 99)) < 15 + percent // 3


def _object_of(
    draw: st.DrawFn, percent: int, spec: dict[str, st.SearchStrategy[Any]], max_size: int
) -> Any:
    """A JSON object of some of `spec`'s keys, with hostile values, keys removed and unknown keys
    added; or (in a fifth of the hostile share) a list or scalar where the object belongs."""
    keys = draw(st.lists(st.sampled_from(list(spec)), max_size=max_size, unique=True))
    found = _mutate(draw, percent, {key: _pick(draw, percent, spec[key]) for key in keys}, ())
    if percent and draw(st.integers(0, 99)) < percent // 5:
        return draw(st.one_of(st.lists(hostile_value(), max_size=3), scalars()))
    return found


# ----------------------------------------------------------------------------- web form submissions

WEBFORM_FIELDS: dict[str, st.SearchStrategy[Any]] = {
    "email": _EMAILS,
    "phone": _PHONES,
    "first_name": _NAMES,
    "last_name": _NAMES,
    "company": _NAMES,
    "job_title": _TITLES,
    "country": _COUNTRIES,
    "message": st.sampled_from(["Bitte um Rückruf", "call me after 5pm", ""]),  # raw only
}
WEBFORM_UTM: dict[str, st.SearchStrategy[Any]] = {
    "source": st.sampled_from(["newsletter", "google", "linkedin", ""]),
    "medium": st.sampled_from(["email", "cpc", "social"]),
    "campaign": st.sampled_from(["may-launch", "q2-demo", "Brand \u2013 DE"]),
}
WEBFORM_CONSENT: dict[str, st.SearchStrategy[Any]] = {
    # a checkbox: JSON true/false from a careful backend, "on" or "1" from one that forwards the form
    "marketing": st.one_of(st.booleans(), st.sampled_from(["on", "true", "0", "no"])),
    "terms": st.just(True),
}
_WEBFORM_PAGES = st.sampled_from(
    [
        "https://www.example.com/contact",
        "https://www.example.com/pricing?utm_source=newsletter&utm_campaign=may-launch",
        "https://www.example.com/de/kontakt#formular",
        "/contact",
    ]
)


@cache
def webform_submission() -> st.SearchStrategy[Payload]:
    """A signed form POST: {form_id, submission_id, submitted_at, fields{...}, consent{marketing},
    page_url, utm{source, medium, campaign}} plus the intake's `_received_at`."""

    @st.composite
    def submission(draw: st.DrawFn) -> Payload:
        percent = draw(_HOSTILE_PERCENT)
        base: Payload = {
            "form_id": _pick(draw, percent, st.sampled_from(["contact-us", "pricing", "demo"])),
            "submission_id": _pick(draw, percent, st.uuids().map(str)),
            "submitted_at": _pick(draw, percent, _TIMESTAMPS, timestamps()),
            "fields": _object_of(draw, percent, WEBFORM_FIELDS, max_size=8),
            "consent": _object_of(draw, percent, WEBFORM_CONSENT, max_size=2),
            "page_url": _pick(draw, percent, _WEBFORM_PAGES),
            "utm": _object_of(draw, percent, WEBFORM_UTM, max_size=3),
        }
        for optional in ("submitted_at", "consent", "page_url", "utm"):
            if _sometimes_absent(draw, percent):
                del base[optional]
        payload = _mutate(draw, percent, base, ("submission_id", "form_id", "fields", "consent"))
        return _received(draw, percent, payload)

    return submission()


# ----------------------------------------------------------------------------- Google Ads leads

GOOGLE_ADS_COLUMNS: dict[str, tuple[str, st.SearchStrategy[Any]]] = {
    # column_id -> (column_name as Google labels it, realistic string_value)
    "FULL_NAME": (
        "Full Name",
        st.sampled_from(["María José García López", "Chen Wei Ling", "Zoë", "  ", "FirstName"]),
    ),
    "FIRST_NAME": ("First Name", _NAMES),
    "LAST_NAME": ("Last Name", _NAMES),
    "EMAIL": ("User Email", _EMAILS),
    "WORK_EMAIL": ("Work Email", _EMAILS),
    "PHONE_NUMBER": ("User Phone", _PHONES),
    "WORK_PHONE": ("Work Phone", _PHONES),
    "COMPANY_NAME": ("Company Name", _NAMES),
    "JOB_TITLE": ("Job Title", _TITLES),
    "COUNTRY": ("Country", _COUNTRIES),
    "CITY": ("City", st.sampled_from(["München", "São Paulo", "New York"])),  # raw only
    "QUESTION_1": ("How many locations do you run?", st.sampled_from(["3-5", "1", "10+"])),
}
# Google's int64 ids (form, campaign, ad group, creative) are JSON numbers; lead_id is a string.
_GOOGLE_INT64 = st.integers(min_value=10**9, max_value=2**63 - 1)
_GOOGLE_LEAD_IDS = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
    min_size=20,
    max_size=28,
)
_GCLIDS = st.sampled_from(
    ["EAIaIQobChMI3pLk8r2Z9QIVgQ5BBB1vHwQ3EAAYASAAEgJx0PD_BwE", "Cj0KCQjw-test_gclid", ""]
)


def _google_int64(draw: st.DrawFn, percent: int) -> Any:
    """An int64 id; hostile: the same id as a string or a float, or anything else."""
    return _pick(
        draw,
        percent,
        _GOOGLE_INT64,
        st.one_of(_GOOGLE_INT64.map(str), _GOOGLE_INT64.map(float), hostile_value()),
    )


def _google_ads_column(draw: st.DrawFn, percent: int, column_id: str) -> Any:
    """One user_column_data item: {column_name, string_value, column_id}, or something else."""
    if percent and draw(st.integers(0, 99)) < percent // 4:
        return draw(hostile_value())  # an item that is not an object
    name, realistic = GOOGLE_ADS_COLUMNS[column_id]
    spelled = st.sampled_from([column_id.lower(), f" {column_id} ", column_id.title()])
    item: dict[str, Any] = {
        "column_name": _pick(draw, percent // 4, st.just(name)),
        "string_value": _pick(draw, percent, realistic),
        "column_id": _pick(draw, percent // 2, st.just(column_id), st.one_of(spelled, scalars())),
    }
    for key in list(item):
        if draw(st.integers(0, 99)) < percent // 4:
            del item[key]
    return item


@cache
def google_ads_lead() -> st.SearchStrategy[Payload]:
    """A WebhookLead as landed: {lead_id, user_column_data[{column_name, string_value, column_id}],
    api_version, form_id, campaign_id, adgroup_id, creative_id, gcl_id, is_test,
    lead_submit_time} without google_key, plus the intake's `_received_at`."""

    @st.composite
    def lead(draw: st.DrawFn) -> Payload:
        percent = draw(_HOSTILE_PERCENT)
        names = draw(st.lists(st.sampled_from(list(GOOGLE_ADS_COLUMNS)), max_size=7, unique=True))
        columns: Any = [_google_ads_column(draw, percent, name) for name in names]
        if percent and draw(st.integers(0, 99)) < percent // 5:
            columns = draw(st.one_of(st.dictionaries(hostile_text(), hostile_value()), scalars()))
        base: Payload = {
            "lead_id": _pick(draw, percent, _GOOGLE_LEAD_IDS),
            "user_column_data": columns,
            "api_version": _pick(draw, percent, st.just("1.0")),
            "form_id": _google_int64(draw, percent),
            "campaign_id": _google_int64(draw, percent),
            "adgroup_id": _google_int64(draw, percent),
            "creative_id": _google_int64(draw, percent),
            "asset_group_id": _google_int64(draw, percent),  # Performance Max only
            "gcl_id": _pick(draw, percent, _GCLIDS),
            # "Send test data" leads: a few in clean traffic, quarantined by the gate
            "is_test": _pick(
                draw,
                percent,
                st.integers(0, 19).map(lambda n: n == 0),
                st.one_of(st.sampled_from(["true", "false", "TRUE", 1, 0, "yes"]), scalars()),
            ),
            # schema field 13: older deliveries lack it and are dated by _received_at
            "lead_submit_time": _pick(
                draw, percent, _RECENT.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")), timestamps()
            ),
        }
        for optional in ("asset_group_id", "gcl_id", "lead_submit_time"):
            if _sometimes_absent(draw, percent):
                del base[optional]
        payload = _mutate(
            draw, percent, base, ("lead_id", "form_id", "is_test", "user_column_data")
        )
        return _received(draw, percent, payload)

    return lead()


# ----------------------------------------------------------------------------- Salesforce Leads and Contacts
# A queryAll answer's record (connectors/salesforce/settings.py STREAM_OBJECTS, sandbox/salesforce.py
# `project`): {"attributes": {"type", "url"}, <every selected field>: value}. Salesforce sends each
# selected field, null when empty; booleans and numbers are JSON booleans and numbers; datetimes
# '2026-05-01T09:30:00.000+0000'; a relationship (Account.Name) is a nested object or null.

_SF_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SF_DATETIMES = _RECENT.map(
    lambda d: d.strftime("%Y-%m-%dT%H:%M:%S.") + f"{d.microsecond // 1000:03d}+0000"
)
_SF_DATES = _RECENT.map(lambda d: d.date().isoformat())
_COMPANIES = st.sampled_from(
    ["Acme Robotics", "Müller & Söhne GmbH", "O'Brien Ltd", "株式会社テスト", "ACME", "", "  "]
)


def _salesforce_ids(prefix: str) -> st.SearchStrategy[str]:
    """An 18-character id with the object's key prefix (00Q Lead, 003 Contact, 005 User, 001
    Account): the prefix, pod '5g', '0', nine base-62 digits, a three-character checksum."""
    return st.builds(
        "{}5g0{}{}".format,
        st.just(prefix),
        st.text(alphabet=_SF_BASE62, min_size=9, max_size=9),
        st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ012345", min_size=3, max_size=3),
    )


# What Web-to-Lead (and LeadFlow's own upsert) writes into a required field nobody filled in.
_SF_NOT_PROVIDED = st.sampled_from(["[not provided]", "[Not Provided] "])
SALESFORCE_PERSON: dict[str, st.SearchStrategy[Any]] = {
    "FirstName": _NAMES,
    "LastName": st.one_of(_NAMES, _SF_NOT_PROVIDED),
    "Email": _EMAILS,
    "Phone": _PHONES,
    "MobilePhone": _PHONES,
    "Title": _TITLES,
    "LeadSource": st.sampled_from(["Web", "Partner Referral", "Advertisement", "Event"]),
    "OwnerId": _salesforce_ids("005"),
    "HasOptedOutOfEmail": st.integers(0, 19).map(lambda n: n == 0),
    "EmailBouncedReason": st.just("550 5.1.1 mailbox unavailable"),
    "EmailBouncedDate": _SF_DATETIMES,
}
SALESFORCE_LEADFLOW: dict[str, st.SearchStrategy[Any]] = {
    # LeadFlow's own fields, as its push wrote them
    "LeadFlow_Score__c": st.integers(0, 10_000).map(lambda n: n / 100),
    "LeadFlow_Grade__c": st.sampled_from(["A", "B", "C", "D", "E"]),
    "LeadFlow_Temperature__c": st.sampled_from(["hot", "warm", "cold"]),
    "LeadFlow_Reasons__c": st.sampled_from(["+20 senior_title; +10 business_email", ""]),
    "LeadFlow_Model_Version__c": st.just("rules-v1"),
    "LeadFlow_Lead_Id__c": st.sampled_from(["lf_0123456789abcdef", "lf_fedcba9876543210"]),
}
SALESFORCE_LEAD: dict[str, st.SearchStrategy[Any]] = {
    "Company": st.one_of(_COMPANIES, _SF_NOT_PROVIDED),
    "Country": _COUNTRIES,
    "City": st.sampled_from(["München", "São Paulo", "New York"]),
    "Industry": st.sampled_from(["Technology", "Finance", "Real Estate"]),
    "NumberOfEmployees": st.integers(1, 200_000),
    "Status": st.sampled_from(["Open - Not Contacted", "Working - Contacted"]),
    "ConvertedContactId": _salesforce_ids("003"),
    "ConvertedDate": _SF_DATES,
}
SALESFORCE_CONTACT: dict[str, st.SearchStrategy[Any]] = {
    "AccountId": _salesforce_ids("001"),
    "MailingCountry": _COUNTRIES,
    "MailingCity": st.sampled_from(["München", "São Paulo", "New York"]),
}
# Fields Salesforce never leaves null (nillable false), or that this org always fills.
_SF_ALWAYS = frozenset({"LastName", "OwnerId", "HasOptedOutOfEmail", "Company", "Status"})


def _salesforce_fields(
    draw: st.DrawFn, percent: int, spec: dict[str, st.SearchStrategy[Any]]
) -> dict[str, Any]:
    """Every field of `spec`, as a query selects them: a value, or null where Salesforce allows."""
    return {
        name: _pick(
            draw, percent, realistic if name in _SF_ALWAYS else st.one_of(st.none(), realistic)
        )
        for name, realistic in spec.items()
    }


def _salesforce_record(
    draw: st.DrawFn, percent: int, sobject: str, prefix: str, own: dict[str, Any]
) -> Payload:
    """A Lead's or a Contact's fields in query order: attributes, ids, the person fields they
    share, the object's `own`, LeadFlow's custom fields, the system times."""
    record_id = _pick(draw, percent, _salesforce_ids(prefix))
    created = _pick(draw, percent, _SF_DATETIMES, timestamps())
    modified = _pick(draw, percent, st.one_of(st.just(created), _SF_DATETIMES), timestamps())
    # About 1 in 20 in the recycle bin, half of them the losing side of a merge.
    deleted = draw(st.integers(0, 39))
    attributes = {
        "type": sobject,
        "url": f"/services/data/v62.0/sobjects/{sobject}/{record_id}",
    }
    return {
        "attributes": _pick(draw, percent // 4, st.just(attributes)),
        "Id": record_id,
        "IsDeleted": _pick(draw, percent, st.just(deleted < 2)),
        "MasterRecordId": _pick(
            draw, percent, _salesforce_ids(prefix) if deleted == 0 else st.none()
        ),
        **_salesforce_fields(draw, percent, SALESFORCE_PERSON),
        **own,
        **_salesforce_fields(draw, percent, SALESFORCE_LEADFLOW),
        "CreatedDate": created,
        "LastModifiedDate": modified,
        "SystemModstamp": _pick(draw, percent, st.just(modified), timestamps()),
    }


_SF_REQUIRED = ("Id", "IsDeleted", "CreatedDate", "SystemModstamp", "LastModifiedDate")


@cache
def salesforce_lead() -> st.SearchStrategy[Payload]:
    """A Lead: {attributes, Id, IsDeleted, MasterRecordId, names, Email, Phone, MobilePhone,
    Title, LeadSource, OwnerId, HasOptedOutOfEmail, EmailBounced*, Company, Country, City,
    Industry, NumberOfEmployees, Status, IsConverted, ConvertedContactId, ConvertedDate,
    LeadFlow_*__c, CreatedDate, LastModifiedDate, SystemModstamp}."""

    @st.composite
    def lead(draw: st.DrawFn) -> Payload:
        percent = draw(_HOSTILE_PERCENT)
        own = _salesforce_fields(draw, percent, SALESFORCE_LEAD)
        converted = own["ConvertedContactId"] is not None
        own["IsConverted"] = _pick(draw, percent, st.just(converted))
        if not converted:
            own["ConvertedDate"] = None
        base = _salesforce_record(draw, percent, "Lead", "00Q", own)
        return _mutate(draw, percent, base, _SF_REQUIRED)

    return lead()


@cache
def salesforce_contact() -> st.SearchStrategy[Payload]:
    """A Contact: the Lead's person fields, then AccountId, Account {attributes, Name} (null
    without an account), MailingCountry, MailingCity, IsEmailBounced, LeadFlow_*__c and the
    system times."""

    @st.composite
    def contact(draw: st.DrawFn) -> Payload:
        percent = draw(_HOSTILE_PERCENT)
        own = _salesforce_fields(draw, percent, SALESFORCE_CONTACT)
        account: Any = None
        if own["AccountId"] is not None:
            account = {
                "attributes": {
                    "type": "Account",
                    "url": f"/services/data/v62.0/sobjects/Account/{own['AccountId']}",
                },
                "Name": _pick(draw, percent, _COMPANIES),
            }
        # Account.Name: the related object, null, or (hostile) a string or a list in its place
        own["Account"] = _pick(draw, percent, st.just(account))
        own["IsEmailBounced"] = _pick(draw, percent, st.integers(0, 29).map(lambda n: n == 0))
        base = _salesforce_record(draw, percent, "Contact", "003", own)
        return _mutate(draw, percent, base, (*_SF_REQUIRED, "Account"))

    return contact()


# ----------------------------------------------------------------------------- LinkedIn lead form responses
# A `leadFormResponses` element with the `form` decoration the pull projects
# (connectors/linkedin/settings.py RESPONSE_PROJECTION, sandbox/linkedin.py `add_response`):
# answers name their question by id only, and the form's questions give each id its
# predefinedField. submittedAt is epoch milliseconds.

LINKEDIN_FORM_ID = 7234246
LINKEDIN_QUESTIONS: dict[str, st.SearchStrategy[Any]] = {
    # predefinedField (or, for the custom question, its name) -> a realistic answer
    "FIRST_NAME": _NAMES,
    "LAST_NAME": _NAMES,
    "EMAIL": _EMAILS,
    "WORK_EMAIL": _EMAILS,
    "PHONE_NUMBER": _PHONES,
    "COMPANY_NAME": _COMPANIES,
    "JOB_TITLE": _TITLES,
    "COUNTRY": _COUNTRIES,
    "teamSize": st.sampled_from(["1-10", "11-50", "1000+"]),
}
_LINKEDIN_QUESTION_IDS = {
    key: (n + 1) * 10_000_000 + LINKEDIN_FORM_ID for n, key in enumerate(LINKEDIN_QUESTIONS)
}
_EPOCH_MS = _RECENT.map(lambda d: int((d - datetime(1970, 1, 1)).total_seconds() * 1000))
_LINKEDIN_URN_IDS = st.integers(100_000_000, 999_999_999)


def _linkedin_question(draw: st.DrawFn, percent: int, key: str) -> Any:
    """One question of the form decoration: {questionId, name, question, predefinedField?}."""
    if percent and draw(st.integers(0, 99)) < percent // 4:
        return draw(hostile_value())
    question: dict[str, Any] = {
        "questionId": _pick(
            draw,
            percent // 2,
            st.just(_LINKEDIN_QUESTION_IDS[key]),
            st.one_of(st.just(str(_LINKEDIN_QUESTION_IDS[key])), scalars()),
        ),
        "name": key,
        "question": {"localized": {"en_US": key.replace("_", " ").title()}},
        "responseRequired": key != "teamSize",
    }
    if key != "teamSize":  # the custom question has no predefined field
        question["predefinedField"] = _pick(
            draw, percent // 2, st.just(key), st.one_of(st.just(key.lower()), hostile_text())
        )
    return question


def _linkedin_answer(draw: st.DrawFn, percent: int, key: str) -> Any:
    """{questionId, answerDetails: {textQuestionAnswer: {answer}}}, a multiple-choice answer's
    option ids in its place, or something else entirely."""
    if percent and draw(st.integers(0, 99)) < percent // 4:
        return draw(hostile_value())
    details: Any = {"textQuestionAnswer": {"answer": _pick(draw, percent, LINKEDIN_QUESTIONS[key])}}
    if percent and draw(st.integers(0, 99)) < percent // 4:
        details = draw(
            st.one_of(
                st.builds(
                    lambda options: {"multipleChoiceAnswer": {"options": options}},
                    st.lists(st.integers(1, 5), max_size=3),
                ),
                st.builds(lambda answer: {"textQuestionAnswer": answer}, hostile_value()),
                hostile_value(),
            )
        )
    return {
        "questionId": _pick(draw, percent // 2, st.just(_LINKEDIN_QUESTION_IDS[key])),
        "answerDetails": details,
    }


@cache
def linkedin_response() -> st.SearchStrategy[Payload]:
    """A response: {id, owner, leadType, submitter, submittedAt, testLead,
    versionedLeadGenFormUrn, leadMetadata, associatedEntity, formResponse{answers,
    consentResponses}, form{id, name, content{questions}, hiddenFields}}."""

    @st.composite
    def response(draw: st.DrawFn) -> Payload:
        percent = draw(_HOSTILE_PERCENT)
        keys = draw(st.lists(st.sampled_from(list(LINKEDIN_QUESTIONS)), max_size=9, unique=True))
        answers: Any = [_linkedin_answer(draw, percent, key) for key in keys]
        answers = _sometimes_not_a_list(draw, percent, answers)
        questions: Any = [_linkedin_question(draw, percent, key) for key in LINKEDIN_QUESTIONS]
        questions = _sometimes_not_a_list(draw, percent, questions)
        version = draw(st.integers(1, 3))
        form = {
            "id": _pick(draw, percent // 2, st.just(LINKEDIN_FORM_ID)),
            "name": "Quillstone - Request a demo",
            "content": _pick(draw, percent // 4, st.just({"questions": questions})),
            "hiddenFields": [],
        }
        test_lead = _pick(
            draw,
            percent,
            st.integers(0, 19).map(lambda n: n == 0),
            st.one_of(st.sampled_from(["true", "false", 1, 0, "TRUE"]), scalars()),
        )
        submitted = _pick(
            draw,
            percent,
            _EPOCH_MS,
            st.one_of(_EPOCH_MS.map(str), valid_timestamps(), timestamps()),
        )
        urn = f"urn:li:versionedLeadGenForm:(urn:li:leadGenForm:{LINKEDIN_FORM_ID},{version})"
        base: Payload = {
            "id": _pick(draw, percent, st.uuids().map(lambda u: f"{u}-{version}")),
            "owner": {"sponsoredAccount": "urn:li:sponsoredAccount:508123456"},
            "leadType": "SPONSORED",
            "submitter": _pick(
                draw,
                percent,
                st.text(alphabet=_SF_BASE62 + "_-", min_size=10, max_size=10).map(
                    "urn:li:person:{}".format
                ),
            ),
            "submittedAt": submitted,
            "testLead": test_lead,
            "versionedLeadGenFormUrn": _pick(
                draw,
                percent,
                st.just(urn),
                st.one_of(
                    st.just(f"urn:li:leadGenForm:{LINKEDIN_FORM_ID}"),
                    st.just(urn.upper()),
                    scalars(),
                ),
            ),
            "leadMetadata": {
                "sponsoredLeadMetadata": {
                    "campaign": _pick(
                        draw, percent, _LINKEDIN_URN_IDS.map("urn:li:sponsoredCampaign:{}".format)
                    )
                }
            },
            "associatedEntity": {
                "associatedCreative": _pick(
                    draw, percent, _LINKEDIN_URN_IDS.map("urn:li:sponsoredCreative:{}".format)
                )
            },
            "formResponse": _pick(
                draw,
                percent // 4,
                st.just(
                    {
                        "answers": answers,
                        "consentResponses": [{"consentId": 1, "accepted": not test_lead}],
                    }
                ),
            ),
            "form": _pick(draw, percent // 4, st.just(form)),
        }
        return _mutate(
            draw, percent, base, ("id", "submittedAt", "testLead", "versionedLeadGenFormUrn")
        )

    return response()


# ----------------------------------------------------------------------------- Pipedrive persons
# A v2 person (connectors/pipedrive/models.py, sandbox/pipedrive.py `person_v2`): ids are JSON
# numbers, times RFC 3339 in whole seconds, emails and phones lists of {label, value, primary},
# custom fields under `custom_fields` by their 40-hex keys. v1 spellings the parser also reads
# (an owner or organization as an object, an email or phone as one string) are hostile variants.

_PIPEDRIVE_TIMES = _RECENT.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ"))
_PIPEDRIVE_OWNERS = st.integers(12_000_001, 12_000_009)
_PIPEDRIVE_CUSTOM_KEYS = (
    "2f9ddbb4bb412d6e7a5f8da50823ef11b94b6412",  # LeadFlow Score
    "dd82ca3b092edab12a12f71945135a02c65c1248",  # LeadFlow Grade
    "f6351cca8a6073bcccf01a3decf90b3e8d9c760c",  # LeadFlow Lead Id
)


def _pipedrive_entries(draw: st.DrawFn, percent: int, realistic: st.SearchStrategy[Any]) -> Any:
    """emails / phones: [{label, value, primary}] with the first primary; or (hostile) a bare
    string, a list of strings, an object, a scalar."""
    values = draw(st.lists(realistic, max_size=2))
    entries: Any = [
        {
            "label": _pick(draw, percent // 2, st.sampled_from(["work", "home", "other"])),
            "value": _pick(draw, percent, st.just(value)),
            "primary": _pick(
                draw, percent, st.just(n == 0), st.sampled_from(["true", 1, "yes", None])
            ),
        }
        for n, value in enumerate(values)
    ]
    if percent and draw(st.integers(0, 99)) < percent // 4:
        entries = draw(
            st.one_of(realistic, st.lists(realistic, max_size=2), st.just(values), scalars())
        )
    return _sometimes_not_a_list(draw, percent, entries)


@cache
def pipedrive_person() -> st.SearchStrategy[Payload]:
    """A person: {id, name, first_name, last_name, owner_id, org_id, add_time, update_time,
    emails, phones, is_deleted, visible_to, label_ids, picture_id, custom_fields}."""

    @st.composite
    def person(draw: st.DrawFn) -> Payload:
        percent = draw(_HOSTILE_PERCENT)
        person_id = draw(st.integers(1, 10**6))
        first = draw(st.one_of(st.none(), _NAMES))
        last = draw(st.one_of(st.none(), _NAMES))
        # name is required; a person made from an e-mail (a mail sync, an import) is named by it
        name = " ".join(part for part in (first, last) if part) or draw(st.one_of(_NAMES, _EMAILS))
        org_id = draw(st.one_of(st.none(), st.integers(1, 5_000)))
        added = _pick(draw, percent, _PIPEDRIVE_TIMES, timestamps())
        # v1 objects where v2 has ids: {"value", "name"} for an organization, {"id", "name"} for
        # an owner; and the id as a string or a float
        id_variants = st.one_of(
            st.just(person_id).map(str),
            st.just(float(person_id)),
            st.just({"value": person_id}),
            hostile_value(),
        )
        base: Payload = {
            "id": _pick(draw, percent, st.just(person_id), id_variants),
            "name": _pick(draw, percent, st.just(name)),
            "first_name": _pick(draw, percent, st.just(first)),
            "last_name": _pick(draw, percent, st.just(last)),
            "owner_id": _pick(
                draw,
                percent,
                _PIPEDRIVE_OWNERS,
                st.one_of(
                    _PIPEDRIVE_OWNERS.map(lambda n: {"id": n, "name": "Maya Okafor"}),
                    hostile_value(),
                ),
            ),
            "org_id": _pick(
                draw,
                percent,
                st.just(org_id),
                st.one_of(
                    st.builds(
                        lambda n, c: {"value": n, "name": c}, st.integers(1, 5_000), _COMPANIES
                    ),
                    hostile_value(),
                ),
            ),
            "add_time": added,
            "update_time": _pick(
                draw, percent, st.one_of(st.just(added), _PIPEDRIVE_TIMES), timestamps()
            ),
            "emails": _pipedrive_entries(draw, percent, _EMAILS),
            "phones": _pipedrive_entries(draw, percent, _PHONES),
            "is_deleted": _pick(draw, percent, st.just(False)),
            "visible_to": _pick(draw, percent, st.just(3)),
            "label_ids": _pick(draw, percent, st.just([])),
            "picture_id": None,
            "custom_fields": _object_of(
                draw,
                percent,
                {key: st.one_of(st.none(), _IDS) for key in _PIPEDRIVE_CUSTOM_KEYS},
                max_size=3,
            ),
        }
        return _mutate(draw, percent, base, ("id", "add_time", "update_time", "emails"))

    return person()


SOURCES: dict[tuple[str, str], st.SearchStrategy[Payload]] = {
    ("hubspot", "contacts"): hubspot_contact(),
    ("meta", "leads"): meta_lead(),
    ("typeform", "responses"): typeform_response(),
    ("webform", "submissions"): webform_submission(),
    ("google_ads", "lead_form_submissions"): google_ads_lead(),
    ("salesforce", "leads"): salesforce_lead(),
    ("salesforce", "contacts"): salesforce_contact(),
    ("linkedin", "lead_form_responses"): linkedin_response(),
    ("pipedrive", "persons"): pipedrive_person(),
}
# The partition each stream is pulled under (a form id for the per-form streams). The intake lands
# a webhook body under its own form_id (as text), which the parsers and staging models read before
# the partition; None is what a body without a readable form_id is landed under, so a webhook
# record here ends with the form it would end with when landed by the intake.
PARTITIONS: dict[tuple[str, str], str | None] = {
    ("hubspot", "contacts"): None,
    ("meta", "leads"): META_FORM_ID,
    ("typeform", "responses"): "tf_form_1",
    ("webform", "submissions"): None,
    ("google_ads", "lead_form_submissions"): None,
    ("salesforce", "leads"): None,
    ("salesforce", "contacts"): None,
    ("linkedin", "lead_form_responses"): str(LINKEDIN_FORM_ID),
    ("pipedrive", "persons"): None,
}


def stream_of(key: tuple[str, str]) -> Stream:
    """The declaration of a payload stream (connectors.stream_of)."""
    return connectors.stream_of(*key)


# Generated payloads that went through a check, by check: bench/reliability.py reports the total
# (tests/reliability/conftest.py writes it to the file $LEADFLOW_HYPOTHESIS_COUNTS names, if set).
GENERATED: Counter[str] = Counter()
COUNTS_ENV = "LEADFLOW_HYPOTHESIS_COUNTS"


def draw_payloads(strategy: st.SearchStrategy[Payload], count: int, *, check: str) -> list[Payload]:
    """`count` payloads from `strategy`, the same ones every run (derandomized, no database).

    Hypothesis caps the size of one example, so a list of 1,000 nested payloads cannot be one
    draw; instead a generate-only run of `count` examples collects them, one per example.
    """
    drawn: list[Payload] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(payload: Payload) -> None:
        drawn.append(payload)

    collect()
    GENERATED[check] += len(drawn)
    return drawn
