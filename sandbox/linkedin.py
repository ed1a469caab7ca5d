"""LinkedIn's Marketing API lead sync as the sandbox serves it, over an in-memory ad account
(kept in the sandbox's state file when it has one: sandbox/store.py).

The ad account (`urn:li:sponsoredAccount:<id>`) owns lead gen forms (`urn:li:leadGenForm:<id>`),
each with questions (predefined FIRST_NAME, LAST_NAME, EMAIL, PHONE_NUMBER, COMPANY_NAME, JOB_TITLE,
COUNTRY and one custom question) and a version (`versionId`, 1 until the form is edited). Members
submit responses to one version of a form. Everything lives under `/rest/`:

- `GET /rest/leadFormResponses?q=owner&owner=(sponsoredAccount:<urn>)&leadType=(leadType:SPONSORED)`
  with optional `versionedLeadGenFormUrn=<urn:li:versionedLeadGenForm:(urn:li:leadGenForm:<id>,<v>)>`,
  `submittedAtTimeRange=(start:<ms>,end:<ms>)` (both ends included), `limitedToTestLeads=true`
  (only test leads; otherwise real and test leads alike), `fields=<projection>` (top-level fields;
  `form:(...)` adds the form the response answered, with its questions) and `start`/`count`
  paging (count 10 by default, at most 100). Newest first (submittedAt, then id, descending);
  `paging` holds `start`, `count`, `total` and Rest.li `links` (prev/next).
- `GET /rest/leadFormResponses/<id>`: one response (as after a lead notification).
- `GET /rest/leadForms?q=owner&owner=(sponsoredAccount:<urn>)` and `GET /rest/leadForms/<id>`.

Query values use Rest.li 2.0 syntax: records `(key:value,...)` with the structural characters
unencoded and the URNs inside them percent-encoded; a URN left raw inside a record, or parentheses
percent-encoded, is a 400, as on LinkedIn. Requests must send `X-Restli-Protocol-Version: 2.0.0`.

Headers and errors, in LinkedIn's body `{"status", "code", "message"[, "serviceErrorCode"]}`:
- no `LinkedIn-Version`: 400 VERSION_MISSING (with `X-Restli-Gateway-Error: true`); a version
  that is sunset (older than a year: YYYYMM sunsets on the 15th of the same month a year later),
  not yet released, a December (LinkedIn skips them) or malformed: 426 NONEXISTENT_VERSION
  "Requested version YYYYMM01 is not active";
- no bearer token: 401 "Empty oauth2_access_token"; a wrong one: 401 INVALID_ACCESS_TOKEN
  (serviceErrorCode 65600); another owner's forms: 403 ACCESS_DENIED;
- daily limits per application and per member (token), reset at midnight UTC on the sandbox
  clock, configurable (`set_daily_limit`, per token too): 429 "Resource level throttle APPLICATION
  DAY limit ..." (serviceErrorCode 101) without Retry-After, as LinkedIn sends it. Refused calls
  are not counted.

Injected faults (`fault`): 429 is LinkedIn's throttle body (with Retry-After: 1, the shared chaos
contract), 5xx LinkedIn-shaped 500/502/503/504 bodies, 401/403/404 as above.

Docs: https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/leadsync,
https://learn.microsoft.com/en-us/linkedin/marketing/lead-sync/lead-sync-schema,
https://learn.microsoft.com/en-us/linkedin/marketing/versioning,
https://learn.microsoft.com/en-us/linkedin/marketing/integrations/migrations,
https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/protocol-version,
https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/pagination,
https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/rate-limits,
https://learn.microsoft.com/en-us/linkedin/shared/api-guide/concepts/error-handling
"""

from __future__ import annotations

import copy
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from random import Random
from typing import Any
from urllib.parse import quote, unquote

from sandbox import standalone
from sandbox.clock import to_ms
from sandbox.server import Context, Lazy, Request, Response, VendorApp
from sandbox.store import (
    Change,
    VendorState,
    kept,
    kept_usage,
    rng_state,
    set_rng_state,
    token_key,
)
from sandbox.world import COUNTRIES, FIRST_NAMES, JOB_TITLES, LAST_NAMES, ascii_slug

