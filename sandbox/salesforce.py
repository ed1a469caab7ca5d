"""Salesforce's REST API (Lightning Platform) as the sandbox serves it, over an in-memory org
(kept in the sandbox's state file, write by write, when it has one: sandbox/store.py).

Everything lives under `/services/data/vXX.X/` (any version from v50.0 up; another is 404):

- `GET query?q=<SOQL>` and `GET queryAll?q=<SOQL>`: the SOQL subset LeadFlow sends, `SELECT
  <fields> FROM <Lead|Contact|Opportunity|OpportunityHistory|User> [WHERE <field> <op> <literal>
  [AND ...]] [ORDER BY <field> [ASC|DESC] [NULLS FIRST|LAST], ...] [LIMIT n]` with ops `= != <>
  < <= > >=` and literals 'strings', numbers, true/false, null, dates (2026-05-01) and datetimes
  (2026-05-01T00:00:00Z, with optional milliseconds or a +hh:mm offset), unquoted. Contact and
  Opportunity also answer `Account.Name` (a nested object, or null). `query` leaves out deleted
  records (merged losers included); `queryAll` returns them with `IsDeleted: true`.
  Results come in batches of 2,000, or what `Sforce-Query-Options: batchSize=N` asks for
  (clamped to 200..2,000); `nextRecordsUrl` (`.../query/<locator>-<offset>`) serves the next
  batch from a snapshot taken at query time. A locator idle for 15 minutes, or beyond the 10 most
  recent per user, is gone: 400 INVALID_QUERY_LOCATOR.
- `PATCH composite/sobjects` (update by Id) and `PATCH composite/sobjects/<SObject>/<ExternalId>`
  (upsert by an external id field): at most 200 records, answered 200 with one SaveResult /
  UpsertResult per record in request order. `allOrNone: false` applies the good records and
  reports the others (MALFORMED_ID, ENTITY_IS_DELETED, INVALID_CROSS_REFERENCE_KEY,
  STRING_TOO_LONG, NUMBER_OUTSIDE_VALID_RANGE, INVALID_EMAIL_ADDRESS, DUPLICATE_VALUE,
  INVALID_FIELD_FOR_INSERT_UPDATE, REQUIRED_FIELD_MISSING, MISSING_ARGUMENT); `allOrNone: true`
  applies none when one fails (the rest: ALL_OR_NONE_OPERATION_ROLLED_BACK). A field the object
  does not have, or a value JSON cannot turn into the field's type, fails the whole request
  (400 INVALID_FIELD / JSON_PARSER_ERROR), as Salesforce's deserializer does.
  `Sforce-Auto-Assign`: absent or TRUE on a write to a Lead, the org's (fake) active assignment
  rule runs and sets OwnerId to the "Inbound Leads" queue, overriding what the request sent;
  FALSE keeps the request's owner. Every write's headers (minus Authorization) are kept in
  `SalesforceApp.writes`.
- `GET sobjects/<SObject>/describe` (name, keyPrefix and fields with type, length, updateable,
  externalId, unique, nillable, custom), `GET limits` (DailyApiRequests Max/Remaining) and
  `GET /services/data/` (the versions).

`POST /services/oauth2/token` is the token endpoint (login.salesforce.com's, or an org's My Domain
one), the refresh-token grant only: a form body with `grant_type=refresh_token`, `refresh_token`,
`client_id` (the consumer key), `client_secret` (or the client as HTTP Basic auth), and the fixed
credentials of sandbox/oauth.py answer `{"access_token": "00D...!<random>", "signature", "scope",
"instance_url": <this server>, "id", "token_type": "Bearer", "issued_at"}`, without `expires_in`,
as Salesforce does. The session then lasts 2 hours (the default session timeout) after its last
use on the sandbox clock, and a request with it after that is 401 INVALID_SESSION_ID. Refusals as
Salesforce words them, all 400: `invalid_grant` "expired access/refresh token", `invalid_client_id`
"client identifier invalid", `invalid_client` "invalid client credentials", `unsupported_grant_type`
"grant type not supported", `invalid_request` "must use HTTP POST". The API takes the fixed token
(`sandbox-salesforce-token`) or a live issued one; `oauth` (a TokenIssuer) revokes them for tests.
The token endpoint does not count against the daily API requests, as at Salesforce.

Errors are a JSON array of `{"message", "errorCode"[, "fields"]}`: 401 INVALID_SESSION_ID, 404
NOT_FOUND, 400 MALFORMED_QUERY / INVALID_FIELD / INVALID_TYPE (SOQL errors point at the row and
column), 403 REQUEST_LIMIT_EXCEEDED past the org's daily API request limit (default 15,000,
rolling 24 hours on the org's clock; refused requests are not counted). Every answer to an
authenticated request carries `Sforce-Limit-Info: api-usage=N/LIMIT`.

Injected faults (`fault`): 429 becomes Salesforce's concurrent-request refusal (403
REQUEST_LIMIT_EXCEEDED "ConcurrentRequests ..."; Salesforce has no 429 on this API), 5xx are
UNKNOWN_EXCEPTION (500) or SERVER_UNAVAILABLE (502, 503) bodies.

Ids are 18 characters with the real key prefixes (00Q Lead, 003 Contact, 006 Opportunity, 008
OpportunityHistory, 005 User, 001 Account, 00G Queue) and the real case-safe checksum suffix.

Docs: https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_query.htm,
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/resources_queryall.htm,
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_queryoptions.htm,
https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-update.html,
https://developer.salesforce.com/docs/platform/api-rest/guide/resources-composite-sobjects-collections-upsert.html,
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_autoassign.htm,
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/headers_api_usage.htm,
https://developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm,
https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm,
https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_refresh_token_flow.htm
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import random
import re
import string
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox import standalone
from sandbox.clock import from_ms, to_ms
from sandbox.oauth import SALESFORCE_CLIENT, GrantRefusal, TokenIssuer
from sandbox.server import Context, Lazy, Request, Response, VendorApp
from sandbox.store import Change, VendorState, kept
from sandbox.world import COUNTRIES, FIRST_NAMES, JOB_TITLES, LAST_NAMES, OWNERS_SPEC, ascii_slug

Now = Callable[[], datetime]

MIN_API_VERSION = 50.0
DEFAULT_DAILY_LIMIT = 15_000
DEFAULT_BATCH_SIZE = 2_000
MIN_BATCH_SIZE = 200
MAX_BATCH_SIZE = 2_000
COLLECTION_MAX = 200
CURSOR_IDLE = timedelta(minutes=15)
MAX_OPEN_CURSORS = 10
DEFAULT_TOKEN = "sandbox-salesforce-token"

KEY_PREFIXES: dict[str, str] = {
    "Lead": "00Q",
    "Contact": "003",
    "Opportunity": "006",
    "OpportunityHistory": "008",
    "User": "005",
    "Account": "001",
    "Queue": "00G",
}
_TYPE_BY_PREFIX = {prefix: sobject for sobject, prefix in KEY_PREFIXES.items()}
_VERSION = re.compile(r"^/services/data/v(\d+)\.(\d)(/.*)?$")
_LOCATOR = re.compile(r"^(01g[A-Za-z0-9]{15})-(\d+)$")
_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


# --------------------------------------------------------------------------- ids and times


_BASE62 = string.digits + string.ascii_uppercase + string.ascii_lowercase
_SUFFIX = string.ascii_uppercase + "012345"


def _checksum(id15: str) -> str:
    """The 3 characters that make a 15-character id case-insensitively unique: one per 5-char
    chunk, whose bits say which of its characters are upper-case letters."""
    out = ""
    for chunk in (id15[0:5], id15[5:10], id15[10:15]):
        bits = sum(1 << i for i, ch in enumerate(chunk) if "A" <= ch <= "Z")
        out += _SUFFIX[bits]
    return out


def make_id(prefix: str, number: int) -> str:
    """An 18-character id: key prefix, pod '5g', a reserved '0', nine base-62 digits, checksum."""
    digits = ""
    for _ in range(9):
        number, rest = divmod(number, 62)
        digits = _BASE62[rest] + digits
    id15 = f"{prefix}5g0{digits}"
    return id15 + _checksum(id15)


def sf_datetime(value: datetime) -> str:
    """Salesforce's wire format: '2026-05-01T09:30:00.000+0000'."""
    utc = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _real_now() -> datetime:
    return datetime.now(UTC)


# --------------------------------------------------------------------------- schema


@dataclass(frozen=True)
class SfField:
    name: str
    type: str  # id, reference, string, email, phone, picklist, textarea, boolean, datetime, date,
    # double, int, currency, percent
    length: int = 0
    updateable: bool = True
    external_id: bool = False
    unique: bool = False
    nillable: bool = True
    label: str = ""
    precision: int = 0  # digits in all, for numbers
    scale: int = 0

    @property
    def custom(self) -> bool:
        return self.name.endswith("__c")

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label or self.name,
            "type": self.type,
            "length": self.length,
            "precision": self.precision,
            "scale": self.scale,
            "updateable": self.updateable,
            "createable": self.updateable or self.name in ("OwnerId",),
            "externalId": self.external_id,
            "unique": self.unique,
            "nillable": self.nillable,
            "custom": self.custom,
        }


_TEXT = ("string", "email", "phone", "picklist", "textarea", "id", "reference")
_NUMBER = ("double", "int", "currency", "percent")


