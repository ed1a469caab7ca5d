"""The Google Ads API's lead form submissions (GoogleAdsService over REST) as the sandbox serves
them, over one in-memory advertiser account (kept in the sandbox's state file when it has one:
sandbox/store.py).

The account (customer 4075532581, time zone America/New_York, reachable directly or through its
manager account 5550001234) runs two lead form campaigns. Each lead form is an asset
(`customers/<id>/assets/<id>`); a person who clicks an ad and submits the form leaves one
`lead_form_submission_data` row: its answers by field type (`FULL_NAME`, `EMAIL`, `WORK_EMAIL`,
`PHONE_NUMBER`, ...), the answers to the form's own question, the campaign, ad group, ad and click
id, and when it was submitted, written in the account's time zone ("2026-05-01 09:30:55-04:00").

Served:

- `POST /<version>/customers/<customer_id>/googleAds:search`, body `{"query": "<GAQL>"}` with
  optional `pageToken`, `searchSettings: {"returnTotalResultsCount": true}` and `validateOnly`. The
  answer is proto3 JSON: `{"results": [<GoogleAdsRow>], "nextPageToken"?, "fieldMask",
  "totalResultsCount"?, "queryResourceConsumption"}`, camelCase keys, int64 values as strings,
  empty values left out (no `results` at all when nothing matched). A row holds one object per
  resource it selected from, each with its `resourceName`. Pages hold 10,000 rows, Google's fixed
  page size since v17 (`knobs.google_ads_page_size` lowers it for small worlds); `pageSize` in the
  body is 400 PAGE_SIZE_NOT_SUPPORTED. The result set is fixed when a query first runs: its page
  tokens read that snapshot for two hours (then EXPIRED_PAGE_TOKEN), with the very same query only
  (another query, or an unknown token: INVALID_PAGE_TOKEN).
- `POST .../googleAds:searchStream`: the same rows in one answer, a JSON array of batches
  `[{"results", "fieldMask", "requestId"}]`.

GAQL, the subset parsed: `SELECT <field>, ... FROM <resource> [WHERE <condition> [AND ...]]
[ORDER BY <field> [ASC|DESC], ...] [LIMIT <n>]`, keywords in any case, conditions `=`, `!=`, `>`,
`>=`, `<`, `<=`, `IN (...)`, `NOT IN (...)` and `BETWEEN <a> AND <b>`, values 'strings' or
"strings" and numbers. Resources: `lead_form_submission_data` (with the `customer`, `campaign`,
`ad_group` and `asset` fields of its attributed resources) and `customer`. Among the submission's
own fields only `id` and `submission_date_time` sort, as documented; the repeated answer fields
cannot be filtered; a sorted field must be selected. A `submission_date_time` value
'yyyy-MM-dd HH:mm:ss' is read in the account's time zone ('yyyy-MM-dd' is midnight there; an
explicit '+hh:mm' offset is honoured) and compared as an instant. What the parser does not
understand is a 400 with the GoogleAdsFailure `queryError` Google names for it (UNRECOGNIZED_FIELD,
EXPECTED_FROM, PROHIBITED_FIELD_IN_ORDER_BY_CLAUSE, ...). Valid GAQL the sandbox does not implement
(LIKE, CONTAINS, REGEXP_MATCH, DURING, IS NULL, PARAMETERS, fields of other resources) is a 400
QUERY_ERROR or UNRECOGNIZED_FIELD that says so: there the sandbox and Google differ.

- `POST /token`: Google's OAuth 2.0 token endpoint (oauth2.googleapis.com/token, another host at
  Google; here on this server), the refresh-token grant only: a form body with `grant_type=
  refresh_token`, `refresh_token`, `client_id`, `client_secret` (or the client as HTTP Basic auth)
  and the fixed credentials of sandbox/oauth.py answer `{"access_token": "ya29.<random>",
  "expires_in": 3599, "scope": "https://www.googleapis.com/auth/adwords", "token_type": "Bearer"}`.
  Refusals as Google words them: 401 `invalid_client` ("The OAuth client was not found." for an
  unknown client id, "Unauthorized" for a wrong secret), 400 `invalid_grant` ("Bad Request" for a
  refresh token Google never issued, "Token has been expired or revoked." for a revoked one), 400
  `invalid_request` (no refresh_token), 400 `unsupported_grant_type`. `oauth` (a TokenIssuer)
  revokes tokens for tests.

Headers: `Authorization: Bearer <token>`: the fixed token (`sandbox-google_ads-token`) or an access
token `/token` issued within the last 3,599 s of the sandbox clock. `developer-token` is accepted and
ignored, as Google has
done since it sunset developer tokens on 9 September 2026 (API access now belongs to the Cloud
project of the OAuth client). `login-customer-id`: the manager account a call goes through; it
must be 5550001234 when sent, and is required when `account.direct_access` is off (the token's
user then reaches the client account only through its manager).

Errors, `{"error": {"code", "message", "status", "details": [{"@type":
"type.googleapis.com/google.ads.googleads.<version>.errors.GoogleAdsFailure", "errors":
[{"errorCode": {"<kind>Error": "<CODE>"}, "message"[, "details"]}], "requestId"}]}}`:
- no bearer token: 401 UNAUTHENTICATED without a GoogleAdsFailure (Google's front end answers it);
  a wrong one: 401 authenticationError OAUTH_TOKEN_INVALID; an issued one past its 3,599 s:
  OAUTH_TOKEN_EXPIRED; a revoked one: OAUTH_TOKEN_REVOKED (each under the front end's "Request had
  invalid authentication credentials");
- a customer id that is not ten digits: 400 requestError INVALID_CUSTOMER_ID; a customer the
  caller cannot reach: 403 PERMISSION_DENIED authorizationError USER_PERMISSION_DENIED;
- a sunset version (on the sandbox clock): 400 requestError UNSUPPORTED_VERSION; another path or
  method: 404 NOT_FOUND; a body that is not a JSON object with a query: 400 INVALID_ARGUMENT;
- daily operations, 15,000 by default (Basic access; `set_daily_operations`, 0 switches the limit
  off), counted per token (the tokens `/token` issues count together, as Google counts a Cloud
  project's) over a sliding 24 hours on the sandbox clock, one per query however many
  pages it has (a request with a page token is free), refused requests not counted: 429
  RESOURCE_EXHAUSTED with quotaError RESOURCE_EXHAUSTED and `details.quotaErrorDetails` {rateScope
  DEVELOPER, rateName, retryDelay "<seconds>s": until the window has room}, without Retry-After,
  as Google sends it.

Injected faults (`fault`): 429 is quotaError RESOURCE_TEMPORARILY_EXHAUSTED with retryDelay "1s"
and Retry-After: 1 (the sandbox's shared chaos contract; Google itself puts the delay in the body
only); 401, 403 as above; 5xx Google's INTERNAL / UNAVAILABLE / DEADLINE_EXCEEDED bodies.

The same account sends its leads by the lead form webhook: `webhook_body` is the WebhookLead JSON
Google would POST for a submission, with the submission's id as `lead_id`. Google does not
document that the two ids are one; the sandbox makes them one (connectors/google_ads/README.md).

Docs: https://developers.google.com/google-ads/api/rest/common/search,
https://developers.google.com/google-ads/api/docs/reporting/paging,
https://developers.google.com/google-ads/api/docs/reporting/streaming,
https://developers.google.com/google-ads/api/docs/query/grammar,
https://developers.google.com/google-ads/api/fields/v26/lead_form_submission_data,
https://developers.google.com/google-ads/api/reference/rpc/v26/LeadFormSubmissionData,
https://developers.google.com/google-ads/api/reference/rpc/v26/QueryErrorEnum.QueryError,
https://developers.google.com/google-ads/api/reference/rpc/v26/QuotaErrorDetails,
https://developers.google.com/google-ads/api/docs/api-policy/developer-token,
https://developers.google.com/google-ads/api/docs/api-policy/access-levels,
https://developers.google.com/google-ads/api/docs/api-policy/rate-sheet,
https://developers.google.com/google-ads/api/docs/sunset-dates,
https://developers.google.com/google-ads/webhook/docs/implementation,
https://developers.google.com/identity/protocols/oauth2/web-server#offline,
https://developers.google.com/google-ads/api/reference/rpc/v26/AuthenticationErrorEnum.AuthenticationError
"""

