"""Hypothesis strategies for hostile vendor payloads, in each lead stream's real wire shape.

Each source strategy starts from a record shaped exactly like the one the connector lands (see
tests/connectors/*/recorded/, sandbox/hubspot.py, sandbox/meta.py, sandbox/typeform.py, and for the
webhook streams the payloads connectors/webform/README.md and connectors/google_ads/README.md
document, as the intake lands them) and then mutates it the ways real APIs and real users do: every kind of unicode (combining marks, right-to-
left text, emoji, NUL and control characters, lone surrogates, which JSON's \\uXXXX escapes can
carry), 100k-character strings, nulls, wrong types (a list where a string is, an object where a
number is), numbers as strings and strings as numbers, SQL and HTML injection, unknown fields,
removed required fields, type changes of known fields and odd timestamps (year 0001 and 9999, no
timezone, epoch milliseconds as a string, garbage).

Values stay JSON values (what `response.json()` can hand the connector): str, int, float, bool,
None, list and dict with string keys. Python floats NaN and +-Infinity are included because
Python's json module reads them from a vendor that writes them.
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


SOURCES: dict[tuple[str, str], st.SearchStrategy[Payload]] = {
    ("hubspot", "contacts"): hubspot_contact(),
    ("meta", "leads"): meta_lead(),
    ("typeform", "responses"): typeform_response(),
    ("webform", "submissions"): webform_submission(),
    ("google_ads", "lead_form_submissions"): google_ads_lead(),
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