def _system(*, history: bool = False) -> list[SfField]:
    fields = [
        SfField("Id", "id", 18, updateable=False, nillable=False, label="Record ID"),
        SfField("IsDeleted", "boolean", updateable=False, nillable=False, label="Deleted"),
        SfField("CreatedDate", "datetime", updateable=False, nillable=False),
        SfField("CreatedById", "reference", 18, updateable=False, nillable=False),
        SfField("SystemModstamp", "datetime", updateable=False, nillable=False),
    ]
    if not history:
        fields += [
            SfField("LastModifiedDate", "datetime", updateable=False, nillable=False),
            SfField("LastModifiedById", "reference", 18, updateable=False, nillable=False),
        ]
    return fields


# The custom fields LeadFlow writes back, on Lead and on Contact.
LEADFLOW_FIELDS: tuple[SfField, ...] = (
    SfField("LeadFlow_Score__c", "double", precision=18, scale=2, label="LeadFlow Score"),
    SfField("LeadFlow_Grade__c", "string", 2, label="LeadFlow Grade"),
    SfField("LeadFlow_Temperature__c", "string", 10, label="LeadFlow Temperature"),
    SfField("LeadFlow_Reasons__c", "string", 255, label="LeadFlow Reasons"),
    SfField("LeadFlow_Model_Version__c", "string", 40, label="LeadFlow Model Version"),
    SfField(
        "LeadFlow_Lead_Id__c",
        "string",
        64,
        external_id=True,
        unique=True,
        label="LeadFlow Lead Id",
    ),
)

_PERSON = [
    SfField("MasterRecordId", "reference", 18, updateable=False, label="Master Record ID"),
    SfField("FirstName", "string", 40, label="First Name"),
    SfField("LastName", "string", 80, nillable=False, label="Last Name"),
    SfField("Name", "string", 121, updateable=False, label="Full Name"),
    SfField("Title", "string", 128),
    SfField("Email", "email", 80),
    SfField("Phone", "phone", 40),
    SfField("MobilePhone", "phone", 40, label="Mobile Phone"),
    SfField("LeadSource", "picklist", 255, label="Lead Source"),
    SfField("OwnerId", "reference", 18, nillable=False, label="Owner ID"),
    SfField("HasOptedOutOfEmail", "boolean", nillable=False, label="Email Opt Out"),
    SfField("EmailBouncedReason", "string", 255, label="Email Bounced Reason"),
    SfField("EmailBouncedDate", "datetime", label="Email Bounced Date"),
]

SCHEMA: dict[str, dict[str, SfField]] = {
    "Lead": {
        f.name: f
        for f in [
            *_system(),
            *_PERSON,
            SfField("Company", "string", 255, nillable=False),
            SfField("Country", "string", 80),
            SfField("City", "string", 40),
            SfField("Industry", "picklist", 255),
            SfField("NumberOfEmployees", "int", precision=8, label="Employees"),
            SfField("Status", "picklist", 255, nillable=False, label="Lead Status"),
            SfField("IsConverted", "boolean", updateable=False, nillable=False),
            SfField("ConvertedContactId", "reference", 18, updateable=False),
            SfField("ConvertedDate", "date", updateable=False),
            *LEADFLOW_FIELDS,
        ]
    },
    "Contact": {
        f.name: f
        for f in [
            *_system(),
            *_PERSON,
            SfField("AccountId", "reference", 18, label="Account ID"),
            SfField("MailingCountry", "string", 80, label="Mailing Country"),
            SfField("MailingCity", "string", 40, label="Mailing City"),
            SfField("IsEmailBounced", "boolean", updateable=False, nillable=False),
            *LEADFLOW_FIELDS,
        ]
    },
    "Opportunity": {
        f.name: f
        for f in [
            *_system(),
            SfField("AccountId", "reference", 18, label="Account ID"),
            SfField("ContactId", "reference", 18, label="Contact ID"),
            SfField("Name", "string", 120, nillable=False),
            SfField("StageName", "picklist", 255, nillable=False, label="Stage"),
            SfField("Amount", "currency", precision=18, scale=2),
            SfField("Probability", "percent", precision=3),
            SfField("CloseDate", "date", nillable=False, label="Close Date"),
            SfField("IsClosed", "boolean", updateable=False, nillable=False),
            SfField("IsWon", "boolean", updateable=False, nillable=False),
            SfField("LeadSource", "picklist", 255, label="Lead Source"),
            SfField("OwnerId", "reference", 18, nillable=False, label="Owner ID"),
        ]
    },
    "OpportunityHistory": {
        f.name: f
        for f in [
            *_system(history=True),
            SfField("OpportunityId", "reference", 18, updateable=False, nillable=False),
            SfField("StageName", "picklist", 255, updateable=False, nillable=False),
            SfField("Amount", "currency", updateable=False, precision=18, scale=2),
            SfField("Probability", "percent", updateable=False, precision=3),
            SfField("CloseDate", "date", updateable=False),
            SfField("ExpectedRevenue", "currency", updateable=False, precision=18, scale=2),
            SfField("ForecastCategory", "picklist", 40, updateable=False),
        ]
    },
    # A real User has no IsDeleted: users are deactivated, never deleted.
    "User": {
        f.name: f
        for f in [f for f in _system() if f.name != "IsDeleted"]
        + [
            SfField("Username", "string", 80, nillable=False),
            SfField("FirstName", "string", 40, label="First Name"),
            SfField("LastName", "string", 80, nillable=False, label="Last Name"),
            SfField("Name", "string", 121, updateable=False, label="Full Name"),
            SfField("Email", "email", 128, nillable=False),
            SfField("Title", "string", 80),
            SfField("Department", "string", 80),
            SfField("IsActive", "boolean", nillable=False, label="Active"),
            SfField("UserType", "picklist", 40, updateable=False),
        ]
    },
}
QUERYABLE = tuple(SCHEMA)
# Relationship fields the SOQL subset follows: (object, relationship) -> (id field, target).
RELATIONSHIPS: dict[tuple[str, str], tuple[str, str]] = {
    ("Contact", "Account"): ("AccountId", "Account"),
    ("Opportunity", "Account"): ("AccountId", "Account"),
}
ACCOUNT_FIELDS = ("Id", "Name")
_REQUIRED_ON_CREATE = {"Lead": ("LastName", "Company"), "Contact": ("LastName",)}

RULE_OWNER_ID = make_id("00G", 1)  # the "Inbound Leads" queue the fake assignment rule assigns to
INTEGRATION_USER_ID = make_id("005", 1)  # CreatedById / LastModifiedById of API writes
ORG_ID = make_id("00D", 1)
SESSION_TIMEOUT_S = 2 * 3_600  # the org's session timeout: Salesforce's default, two hours
OAUTH_SCOPE = "api refresh_token"

# The token endpoint's refusals: (status, error, error_description), all 400 at Salesforce.
_REFUSALS: dict[GrantRefusal, tuple[int, str, str]] = {
    GrantRefusal.NOT_POST: (400, "invalid_request", "must use HTTP POST"),
    GrantRefusal.UNSUPPORTED_GRANT_TYPE: (
        400,
        "unsupported_grant_type",
        "grant type not supported",
    ),
    GrantRefusal.UNKNOWN_CLIENT: (400, "invalid_client_id", "client identifier invalid"),
    GrantRefusal.BAD_SECRET: (400, "invalid_client", "invalid client credentials"),
    GrantRefusal.NO_REFRESH_TOKEN: (400, "invalid_grant", "expired access/refresh token"),
    GrantRefusal.BAD_REFRESH_TOKEN: (400, "invalid_grant", "expired access/refresh token"),
    GrantRefusal.REVOKED_REFRESH_TOKEN: (400, "invalid_grant", "expired access/refresh token"),
}


# --------------------------------------------------------------------------- errors