DEFAULT_TOKEN = "sandbox-linkedin-token"
SPONSORED_ACCOUNT_ID = "508123456"
# The newest Marketing version documented when this was written (August 2026). A sandbox whose
# clock is set in the past still accepts versions up to it, so a pinned version keeps working.
LATEST_RELEASED = "202608"
DEFAULT_COUNT = 10
MAX_COUNT = 100
# LinkedIn does not publish its daily limits; these stand in, per UTC day.
DEFAULT_APP_DAILY_LIMIT = 100_000
DEFAULT_MEMBER_DAILY_LIMIT = 100_000

PREDEFINED_QUESTIONS: tuple[tuple[str, str, str], ...] = (
    ("FIRST_NAME", "firstName", "First name"),
    ("LAST_NAME", "lastName", "Last name"),
    ("EMAIL", "email", "Email address"),
    ("PHONE_NUMBER", "phoneNumber", "Phone number"),
    ("COMPANY_NAME", "companyName", "Company name"),
    ("JOB_TITLE", "jobTitle", "Job title"),
    ("COUNTRY", "country", "Country/Region"),
)
CUSTOM_QUESTION = ("teamSize", "How many people are on your team?")
TEAM_SIZES = ("1-10", "11-50", "51-200", "201-1000", "1000+")
_VERSION = re.compile(r"^(\d{4})(\d{2})(?:\.(\d{2}))?$")
_VERSIONED_FORM = re.compile(r"^urn:li:versionedLeadGenForm:\(urn:li:leadGenForm:(\d+),(\d+)\)$")
_ACCOUNT = re.compile(r"^urn:li:sponsoredAccount:(\d+)$")
_PERSON_ID_CHARS = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz0123456789_-"


# --------------------------------------------------------------------------- errors


class LinkedInError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        code: str | None = None,
        *,
        service_code: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.service_code = service_code
        self.headers = dict(headers or {})

    def response(self) -> Response:
        body: dict[str, Any] = {"status": self.status}
        if self.service_code is not None:
            body["serviceErrorCode"] = self.service_code
        if self.code is not None:
            body["code"] = self.code
        body["message"] = self.message
        return Response(self.status, body, dict(self.headers))


def _bad_request(message: str) -> LinkedInError:
    return LinkedInError(400, message, "ILLEGAL_ARGUMENT", service_code=100)


def _throttled(scope: str) -> LinkedInError:
    return LinkedInError(
        429,
        f"Resource level throttle {scope} DAY limit for calls to this resource is reached.",
        service_code=101,
    )


# --------------------------------------------------------------------------- versions


def version_sunset(year: int, month: int) -> datetime:
    """LinkedIn supports a monthly version for at least a year; the documented sunsets fall
    mid-month a year on (202510 on October 15, 2026, 202511 on November 16, 2026)."""
    return datetime(year + 1, month, 15, tzinfo=UTC)


def version_active(header: str, now: datetime) -> bool:
    match = _VERSION.match(header)
    if match is None:
        return False
    year, month = int(match.group(1)), int(match.group(2))
    if not 1 <= month <= 11:  # no December release in LinkedIn's version history
        return False
    released = f"{year:04d}{month:02d}" <= max(f"{now.year:04d}{now.month:02d}", LATEST_RELEASED)
    return released and now < version_sunset(year, month)


def version_label(header: str) -> str:
    """How LinkedIn names a version in its 426 message: 202501 -> 20250101."""
    match = _VERSION.match(header)
    if match is None:
        return header
    return f"{match.group(1)}{match.group(2)}{match.group(3) or '01'}"


# --------------------------------------------------------------------------- Rest.li 2.0


def parse_query(raw_query: str) -> dict[str, str]:
    """Parameter name -> raw (still encoded) value; the first of a repeated name wins."""
    out: dict[str, str] = {}
    for part in raw_query.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        out.setdefault(unquote(name), value)
    return out


def parse_restli(raw: str) -> Any:
    """One Rest.li 2.0 query value: `(k:v,...)` records, `List(...)` lists, encoded leaves."""
    value, end = _restli(raw, 0, nested=False)
    if end != len(raw):
        raise ValueError(f"unexpected {raw[end]!r} at {end}")
    return value