from __future__ import annotations

import copy
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from random import Random
from typing import Any
from zoneinfo import ZoneInfo

from sandbox import standalone
from sandbox.clock import from_ms, to_ms
from sandbox.oauth import GOOGLE_ADS_CLIENT, GrantRefusal, TokenIssuer
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
from sandbox.world import (
    COUNTRIES,
    FIRST_NAMES,
    JOB_TITLES,
    LAST_NAMES,
    ascii_slug,
    email_variant,
    name_variant,
)

DEFAULT_TOKEN = "sandbox-google_ads-token"
CUSTOMER_ID = "4075532581"
MANAGER_ID = "5550001234"
TIME_ZONE = "America/New_York"
PAGE_ROWS = 10_000  # Google's fixed page size (page_size was removed in v17)
PAGE_TOKEN_TTL_MS = 2 * 3_600_000  # "about two hours" unused
DEFAULT_DAILY_OPERATIONS = 15_000  # Basic access: test and production accounts
DAY_MS = 86_400_000
LATEST = "v26"

# The versions the sandbox knows, with the day each is sunset: published dates up to v22, the
# months of Google's 2026 schedule after it (the first of the month stands in for the day).
# A version released after the sandbox's clock is still served, so a pinned version keeps working
# in a test whose clock is set in the past.
SUNSETS: dict[str, date] = {
    "v19": date(2026, 2, 11),
    "v20": date(2026, 6, 10),
    "v21": date(2026, 8, 5),
    "v22": date(2026, 10, 7),
    "v23": date(2027, 2, 1),
    "v24": date(2027, 5, 1),
    "v25": date(2027, 8, 1),
    "v26": date(2027, 11, 1),
}

_PATH = re.compile(r"^/(v\d+)/customers/([^/]+)/googleAds:(search|searchStream)$")
_LEAD_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# The human names the webhook gives standard columns (`column_name`); GAQL has only the type.
COLUMN_NAMES: dict[str, str] = {
    "FULL_NAME": "Full Name",
    "FIRST_NAME": "First Name",
    "LAST_NAME": "Last Name",
    "EMAIL": "User Email",
    "WORK_EMAIL": "Work Email",
    "PHONE_NUMBER": "User Phone",
    "WORK_PHONE": "Work Phone",
    "COMPANY_NAME": "Company Name",
    "JOB_TITLE": "Job Title",
    "COUNTRY": "Country",
    "CITY": "City",
    "POSTAL_CODE": "Postal Code",
}


# --------------------------------------------------------------------------- the account


@dataclass(frozen=True)
class AdGroup:
    id: int
    name: str
    ad_ids: tuple[int, ...]


@dataclass(frozen=True)
class LeadForm:
    """A lead form asset and the one campaign it is attached to (Google attaches forms at the
    campaign level)."""

    asset_id: int
    name: str
    campaign_id: int
    campaign_name: str
    ad_groups: tuple[AdGroup, ...]
    field_types: tuple[str, ...]
    question: str
    answers: tuple[str, ...]


DEMO = LeadForm(
    61_200_345_601,
    "Quillstone - Request a demo",
    21_456_789_012,
    "Lead gen - Demo (Search)",
    (
        AdGroup(158_765_432_109, "Demo - Brand", (701_234_567_890, 701_234_567_891)),
        AdGroup(158_765_432_110, "Demo - Competitors", (701_234_567_892,)),
    ),
    ("FULL_NAME", "EMAIL", "PHONE_NUMBER", "COMPANY_NAME", "JOB_TITLE", "COUNTRY"),
    "How many people are on your team?",
    ("1-10", "11-50", "51-200", "201-1000", "1000+"),
)
PRICING = LeadForm(
    61_200_345_602,
    "Quillstone - Pricing guide",
    21_456_789_013,
    "Lead gen - Pricing (Display)",
    (AdGroup(158_765_432_111, "Pricing - In-market", (701_234_567_893, 701_234_567_894)),),
    ("FIRST_NAME", "LAST_NAME", "WORK_EMAIL", "WORK_PHONE", "COMPANY_NAME", "POSTAL_CODE"),
    "When do you plan to buy?",
    ("This quarter", "Next quarter", "Just researching"),
)
FORMS = (DEMO, PRICING)


@dataclass
class Submission:
    """One lead form submission, as Google keeps it."""

    id: str
    form: LeadForm
    ad_group_id: int
    ad_id: int
    submitted_ms: int
    fields: tuple[tuple[str, str], ...]  # (field type, value)
    custom: tuple[tuple[str, str], ...] = ()  # (question text, value)
    gclid: str | None = None