class SalesforceError(Exception):
    """A request-level error: answered as `[{"message", "errorCode"[, "fields"]}]`."""

    def __init__(
        self, status: int, code: str, message: str, *, fields: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields

    def response(self) -> Response:
        return sf_error(self.status, self.code, self.message, fields=self.fields)


def sf_error(
    status: int,
    code: str,
    message: str,
    *,
    fields: list[str] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    item: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        item["fields"] = fields
    return Response(status, [item], dict(headers or {}))


NOT_FOUND_MESSAGE = "The requested resource does not exist"
SESSION_MESSAGE = "Session expired or invalid"
TOTAL_REQUESTS_MESSAGE = "TotalRequests Limit exceeded."
CONCURRENT_MESSAGE = "ConcurrentRequests (Concurrent API Requests) Limit exceeded."


def _record_error(code: str, message: str, fields: Sequence[str] = ()) -> dict[str, Any]:
    return {"statusCode": code, "message": message, "fields": list(fields)}


# --------------------------------------------------------------------------- the org


class SalesforceOrg:
    """An org's records (Lead, Contact, Opportunity, OpportunityHistory, User, Account), its
    daily API request count and its query cursors. Thread-safe: every method holds one lock.

    `clock` returns the current UTC datetime; every write stamps LastModifiedDate and
    SystemModstamp with it (inject a fixed or stepping clock in tests).

    With a state file (`persist_to`), every change to a record is written there as it is made,
    and the API usage of the rolling 24 hours when the store closes (the org counts it whoever
    restarts); query cursors, locked rows and the assignment rule switch live in memory only.
    """

    def __init__(self, clock: Now | None = None, *, daily_api_limit: int = DEFAULT_DAILY_LIMIT):
        self.clock: Now = clock or _real_now
        self._lock = threading.RLock()
        self._records: dict[str, dict[str, Any]] = {}  # id -> fields (python values)
        self._counters: dict[str, int] = {prefix: 100 for prefix in KEY_PREFIXES.values()}
        self.accounts: dict[str, str] = {}  # Account id -> Name (not queryable; for Account.Name)
        self.queues: dict[str, str] = {RULE_OWNER_ID: "Inbound Leads"}
        self.assignment_rule_active = True
        # Records another transaction holds: an update of one fails with UNABLE_TO_LOCK_ROW.
        self.locked: set[str] = set()
        self.daily_api_limit = daily_api_limit
        self._api_calls: deque[datetime] = deque()
        self._cursors: dict[str, _Cursor] = {}
        self._cursor_counter = 100
        self._sink: VendorState | None = None

    # ---------------------------------------------------------------- the state file

    def state_rows(self) -> list[Change]:
        """Every record, Account and id counter, as the state file keeps them."""
        with self._lock:
            rows: list[Change] = [("record", rid, r) for rid, r in self._records.items()]
            rows += [("Account", aid, name) for aid, name in self.accounts.items()]
            rows.append(("state", "org", {"counters": self._counters}))
            return rows

    def persist_to(self, sink: VendorState) -> None:
        """Write every change from now on to `sink`, and the API usage when its store closes."""
        self._sink = sink
        sink.store.on_close(self._save_usage)

    def _persist(self, record_ids: Iterable[str] = (), account_id: str | None = None) -> None:
        """Write these records (and the id counters) to the state file, if there is one. Called
        with the lock held, so the file sees changes in the order memory does."""
        if self._sink is None:
            return
        rows: list[Change] = [("record", rid, self._records.get(rid)) for rid in record_ids]
        if account_id is not None:
            rows.append(("Account", account_id, self.accounts[account_id]))
        rows.append(("state", "org", {"counters": self._counters}))
        self._sink.write(rows)

    def _save_usage(self) -> None:
        if self._sink is None:
            return
        with self._lock:
            usage = {
                "limit": self.daily_api_limit,
                "calls": [to_ms(when) for when in self._api_calls],
            }
        self._sink.write([("usage", "api", usage)], dated=False)

    @classmethod
    def restore(
        cls, rows: Mapping[str, dict[str, Any]], *, clock: Now | None = None
    ) -> SalesforceOrg:
        """The org as the state file kept it (`state_rows`, later changes, usage)."""
        org = cls(clock)
        state = rows.get("state", {}).get("org", {})
        org._counters.update({prefix: int(n) for prefix, n in state.get("counters", {}).items()})
        org.accounts = {aid: str(name) for aid, name in rows.get("Account", {}).items()}
        org._records = dict(rows.get("record", {}))
        usage = rows.get("usage", {}).get("api")
        if usage is not None:
            org.daily_api_limit = int(usage["limit"])
            org._api_calls = deque(from_ms(int(ms)) for ms in usage["calls"])
        return org

    # ---------------------------------------------------------------- records

    def now(self) -> datetime:
        return _utc(self.clock())

    def _new_id(self, sobject: str) -> str:
        prefix = KEY_PREFIXES[sobject]
        self._counters[prefix] += 1
        return make_id(prefix, self._counters[prefix])

    def add(self, sobject: str, fields: Mapping[str, Any] | None = None, **more: Any) -> str:
        """Insert a record (system fields filled in unless given); its new Id.

        CreatedDate, LastModifiedDate and SystemModstamp default to now; give them (datetimes) to
        backdate a record.
        """
        if sobject == "Account":
            with self._lock:
                account_id = self._new_id("Account")
                self.accounts[account_id] = str({**(fields or {}), **more}.get("Name") or "")
                self._persist(account_id=account_id)
                return account_id
        schema = _schema(sobject)
        values = {**(fields or {}), **more}
        unknown = [name for name in values if name not in schema]
        if unknown:
            raise ValueError(f"{sobject} has no field {unknown[0]!r}")
        with self._lock:
            now = self.now()
            record: dict[str, Any] = {name: None for name in schema}
            for name, spec in schema.items():
                if spec.type == "boolean":
                    record[name] = False
            record.update(
                Id=self._new_id(sobject),
                CreatedDate=now,
                CreatedById=INTEGRATION_USER_ID,
                SystemModstamp=now,
            )
            if "LastModifiedDate" in schema:
                record.update(LastModifiedDate=now, LastModifiedById=INTEGRATION_USER_ID)
            if sobject == "Lead":
                record["Status"] = "Open - Not Contacted"
            if sobject == "User":
                record.update(IsActive=True, UserType="Standard")
            record.update(values)
            for stamp in ("CreatedDate", "LastModifiedDate", "SystemModstamp", "EmailBouncedDate"):
                if isinstance(record.get(stamp), datetime):
                    record[stamp] = _utc(record[stamp])
            if "LastModifiedDate" in schema and "LastModifiedDate" not in values:
                record["LastModifiedDate"] = max(record["CreatedDate"], now)
            if "SystemModstamp" not in values:
                record["SystemModstamp"] = record.get("LastModifiedDate") or record["CreatedDate"]
            _derive(sobject, record)
            self._records[record["Id"]] = record
            self._persist([record["Id"]])
            return str(record["Id"])

    def get(self, record_id: str) -> dict[str, Any]:
        """A copy of one record (deleted ones too), as Python values."""
        with self._lock:
            return copy.deepcopy(self._record(record_id))

    def records(self, sobject: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Copies of every record of one type, in Id order."""
        prefix = KEY_PREFIXES[sobject]
        with self._lock:
            return [
                copy.deepcopy(r)
                for rid, r in sorted(self._records.items())
                if rid.startswith(prefix) and (include_deleted or not r.get("IsDeleted"))
            ]

    def update(self, record_id: str, fields: Mapping[str, Any] | None = None, **more: Any) -> None:
        """Change fields as a user in the UI would (no validation); bumps the modstamps."""
        values = {**(fields or {}), **more}
        with self._lock:
            record = self._record(record_id)
            schema = _schema(sobject_of(record_id))
            unknown = [name for name in values if name not in schema]
            if unknown:
                raise ValueError(f"{sobject_of(record_id)} has no field {unknown[0]!r}")
            record.update(values)
            _derive(sobject_of(record_id), record)
            self._touch(record)
            self._persist([record_id])

    def delete(self, record_id: str) -> None:
        """Move a record to the recycle bin: IsDeleted true, seen only by queryAll."""
        with self._lock:
            record = self._record(record_id)
            if "IsDeleted" not in record:
                raise ValueError(f"{sobject_of(record_id)} records cannot be deleted")
            record["IsDeleted"] = True
            self._touch(record)
            self._persist([record_id])

    def merge(self, winner_id: str, loser_id: str) -> None:
        """Merge two Leads or two Contacts as Salesforce does: the loser is deleted with
        MasterRecordId = the winner; the winner is modified."""
        with self._lock:
            winner, loser = self._record(winner_id), self._record(loser_id)
            kind = sobject_of(winner_id)
            if kind not in ("Lead", "Contact") or sobject_of(loser_id) != kind:
                raise ValueError("merge takes two Leads or two Contacts")
            if winner.get("IsDeleted") or loser.get("IsDeleted"):
                raise ValueError("cannot merge a deleted record")
            loser.update(IsDeleted=True, MasterRecordId=winner_id)
            self._touch(loser)
            self._touch(winner)
            self._persist([loser_id, winner_id])

    def _record(self, record_id: str) -> dict[str, Any]:
        try:
            return self._records[record_id]
        except KeyError:
            raise KeyError(f"no record {record_id}") from None

    def _touch(self, record: dict[str, Any]) -> None:
        now = self.now()
        record["SystemModstamp"] = now
        if "LastModifiedDate" in record:
            record["LastModifiedDate"] = now
            record["LastModifiedById"] = INTEGRATION_USER_ID

    def owner_ids(self) -> list[str]:
        """The active users records can be assigned to (the integration user excluded)."""
        return [
            u["Id"]
            for u in self.records("User")
            if u["IsActive"] and u["Id"] != INTEGRATION_USER_ID
        ]

    # ---------------------------------------------------------------- API request limit

    def set_api_limit(self, limit: int) -> None:
        """The org's daily API request limit (Setup > Company Information shows the real one)."""
        if limit < 0:
            raise ValueError("limit must be >= 0")
        with self._lock:
            self.daily_api_limit = limit

    def set_api_usage(self, used: int) -> None:
        """Pretend `used` requests were made just now (tests: start near the limit)."""
        if used < 0:
            raise ValueError("used must be >= 0")
        with self._lock:
            now = self.now()
            self._api_calls = deque([now] * used)

    def api_usage(self) -> tuple[int, int]:
        """(requests in the last 24 hours, the daily limit)."""
        with self._lock:
            self._expire_calls(self.now())
            return len(self._api_calls), self.daily_api_limit

    def take_api_request(self) -> tuple[bool, int, int]:
        """Count one request if the limit allows it: (allowed, used, limit)."""
        with self._lock:
            now = self.now()
            self._expire_calls(now)
            if len(self._api_calls) >= self.daily_api_limit:
                return False, len(self._api_calls), self.daily_api_limit
            self._api_calls.append(now)
            return True, len(self._api_calls), self.daily_api_limit

    def _expire_calls(self, now: datetime) -> None:
        while self._api_calls and self._api_calls[0] <= now - timedelta(days=1):
            self._api_calls.popleft()

    # ---------------------------------------------------------------- query cursors

    def open_cursor(self, rows: list[dict[str, Any]], batch_size: int) -> str:
        with self._lock:
            self._cursor_counter += 1
            cursor_id = make_id("01g", self._cursor_counter)
            self._cursors[cursor_id] = _Cursor(rows, batch_size, self.now())
            while len(self._cursors) > MAX_OPEN_CURSORS:  # the oldest is closed
                del self._cursors[next(iter(self._cursors))]
            return cursor_id

    def cursor(self, cursor_id: str) -> _Cursor | None:
        with self._lock:
            found = self._cursors.get(cursor_id)
            now = self.now()
            if found is None or now - found.touched > CURSOR_IDLE:
                self._cursors.pop(cursor_id, None)
                return None
            found.touched = now
            return found

    def close_cursor(self, cursor_id: str) -> None:
        with self._lock:
            self._cursors.pop(cursor_id, None)

    # ---------------------------------------------------------------- generation

    @classmethod
    def generate(
        cls, seed: int, n: int, now: datetime, *, clock: Now | None = None
    ) -> SalesforceOrg:
        """A deterministic org: the sales reps as Users, about `n` Leads and Contacts (a few
        deleted, a few merged), Accounts, and Opportunities with their stage history."""
        rng = random.Random(f"salesforce:{seed}")
        people = [_invent_person(rng) for _ in range(n)]
        return cls._build(rng, people, _utc(now), clock)

    @classmethod
    def from_people(
        cls,
        people: Iterable[Any],
        *,
        seed: int,
        now: datetime,
        companies: Mapping[int, Any] | None = None,
        clock: Now | None = None,
    ) -> SalesforceOrg:
        """An org holding these people as Leads and Contacts (sandbox.world.Person or anything with
        first_name, last_name, email, phone, job_title, country and `company` or `company_id`
        looked up in `companies`, whose values have a `name`). Everything else (owners, which
        person is a Contact, deletes, merges, opportunities) is drawn from `seed`."""
        rng = random.Random(f"salesforce:{seed}")
        rows = []
        for person in people:
            company = getattr(person, "company", None)
            if company is None and companies is not None:
                found = companies.get(getattr(person, "company_id", -1))
                company = getattr(found, "name", None) if found is not None else None
            country = str(getattr(person, "country", "") or "")
            rows.append(
                _Invented(
                    first=str(getattr(person, "first_name", "") or ""),
                    last=str(getattr(person, "last_name", "") or "Unknown"),
                    email=getattr(person, "email", None),
                    phone=getattr(person, "phone", None),
                    title=getattr(person, "job_title", None),
                    company=str(company or "Unknown"),
                    country=_country_name(country),
                    city=getattr(person, "city", None),
                )
            )
        return cls._build(rng, rows, _utc(now), clock)

    @classmethod
    def _build(
        cls, rng: random.Random, people: list[_Invented], now: datetime, clock: Now | None
    ) -> SalesforceOrg:
        fixed = now
        org = cls(clock or (lambda: fixed))
        start = now - timedelta(days=180)

        def moment(after: datetime) -> datetime:
            span = max(1, int((now - after).total_seconds()))
            return after + timedelta(seconds=rng.randrange(span), milliseconds=rng.randrange(1000))

        org._records_add_user("Integration", "User", start, INTEGRATION_USER_ID)
        owners = [
            org._records_add_user(first, last, start + timedelta(days=i), None)
            for i, (first, last, _team) in enumerate(OWNERS_SPEC)
        ]
        accounts: dict[str, str] = {}
        for person in people:
            if person.company not in accounts:
                accounts[person.company] = org.add("Account", Name=person.company)
        leads: list[str] = []
        contacts: list[str] = []
        for person in people:
            created = moment(start)
            modified = moment(created)
            common: dict[str, Any] = {
                "FirstName": person.first or None,
                "LastName": person.last,
                "Email": person.email,
                "Phone": person.phone,
                "Title": person.title,
                "OwnerId": rng.choice(owners),
                "LeadSource": rng.choice(("Web", "Partner Referral", "Advertisement", "Event")),
                "HasOptedOutOfEmail": rng.random() < 0.05,
                "CreatedDate": created,
                "LastModifiedDate": modified,
                "SystemModstamp": modified,
            }
            if person.email and rng.random() < 0.03:
                common["EmailBouncedReason"] = "550 5.1.1 mailbox unavailable"
                common["EmailBouncedDate"] = moment(created)
            if rng.random() < 0.3:
                contacts.append(
                    org.add(
                        "Contact",
                        common,
                        AccountId=accounts[person.company],
                        MailingCountry=person.country,
                        MailingCity=person.city,
                        IsEmailBounced="EmailBouncedReason" in common,
                    )
                )
            else:
                leads.append(
                    org.add(
                        "Lead",
                        common,
                        Company=person.company,
                        Country=person.country,
                        City=person.city,
                        Status=rng.choice(("Open - Not Contacted", "Working - Contacted")),
                    )
                )
        org._scatter_deletes_and_merges(rng, leads, now)
        org._scatter_deletes_and_merges(rng, contacts, now)
        org._opportunities(rng, contacts, owners, start, now)
        return org

    def _records_add_user(
        self, first: str, last: str, created: datetime, record_id: str | None
    ) -> str:
        slug = f"{ascii_slug(first)}.{ascii_slug(last)}"
        new_id = self.add(
            "User",
            FirstName=first,
            LastName=last,
            Username=f"{slug}@quillstone.example.sandbox",
            Email=f"{slug}@quillstone.example",
            Title="Account Executive",
            Department="Sales",
            CreatedDate=created,
            LastModifiedDate=created,
            SystemModstamp=created,
        )
        if record_id is not None:  # a fixed id (the integration user)
            with self._lock:
                record = self._records.pop(new_id)
                record["Id"] = record_id
                self._records[record_id] = record
                self._persist([new_id, record_id])
            return record_id
        return new_id

    def _scatter_deletes_and_merges(
        self, rng: random.Random, ids: list[str], now: datetime
    ) -> None:
        """About 2% of records deleted and 2% merged into another, at a moment in the past."""
        for i, record_id in enumerate(ids):
            roll = rng.random()
            record = self._records[record_id]
            when = record["SystemModstamp"] + (now - record["SystemModstamp"]) * rng.random()
            if roll < 0.02:
                record.update(IsDeleted=True, LastModifiedDate=when, SystemModstamp=when)
            elif roll < 0.04 and i > 0:
                winner = self._records[ids[rng.randrange(i)]]
                if winner["IsDeleted"]:
                    continue
                record.update(
                    IsDeleted=True,
                    MasterRecordId=winner["Id"],
                    LastModifiedDate=when,
                    SystemModstamp=when,
                )
                stamp = max(winner["SystemModstamp"], when)
                winner.update(LastModifiedDate=stamp, SystemModstamp=stamp)

    def _opportunities(
        self,
        rng: random.Random,
        contacts: list[str],
        owners: list[str],
        start: datetime,
        now: datetime,
    ) -> None:
        stages = (
            ("Prospecting", 10, "Pipeline"),
            ("Qualification", 20, "Pipeline"),
            ("Proposal/Price Quote", 75, "BestCase"),
            ("Negotiation/Review", 90, "Commit"),
        )
        for contact_id in contacts:
            contact = self._records[contact_id]
            if contact["IsDeleted"] or rng.random() > 0.35:
                continue
            created = contact["CreatedDate"] + (now - contact["CreatedDate"]) * rng.random() / 2
            amount = float(rng.choice((5, 8, 12, 20, 35, 60)) * 1000)
            reached = rng.randint(1, len(stages))
            outcome = rng.random()
            path = list(stages[:reached])
            if outcome < 0.25:
                path.append(("Closed Won", 100, "Closed"))
            elif outcome < 0.45:
                path.append(("Closed Lost", 0, "Omitted"))
            moments = sorted(created + (now - created) * rng.random() for _ in path)
            moments[0] = created
            close = (moments[-1] + timedelta(days=rng.randint(0, 30))).date()
            last_stage, last_prob, _ = path[-1]
            opp_id = self.add(
                "Opportunity",
                Name=f"{self.accounts.get(contact['AccountId'] or '', 'Deal')} - New Business",
                AccountId=contact["AccountId"],
                ContactId=contact_id,
                StageName=last_stage,
                Amount=amount,
                Probability=float(last_prob),
                CloseDate=close,
                IsClosed=last_stage.startswith("Closed"),
                IsWon=last_stage == "Closed Won",
                LeadSource=contact["LeadSource"],
                OwnerId=contact["OwnerId"] or rng.choice(owners),
                CreatedDate=created,
                LastModifiedDate=moments[-1],
                SystemModstamp=moments[-1],
            )
            for (stage, probability, forecast), when in zip(path, moments, strict=True):
                self.add(
                    "OpportunityHistory",
                    OpportunityId=opp_id,
                    StageName=stage,
                    Amount=amount,
                    Probability=float(probability),
                    CloseDate=close,
                    ExpectedRevenue=amount * probability / 100,
                    ForecastCategory=forecast,
                    CreatedDate=when,
                    SystemModstamp=when,
                )


@dataclass
class _Cursor:
    rows: list[dict[str, Any]]
    batch_size: int
    touched: datetime


@dataclass(frozen=True)
class _Invented:
    first: str
    last: str
    email: str | None
    phone: str | None
    title: str | None
    company: str
    country: str
    city: str | None


_COMPANY_START = ("North", "Blue", "Bright", "Iron", "Silver", "Cedar", "Harbor", "Summit", "Pine")
_COMPANY_END = ("works", "labs", "soft", "logic", "grid", "scale", "forge", "stack", "field")
_COMPANY_FORM = ("", "", " Inc", " Ltd", " GmbH", " Group")


def _invent_person(rng: random.Random) -> _Invented:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    stem = rng.choice(_COMPANY_START) + rng.choice(_COMPANY_END)
    company = stem + rng.choice(_COMPANY_FORM)
    country = rng.choices(COUNTRIES, weights=[c.weight for c in COUNTRIES])[0]
    block = rng.choice(country.blocks)
    digits = "".join(rng.choice(string.digits) for _ in range(block.free))
    title = rng.choices([t for t, _ in JOB_TITLES], weights=[w for _, w in JOB_TITLES])[0]
    return _Invented(
        first=first,
        last=last,
        email=f"{ascii_slug(first)}.{ascii_slug(last)}@{stem.lower()}.example"
        if rng.random() > 0.03
        else None,
        phone=f"+{country.calling_code} {block.fixed}{digits}" if rng.random() < 0.7 else None,
        title=title,
        company=company,
        country=rng.choice(country.spellings),
        city=rng.choice(country.cities),
    )


def _country_name(code: str) -> str:
    for country in COUNTRIES:
        if country.code == code:
            return country.name
    return code


def _schema(sobject: str) -> dict[str, SfField]:
    try:
        return SCHEMA[sobject]
    except KeyError:
        raise ValueError(f"unknown sObject {sobject!r}; one of {', '.join(SCHEMA)}") from None


def sobject_of(record_id: str) -> str:
    """The sObject type an id belongs to, by its key prefix ('' when unknown)."""
    return _TYPE_BY_PREFIX.get(record_id[:3], "")


def _derive(sobject: str, record: dict[str, Any]) -> None:
    """Fields Salesforce computes: Name from the name parts."""
    if sobject in ("Lead", "Contact", "User"):
        parts = [record.get("FirstName"), record.get("LastName")]
        record["Name"] = " ".join(str(p) for p in parts if p) or None


# --------------------------------------------------------------------------- SOQL


@dataclass(frozen=True)
class _Token:
    kind: str  # word, string, number, datetime, date, op, comma, lparen, rparen, eof
    text: str
    pos: int
    value: Any = None


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2}(?![\dT]))
  | (?P<number>-?\d+(?:\.\d+)?(?![\w-]))
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<comma>,)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Condition:
    field: str
    op: str
    token: _Token