def _restli(s: str, i: int, *, nested: bool) -> tuple[Any, int]:
    if s.startswith("List(", i):
        items: list[Any] = []
        i += 5
        if s[i : i + 1] == ")":
            return items, i + 1
        while True:
            item, i = _restli(s, i, nested=True)
            items.append(item)
            if s[i : i + 1] == ",":
                i += 1
            elif s[i : i + 1] == ")":
                return items, i + 1
            else:
                raise ValueError(f"expected ',' or ')' at {i}")
    if s[i : i + 1] == "(":
        record: dict[str, Any] = {}
        i += 1
        if s[i : i + 1] == ")":
            return record, i + 1
        while True:
            j = i
            while j < len(s) and s[j] not in ":,()":
                j += 1
            if s[j : j + 1] != ":" or j == i:
                raise ValueError(f"expected 'key:' at {i}")
            record[unquote(s[i:j])], i = _restli(s, j + 1, nested=True)
            if s[i : i + 1] == ",":
                i += 1
            elif s[i : i + 1] == ")":
                return record, i + 1
            else:
                raise ValueError(f"expected ',' or ')' at {i}")
    j = i
    while j < len(s) and s[j] not in ",()":
        j += 1
    leaf = s[i:j]
    if nested and ":" in leaf:
        raise ValueError(f"a reserved ':' is not encoded in {leaf!r}")
    return unquote(leaf), j


def projection(raw: str | None) -> set[str] | None:
    """The top-level field names of a `fields=` projection (`a,b,form:(x,y)` -> a, b, form)."""
    if raw is None:
        return None
    names: set[str] = set()
    depth, current = 0, ""
    for ch in unquote(raw) + ",":
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            name = current.split(":")[0].strip()
            if name:
                names.add(name)
            current = ""
            continue
        if depth == 0:
            current += ch
    return names


# --------------------------------------------------------------------------- the account


@dataclass
class Question:
    question_id: int
    name: str
    label: str
    predefined: str | None  # None: a custom question

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "questionId": self.question_id,
            "name": self.name,
            "question": {"localized": {"en_US": self.label}},
            "questionDetails": {"textQuestionDetails": {"maxResponseLength": 300}},
            "responseRequired": self.predefined is not None,
            "responseEditable": self.predefined is not None,
        }
        if self.predefined is not None:
            out["predefinedField"] = self.predefined
        return out


@dataclass
class LeadForm:
    id: int
    name: str
    account_id: str
    created_ms: int
    questions: list[Question]
    version: int = 1
    modified_ms: int = 0

    def urn(self, version: int | None = None) -> str:
        form = f"urn:li:leadGenForm:{self.id}"
        return f"urn:li:versionedLeadGenForm:({form},{version or self.version})"

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "owner": {"sponsoredAccount": f"urn:li:sponsoredAccount:{self.account_id}"},
            "name": self.name,
            "state": "PUBLISHED",
            "versionId": self.version,
            "created": self.created_ms,
            "lastModified": self.modified_ms or self.created_ms,
            "creationLocale": {"country": "US", "language": "en"},
            "hiddenFields": [],
            "reviewInfo": {"reviewStatus": "APPROVED"},
            "content": {
                "headline": {"localized": {"en_US": self.name}},
                "questions": [q.as_json() for q in self.questions],
                "legalInfo": {
                    "privacyPolicyUrl": "https://example.com/privacy",
                    "consents": [
                        {
                            "consentId": 1,
                            "checkRequired": False,
                            "consent": {"localized": {"en_US": "Send me product news"}},
                        }
                    ],
                },
            },
        }