class GoogleAdsAccount:
    """The advertiser account: its forms, campaigns and the submissions Google keeps for them.

    With a state file (`persist_to`), every submission is written there as it arrives (under its
    place in `submissions`, with the id generator's state); `direct_access` is a test setting
    and lives in memory only."""

    def __init__(
        self,
        *,
        customer_id: str = CUSTOMER_ID,
        manager_id: str = MANAGER_ID,
        time_zone: str = TIME_ZONE,
        name: str = "Quillstone Ads",
        currency: str = "USD",
        seed: int | str = 0,
    ) -> None:
        self.customer_id = customer_id
        self.manager_id = manager_id
        self.time_zone = time_zone
        self.zone = ZoneInfo(time_zone)
        self.name = name
        self.currency = currency
        self.forms: dict[int, LeadForm] = {form.asset_id: form for form in FORMS}
        self.submissions: list[Submission] = []
        # False: the token's user reaches this account only through its manager account, so a
        # call must name it in `login-customer-id`.
        self.direct_access = True
        self._rng = Random(f"google_ads:{seed}:ids")
        self._lock = threading.Lock()
        self._sink: VendorState | None = None

    # ---------------------------------------------------------------- the state file

    def _state(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "manager_id": self.manager_id,
            "time_zone": self.time_zone,
            "name": self.name,
            "currency": self.currency,
            "rng": rng_state(self._rng),
        }

    @staticmethod
    def _row(index: int, sub: Submission) -> Change:
        data = {
            "id": sub.id,
            "form": sub.form.asset_id,
            "ad_group_id": sub.ad_group_id,
            "ad_id": sub.ad_id,
            "submitted_ms": sub.submitted_ms,
            "fields": sub.fields,
            "custom": sub.custom,
            "gclid": sub.gclid,
        }
        return ("submission", f"{index:09d}", data)

    def state_rows(self) -> list[Change]:
        """Every submission, and the account's settings and id generator."""
        with self._lock:
            rows = [self._row(i, sub) for i, sub in enumerate(self.submissions)]
            rows.append(("state", "account", self._state()))
            return rows

    def persist_to(self, sink: VendorState) -> None:
        """Write every submission from now on to `sink`."""
        self._sink = sink

    @classmethod
    def restore(cls, rows: Mapping[str, dict[str, Any]]) -> GoogleAdsAccount:
        """The account as the state file kept it."""
        state = rows["state"]["account"]
        account = cls(
            customer_id=str(state["customer_id"]),
            manager_id=str(state["manager_id"]),
            time_zone=str(state["time_zone"]),
            name=str(state["name"]),
            currency=str(state["currency"]),
        )
        set_rng_state(account._rng, state["rng"])
        account.submissions = [
            Submission(
                id=str(data["id"]),
                form=account.forms[int(data["form"])],
                ad_group_id=int(data["ad_group_id"]),
                ad_id=int(data["ad_id"]),
                submitted_ms=int(data["submitted_ms"]),
                fields=tuple((str(t), str(v)) for t, v in data["fields"]),
                custom=tuple((str(q), str(v)) for q, v in data["custom"]),
                gclid=data["gclid"],
            )
            for data in rows.get("submission", {}).values()
        ]
        return account

    def local_time(self, ms: int) -> str:
        """`submission_date_time` as Google writes it: the account's wall time and its offset."""
        local = from_ms(ms).astimezone(self.zone)
        stamp = local.strftime("%Y-%m-%d %H:%M:%S%z")
        return f"{stamp[:-2]}:{stamp[-2:]}"

    def new_lead_id(self) -> str:
        return "".join(self._rng.choice(_LEAD_ID_CHARS) for _ in range(28))

    def add_submission(
        self,
        form: LeadForm | int,
        answers: Mapping[str, str],
        submitted: datetime | int,
        *,
        custom: Mapping[str, str] | None = None,
        gclid: str | None = None,
        lead_id: str | None = None,
        ad_group_id: int | None = None,
    ) -> str:
        """A person submits `form` (or its asset id): `answers` by field type, `custom` by
        question text. Returns the submission's id."""
        with self._lock:
            chosen = self.forms[form] if isinstance(form, int) else form
            group = next((g for g in chosen.ad_groups if g.id == ad_group_id), chosen.ad_groups[0])
            ms = submitted if isinstance(submitted, int) else to_ms(submitted)
            ms -= ms % 1000  # Google shows (and filters) submission times to the second
            key = lead_id or self.new_lead_id()
            self.submissions.append(
                Submission(
                    id=key,
                    form=chosen,
                    ad_group_id=group.id,
                    ad_id=group.ad_ids[self._rng.randrange(len(group.ad_ids))],
                    submitted_ms=ms,
                    fields=tuple((t, v) for t, v in answers.items() if v),
                    custom=tuple((q, v) for q, v in (custom or {}).items() if v),
                    gclid=gclid,
                )
            )
            if self._sink is not None:  # with the lock held: the file sees memory's order
                index = len(self.submissions) - 1
                self._sink.write(
                    [self._row(index, self.submissions[index]), ("state", "account", self._state())]
                )
            return key

    def submission(self, lead_id: str) -> Submission | None:
        with self._lock:
            return next((s for s in self.submissions if s.id == lead_id), None)

    def snapshot(self) -> list[Submission]:
        with self._lock:
            return list(self.submissions)

    def webhook_body(self, lead_id: str, google_key: str) -> dict[str, Any]:
        """The WebhookLead JSON Google would POST to the form's webhook for this submission."""
        found = self.submission(lead_id)
        if found is None:
            raise KeyError(lead_id)
        columns = [
            {"column_name": COLUMN_NAMES.get(kind, kind.title()), "string_value": value,
             "column_id": kind}
            for kind, value in found.fields
        ]  # fmt: skip
        columns += [{"column_name": q, "string_value": value} for q, value in found.custom]
        body: dict[str, Any] = {
            "lead_id": found.id,
            "user_column_data": columns,
            "api_version": "1.0",
            "form_id": found.form.asset_id,
            "campaign_id": found.form.campaign_id,
            "adgroup_id": found.ad_group_id,
            "creative_id": found.ad_id,
            "google_key": google_key,
            "is_test": False,
            "lead_submit_time": from_ms(found.submitted_ms).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if found.gclid:
            body["gcl_id"] = found.gclid
        return body

    # ---------------------------------------------------------------- generation

    def _gclid(self, rng: Random) -> str | None:
        # A lead from a click carries its click id; some placements pass none.
        if rng.random() < 0.1:
            return None
        return "Cj0KCQ" + "".join(rng.choice(_LEAD_ID_CHARS) for _ in range(60))

    @classmethod
    def generate(cls, seed: int | str, n: int, now: datetime, days: int = 30) -> GoogleAdsAccount:
        """`n` submissions of invented people over the `days` before `now`, from
        `random.Random(f"google_ads:{seed}")`: the same seed and `now` make the same account."""
        rng = Random(f"google_ads:{seed}")
        account = cls(seed=seed)
        now_ms = to_ms(now)
        titles = [t for t, _ in JOB_TITLES]
        weights = [w for _, w in JOB_TITLES]
        for _ in range(n):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            country = rng.choice(COUNTRIES)
            company = f"{rng.choice(LAST_NAMES)} {rng.choice(('Labs', 'GmbH', 'Inc', 'Ltd'))}"
            email = f"{ascii_slug(first)}.{ascii_slug(last)}@{ascii_slug(company)}.example"
            phone = f"+{country.calling_code}555{rng.randint(100000, 999999)}"
            account._submit(
                rng,
                rng.choice(FORMS),
                first=first,
                last=last,
                email=email,
                phone=phone if rng.random() < 0.7 else None,
                company=company,
                title=rng.choices(titles, weights)[0],
                country=country.name,
                when=rng.randint(now_ms - days * DAY_MS, now_ms),
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
    ) -> GoogleAdsAccount:
        """One submission per person (sandbox.world.Person) at a time in the `days` before `now`,
        to one of the two forms, as people fill them: Google prefills from the person's Google
        account, so the values are the person's own, with the small slips of typing (a name's
        case, an email's capitals); the demo form asks a full name, the pricing form a first and
        last name and a work email; a phone about two times in three."""
        rng = Random(f"google_ads:{seed}:people")
        account = cls(seed=seed)
        now_ms = to_ms(now)
        names = {c.code: c.name for c in COUNTRIES}
        for person in people:
            company = companies.get(person.company_id)
            account._submit(
                rng,
                rng.choice(FORMS),
                first=name_variant(person.first_name, rng, 0.03),
                last=name_variant(person.last_name, rng, 0.03),
                email=email_variant(person.email, rng, spaces=False),
                phone=person.phone if person.phone and rng.random() < 0.65 else None,
                company=getattr(company, "name", None),
                title=person.job_title,
                country=names.get(person.country, person.country),
                when=rng.randint(now_ms - days * DAY_MS, now_ms),
            )
        return account

    def _submit(
        self,
        rng: Random,
        form: LeadForm,
        *,
        first: str,
        last: str,
        email: str,
        phone: str | None,
        company: str | None,
        title: str,
        country: str,
        when: int,
    ) -> None:
        if form is DEMO:
            answers = {
                "FULL_NAME": f"{first} {last}",
                "EMAIL": email,
                "PHONE_NUMBER": phone or "",
                "COMPANY_NAME": company or "",
                "JOB_TITLE": title,
                "COUNTRY": country,
            }
        else:
            answers = {
                "FIRST_NAME": first,
                "LAST_NAME": last,
                "WORK_EMAIL": email,
                "WORK_PHONE": phone or "",
                "COMPANY_NAME": company or "",
                "POSTAL_CODE": f"{rng.randint(1000, 99999):05d}",
            }
        group = rng.choice(form.ad_groups)
        self.add_submission(
            form,
            answers,
            when,
            custom={form.question: rng.choice(form.answers)},
            gclid=self._gclid(rng),
            ad_group_id=group.id,
        )


# --------------------------------------------------------------------------- GAQL


class QueryError(Exception):
    """A query Google (or the sandbox) refuses: a QueryError code and Google's kind of message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


Row = tuple[GoogleAdsAccount, Submission | None]


@dataclass(frozen=True)
class Field:
    """A GAQL field: its data type, what it may be used for, and how a row yields its value."""

    name: str
    kind: str  # STRING, RESOURCE_NAME, INT64, DATE_TIME, MESSAGE (repeated)
    get: Callable[[GoogleAdsAccount, Submission | None], Any]
    filterable: bool = True
    sortable: bool = True

    @property
    def resource(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.name.split(".", 1)[1]


def _sub(get: Callable[[GoogleAdsAccount, Submission], Any]) -> Callable[..., Any]:
    def value(account: GoogleAdsAccount, sub: Submission | None) -> Any:
        return None if sub is None else get(account, sub)

    return value


def _rn(account: GoogleAdsAccount, kind: str, key: object) -> str:
    return f"customers/{account.customer_id}/{kind}/{key}"


def _group_name(sub: Submission) -> str:
    return next((g.name for g in sub.form.ad_groups if g.id == sub.ad_group_id), "")


LFSD = "lead_form_submission_data"
FIELDS: dict[str, Field] = {
    f.name: f
    for f in (
        Field(f"{LFSD}.resource_name", "RESOURCE_NAME", _sub(lambda a, s: _rn(a, "leadFormSubmissionData", s.id)), sortable=False),
        Field(f"{LFSD}.id", "STRING", _sub(lambda a, s: s.id)),
        Field(f"{LFSD}.asset", "RESOURCE_NAME", _sub(lambda a, s: _rn(a, "assets", s.form.asset_id)), sortable=False),
        Field(f"{LFSD}.campaign", "RESOURCE_NAME", _sub(lambda a, s: _rn(a, "campaigns", s.form.campaign_id)), sortable=False),
        Field(f"{LFSD}.ad_group", "RESOURCE_NAME", _sub(lambda a, s: _rn(a, "adGroups", s.ad_group_id)), sortable=False),
        Field(f"{LFSD}.ad_group_ad", "RESOURCE_NAME", _sub(lambda a, s: _rn(a, "adGroupAds", f"{s.ad_group_id}~{s.ad_id}")), sortable=False),
        Field(f"{LFSD}.gclid", "STRING", _sub(lambda a, s: s.gclid or ""), sortable=False),
        Field(f"{LFSD}.submission_date_time", "DATE_TIME", _sub(lambda a, s: s.submitted_ms)),
        Field(f"{LFSD}.lead_form_submission_fields", "MESSAGE", _sub(lambda a, s: [{"fieldType": t, "fieldValue": v} for t, v in s.fields]), filterable=False, sortable=False),
        Field(f"{LFSD}.custom_lead_form_submission_fields", "MESSAGE", _sub(lambda a, s: [{"questionText": q, "fieldValue": v} for q, v in s.custom]), filterable=False, sortable=False),
        Field("customer.resource_name", "RESOURCE_NAME", lambda a, s: f"customers/{a.customer_id}"),
        Field("customer.id", "INT64", lambda a, s: int(a.customer_id)),
        Field("customer.descriptive_name", "STRING", lambda a, s: a.name),
        Field("customer.time_zone", "STRING", lambda a, s: a.time_zone),
        Field("customer.currency_code", "STRING", lambda a, s: a.currency),
        Field("campaign.resource_name", "RESOURCE_NAME", _sub(lambda a, s: _rn(a, "campaigns", s.form.campaign_id))),
        Field("campaign.id", "INT64", _sub(lambda a, s: s.form.campaign_id)),
        Field("campaign.name", "STRING", _sub(lambda a, s: s.form.campaign_name)),
        Field("ad_group.resource_name", "RESOURCE_NAME", _sub(lambda a, s: _rn(a, "adGroups", s.ad_group_id))),
        Field("ad_group.id", "INT64", _sub(lambda a, s: s.ad_group_id)),
        Field("ad_group.name", "STRING", _sub(lambda a, s: _group_name(s))),
        Field("asset.resource_name", "RESOURCE_NAME", _sub(lambda a, s: _rn(a, "assets", s.form.asset_id))),
        Field("asset.id", "INT64", _sub(lambda a, s: s.form.asset_id)),
        Field("asset.name", "STRING", _sub(lambda a, s: s.form.name)),
    )
}  # fmt: skip
# FROM resource -> the resources whose fields it may select.
RESOURCES: dict[str, tuple[str, ...]] = {
    LFSD: (LFSD, "customer", "campaign", "ad_group", "asset"),
    "customer": ("customer",),
}
KEYWORDS = frozenset(
    [
        "SELECT",
        "FROM",
        "WHERE",
        "AND",
        "ORDER",
        "BY",
        "ASC",
        "DESC",
        "LIMIT",
        "IN",
        "NOT",
        "BETWEEN",
        "LIKE",
        "CONTAINS",
        "REGEXP_MATCH",
        "DURING",
        "IS",
        "NULL",
        "PARAMETERS",
    ]
)
UNIMPLEMENTED_OPERATORS = frozenset({"LIKE", "CONTAINS", "REGEXP_MATCH", "DURING", "IS"})
COMPARISONS = ("=", "!=", ">=", "<=", ">", "<")


@dataclass(frozen=True)
class Token:
    kind: str  # WORD, STRING, NUMBER, OP, COMMA, LPAREN, RPAREN
    text: str
    value: Any = None

    def keyword(self) -> str | None:
        upper = self.text.upper()
        return upper if self.kind == "WORD" and upper in KEYWORDS else None


def tokenize(query: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(query):
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "'\"":
            j, out = i + 1, []
            while True:
                if j >= len(query):
                    raise QueryError("STRING_NOT_TERMINATED", f"Unterminated string at {i}.")
                if query[j] == "\\" and j + 1 < len(query):
                    out.append(query[j + 1])
                    j += 2
                    continue
                if query[j] == ch:
                    break
                if query[j] == "\n":
                    raise QueryError(
                        "PROHIBITED_NEWLINE_IN_STRING", f"String at {i} contains a newline."
                    )
                out.append(query[j])
                j += 1
            tokens.append(Token("STRING", query[i : j + 1], "".join(out)))
            i = j + 1
        elif ch.isdigit() or (ch == "-" and query[i + 1 : i + 2].isdigit()):
            match = re.match(r"-?\d+(\.\d+)?", query[i:])
            assert match is not None
            text = match.group(0)
            tokens.append(Token("NUMBER", text, float(text) if "." in text else int(text)))
            i += len(text)
        elif ch.isascii() and (ch.isalpha() or ch == "_"):
            match = re.match(r"[A-Za-z_][A-Za-z0-9_.]*", query[i:])
            assert match is not None
            tokens.append(Token("WORD", match.group(0)))
            i += len(match.group(0))
        elif query.startswith(("!=", ">=", "<="), i):
            tokens.append(Token("OP", query[i : i + 2]))
            i += 2
        elif ch in "=<>":
            tokens.append(Token("OP", ch))
            i += 1
        elif ch in ",()":
            tokens.append(Token({",": "COMMA", "(": "LPAREN", ")": "RPAREN"}[ch], ch))
            i += 1
        elif not ch.isascii():
            raise QueryError("BAD_SYMBOL", f"Error in query: unexpected symbol at {i}.")
        else:
            raise QueryError("UNEXPECTED_INPUT", f"Error in query: unexpected input {ch}.")
    return tokens


@dataclass(frozen=True)
class Condition:
    field: Field
    operator: str  # =, !=, >, >=, <, <=, IN, NOT IN, BETWEEN
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Query:
    text: str
    resource: str
    fields: tuple[Field, ...]
    conditions: tuple[Condition, ...]
    ordering: tuple[tuple[Field, bool], ...]  # (field, descending)
    limit: int | None

    @property
    def field_mask(self) -> str:
        return ",".join(f"{camel(f.resource)}.{camel(f.attribute)}" for f in self.fields)


def camel(snake: str) -> str:
    head, *rest = snake.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class _Parser:
    def __init__(self, text: str, account: GoogleAdsAccount) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0
        self.account = account

    def peek(self) -> Token | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> Token:
        token = self.peek()
        if token is None:
            raise QueryError("UNEXPECTED_END_OF_QUERY", "Error in query: unexpected end of query.")
        self.i += 1
        return token

    def at(self, *keywords: str) -> bool:
        token = self.peek()
        return token is not None and token.keyword() in keywords

    def field_name(self) -> str:
        token = self.take()
        if token.kind != "WORD" or token.keyword() is not None:
            raise QueryError("UNEXPECTED_INPUT", f"Error in query: unexpected input {token.text}.")
        return token.text

    def parse(self) -> Query:
        if not self.at("SELECT"):
            raise QueryError("EXPECTED_SELECT", "Error in query: expected SELECT.")
        self.take()
        names = [self.field_name()]
        while self.peek() is not None and self.peek().kind == "COMMA":  # type: ignore[union-attr]
            self.take()
            names.append(self.field_name())
        if not self.at("FROM"):
            if self.peek() is None:
                raise QueryError("EXPECTED_FROM", "Error in query: expected FROM.")
            raise QueryError(
                "UNEXPECTED_INPUT", f"Error in query: unexpected input {self.take().text}."
            )
        self.take()
        resource = self.take()
        if resource.kind != "WORD" or resource.text not in RESOURCES:
            raise QueryError(
                "BAD_RESOURCE_TYPE_IN_FROM_CLAUSE",
                f"Invalid resource type in FROM clause: '{resource.text}'.",
            )
        fields = tuple(self.resolve(name, resource.text, "SELECT") for name in names)
        conditions: list[Condition] = []
        if self.at("WHERE"):
            self.take()
            conditions.append(self.condition(resource.text))
            while self.at("AND"):
                self.take()
                conditions.append(self.condition(resource.text))
        ordering: list[tuple[Field, bool]] = []
        if self.at("ORDER"):
            self.take()
            if not self.at("BY"):
                raise QueryError("EXPECTED_BY", "Error in query: expected BY after ORDER.")
            self.take()
            ordering.append(self.ordering(resource.text, fields))
            while self.peek() is not None and self.peek().kind == "COMMA":  # type: ignore[union-attr]
                self.take()
                ordering.append(self.ordering(resource.text, fields))
        limit = None
        if self.at("LIMIT"):
            self.take()
            token = self.take()
            if token.kind != "NUMBER" or not isinstance(token.value, int):
                raise QueryError("BAD_LIMIT_VALUE", f"Invalid LIMIT value: {token.text}.")
            if token.value < 1:
                raise QueryError("LIMIT_VALUE_TOO_LOW", f"LIMIT value too low: {token.text}.")
            limit = token.value
        if self.at("PARAMETERS"):
            raise QueryError("QUERY_ERROR", "The sandbox does not implement the PARAMETERS clause.")
        if self.peek() is not None:
            raise QueryError(
                "UNEXPECTED_INPUT", f"Error in query: unexpected input {self.take().text}."
            )
        return Query(self.text, resource.text, fields, tuple(conditions), tuple(ordering), limit)

    def resolve(self, name: str, resource: str, clause: str) -> Field:
        found = FIELDS.get(name)
        if found is None:
            raise QueryError("UNRECOGNIZED_FIELD", f"Unrecognized field in the query: '{name}'.")
        if found.resource not in RESOURCES[resource]:
            raise QueryError(
                f"PROHIBITED_RESOURCE_TYPE_IN_{clause}_CLAUSE",
                f"'{name}' cannot be used in the {clause} clause of a query FROM {resource}.",
            )
        return found

    def ordering(self, resource: str, selected: tuple[Field, ...]) -> tuple[Field, bool]:
        chosen = self.resolve(self.field_name(), resource, "SELECT")
        if not chosen.sortable:
            raise QueryError(
                "PROHIBITED_FIELD_IN_ORDER_BY_CLAUSE",
                f"The following field cannot be used in ORDER BY: '{chosen.name}'.",
            )
        if chosen not in selected:
            raise QueryError(
                "EXPECTED_REFERENCED_FIELD_IN_SELECT_CLAUSE",
                f"The field used in ORDER BY must be selected: '{chosen.name}'.",
            )
        descending = False
        if self.at("ASC", "DESC"):
            descending = self.take().keyword() == "DESC"
        return chosen, descending

    def condition(self, resource: str) -> Condition:
        chosen = self.resolve(self.field_name(), resource, "WHERE")
        if not chosen.filterable:
            raise QueryError(
                "PROHIBITED_FIELD_IN_WHERE_CLAUSE",
                f"The following field cannot be used in WHERE: '{chosen.name}'.",
            )
        token = self.take()
        word = token.keyword()
        if word in UNIMPLEMENTED_OPERATORS:
            raise QueryError("QUERY_ERROR", f"The sandbox does not implement the {word} operator.")
        if word == "BETWEEN":
            low = self.take()
            if not self.at("AND"):
                raise QueryError("EXPECTED_AND", "Error in query: expected AND after BETWEEN.")
            self.take()
            high = self.take()
            values = (self.value(chosen, low, between=True), self.value(chosen, high, between=True))
            return Condition(chosen, "BETWEEN", values)
        if word in ("IN", "NOT"):
            operator = "IN"
            if word == "NOT":
                if not self.at("IN"):
                    raise QueryError("BAD_OPERATOR", "Error in query: expected IN after NOT.")
                self.take()
                operator = "NOT IN"
            if self.peek() is None or self.take().kind != "LPAREN":
                raise QueryError(
                    "EXPECTED_LIST", f"The {operator} operator needs a list of values."
                )
            if self.peek() is not None and self.peek().kind == "RPAREN":  # type: ignore[union-attr]
                raise QueryError(
                    "PROHIBITED_EMPTY_LIST_IN_CONDITION", "A condition has an empty list."
                )
            items = [self.value(chosen, self.take())]
            while True:
                token = self.take()
                if token.kind == "RPAREN":
                    break
                if token.kind != "COMMA":
                    raise QueryError(
                        "UNEXPECTED_INPUT", f"Error in query: unexpected input {token.text}."
                    )
                items.append(self.value(chosen, self.take()))
            self.check_operator(chosen, operator)
            return Condition(chosen, operator, tuple(items))
        if token.kind != "OP" or token.text not in COMPARISONS:
            raise QueryError("BAD_OPERATOR", f"Invalid operator: {token.text}.")
        self.check_operator(chosen, token.text)
        if self.peek() is not None and self.peek().kind == "LPAREN":  # type: ignore[union-attr]
            raise QueryError("EXPECTED_SINGLE_VALUE", f"The {token.text} operator takes one value.")
        return Condition(chosen, token.text, (self.value(chosen, self.take()),))

    @staticmethod
    def check_operator(chosen: Field, operator: str) -> None:
        if chosen.kind in ("STRING", "RESOURCE_NAME") and operator not in (
            "=",
            "!=",
            "IN",
            "NOT IN",
        ):
            raise QueryError(
                "OPERATOR_FIELD_MISMATCH",
                f"The operator {operator} cannot be used with the field '{chosen.name}'.",
            )

    def value(self, chosen: Field, token: Token, *, between: bool = False) -> Any:
        if chosen.kind in ("STRING", "RESOURCE_NAME"):
            if token.kind != "STRING":
                raise QueryError(
                    "INVALID_STRING_VALUE",
                    f"The value of '{chosen.name}' must be a string, not {token.text}.",
                )
            return token.value
        if chosen.kind == "INT64":
            if token.kind == "NUMBER" and isinstance(token.value, int):
                return token.value
            raise QueryError("BAD_VALUE", f"Invalid value for '{chosen.name}': {token.text}.")
        instant = self.instant(token.value) if token.kind == "STRING" else None
        if instant is None:
            code = "INVALID_VALUE_WITH_BETWEEN_OPERATOR" if between else "BAD_VALUE"
            raise QueryError(
                code,
                f"Invalid date time for '{chosen.name}': {token.text}; expected "
                "'yyyy-MM-dd HH:mm:ss' in the account's time zone.",
            )
        return instant

    def instant(self, text: Any) -> int | None:
        """A date-time filter value as epoch ms: the account's wall time unless it has an offset."""
        if not isinstance(text, str):
            return None
        shapes = r"\d{4}-\d{2}-\d{2}( \d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}:\d{2})?)?"
        if re.fullmatch(shapes, text.strip()) is None:
            return None
        try:
            parsed = datetime.fromisoformat(text.strip())
        except ValueError:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=self.account.zone)
        return to_ms(parsed)