@dataclass(frozen=True)
class Query:
    sobject: str
    fields: tuple[str, ...]  # canonical names; 'AccountId.Name' for Account.Name
    conditions: tuple[_Condition, ...]
    order: tuple[tuple[str, bool, bool], ...]  # (field, descending, nulls_first)
    limit: int | None


def _where(soql: str, pos: int) -> str:
    before = soql[:pos]
    row = before.count("\n") + 1
    col = pos - (before.rfind("\n") + 1)
    line = soql.split("\n")[row - 1]
    return f"\n{line}\n{' ' * col}^\nERROR at Row:{row}:Column:{col + 1}\n"


def _malformed(soql: str, pos: int, detail: str) -> SalesforceError:
    return SalesforceError(400, "MALFORMED_QUERY", _where(soql, pos) + detail)


def _tokens(soql: str) -> list[_Token]:
    out: list[_Token] = []
    pos = 0
    while pos < len(soql):
        match = _TOKEN.match(soql, pos)
        if match is None:
            raise _malformed(soql, pos, f"unexpected token: '{soql[pos]}'")
        kind = match.lastgroup or ""
        text = match.group(0)
        if kind != "space":
            value: Any = None
            if kind == "string":
                value = re.sub(r"\\(.)", r"\1", text[1:-1])
            elif kind == "datetime":
                value = _utc(datetime.fromisoformat(text.replace("Z", "+00:00")))
            elif kind == "date":
                try:
                    value = date.fromisoformat(text)
                except ValueError:
                    raise _malformed(soql, pos, f"invalid date: {text}") from None
            elif kind == "number":
                value = float(text)
            out.append(_Token(kind, text, pos, value))
        pos = match.end()
    out.append(_Token("eof", "<EOF>", len(soql)))
    return out