@dataclass
class LeadSyncAccount:
    """A sponsored account's lead gen forms and their responses (wire JSON), thread-safe.

    With a state file (`persist_to`), every form and response is written there as it is made or
    edited (a response under its place in `responses`, so the order and the id generator's state
    survive a restart)."""

    account_id: str = SPONSORED_ACCOUNT_ID
    forms: dict[int, LeadForm] = field(default_factory=dict)
    responses: list[dict[str, Any]] = field(default_factory=list)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _rng: Random = field(default_factory=lambda: Random("linkedin:ids"), repr=False)
    _sink: VendorState | None = field(default=None, repr=False)

    @property
    def account_urn(self) -> str:
        return f"urn:li:sponsoredAccount:{self.account_id}"

    # ---------------------------------------------------------------- the state file

    def _state(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "rng": rng_state(self._rng)}

    @staticmethod
    def _form_row(form: LeadForm) -> Change:
        data = {**form.__dict__, "questions": [q.__dict__ for q in form.questions]}
        return ("form", f"{form.id:012d}", data)

    @staticmethod
    def _response_row(index: int, response: dict[str, Any]) -> Change:
        return ("response", f"{index:09d}", response)

    def state_rows(self) -> list[Change]:
        """Every form and response, and the id generator, as the state file keeps them."""
        with self._lock:
            rows = [self._form_row(form) for form in self.forms.values()]
            rows += [self._response_row(i, r) for i, r in enumerate(self.responses)]
            rows.append(("state", "account", self._state()))
            return rows

    def persist_to(self, sink: VendorState) -> None:
        """Write every change from now on to `sink`."""
        self._sink = sink

    def _persist(self, rows: list[Change]) -> None:
        # Called with the lock held, so the file sees changes in the order memory does.
        if self._sink is not None:
            self._sink.write([*rows, ("state", "account", self._state())])

    @classmethod
    def restore(cls, rows: Mapping[str, dict[str, Any]]) -> LeadSyncAccount:
        """The account as the state file kept it."""
        state = rows["state"]["account"]
        account = cls(account_id=str(state["account_id"]))
        set_rng_state(account._rng, state["rng"])
        for data in rows.get("form", {}).values():
            questions = [Question(**q) for q in data["questions"]]
            form = LeadForm(**{**data, "questions": questions})
            account.forms[form.id] = form
        account.responses = list(rows.get("response", {}).values())
        return account

    def add_form(self, name: str, form_id: int | None = None, created_ms: int = 0) -> int:
        """A published form with the predefined questions first, then one custom question."""
        with self._lock:
            form_id = form_id or 7_200_000 + len(self.forms) + 1
            questions = [
                Question((i + 1) * 10_000_000 + form_id % 10_000_000, name_, label, predefined)
                for i, (predefined, name_, label) in enumerate(PREDEFINED_QUESTIONS)
            ]
            custom_id = (len(questions) + 1) * 10_000_000 + form_id % 10_000_000
            questions.append(Question(custom_id, CUSTOM_QUESTION[0], CUSTOM_QUESTION[1], None))
            self.forms[form_id] = LeadForm(form_id, name, self.account_id, created_ms, questions)
            self._persist([self._form_row(self.forms[form_id])])
            return form_id

    def edit_form(self, form_id: int, at_ms: int = 0) -> int:
        """Editing a published form makes a new version; later responses answer that one."""
        with self._lock:
            form = self.forms[form_id]
            form.version += 1
            form.modified_ms = at_ms
            self._persist([self._form_row(form)])
            return form.version

    def add_response(
        self,
        form_id: int,
        answers: Mapping[str, Any],
        submitted_at: datetime | int,
        *,
        test_lead: bool = False,
        version: int | None = None,
        campaign_id: int = 367_000_001,
        creative_id: int = 241_000_001,
        response_id: str | None = None,
        raw_answers: list[dict[str, Any]] | None = None,
    ) -> str:
        """A member submits the form: `answers` by predefined field (EMAIL) or question name
        (teamSize); `raw_answers` replaces the built answers as given (malformed-data tests)."""
        with self._lock:
            form = self.forms[form_id]
            by_key = {q.predefined or q.name: q for q in form.questions}
            by_key.update({q.name: q for q in form.questions})
            built = [
                {
                    "questionId": by_key[key].question_id,
                    "answerDetails": {"textQuestionAnswer": {"answer": value}},
                }
                for key, value in answers.items()
            ]
            ms = submitted_at if isinstance(submitted_at, int) else to_ms(submitted_at)
            rid = response_id or f"{uuid.UUID(int=self._rng.getrandbits(128))}-{form.version}"
            person = "".join(self._rng.choice(_PERSON_ID_CHARS) for _ in range(10))
            self.responses.append(
                {
                    "id": rid,
                    "owner": {"sponsoredAccount": self.account_urn},
                    "leadType": "SPONSORED",
                    "submitter": f"urn:li:person:{person}",
                    "submittedAt": ms,
                    "testLead": test_lead,
                    "versionedLeadGenFormUrn": form.urn(version),
                    "leadMetadata": {
                        "sponsoredLeadMetadata": {
                            "campaign": f"urn:li:sponsoredCampaign:{campaign_id}"
                        }
                    },
                    "associatedEntity": {
                        "associatedCreative": f"urn:li:sponsoredCreative:{creative_id}"
                    },
                    "formResponse": {
                        "answers": built if raw_answers is None else raw_answers,
                        "consentResponses": [{"consentId": 1, "accepted": not test_lead}],
                    },
                }
            )
            self._persist([self._response_row(len(self.responses) - 1, self.responses[-1])])
            return rid

    def response(self, response_id: str) -> dict[str, Any] | None:
        with self._lock:
            found = next((r for r in self.responses if r["id"] == response_id), None)
            return copy.deepcopy(found)

    @classmethod
    def _with_forms(
        cls, seed: int | str, now: datetime, days: int
    ) -> tuple[LeadSyncAccount, list[int], int, int]:
        """An account with the sandbox's two forms, published `days` before `now`: the account,
        the form ids, and the window's start and end (epoch ms) its responses fall in."""
        account = cls(_rng=Random(f"linkedin:{seed}:ids"))
        now_ms = to_ms(now)
        start_ms = now_ms - days * 86_400_000
        forms = [
            account.add_form("Quillstone - Request a demo", 7_234_246, start_ms),
            account.add_form("Quillstone - Pricing guide", 7_234_311, start_ms),
        ]
        return account, forms, start_ms, now_ms

    @classmethod
    def generate(cls, seed: int | str, n: int, now: datetime, days: int = 30) -> LeadSyncAccount:
        """Two forms and `n` responses over the `days` before `now`, about 1 in 20 a test lead,
        from `random.Random(f"linkedin:{seed}")`: the same seed and `now` make the same account."""
        rng = Random(f"linkedin:{seed}")
        account, forms, start_ms, now_ms = cls._with_forms(seed, now, days)
        titles = [t for t, _ in JOB_TITLES]
        weights = [w for _, w in JOB_TITLES]
        for _ in range(n):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            country = rng.choice(COUNTRIES)
            company = (
                f"{rng.choice(LAST_NAMES)} {rng.choice(('Labs', 'GmbH', 'Inc', 'Ltd', 'Group'))}"
            )
            domain = ascii_slug(company) + ".example"
            test = rng.random() < 0.05
            answers: dict[str, Any] = {
                "FIRST_NAME": first,
                "LAST_NAME": last,
                "EMAIL": f"{ascii_slug(first)}.{ascii_slug(last)}@{domain}",
                "COMPANY_NAME": company,
                "JOB_TITLE": rng.choices(titles, weights)[0],
                "COUNTRY": country.name,
                "teamSize": rng.choice(TEAM_SIZES),
            }
            if rng.random() < 0.7:
                answers["PHONE_NUMBER"] = f"+{country.calling_code} 555 {rng.randint(1000, 9999)}"
            account.add_response(
                rng.choice(forms),
                answers,
                rng.randint(start_ms, now_ms),
                test_lead=test,
                campaign_id=rng.choice((367_378_525, 367_378_530)),
                creative_id=rng.choice((241_257_736, 241_257_740, 241_257_744)),
            )
        return account

    @classmethod
    def from_people(
        cls,
        people: Sequence[Any],
        *,
        seed: int | str,
        now: datetime,
        companies: Mapping[int, Any],
        days: int = 30,
    ) -> LeadSyncAccount:
        """The two forms answered by these people (sandbox.world.Person: names, email, phone,
        company, title, country), each once, at a time in the `days` before `now` drawn from
        `seed`; about 1 in 20 a test lead, as in `generate`."""
        rng = Random(f"linkedin:{seed}:people")
        account, forms, start_ms, now_ms = cls._with_forms(seed, now, days)
        names = {c.code: c.name for c in COUNTRIES}
        for person in people:
            company = companies.get(person.company_id)
            answers: dict[str, Any] = {
                "FIRST_NAME": person.first_name,
                "LAST_NAME": person.last_name,
                "EMAIL": person.email,
                "COMPANY_NAME": getattr(company, "name", None),
                "JOB_TITLE": person.job_title,
                "COUNTRY": names.get(person.country, person.country),
                "teamSize": rng.choice(TEAM_SIZES),
            }
            if person.phone and rng.random() < 0.7:
                answers["PHONE_NUMBER"] = person.phone
            account.add_response(
                rng.choice(forms),
                {k: v for k, v in answers.items() if v},
                rng.randint(start_ms, now_ms),
                test_lead=rng.random() < 0.05,
                campaign_id=rng.choice((367_378_525, 367_378_530)),
                creative_id=rng.choice((241_257_736, 241_257_740, 241_257_744)),
            )
        return account