def parse_query(text: str, account: GoogleAdsAccount) -> Query:
    """A GAQL query, validated against the fields the sandbox knows; raises QueryError."""
    return _Parser(text, account).parse()


def _matches(condition: Condition, value: Any) -> bool:
    op, values = condition.operator, condition.values
    if op == "=":
        return bool(value == values[0])
    if op == "!=":
        return bool(value != values[0])
    if op == "IN":
        return value in values
    if op == "NOT IN":
        return value not in values
    if value is None:
        return False
    if op == "BETWEEN":
        return bool(values[0] <= value <= values[1])
    return bool(
        {
            ">": value > values[0],
            ">=": value >= values[0],
            "<": value < values[0],
            "<=": value <= values[0],
        }[op]
    )


def run_query(query: Query, account: GoogleAdsAccount) -> list[Row]:
    """The rows a query selects, filtered and ordered; the caller applies LIMIT (a total count
    ignores it). Without an ORDER BY the order is the one Google documents: none (here, by id)."""
    if query.resource == "customer":
        rows: list[Row] = [(account, None)]
    else:
        rows = [(account, sub) for sub in sorted(account.snapshot(), key=lambda s: s.id)]
    rows = [row for row in rows if all(_matches(c, c.field.get(*row)) for c in query.conditions)]
    for chosen, descending in reversed(query.ordering):
        rows.sort(key=lambda row, f=chosen: f.get(*row), reverse=descending)  # type: ignore[misc]
    return rows