class _Parser:
    def __init__(self, soql: str) -> None:
        self.soql = soql
        self.tokens = _tokens(soql)
        self.i = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        token = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return token

    def keyword(self, token: _Token, *words: str) -> bool:
        return token.kind == "word" and token.text.upper() in words

    def expect_keyword(self, word: str) -> _Token:
        token = self.take()
        if not self.keyword(token, word):
            raise self.unexpected(token)
        return token

    def unexpected(self, token: _Token) -> SalesforceError:
        return _malformed(self.soql, token.pos, f"unexpected token: '{token.text}'")

    def parse(self) -> tuple[Query, dict[str, _Token]]:
        """The query with names as written, and the token of each name (for error positions)."""
        self.expect_keyword("SELECT")
        fields: list[_Token] = []
        while True:
            token = self.take()
            if token.kind != "word" or self.keyword(token, "FROM"):
                raise self.unexpected(token)
            if self.peek().kind == "lparen":  # COUNT(), FIELDS(ALL), a function
                raise _malformed(
                    self.soql, token.pos, f"the sandbox does not support '{token.text}()'"
                )
            fields.append(token)
            if self.peek().kind != "comma":
                break
            self.take()
        self.expect_keyword("FROM")
        sobject = self.take()
        if sobject.kind != "word":
            raise self.unexpected(sobject)
        conditions: list[_Condition] = []
        order: list[tuple[str, bool, bool]] = []
        names = {t.text: t for t in fields}
        limit: int | None = None
        if self.keyword(self.peek(), "WHERE"):
            self.take()
            while True:
                name = self.take()
                if name.kind != "word" or self.keyword(name, "AND", "OR", "NOT"):
                    raise self.unexpected(name)
                op = self.take()
                if op.kind != "op":
                    raise self.unexpected(op)
                literal = self.take()
                if literal.kind not in ("string", "number", "datetime", "date") and not (
                    self.keyword(literal, "TRUE", "FALSE", "NULL")
                ):
                    raise self.unexpected(literal)
                conditions.append(
                    _Condition(name.text, "!=" if op.text == "<>" else op.text, literal)
                )
                names.setdefault(name.text, name)
                if not self.keyword(self.peek(), "AND"):
                    break
                self.take()
        if self.keyword(self.peek(), "ORDER"):
            self.take()
            self.expect_keyword("BY")
            while True:
                name = self.take()
                if name.kind != "word":
                    raise self.unexpected(name)
                names.setdefault(name.text, name)
                descending = False
                if self.keyword(self.peek(), "ASC", "DESC"):
                    descending = self.take().text.upper() == "DESC"
                nulls_first = not descending
                if self.keyword(self.peek(), "NULLS"):
                    self.take()
                    which = self.take()
                    if not self.keyword(which, "FIRST", "LAST"):
                        raise self.unexpected(which)
                    nulls_first = which.text.upper() == "FIRST"
                order.append((name.text, descending, nulls_first))
                if self.peek().kind != "comma":
                    break
                self.take()
        if self.keyword(self.peek(), "LIMIT"):
            self.take()
            count = self.take()
            if count.kind != "number" or not count.text.isdigit():
                raise self.unexpected(count)
            limit = int(count.text)
        end = self.take()
        if end.kind != "eof":
            raise self.unexpected(end)
        names["__from__"] = sobject
        query = Query(
            sobject.text,
            tuple(t.text for t in fields),
            tuple(conditions),
            tuple(order),
            limit,
        )
        return query, names


def parse_soql(soql: str) -> Query:
    """Parse and resolve a query against the schema: canonical object and field names, literals
    checked against field types. Raises SalesforceError with Salesforce's code and message."""
    query, tokens = _Parser(soql).parse()
    sobject = next((name for name in QUERYABLE if name.lower() == query.sobject.lower()), None)
    if sobject is None:
        token = tokens["__from__"]
        raise SalesforceError(
            400,
            "INVALID_TYPE",
            _where(soql, token.pos)
            + f"sObject type '{query.sobject}' is not supported. If you are attempting to use a "
            "custom object, be sure to append the '__c' after the entity name. Please reference "
            "your WSDL or the describe call for the appropriate names.",
        )
    schema = SCHEMA[sobject]

    def resolve(name: str, *, plain: bool = False) -> str:
        if "." in name and not plain:
            relation, _, leaf = name.partition(".")
            target = next(
                (
                    (rel, spec)
                    for (obj, rel), spec in RELATIONSHIPS.items()
                    if obj == sobject and rel.lower() == relation.lower()
                ),
                None,
            )
            found_leaf = next((f for f in ACCOUNT_FIELDS if f.lower() == leaf.lower()), None)
            if target is not None and found_leaf is not None:
                return f"{target[1][0]}.{found_leaf}"  # 'AccountId.Name'; answered as Account
        else:
            found = next((f for f in schema if f.lower() == name.lower()), None)
            if found is not None:
                return found
        token = tokens[name]
        raise SalesforceError(
            400,
            "INVALID_FIELD",
            _where(soql, token.pos)
            + f"No such column '{name}' on entity '{sobject}'. If you are attempting to use a "
            "custom field, be sure to append the '__c' after the custom field name. Please "
            "reference your WSDL or the describe call for the appropriate names.",
        )

    fields = [resolve(name) for name in query.fields]
    seen: set[str] = set()
    for name, written in zip(fields, query.fields, strict=True):
        if name in seen:
            raise _malformed(soql, tokens[written].pos, f"duplicate field selected: {name}")
        seen.add(name)
    conditions = []
    for condition in query.conditions:
        name = resolve(condition.field, plain=True)
        _check_literal(soql, schema[name], condition, tokens[condition.field])
        conditions.append(_Condition(name, condition.op, condition.token))
    order = tuple((resolve(n, plain=True), d, nf) for n, d, nf in query.order)
    return Query(sobject, tuple(fields), tuple(conditions), order, query.limit)