# --------------------------------------------------------------------------- daily limits


@dataclass
class DailyLimits:
    """Calls per UTC day, per application and per member (token; counted by `token_key`);
    refused calls don't count. The day's counts survive a restart over a state file, as
    LinkedIn's do; the limits themselves are settings."""

    app: int = DEFAULT_APP_DAILY_LIMIT
    member: int = DEFAULT_MEMBER_DAILY_LIMIT
    per_token: dict[str, int] = field(default_factory=dict)
    _day: date | None = None
    _app_calls: int = 0
    _member_calls: dict[str, int] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take(self, token: str, now: datetime) -> str | None:
        """Count one call; the scope refused (APPLICATION or MEMBER) or None."""
        with self._lock:
            if self._day != now.date():
                self._day, self._app_calls, self._member_calls = now.date(), 0, {}
            if self.app and self._app_calls >= self.app:
                return "APPLICATION"
            limit = self.per_token.get(token, self.member)
            member = token_key(token)
            if limit and self._member_calls.get(member, 0) >= limit:
                return "MEMBER"
            self._app_calls += 1
            self._member_calls[member] = self._member_calls.get(member, 0) + 1
            return None

    def usage(self) -> dict[str, Any]:
        with self._lock:
            day = None if self._day is None else self._day.isoformat()
            return {"day": day, "app": self._app_calls, "member": dict(self._member_calls)}

    def restore_usage(self, saved: Mapping[str, Any]) -> None:
        with self._lock:
            self._day = None if saved["day"] is None else date.fromisoformat(saved["day"])
            self._app_calls = int(saved["app"])
            self._member_calls = {str(k): int(n) for k, n in saved["member"].items()}