def render(query: Query, row: Row) -> dict[str, Any]:
    """One GoogleAdsRow in proto3 JSON: an object per resource, int64 as text, empties left out."""
    account, sub = row
    out: dict[str, dict[str, Any]] = {}
    for chosen in query.fields:
        value = chosen.get(account, sub)
        holder = out.setdefault(camel(chosen.resource), {})
        holder.setdefault(
            "resourceName", FIELDS[f"{chosen.resource}.resource_name"].get(account, sub)
        )
        if chosen.kind == "INT64":
            value = str(value)
        elif chosen.kind == "DATE_TIME":
            value = account.local_time(value)
        if value not in ("", None, []):
            holder[camel(chosen.attribute)] = copy.deepcopy(value)
    return out


# --------------------------------------------------------------------------- errors


class AdsError(Exception):
    """An error answer in Google's shape; `errors` are the GoogleAdsFailure's (kind, code,
    message[, details]) or empty for an answer Google's front end gives without one."""

    def __init__(
        self,
        http: int,
        status: str,
        message: str,
        errors: Sequence[tuple[str, str, str, dict[str, Any] | None]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.http = http
        self.status = status
        self.message = message
        self.errors = list(errors)
        self.headers = dict(headers or {})

    def response(self, version: str, request_id: str) -> Response:
        error: dict[str, Any] = {"code": self.http, "message": self.message, "status": self.status}
        if self.errors:
            failures = []
            for kind, code, message, details in self.errors:
                item: dict[str, Any] = {"errorCode": {kind: code}, "message": message}
                if details:
                    item["details"] = details
                failures.append(item)
            error["details"] = [
                {
                    "@type": f"type.googleapis.com/google.ads.googleads.{version}.errors."
                    "GoogleAdsFailure",
                    "errors": failures,
                    "requestId": request_id,
                }
            ]
        return Response(self.http, {"error": error}, {"request-id": request_id, **self.headers})


def invalid(kind: str, code: str, message: str) -> AdsError:
    return AdsError(
        400,
        "INVALID_ARGUMENT",
        "Request contains an invalid argument.",
        [(kind, code, message, None)],
    )


def quota_error(
    code: str, retry_s: int, rate_name: str, headers: Mapping[str, str] | None = None
) -> AdsError:
    message = (
        f"Too many requests. Retry in {retry_s} seconds."
        if code == "RESOURCE_EXHAUSTED"
        else "Too many requests in a short amount of time. Retry in a second."
    )
    details = {
        "quotaErrorDetails": {
            "rateScope": "DEVELOPER",
            "rateName": rate_name,
            "retryDelay": f"{retry_s}s",
        }
    }
    return AdsError(
        429,
        "RESOURCE_EXHAUSTED",
        "Resource has been exhausted (e.g. check quota).",
        [("quotaError", code, message, details)],
        headers,
    )


UNAUTHENTICATED_MISSING = (
    "Request is missing required authentication credential. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
UNAUTHENTICATED_INVALID = (
    "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie "
    "or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
)
PERMISSION_DENIED = (
    "User doesn't have permission to access customer. Note: If you're accessing a client "
    "customer, the manager's customer id must be set in the 'login-customer-id' header. See "
    "https://developers.google.com/google-ads/api/docs/concepts/call-structure#cid"
)


def _token_invalid(code: str = "OAUTH_TOKEN_INVALID") -> AdsError:
    """401 for a token Google does not take: OAUTH_TOKEN_INVALID (not one it issued),
    OAUTH_TOKEN_EXPIRED, OAUTH_TOKEN_REVOKED (Google's AuthenticationError messages)."""
    message = {
        "OAUTH_TOKEN_EXPIRED": "OAuth token in the header has expired.",
        "OAUTH_TOKEN_REVOKED": "OAuth token in the header has been revoked.",
    }.get(code, "OAuth token in the header is not valid.")
    errors = [("authenticationError", code, message, None)]
    return AdsError(401, "UNAUTHENTICATED", UNAUTHENTICATED_INVALID, errors)


ADWORDS_SCOPE = "https://www.googleapis.com/auth/adwords"
ACCESS_TOKEN_LIFETIME_S = 3_599  # what Google's token endpoint says in expires_in

# Google's token endpoint's refusals: (status, error, error_description).
_REFUSALS: dict[GrantRefusal, tuple[int, str, str]] = {
    GrantRefusal.NOT_POST: (405, "invalid_request", "The token endpoint only answers POST."),
    GrantRefusal.UNSUPPORTED_GRANT_TYPE: (400, "unsupported_grant_type", "Invalid grant_type: "),
    GrantRefusal.UNKNOWN_CLIENT: (401, "invalid_client", "The OAuth client was not found."),
    GrantRefusal.BAD_SECRET: (401, "invalid_client", "Unauthorized"),
    GrantRefusal.NO_REFRESH_TOKEN: (
        400,
        "invalid_request",
        "Missing required parameter: refresh_token",
    ),
    GrantRefusal.BAD_REFRESH_TOKEN: (400, "invalid_grant", "Bad Request"),
    GrantRefusal.REVOKED_REFRESH_TOKEN: (
        400,
        "invalid_grant",
        "Token has been expired or revoked.",
    ),
}


def _denied() -> AdsError:
    return AdsError(
        403,
        "PERMISSION_DENIED",
        "The caller does not have permission",
        [("authorizationError", "USER_PERMISSION_DENIED", PERMISSION_DENIED, None)],
    )


# --------------------------------------------------------------------------- the app


@dataclass
class _Snapshot:
    """A query's result set as it was when the query first ran, what its page tokens read."""

    key: str
    query: str
    customer_id: str
    rows: list[dict[str, Any]]
    field_mask: str
    total: int
    expires_ms: int


@dataclass(frozen=True)
class SeenRequest:
    """What a request carried, for tests: never a header's value, only whether it was sent."""

    path: str
    query: str | None
    developer_token_sent: bool
    login_customer_id: str | None
    page_token_sent: bool


class GoogleAdsApp(VendorApp):
    vendor = "google_ads"

    def __init__(
        self,
        ctx: Context,
        account: GoogleAdsAccount | Callable[[], GoogleAdsAccount] | None = None,
    ) -> None:
        super().__init__(ctx)
        make: Callable[[], GoogleAdsAccount] = (
            account
            if callable(account)
            else lambda: GoogleAdsAccount.generate(7, 60, ctx.clock.now())
        )
        # Made (or restored from the state file) on first use.
        self._account = Lazy(
            account if isinstance(account, GoogleAdsAccount) else None,
            lambda: kept(ctx.store, self.vendor, ctx.clock.now_ms, make, GoogleAdsAccount.restore),
        )
        self.daily_operations = DEFAULT_DAILY_OPERATIONS
        # Statuses the next requests fail with when served by `serving` (standalone tests); under
        # `Sandbox`, its own `inject_faults` does this.
        self.faults: list[int] = []
        self.seen: deque[SeenRequest] = deque(maxlen=1_000)
        self._operations: dict[str, deque[int]] = {}
        self._snapshots: dict[str, _Snapshot] = {}
        self._pages: dict[str, tuple[str, int]] = {}  # page token -> (snapshot key, offset)
        self._lock = threading.Lock()
        # token_key -> when its operations of the sliding 24 hours were spent (epoch ms): kept
        # across a restart over a state file, as Google's quota is.
        kept_usage(ctx.store, self.vendor, ctx.clock.now_ms, self._restore_usage, self._usage)
        # POST /token: the OAuth client's refresh token and the access tokens issued for it.
        self.oauth = TokenIssuer(
            GOOGLE_ADS_CLIENT, ctx.clock, ACCESS_TOKEN_LIFETIME_S, prefix="ya29."
        )

    @property
    def account(self) -> GoogleAdsAccount:
        return self._account.get()

    @property
    def token(self) -> str:
        return self.ctx.tokens.get("google_ads", DEFAULT_TOKEN)

    @property
    def page_size(self) -> int:
        return max(1, self.ctx.knobs.google_ads_page_size)

    def set_daily_operations(self, limit: int) -> None:
        """Operations a token may spend in any 24 hours (Explorer access: 2,880 on production
        accounts; Basic: 15,000); 0 switches the limit off."""
        with self._lock:
            self.daily_operations = limit
            self._operations.clear()

    # ---------------------------------------------------------------- entry points

    def handle(self, req: Request) -> Response:
        request_id = uuid.uuid4().hex[:22]
        match = _PATH.match(req.path)
        version = match.group(1) if match and match.group(1) in SUNSETS else LATEST
        try:
            return self._handle(req, request_id)
        except AdsError as exc:
            return exc.response(version, request_id)

    def fault(self, status: int, req: Request) -> Response:
        request_id = uuid.uuid4().hex[:22]
        match = _PATH.match(req.path)
        version = match.group(1) if match and match.group(1) in SUNSETS else LATEST
        if status == 429:
            error = quota_error(
                "RESOURCE_TEMPORARILY_EXHAUSTED", 1, "Requests per account", {"Retry-After": "1"}
            )
        elif status == 401:
            error = _token_invalid()
        elif status == 403:
            error = _denied()
        elif status == 404:
            error = AdsError(404, "NOT_FOUND", "Method not found.")
        elif status < 500:
            error = AdsError(400, "INVALID_ARGUMENT", "Request contains an invalid argument.")
        else:
            status_name, message = {
                500: ("INTERNAL", "Internal error encountered."),
                502: ("UNAVAILABLE", "Bad Gateway"),
                503: ("UNAVAILABLE", "The service is currently unavailable."),
                504: ("DEADLINE_EXCEEDED", "The request deadline was exceeded."),
            }.get(status, ("INTERNAL", "Internal error encountered."))
            errors = [("internalError", "INTERNAL_ERROR", "An internal error has occurred.", None)]
            error = AdsError(status, status_name, message, errors if status == 500 else ())
        return error.response(version, request_id)

    def _grant(self, req: Request) -> Response:
        """POST /token: an access token for the refresh token, or Google's refusal."""
        headers = {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate"}
        refusal = self.oauth.refusal(req)
        if refusal is not None:
            status, error, description = _REFUSALS[refusal]
            if refusal is GrantRefusal.UNSUPPORTED_GRANT_TYPE:
                description += TokenIssuer.form(req).get("grant_type", "")
            return Response(status, {"error": error, "error_description": description}, headers)
        body = {
            "access_token": self.oauth.issue(),
            "expires_in": ACCESS_TOKEN_LIFETIME_S,
            "scope": ADWORDS_SCOPE,
            "token_type": "Bearer",
        }
        return Response(200, body, headers)

    def _handle(self, req: Request, request_id: str) -> Response:
        if req.path == "/token":
            return self._grant(req)
        match = _PATH.match(req.path)
        if match is None or req.method != "POST":
            raise AdsError(404, "NOT_FOUND", "Method not found.")
        version, customer_id, method = match.groups()
        sunset = SUNSETS.get(version)
        if sunset is None:
            raise AdsError(404, "NOT_FOUND", "Method not found.")
        if self.ctx.clock.now().date() >= sunset:
            raise invalid(
                "requestError",
                "UNSUPPORTED_VERSION",
                "This API version has been sunset and is no longer supported.",
            )
        token = req.bearer_token()
        if token is None:
            raise AdsError(401, "UNAUTHENTICATED", UNAUTHENTICATED_MISSING)
        quota_key = token
        if token != self.token:
            state = self.oauth.state(token)
            if state == "expired":
                raise _token_invalid("OAUTH_TOKEN_EXPIRED")
            if state == "revoked":
                raise _token_invalid("OAUTH_TOKEN_REVOKED")
            if state != "live":
                raise _token_invalid()
            quota_key = self.oauth.client.client_id  # the project's, whichever token it sends
        login = req.header("login-customer-id")
        body = self._body(req)
        self.seen.append(
            SeenRequest(
                req.path,
                body.get("query") if isinstance(body.get("query"), str) else None,
                req.header("developer-token") is not None,
                login,
                "pageToken" in body,
            )
        )
        if not re.fullmatch(r"\d{10}", customer_id):
            raise invalid(
                "requestError", "INVALID_CUSTOMER_ID", f"Invalid customer ID '{customer_id}'."
            )
        account = self.account
        if customer_id != account.customer_id:
            raise _denied()
        if login is not None and login.replace("-", "") != account.manager_id:
            raise _denied()
        if login is None and not account.direct_access:
            raise _denied()
        if method == "searchStream":
            return self._stream(body, account, quota_key, request_id)
        return self._search(body, account, quota_key, request_id)

    @staticmethod
    def _body(req: Request) -> dict[str, Any]:
        try:
            body = req.json()
        except (ValueError, UnicodeDecodeError):
            raise AdsError(400, "INVALID_ARGUMENT", "Invalid JSON payload received.") from None
        if not isinstance(body, dict):
            raise AdsError(
                400, "INVALID_ARGUMENT", "Invalid JSON payload received. Expected an object."
            )
        unknown = sorted(
            set(body) - {"query", "pageToken", "pageSize", "searchSettings", "validateOnly",
                         "summaryRowSetting"}
        )  # fmt: skip
        if unknown:
            raise AdsError(
                400,
                "INVALID_ARGUMENT",
                f'Invalid JSON payload received. Unknown name "{unknown[0]}": Cannot find field.',
            )
        return body

    # ---------------------------------------------------------------- quota

    def _take_operation(self, token: str) -> int | None:
        """Count one operation for `token`; when the window is full, the seconds until it has
        room (the operation is not counted)."""
        now = self.ctx.clock.now_ms()
        with self._lock:
            if self.daily_operations <= 0:
                return None
            spent = self._operations.setdefault(token_key(token), deque())
            while spent and spent[0] <= now - DAY_MS:
                spent.popleft()
            if len(spent) >= self.daily_operations:
                return max(1, -(-(spent[0] + DAY_MS - now) // 1000))
            spent.append(now)
            return None

    def _usage(self) -> dict[str, list[int]]:
        with self._lock:
            return {key: list(spent) for key, spent in self._operations.items()}

    def _restore_usage(self, saved: Mapping[str, list[int]]) -> None:
        with self._lock:
            self._operations = {str(k): deque(int(ms) for ms in v) for k, v in saved.items()}

    def _spend(self, token: str) -> None:
        wait = self._take_operation(token)
        if wait is not None:
            raise quota_error("RESOURCE_EXHAUSTED", wait, "Number of operations for basic access")

    # ---------------------------------------------------------------- search

    def _query(self, body: Mapping[str, Any], account: GoogleAdsAccount) -> Query:
        text = body.get("query")
        if not isinstance(text, str) or not text.strip():
            raise invalid("queryError", "QUERY_ERROR", "The query is empty.")
        try:
            return parse_query(text, account)
        except QueryError as exc:
            raise invalid("queryError", exc.code, exc.message) from None

    def _search(
        self, body: Mapping[str, Any], account: GoogleAdsAccount, token: str, request_id: str
    ) -> Response:
        if "pageSize" in body:
            raise invalid(
                "requestError",
                "PAGE_SIZE_NOT_SUPPORTED",
                "Setting the page size is not supported. Search Responses will have fixed page "
                f"size of '{PAGE_ROWS}' rows.",
            )
        query = self._query(body, account)
        settings = body.get("searchSettings")
        want_total = isinstance(settings, dict) and settings.get("returnTotalResultsCount") is True
        headers = {"request-id": request_id}
        page_token = body.get("pageToken")
        if page_token:
            snapshot, offset = self._page(str(page_token), query, account)
        else:
            self._spend(token)
            if body.get("validateOnly") is True:
                return Response(200, {"fieldMask": query.field_mask}, headers)
            snapshot, offset = self._snapshot(query, account), 0
        rows = snapshot.rows[offset : offset + self.page_size]
        answer: dict[str, Any] = {}
        if rows:
            answer["results"] = rows
        if offset + self.page_size < len(snapshot.rows):
            next_token = uuid.uuid4().hex
            with self._lock:
                self._pages[next_token] = (snapshot.key, offset + self.page_size)
            answer["nextPageToken"] = next_token
        if want_total:
            answer["totalResultsCount"] = str(snapshot.total)
        answer["fieldMask"] = query.field_mask
        answer["queryResourceConsumption"] = str(max(1, snapshot.total))
        return Response(200, answer, headers)

    def _stream(
        self, body: Mapping[str, Any], account: GoogleAdsAccount, token: str, request_id: str
    ) -> Response:
        query = self._query(body, account)
        self._spend(token)
        rows = self._rows(query, account)
        batches = [rows[i : i + self.page_size] for i in range(0, len(rows), self.page_size)]
        answer = [
            {"results": batch, "fieldMask": query.field_mask, "requestId": request_id}
            for batch in batches
        ] or [{"fieldMask": query.field_mask, "requestId": request_id}]
        return Response(200, answer, {"request-id": request_id})

    def _rows(self, query: Query, account: GoogleAdsAccount) -> list[dict[str, Any]]:
        rows = [render(query, row) for row in run_query(query, account)]
        return rows if query.limit is None else rows[: query.limit]

    def _snapshot(self, query: Query, account: GoogleAdsAccount) -> _Snapshot:
        matched = run_query(query, account)
        rows = [render(query, row) for row in matched]
        if query.limit is not None:
            rows = rows[: query.limit]
        now = self.ctx.clock.now_ms()
        snapshot = _Snapshot(
            uuid.uuid4().hex, query.text, account.customer_id, rows, query.field_mask, len(matched),
            now + PAGE_TOKEN_TTL_MS,
        )  # fmt: skip
        with self._lock:
            for key in [k for k, s in self._snapshots.items() if s.expires_ms <= now]:
                del self._snapshots[key]
            self._pages = {t: p for t, p in self._pages.items() if p[0] in self._snapshots}
            self._snapshots[snapshot.key] = snapshot
        return snapshot

    def _page(self, token: str, query: Query, account: GoogleAdsAccount) -> tuple[_Snapshot, int]:
        with self._lock:
            found = self._pages.get(token)
            snapshot = self._snapshots.get(found[0]) if found else None
        if found is None or snapshot is None:
            raise invalid("requestError", "INVALID_PAGE_TOKEN", "Page token is invalid.")
        if snapshot.expires_ms <= self.ctx.clock.now_ms():
            raise invalid("requestError", "EXPIRED_PAGE_TOKEN", "Page token has expired.")
        if snapshot.query != query.text or snapshot.customer_id != account.customer_id:
            raise invalid(
                "requestError",
                "INVALID_PAGE_TOKEN",
                "Page token is invalid: it was issued for another query.",
            )
        return snapshot, found[1]


# --------------------------------------------------------------------------- standalone serving


def standalone_context(token: str = DEFAULT_TOKEN, now: datetime | None = None) -> Context:
    """A Context for serving the google_ads app on its own (tests), outside `Sandbox`."""
    return standalone.context("google_ads", token, now)


serving = standalone.serving


__all__ = [
    "CUSTOMER_ID",
    "DEFAULT_TOKEN",
    "FORMS",
    "MANAGER_ID",
    "PAGE_ROWS",
    "GoogleAdsAccount",
    "GoogleAdsApp",
    "parse_query",
    "serving",
    "standalone_context",
]