def _check_literal(soql: str, spec: SfField, condition: _Condition, name: _Token) -> None:
    token = condition.token
    if token.kind == "word" and token.text.upper() == "NULL":
        if condition.op not in ("=", "!="):
            raise _malformed(soql, token.pos, f"unexpected token: '{token.text}'")
        return
    expected = {
        "datetime": ("datetime", "dateTime", False),
        "date": ("date", "date", False),
        "boolean": ("word", "boolean", False),
    }.get(spec.type)
    if expected is None and spec.type in _NUMBER:
        expected = ("number", "double", False)
    if expected is None:
        expected = ("string", "string", True)
    kind, type_name, quoted = expected
    if token.kind != kind or (kind == "word" and token.text.upper() not in ("TRUE", "FALSE")):
        quote = "should be enclosed in quotes" if quoted else "should not be enclosed in quotes"
        raise SalesforceError(
            400,
            "INVALID_FIELD",
            _where(soql, token.pos)
            + f"value of filter criterion for field '{spec.name}' must be of type {type_name} "
            f"and {quote}",
        )


def _literal_value(token: _Token) -> Any:
    if token.kind == "word":
        return {"TRUE": True, "FALSE": False, "NULL": None}[token.text.upper()]
    return token.value


def _matches(record: dict[str, Any], condition: _Condition, spec: SfField) -> bool:
    value = record.get(condition.field)
    literal = _literal_value(condition.token)
    op = condition.op
    if literal is None:
        return (value is None) == (op == "=")
    if value is None:
        return op == "!="  # SOQL: a null field is "not equal" to any value
    if spec.type in ("id", "reference") and isinstance(literal, str) and len(literal) == 15:
        value = str(value)[:15]
    elif isinstance(value, str) and isinstance(literal, str) and spec.type not in _TEXT[-2:]:
        value, literal = value.lower(), literal.lower()  # text compares case-insensitively
    if (
        isinstance(value, datetime)
        and isinstance(literal, date)
        and not isinstance(literal, datetime)
    ):
        value = value.date()
    try:
        return bool(
            {
                "=": value == literal,
                "!=": value != literal,
                "<": value < literal,
                "<=": value <= literal,
                ">": value > literal,
                ">=": value >= literal,
            }[op]
        )
    except TypeError:
        return False


def _sort_key(value: Any, fold: bool) -> tuple[int, Any]:
    if isinstance(value, str) and fold:
        return (1, value.lower())
    if isinstance(value, bool):
        return (1, int(value))
    return (1, value)


def _field_key(name: str, spec: SfField) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    """Text sorts case-insensitively; ids sort as the case-sensitive strings they are."""
    fold = spec.type not in ("id", "reference")
    return lambda record: _sort_key(record[name], fold)


def run_query(org: SalesforceOrg, query: Query, *, include_deleted: bool) -> list[dict[str, Any]]:
    """The matching records, ordered and limited, as Python values (fields not yet projected)."""
    schema = SCHEMA[query.sobject]
    rows = [
        r
        for r in org.records(query.sobject, include_deleted=True)
        if (include_deleted or not r.get("IsDeleted"))
        and all(_matches(r, c, schema[c.field]) for c in query.conditions)
    ]
    for name, descending, nulls_first in reversed(query.order):
        present = [r for r in rows if r.get(name) is not None]
        missing = [r for r in rows if r.get(name) is None]
        present.sort(key=_field_key(name, schema[name]), reverse=descending)
        rows = missing + present if nulls_first else present + missing
    if query.limit is not None:
        rows = rows[: query.limit]
    return rows


def _wire(value: Any) -> Any:
    if isinstance(value, datetime):
        return sf_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def project(
    org: SalesforceOrg, query: Query, record: dict[str, Any], version: str
) -> dict[str, Any]:
    """One record as the query answer holds it: attributes, then the selected fields in order."""
    out: dict[str, Any] = {
        "attributes": {
            "type": query.sobject,
            "url": f"/services/data/{version}/sobjects/{query.sobject}/{record['Id']}",
        }
    }
    for name in query.fields:
        if "." not in name:
            out[name] = _wire(record.get(name))
            continue
        id_field, leaf = name.split(".", 1)
        relation = id_field.removesuffix("Id")
        related_id = record.get(id_field)
        if related_id is None:
            out[relation] = None
            continue
        nested = out.get(relation) or {
            "attributes": {
                "type": "Account",
                "url": f"/services/data/{version}/sobjects/Account/{related_id}",
            }
        }
        nested[leaf] = related_id if leaf == "Id" else org.accounts.get(related_id)
        out[relation] = nested
    return out


# --------------------------------------------------------------------------- the app


@dataclass(frozen=True)
class SeenWrite:
    """One write request as the app saw it (Authorization left out)."""

    method: str
    path: str
    headers: dict[str, str]
    records: int


@dataclass
class _Outcome:
    result: dict[str, Any]
    ok: bool
    staged: dict[str, Any] | None = None  # the record as it would be after the write