# --------------------------------------------------------------------------- the app


class LinkedInApp(VendorApp):
    vendor = "linkedin"

    def __init__(
        self, ctx: Context, account: LeadSyncAccount | Callable[[], LeadSyncAccount] | None = None
    ) -> None:
        super().__init__(ctx)
        make: Callable[[], LeadSyncAccount] = (
            account
            if callable(account)
            else lambda: LeadSyncAccount.generate(7, 60, ctx.clock.now())
        )
        # Made (or restored from the state file) on first use.
        self._account = Lazy(
            account if isinstance(account, LeadSyncAccount) else None,
            lambda: kept(ctx.store, self.vendor, ctx.clock.now_ms, make, LeadSyncAccount.restore),
        )
        self.limits = DailyLimits()
        kept_usage(
            ctx.store, self.vendor, ctx.clock.now_ms, self.limits.restore_usage, self.limits.usage
        )
        # Statuses the next requests fail with when served by `serving` (standalone tests); under
        # `Sandbox`, its own `inject_faults` does this.
        self.faults: list[int] = []
        # The LinkedIn-Version of the latest requests, newest last.
        self.seen_versions: deque[str | None] = deque(maxlen=1_000)

    @property
    def account(self) -> LeadSyncAccount:
        return self._account.get()

    def set_daily_limit(
        self, *, app: int | None = None, member: int | None = None, token: str | None = None
    ) -> None:
        """Change the daily limits (0: none). `member` with `token` sets that token's alone."""
        if app is not None:
            self.limits.app = app
        if member is not None:
            if token is None:
                self.limits.member = member
            else:
                self.limits.per_token[token] = member

    @property
    def token(self) -> str:
        return self.ctx.tokens.get("linkedin", DEFAULT_TOKEN)

    # ---------------------------------------------------------------- entry points

    def handle(self, req: Request) -> Response:
        try:
            return self._handle(req)
        except LinkedInError as exc:
            return exc.response()

    def _handle(self, req: Request) -> Response:
        if not req.path.startswith("/rest/"):
            raise LinkedInError(404, "Not Found", "NOT_FOUND")
        version = req.header("LinkedIn-Version")
        self.seen_versions.append(version)
        if not version:
            raise LinkedInError(
                400,
                "A version must be present. Please specify a version by adding the "
                "LinkedIn-Version header.",
                "VERSION_MISSING",
                headers={"X-Restli-Gateway-Error": "true"},
            )
        if not version_active(version.strip(), self.ctx.clock.now()):
            raise LinkedInError(
                426,
                f"Requested version {version_label(version.strip())} is not active",
                "NONEXISTENT_VERSION",
            )
        token = req.bearer_token()
        if token is None:
            raise LinkedInError(401, "Empty oauth2_access_token", service_code=401)
        if token != self.token:
            raise LinkedInError(
                401, "Invalid access token", "INVALID_ACCESS_TOKEN", service_code=65600
            )
        refused = self.limits.take(token, self.ctx.clock.now())
        if refused is not None:
            raise _throttled(refused)
        if req.header("X-Restli-Protocol-Version") != "2.0.0":
            raise _bad_request(
                "Rest.li 2.0 syntax requires the header X-Restli-Protocol-Version: 2.0.0"
            )
        if req.method != "GET":
            raise LinkedInError(405, f"Method {req.method} is not allowed", "METHOD_NOT_ALLOWED")
        parts = [unquote(p) for p in req.path.removeprefix("/rest/").split("/") if p]
        params = parse_query(req.raw_query)
        if parts == ["leadFormResponses"]:
            return self._find_responses(req, params)
        if parts == ["leadForms"]:
            return self._find_forms(req, params)
        if len(parts) == 2 and parts[0] == "leadFormResponses":
            found = self.account.response(parts[1])
            if found is None:
                raise LinkedInError(404, "Not Found", "NOT_FOUND")
            return Response(200, self._project(found, projection(params.get("fields"))))
        if len(parts) == 2 and parts[0] == "leadForms" and parts[1].isdigit():
            form = self.account.forms.get(int(parts[1]))
            if form is None:
                raise LinkedInError(404, "Not Found", "NOT_FOUND")
            return Response(200, form.as_json())
        raise LinkedInError(404, "Not Found", "NOT_FOUND")

    def fault(self, status: int, req: Request) -> Response:
        if status == 429:
            resp = _throttled("APPLICATION").response()
            resp.headers["Retry-After"] = "1"
            return resp
        if status == 401:
            return LinkedInError(
                401, "Invalid access token", "INVALID_ACCESS_TOKEN", service_code=65600
            ).response()
        if status == 403:
            return self._denied(req.path).response()
        if status == 404:
            return LinkedInError(404, "Not Found", "NOT_FOUND").response()
        if status < 500:
            return _bad_request("Invalid query parameters passed to request").response()
        messages = {
            500: ("INTERNAL_SERVER_ERROR", "Internal Server Error"),
            502: ("BAD_GATEWAY", "Bad Gateway"),
            503: ("SERVICE_UNAVAILABLE", "Service Unavailable"),
            504: ("GATEWAY_TIMEOUT", "Gateway Timeout"),
        }
        code, message = messages.get(status, ("INTERNAL_SERVER_ERROR", "Internal Server Error"))
        return LinkedInError(status, message, code).response()

    # ---------------------------------------------------------------- finders

    def _denied(self, path: str) -> LinkedInError:
        resource = path.removeprefix("/rest/").split("/")[0] or "resource"
        return LinkedInError(
            403,
            f"Not enough permissions to access: {resource}.FINDER-owner",
            "ACCESS_DENIED",
            service_code=100,
        )

    def _owner(self, req: Request, params: Mapping[str, str], resource: str) -> None:
        if params.get("q") != "owner":
            raise _bad_request(f"Invalid finder: {resource} supports q=owner")
        raw = params.get("owner")
        if raw is None:
            raise _bad_request("Missing required query parameter: owner")
        owner = _record(raw, "owner")
        account = owner.get("sponsoredAccount")
        match = _ACCOUNT.match(account) if isinstance(account, str) else None
        if match is None and "organization" not in owner:
            raise _bad_request("owner must be (sponsoredAccount:<urn>) or (organization:<urn>)")
        if match is None or match.group(1) != self.account.account_id:
            raise self._denied(req.path)

    def _find_forms(self, req: Request, params: Mapping[str, str]) -> Response:
        self._owner(req, params, "leadForms")
        start, count = _paging(params)
        with self.account._lock:
            forms = [f.as_json() for f in sorted(self.account.forms.values(), key=lambda f: f.id)]
        return Response(200, _page(req, params, forms, start, count))

    def _find_responses(self, req: Request, params: Mapping[str, str]) -> Response:
        self._owner(req, params, "leadFormResponses")
        raw_type = params.get("leadType")
        if raw_type is None:
            raise _bad_request("Missing required query parameter: leadType")
        lead_type = _record(raw_type, "leadType").get("leadType")
        if lead_type not in ("SPONSORED", "EVENT", "COMPANY", "ORGANIZATION_PRODUCT"):
            raise _bad_request(f"Invalid leadType: {lead_type}")
        form_urn: str | None = None
        if "versionedLeadGenFormUrn" in params:
            form_urn = _leaf(params["versionedLeadGenFormUrn"], "versionedLeadGenFormUrn")
            if _VERSIONED_FORM.match(form_urn) is None:
                raise _bad_request(f"Invalid versionedLeadGenFormUrn: {form_urn}")
        lo, hi = None, None
        if "submittedAtTimeRange" in params:
            window = _record(params["submittedAtTimeRange"], "submittedAtTimeRange")
            try:
                lo = int(window["start"]) if "start" in window else None
                hi = int(window["end"]) if "end" in window else None
            except (TypeError, ValueError):
                raise _bad_request(
                    "submittedAtTimeRange start and end are epoch milliseconds"
                ) from None
        only_test = False
        if "limitedToTestLeads" in params:
            flag = _leaf(params["limitedToTestLeads"], "limitedToTestLeads")
            if flag not in ("true", "false"):
                raise _bad_request("limitedToTestLeads must be true or false")
            only_test = flag == "true"
        start, count = _paging(params)
        fields = projection(params.get("fields"))
        with self.account._lock:
            rows = [
                r
                for r in self.account.responses
                if r["leadType"] == lead_type
                and (form_urn is None or r["versionedLeadGenFormUrn"] == form_urn)
                and (lo is None or r["submittedAt"] >= lo)
                and (hi is None or r["submittedAt"] <= hi)
                and (not only_test or r["testLead"])
            ]
            rows.sort(key=lambda r: (r["submittedAt"], r["id"]), reverse=True)
            elements = [self._project(r, fields) for r in rows]
        return Response(200, _page(req, params, elements, start, count))

    def _project(self, row: dict[str, Any], fields: set[str] | None) -> dict[str, Any]:
        out = copy.deepcopy(row)
        if fields is None:
            return out
        if "form" in fields:
            match = _VERSIONED_FORM.match(row["versionedLeadGenFormUrn"])
            form = self.account.forms.get(int(match.group(1))) if match else None
            if form is not None:
                whole = form.as_json()
                out["form"] = {k: whole[k] for k in ("id", "name", "content", "hiddenFields")}
        return {k: v for k, v in out.items() if k in fields}