class SalesforceApp(VendorApp):
    vendor = "salesforce"

    def __init__(
        self, ctx: Context, org: SalesforceOrg | Callable[[], SalesforceOrg] | None = None
    ) -> None:
        super().__init__(ctx)
        make: Callable[[], SalesforceOrg] = (
            org
            if callable(org)
            else lambda: SalesforceOrg.generate(7, 50, ctx.clock.now(), clock=ctx.clock.now)
        )
        # Made (or restored from the state file, with LeadFlow's writes) on first use.
        self._org = Lazy(
            org if isinstance(org, SalesforceOrg) else None,
            lambda: kept(
                ctx.store,
                self.vendor,
                ctx.clock.now_ms,
                make,
                lambda rows: SalesforceOrg.restore(rows, clock=ctx.clock.now),
            ),
        )
        self.writes: list[SeenWrite] = []
        self._writes_lock = threading.Lock()
        # Statuses the next requests fail with when served by `serving` (standalone tests);
        # under `Sandbox`, its own `inject_faults` does this.
        self.faults: list[int] = []
        # POST /services/oauth2/token: the connected app's refresh token and its sessions.
        self.oauth = TokenIssuer(
            SALESFORCE_CLIENT,
            ctx.clock,
            SESSION_TIMEOUT_S,
            prefix=f"{ORG_ID[:15]}!",
            sliding=True,
        )

    @property
    def org(self) -> SalesforceOrg:
        return self._org.get()

    # ---------------------------------------------------------------- entry points

    def handle(self, req: Request) -> Response:
        if req.path.rstrip("/") == "/services/oauth2/token":
            return self._grant(req)
        if req.path.rstrip("/") == "/services/data":
            return Response(200, _versions())
        match = _VERSION.match(req.path)
        if match is None:
            return sf_error(404, "NOT_FOUND", NOT_FOUND_MESSAGE)
        token = req.bearer_token()
        fixed = self.ctx.tokens.get("salesforce", DEFAULT_TOKEN)
        if token is None or (token != fixed and self.oauth.state(token) != "live"):
            return sf_error(401, "INVALID_SESSION_ID", SESSION_MESSAGE)
        allowed, used, limit = self.org.take_api_request()
        usage = {"Sforce-Limit-Info": f"api-usage={used}/{limit}"}
        if not allowed:
            return sf_error(403, "REQUEST_LIMIT_EXCEEDED", TOTAL_REQUESTS_MESSAGE, headers=usage)
        version = f"v{match.group(1)}.{match.group(2)}"
        if float(version[1:]) < MIN_API_VERSION:
            resp = sf_error(404, "NOT_FOUND", NOT_FOUND_MESSAGE)
        else:
            try:
                resp = self._route(req, version, match.group(3) or "/")
            except SalesforceError as exc:
                resp = exc.response()
        resp.headers.update(usage)
        return resp

    def _grant(self, req: Request) -> Response:
        """POST /services/oauth2/token: a session for the refresh token, or Salesforce's
        refusal. `signature` is what Salesforce sends: HMAC-SHA256 of `id` + `issued_at` keyed
        with the consumer secret, base64."""
        refusal = self.oauth.refusal(req)
        if refusal is not None:
            status, error, description = _REFUSALS[refusal]
            return Response(status, {"error": error, "error_description": description})
        issued_at = str(self.ctx.clock.now_ms())
        identity = f"{req.base_url}/id/{ORG_ID}/{INTEGRATION_USER_ID}"
        digest = hmac.new(
            self.oauth.client.client_secret.encode(),
            (identity + issued_at).encode(),
            hashlib.sha256,
        ).digest()
        body = {
            "access_token": self.oauth.issue(),
            "signature": base64.b64encode(digest).decode("ascii"),
            "scope": OAUTH_SCOPE,
            "instance_url": req.base_url,
            "id": identity,
            "token_type": "Bearer",
            "issued_at": issued_at,
        }
        return Response(200, body)

    def fault(self, status: int, req: Request) -> Response:
        if status == 429:
            return sf_error(403, "REQUEST_LIMIT_EXCEEDED", CONCURRENT_MESSAGE)
        if status == 401:
            return sf_error(401, "INVALID_SESSION_ID", SESSION_MESSAGE)
        if status == 403:
            return sf_error(403, "REQUEST_LIMIT_EXCEEDED", TOTAL_REQUESTS_MESSAGE)
        if status == 404:
            return sf_error(404, "NOT_FOUND", NOT_FOUND_MESSAGE)
        if status < 500:
            return sf_error(status, "JSON_PARSER_ERROR", "The request body could not be parsed")
        if status == 500:
            return sf_error(
                500,
                "UNKNOWN_EXCEPTION",
                "An unexpected error occurred. Please include this ErrorId if you contact "
                "support: 1928374650-12345 (-1234567890)",
            )
        return sf_error(
            status, "SERVER_UNAVAILABLE", "Server is temporarily unavailable. Try again later."
        )

    # ---------------------------------------------------------------- routing

    def _route(self, req: Request, version: str, rest: str) -> Response:
        parts = [p for p in rest.split("/") if p]
        if not parts:
            return self._only(req, "GET") or Response(200, _resources(version))
        head = parts[0]
        if head in ("query", "queryAll"):
            if len(parts) == 1:
                return self._only(req, "GET") or self._query(req, version, head == "queryAll")
            if len(parts) == 2:
                return self._only(req, "GET") or self._next_batch(version, parts[1])
        if head == "limits" and len(parts) == 1:
            return self._only(req, "GET") or self._limits()
        if head == "sobjects" and len(parts) == 3 and parts[2] == "describe":
            return self._only(req, "GET") or self._describe(parts[1], version)
        if head == "composite" and len(parts) >= 2 and parts[1] == "sobjects":
            if len(parts) == 2:
                return self._only(req, "PATCH") or self._write(req, version, None, None)
            if len(parts) == 4:
                return self._only(req, "PATCH") or self._write(req, version, parts[2], parts[3])
        return sf_error(404, "NOT_FOUND", NOT_FOUND_MESSAGE)

    @staticmethod
    def _only(req: Request, method: str) -> Response | None:
        if req.method == method:
            return None
        return sf_error(
            405,
            "METHOD_NOT_ALLOWED",
            f"HTTP Method '{req.method}' not allowed. Allowed are {method}",
        )

    # ---------------------------------------------------------------- reads

    def _query(self, req: Request, version: str, include_deleted: bool) -> Response:
        soql = req.param("q")
        if not soql or not soql.strip():
            raise SalesforceError(400, "MALFORMED_QUERY", "A query string has to be specified")
        query = parse_soql(soql)
        rows = run_query(self.org, query, include_deleted=include_deleted)
        projected = [project(self.org, query, row, version) for row in rows]
        batch = _batch_size(req.header("Sforce-Query-Options"))
        if len(projected) <= batch:
            return Response(200, {"totalSize": len(projected), "done": True, "records": projected})
        cursor_id = self.org.open_cursor(projected, batch)
        return Response(
            200,
            {
                "totalSize": len(projected),
                "done": False,
                "nextRecordsUrl": f"/services/data/{version}/query/{cursor_id}-{batch}",
                "records": projected[:batch],
            },
        )

    def _next_batch(self, version: str, locator: str) -> Response:
        match = _LOCATOR.match(locator)
        cursor = self.org.cursor(match.group(1)) if match else None
        if match is None or cursor is None:
            raise SalesforceError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
        offset = int(match.group(2))
        end = offset + cursor.batch_size
        body: dict[str, Any] = {
            "totalSize": len(cursor.rows),
            "done": end >= len(cursor.rows),
            "records": cursor.rows[offset:end],
        }
        if end < len(cursor.rows):
            body["nextRecordsUrl"] = f"/services/data/{version}/query/{match.group(1)}-{end}"
        else:
            self.org.close_cursor(match.group(1))
        return Response(200, body)

    def _limits(self) -> Response:
        used, limit = self.org.api_usage()
        return Response(
            200, {"DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - used)}}
        )

    def _describe(self, sobject: str, version: str) -> Response:
        name = next((n for n in SCHEMA if n.lower() == sobject.lower()), None)
        if name is None:
            raise SalesforceError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)
        spec = SCHEMA[name]
        return Response(
            200,
            {
                "name": name,
                "label": name,
                "keyPrefix": KEY_PREFIXES[name],
                "custom": False,
                "queryable": True,
                "updateable": any(f.updateable for f in spec.values()),
                "fields": [f.describe() for f in spec.values()],
                "urls": {
                    "describe": f"/services/data/{version}/sobjects/{name}/describe",
                    "sobject": f"/services/data/{version}/sobjects/{name}",
                },
            },
        )

    # ---------------------------------------------------------------- writes

    def write_log(self) -> list[SeenWrite]:
        with self._writes_lock:
            return list(self.writes)

    def _write(
        self, req: Request, version: str, sobject: str | None, external_field: str | None
    ) -> Response:
        headers = {k: str(v) for k, v in req.headers.items() if k.lower() != "authorization"}
        body = self._body(req)
        records = body["records"]
        with self._writes_lock:
            self.writes.append(SeenWrite(req.method, req.path, headers, len(records)))
        if external_field is not None:
            assert sobject is not None
            sobject, external_field = self._external_field(sobject, external_field)
        for record in records:  # what deserialization into sObjects rejects, whole
            self._deserializable(record, sobject)
        auto_assign = (req.header("Sforce-Auto-Assign") or "TRUE").strip().upper() != "FALSE"
        with self.org._lock:
            outcomes: list[_Outcome] = []
            staged: dict[str, dict[str, Any]] = {}
            keys: set[str] = set()
            for record in records:
                outcomes.append(
                    self._save_one(record, sobject, external_field, staged, keys, auto_assign)
                )
            if body["allOrNone"] and not all(o.ok for o in outcomes):
                for outcome in outcomes:
                    if outcome.ok:
                        outcome.result = {
                            "success": False,
                            "errors": [
                                _record_error(
                                    "ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                    "Record rolled back because not all records were valid and "
                                    "the request was using AllOrNone header",
                                )
                            ],
                        }
                return Response(200, [o.result for o in outcomes])
            now = self.org.now()
            for outcome in outcomes:
                if outcome.staged is None:
                    continue
                new = outcome.staged
                new["SystemModstamp"] = now
                new["LastModifiedDate"] = now
                new["LastModifiedById"] = INTEGRATION_USER_ID
                if new.get("CreatedDate") is None:
                    new["CreatedDate"] = now
                self.org._records[new["Id"]] = new
            self.org._persist(o.staged["Id"] for o in outcomes if o.staged is not None)
        return Response(200, [o.result for o in outcomes])

    @staticmethod
    def _body(req: Request) -> dict[str, Any]:
        try:
            body = req.json()
        except (ValueError, UnicodeDecodeError):
            raise SalesforceError(
                400,
                "JSON_PARSER_ERROR",
                "Unexpected character: was expecting a JSON value at [line:1, column:1]",
            ) from None
        if not isinstance(body, dict) or not isinstance(body.get("records"), list):
            raise SalesforceError(
                400, "INVALID_FIELD", "No such column 'records' on sobject of type Collection"
            )
        records = body["records"]
        if len(records) > COLLECTION_MAX:
            raise SalesforceError(
                400,
                "EXCEEDED_ID_LIMIT",
                "record limit reached. cannot submit more than 200 records into this call",
            )
        all_or_none = body.get("allOrNone", False)
        if not isinstance(all_or_none, bool):
            raise SalesforceError(
                400,
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of boolean from VALUE_STRING value for allOrNone",
            )
        for record in records:
            if not isinstance(record, dict):
                raise SalesforceError(
                    400, "JSON_PARSER_ERROR", "Cannot deserialize instance of SObject"
                )
        return {"records": records, "allOrNone": all_or_none}

    @staticmethod
    def _external_field(sobject: str, field_name: str) -> tuple[str, str]:
        name = next((n for n in SCHEMA if n.lower() == sobject.lower()), None)
        if name is None:
            raise SalesforceError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)
        spec = next(
            (f for f in SCHEMA[name].values() if f.name.lower() == field_name.lower()), None
        )
        if spec is None or not (spec.external_id or spec.name == "Id"):
            raise SalesforceError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {field_name}",
            )
        return name, spec.name

    @staticmethod
    def _deserializable(record: dict[str, Any], sobject: str | None) -> None:
        attributes = record.get("attributes")
        kind = attributes.get("type") if isinstance(attributes, dict) else None
        kind = kind if isinstance(kind, str) else sobject
        if kind is None:
            return  # answered per record: no type
        name = next((n for n in SCHEMA if n.lower() == kind.lower()), None)
        if name is None:
            return  # answered per record: unknown type
        schema = SCHEMA[name]
        for key, value in record.items():
            if key in ("attributes", "id"):
                continue
            spec = next((f for f in schema.values() if f.name.lower() == key.lower()), None)
            if spec is None:
                raise SalesforceError(
                    400, "INVALID_FIELD", f"No such column '{key}' on sobject of type {name}"
                )
            if value is None:
                continue
            ok = True
            if spec.type in _NUMBER:
                ok = _number(value) is not None
            elif spec.type == "boolean":
                ok = isinstance(value, bool)
            elif spec.type in ("datetime", "date"):
                ok = isinstance(value, str)
            elif spec.type in _TEXT:
                ok = isinstance(value, str | int | float)
            if not ok:
                raise SalesforceError(
                    400,
                    "JSON_PARSER_ERROR",
                    f"Cannot deserialize instance of {spec.type} from "
                    f"{type(value).__name__.upper()} value for field {spec.name} or request may "
                    "be missing a required field",
                )

    def _save_one(
        self,
        record: dict[str, Any],
        sobject: str | None,
        external_field: str | None,
        staged: dict[str, dict[str, Any]],
        keys: set[str],
        auto_assign: bool,
    ) -> _Outcome:
        def fail(code: str, message: str, fields: Sequence[str] = ()) -> _Outcome:
            return _Outcome(
                {"success": False, "errors": [_record_error(code, message, fields)]}, False
            )

        attributes = record.get("attributes")
        kind = attributes.get("type") if isinstance(attributes, dict) else None
        if not isinstance(kind, str) or not kind:
            return fail("INVALID_TYPE", "Must send a concrete entity type.")
        kind = next((n for n in SCHEMA if n.lower() == kind.lower()), kind)
        if kind not in SCHEMA:
            return fail("INVALID_TYPE", f"sObject type '{kind}' is not supported.")
        if sobject is not None and kind != sobject:
            return fail(
                "INVALID_TYPE",
                f"The sObject type {kind} doesn't match the type {sobject} in the URL.",
            )
        schema = SCHEMA[kind]
        if not any(f.updateable for f in schema.values()) or kind == "OpportunityHistory":
            return fail("INVALID_TYPE_FOR_OPERATION", f"entity type {kind} does not support update")
        values = {
            next(f for f in schema if f.lower() == k.lower()): v
            for k, v in record.items()
            if k not in ("attributes", "id")
        }
        records = self.org._records
        created = False
        if external_field is None:
            record_id = record.get("id")
            if not isinstance(record_id, str) or not record_id:
                return fail("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
            if not _ID.match(record_id) or KEY_PREFIXES[kind] != record_id[:3]:
                return fail(
                    "MALFORMED_ID", f"{kind} ID: id value of incorrect type: {record_id}", ["Id"]
                )
            record_id = next((rid for rid in records if rid[:15] == record_id[:15]), record_id)
            current = staged.get(record_id) or records.get(record_id)
            if current is None:
                return fail("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["Id"])
            if current.get("IsDeleted"):
                return fail("ENTITY_IS_DELETED", "entity is deleted", [])
            if record_id in self.org.locked:
                return fail(
                    "UNABLE_TO_LOCK_ROW",
                    "unable to obtain exclusive access to this record or 1 records: " + record_id,
                )
            new = copy.deepcopy(current)
        else:
            key = values.get(external_field)
            if key is None or (isinstance(key, str) and not key.strip()):
                return fail("MISSING_ARGUMENT", f"{external_field} not specified", [external_field])
            if str(key) in keys:
                return fail(
                    "DUPLICATE_VALUE",
                    f"Duplicate external id specified: {key}",
                    [external_field],
                )
            prefix = KEY_PREFIXES[kind]
            matches = [
                r
                for rid, r in records.items()
                if rid.startswith(prefix)
                and not r.get("IsDeleted")
                and r.get(external_field) == str(key)
            ]
            if matches:
                new = copy.deepcopy(staged.get(matches[0]["Id"]) or matches[0])
            else:
                created = True
                new = {name: None for name in schema}
                for name, spec in schema.items():
                    if spec.type == "boolean":
                        new[name] = False
                new.update(Id=self.org._new_id(kind), CreatedById=INTEGRATION_USER_ID)
                if kind == "Lead":
                    new["Status"] = "Open - Not Contacted"
                new["OwnerId"] = INTEGRATION_USER_ID
        errors = []
        for name, value in values.items():
            spec = schema[name]
            error = self._field_error(kind, spec, value, new, staged, created)
            if error is not None:
                errors.append(error)
                continue
            new[name] = self._coerce(spec, value)
        if errors:
            return _Outcome({"success": False, "errors": errors[:1]}, False)
        if created:
            missing = [n for n in _REQUIRED_ON_CREATE.get(kind, ()) if not new.get(n)]
            if missing:
                return fail(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{', '.join(missing)}]",
                    missing,
                )
        if kind == "Lead" and auto_assign and self.org.assignment_rule_active:
            new["OwnerId"] = RULE_OWNER_ID  # the org's active lead assignment rule
        _derive(kind, new)
        staged[new["Id"]] = new
        result: dict[str, Any] = {"id": new["Id"], "success": True, "errors": []}
        if external_field is not None:
            keys.add(str(values[external_field]))
            result["created"] = created
        return _Outcome(result, True, new)

    def _field_error(
        self,
        kind: str,
        spec: SfField,
        value: Any,
        record: dict[str, Any],
        staged: dict[str, dict[str, Any]],
        created: bool,
    ) -> dict[str, Any] | None:
        label = spec.label or spec.name
        if not spec.updateable and not (created and spec.name == "OwnerId"):
            return _record_error(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to create/update fields: {spec.name}. Please check the security "
                "settings of this field and verify that it is read/write for your profile or "
                "permission set.",
                [spec.name],
            )
        if value is None:
            if not spec.nillable:
                return _record_error(
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{spec.name}]",
                    [spec.name],
                )
            return None
        if spec.type in ("string", "email", "phone", "picklist", "textarea"):
            text = str(value)
            if spec.length and len(text) > spec.length:
                return _record_error(
                    "STRING_TOO_LONG",
                    f"{label}: data value too large: {text[:40]} (max length={spec.length})",
                    [spec.name],
                )
            if spec.type == "email" and not _EMAIL.match(text):
                return _record_error(
                    "INVALID_EMAIL_ADDRESS",
                    f"{label}: invalid email address: {text[:40]}",
                    [spec.name],
                )
            if spec.unique:
                prefix = KEY_PREFIXES[kind]
                for other in [*self.org._records.values(), *staged.values()]:
                    if (
                        other["Id"].startswith(prefix)
                        and other["Id"] != record["Id"]
                        and not other.get("IsDeleted")
                        and other.get(spec.name) == text
                    ):
                        return _record_error(
                            "DUPLICATE_VALUE",
                            f"duplicate value found: {spec.name} duplicates value on record "
                            f"with id: {other['Id']}",
                            [spec.name],
                        )
        if spec.type in _NUMBER:
            number = _number(value)
            limit = 10 ** max(1, spec.precision - spec.scale) if spec.precision else 10**18
            if number is None or abs(number) >= limit:
                return _record_error(
                    "NUMBER_OUTSIDE_VALID_RANGE",
                    f"{label}: value outside of valid range on numeric field: {value}",
                    [spec.name],
                )
        if spec.type == "reference" and spec.name == "OwnerId":
            owner = self.org._records.get(str(value))
            if str(value) not in self.org.queues and (
                owner is None or not str(value).startswith("005") or not owner.get("IsActive")
            ):
                return _record_error(
                    "INVALID_CROSS_REFERENCE_KEY",
                    f"{label}: id value of incorrect type: {value}"
                    if not _ID.match(str(value))
                    else "invalid cross reference id",
                    [spec.name],
                )
        if spec.type in ("datetime", "date"):
            try:
                _parse_write_time(spec.type, str(value))
            except ValueError:
                return _record_error(
                    "INVALID_TYPE_ON_FIELD_IN_RECORD",
                    f"{label}: value not of required type: {value}",
                    [spec.name],
                )
        return None

    @staticmethod
    def _coerce(spec: SfField, value: Any) -> Any:
        if value is None:
            return None
        if spec.type in _NUMBER:
            number = _number(value)
            return int(number) if spec.type == "int" and number is not None else number
        if spec.type in ("datetime", "date"):
            return _parse_write_time(spec.type, str(value))
        if spec.type == "boolean":
            return bool(value)
        return str(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _parse_write_time(kind: str, text: str) -> Any:
    if kind == "date":
        return date.fromisoformat(text)
    cleaned = text.replace("Z", "+00:00")
    if re.search(r"[+-]\d{4}$", cleaned):
        cleaned = cleaned[:-2] + ":" + cleaned[-2:]
    return _utc(datetime.fromisoformat(cleaned))


def _batch_size(header: str | None) -> int:
    """`Sforce-Query-Options: batchSize=N`, clamped to 200..2,000 (Salesforce treats it as a
    hint within those bounds)."""
    if not header:
        return DEFAULT_BATCH_SIZE
    match = re.search(r"batchSize\s*=\s*(\d+)", header, re.IGNORECASE)
    if match is None:
        return DEFAULT_BATCH_SIZE
    return max(MIN_BATCH_SIZE, min(MAX_BATCH_SIZE, int(match.group(1))))


def _versions() -> list[dict[str, str]]:
    return [
        {"label": "Sandbox", "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
        for v in range(50, 65)
    ]


def _resources(version: str) -> dict[str, str]:
    base = f"/services/data/{version}"
    return {
        name: f"{base}/{name}" for name in ("sobjects", "query", "queryAll", "limits", "composite")
    }


# --------------------------------------------------------------------------- standalone serving


def standalone_context(token: str = DEFAULT_TOKEN, now: datetime | None = None) -> Context:
    """A Context for serving the salesforce app on its own (tests), outside `Sandbox`."""
    return standalone.context("salesforce", token, now)


serving = standalone.serving


__all__ = [
    "KEY_PREFIXES",
    "RULE_OWNER_ID",
    "SCHEMA",
    "SalesforceApp",
    "SalesforceError",
    "SalesforceOrg",
    "make_id",
    "parse_soql",
    "serving",
    "sf_datetime",
    "standalone_context",
]