# --------------------------------------------------------------------------- helpers


def _record(raw: str, name: str) -> dict[str, Any]:
    try:
        value = parse_restli(raw)
    except ValueError as exc:
        raise _bad_request(f"Invalid Rest.li 2.0 value for query parameter {name}: {exc}") from None
    if not isinstance(value, dict):
        raise _bad_request(f"Query parameter {name} must be a Rest.li record (key:value)")
    return value


def _leaf(raw: str, name: str) -> str:
    try:
        value = parse_restli(raw)
    except ValueError as exc:
        raise _bad_request(f"Invalid Rest.li 2.0 value for query parameter {name}: {exc}") from None
    if not isinstance(value, str):
        raise _bad_request(f"Query parameter {name} must be a single value")
    return value


def _paging(params: Mapping[str, str]) -> tuple[int, int]:
    try:
        start = int(params.get("start") or 0)
        count = int(params.get("count") or DEFAULT_COUNT)
    except ValueError:
        raise _bad_request("start and count must be integers") from None
    if start < 0 or count < 0:
        raise _bad_request("start and count must not be negative")
    return start, min(count, MAX_COUNT)


def _page(
    req: Request, params: Mapping[str, str], elements: list[dict[str, Any]], start: int, count: int
) -> dict[str, Any]:
    links = []
    if start > 0:
        links.append(_link(req, params, "prev", max(0, start - count), count))
    if start + count < len(elements):
        links.append(_link(req, params, "next", start + count, count))
    return {
        "paging": {"start": start, "count": count, "total": len(elements), "links": links},
        "elements": elements[start : start + count],
    }


def _link(
    req: Request, params: Mapping[str, str], rel: str, start: int, count: int
) -> dict[str, str]:
    kept = [f"{k}={v}" for k, v in params.items() if k not in ("start", "count")]
    query = "&".join([*kept, f"start={start}", f"count={count}"])
    return {"type": "application/json", "rel": rel, "href": f"{req.path}?{query}"}


# --------------------------------------------------------------------------- standalone serving


def standalone_context(token: str = DEFAULT_TOKEN, now: datetime | None = None) -> Context:
    """A Context for serving the linkedin app on its own (tests), outside `Sandbox`."""
    return standalone.context("linkedin", token, now)


serving = standalone.serving


def quote_urn(urn: str) -> str:
    """A URN as it goes inside a Rest.li 2.0 query value."""
    return quote(urn, safe="")


__all__ = [
    "DEFAULT_TOKEN",
    "SPONSORED_ACCOUNT_ID",
    "LeadSyncAccount",
    "LinkedInApp",
    "parse_restli",
    "quote_urn",
    "serving",
    "standalone_context",
    "version_active",
]
