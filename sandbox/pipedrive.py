"""Pipedrive's REST API as the sandbox serves it, over an in-memory company account (kept in
the sandbox's state file, write by write, when it has one: sandbox/store.py).

Served (every path also answers without the `/api` prefix for v1, as api.pipedrive.com does):

- `GET /api/v2/persons` and `GET /api/v2/deals`: cursor pagination (`cursor`, `limit` default 100,
  at most 500), `updated_since` / `updated_until` (RFC 3339; since is inclusive, until exclusive),
  `sort_by` (`id` default, `update_time`, `add_time`), `sort_direction` (`asc` default, `desc`),
  `owner_id`, `ids`, `custom_fields` (keys to include; all by default). The answer is
  `{"success": true, "data": [...], "additional_data": {"next_cursor": "..." | null}}`. The
  cursor is a keyset position (sort value and id of the last row served), so rows changed while
  a client pages move without shifting the rows it has not read yet. Deleted persons and deals
  are left out; `GET /api/v2/deals?status=deleted` lists deleted deals. Custom fields sit under
  `custom_fields`, keyed by the field's 40-hex key.
- `GET /api/v1/leads`: offset pagination (`start`, `limit` default 100, at most 500),
  `archived_status` (`archived`, `not_archived`, `all`: the default), `owner_id`, `person_id`,
  `organization_id`, `sort` (`"update_time DESC"`, `"add_time ASC, id ASC"`: first-level fields);
  `additional_data.pagination` = `{start, limit, more_items_in_collection[, next_start]}`.
- `GET /api/v1/users`: every user, no paging. `GET /api/v1/personFields`: the person fields
  (`id`, `key`, `name`, `field_type`, `edit_flag`, ...) with offset pagination.
- `PATCH /api/v2/persons/{id}` (`owner_id`, `name`, `org_id`, `custom_fields {key: value}`) and
  `PATCH /api/v1/leads/{id}` (`owner_id`, `label_ids`, `title`, `is_archived`): answer
  `{"success": true, "data": <the updated record>}`. An unknown or inactive owner, an unknown
  custom field key or a value of the wrong type is 400; an unknown id is 404. Every write's
  headers (minus the token) and body are kept in `PipedriveApp.writes`.

Auth: the `x-api-token` header, or the `api_token` query parameter (both documented for API
tokens). A missing or wrong token is 401 `{"success": false, "error": "unauthorized access",
"errorCode": 401, "error_info": "..."}`.

Limits: the burst limit, a rolling 2-second window per token (default 20 requests: the Essential
plan's figure for an api_token; `PipedriveApp.burst_limit`, 0 switches it off). Every answer to
an authenticated request carries `x-ratelimit-limit`, `x-ratelimit-remaining`, `x-ratelimit-reset`
(seconds until the window has room again) and `x-daily-requests-left` (POST/PUT/PATCH requests
left today, out of 10,000). Past the burst limit: 429 `{"success": false, "error": "Request over
limit", "errorCode": 429, ...}` with `x-ratelimit-remaining: 0`; refused requests are not
counted. The daily token budget (costs per endpoint) is not modelled.

Injected faults (`fault`) answer in the same `{"success": false, "error", "errorCode",
"error_info"}` shape; a 429 carries the rate-limit headers.

Docs: https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting,
https://pipedrive.readme.io/docs/core-api-concepts-pagination,
https://pipedrive.readme.io/docs/core-api-concepts-http-status-codes,
https://pipedrive.readme.io/docs/core-api-concepts-custom-fields,
https://developers.pipedrive.com/docs/api/v1/Persons, https://developers.pipedrive.com/docs/api/v1/Leads,
https://developers.pipedrive.com/docs/api/v1/Users, https://developers.pipedrive.com/docs/api/v1/PersonFields
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import math
import random
import re
import string
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sandbox import standalone
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
from sandbox.world import FIRST_NAMES, LAST_NAMES, OWNERS_SPEC, ascii_slug

Now = Callable[[], datetime]

DEFAULT_TOKEN = "sandbox-pipedrive-token"
DEFAULT_BURST_LIMIT = 20  # requests per 2 s per api_token on the Essential plan
BURST_WINDOW_S = 2.0
DAILY_WRITE_LIMIT = 10_000  # POST/PUT requests per user per day (x-daily-requests-left)
DEFAULT_PAGE = 100
MAX_PAGE = 500
ERROR_INFO = "Please check developers.pipedrive.com for more information about Pipedrive API."

KINDS = ("person", "deal", "lead", "user", "organization")
_V1 = re.compile(r"^(?:/api)?/v1(/.*)?$")
_V2 = re.compile(r"^/api/v2(/.*)?$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_SORTABLE_V2 = ("id", "update_time", "add_time")
_SORTABLE_LEADS = ("id", "title", "owner_id", "add_time", "update_time")


# --------------------------------------------------------------------------- times


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def _real_now() -> datetime:
    return datetime.now(UTC)


def rfc3339(value: datetime) -> str:
    """v2's format, whole seconds: '2026-05-01T09:30:00Z'."""
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def lead_time(value: datetime) -> str:
    """Leads' format, milliseconds: '2026-05-01T09:30:00.123Z'."""
    utc = _utc(value)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def v1_time(value: datetime) -> str:
    """The older v1 format (users): '2026-05-01 09:30:00', UTC."""
    return _utc(value).strftime("%Y-%m-%d %H:%M:%S")


def _parse_rfc3339(text: str) -> datetime:
    cleaned = text.strip().replace("Z", "+00:00").replace("z", "+00:00")
    if "T" not in cleaned:
        raise ValueError(text)
    parsed = datetime.fromisoformat(cleaned)
    if parsed.tzinfo is None:
        raise ValueError(text)
    return _utc(parsed)


# --------------------------------------------------------------------------- fields


@dataclass(frozen=True)
class PdField:
    """A person field as GET /v1/personFields describes it."""

    id: int
    key: str
    name: str
    field_type: str  # varchar, text, double, user, org, phone, date, ...
    edit_flag: bool  # true for custom fields

    def describe(self, order: int) -> dict[str, Any]:
        return {
            "id": self.id,
            "key": self.key,
            "name": self.name,
            "order_nr": order,
            "field_type": self.field_type,
            "add_time": "2024-01-01 00:00:00",
            "update_time": "2024-01-01 00:00:00",
            "active_flag": True,
            "edit_flag": self.edit_flag,
            "index_visible_flag": True,
            "details_visible_flag": True,
            "add_visible_flag": True,
            "important_flag": False,
            "bulk_edit_allowed": True,
            "searchable_flag": False,
            "filtering_allowed": True,
            "sortable_flag": True,
            "mandatory_flag": False,
        }


def field_key(name: str) -> str:
    """A custom field's key: 40 hex characters, like Pipedrive's (stable per name here)."""
    return hashlib.sha1(f"pipedrive-field:{name}".encode()).hexdigest()


# The custom person fields LeadFlow writes (create them in Pipedrive before the first push).
LEADFLOW_FIELDS: tuple[tuple[str, str], ...] = (
    ("LeadFlow Score", "double"),
    ("LeadFlow Grade", "varchar"),
    ("LeadFlow Temperature", "varchar"),
    ("LeadFlow Reasons", "text"),
    ("LeadFlow Lead Id", "varchar"),
)
_STANDARD_PERSON_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("name", "Name", "varchar"),
    ("first_name", "First name", "varchar"),
    ("last_name", "Last name", "varchar"),
    ("org_id", "Organization", "org"),
    ("owner_id", "Owner", "user"),
    ("email", "Email", "varchar"),
    ("phone", "Phone", "phone"),
    ("add_time", "Person created", "date"),
    ("update_time", "Update time", "date"),
)


def _default_fields() -> list[PdField]:
    fields = [
        PdField(9000 + i, key, name, kind, False)
        for i, (key, name, kind) in enumerate(_STANDARD_PERSON_FIELDS)
    ]
    fields += [
        PdField(9100 + i, field_key(name), name, kind, True)
        for i, (name, kind) in enumerate(LEADFLOW_FIELDS)
    ]
    return fields


# --------------------------------------------------------------------------- errors


class PipedriveError(Exception):
    """A request-level error, answered as `{"success": false, "error", "errorCode", ...}`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> Response:
        return pd_error(self.status, self.message)


def pd_error(status: int, message: str, headers: Mapping[str, str] | None = None) -> Response:
    body = {
        "success": False,
        "error": message,
        "errorCode": status,
        "error_info": ERROR_INFO,
        "data": None,
        "additional_data": None,
    }
    return Response(status, body, dict(headers or {}))


# --------------------------------------------------------------------------- the company


class PipedriveCompany:
    """A Pipedrive company account: users, organizations, persons, leads, deals and the person
    fields. Thread-safe: every method holds one lock.

    `clock` returns the current UTC datetime; every change stamps `update_time` with it (inject
    a fixed or stepping clock in tests). Persons and deals carry whole seconds, as the v2 API
    reports them; leads carry milliseconds.

    With a state file (`persist_to`), every change is written there as it is made: the records
    it touched, and the id counters, lead-id generator, person fields and merges.
    """

    def __init__(self, clock: Now | None = None) -> None:
        self.clock: Now = clock or _real_now
        self._lock = threading.RLock()
        self._records: dict[str, dict[Any, dict[str, Any]]] = {kind: {} for kind in KINDS}
        self._counters = {"person": 1000, "deal": 5000, "user": 12_000_000, "organization": 300}
        self._uuids = random.Random("pipedrive:lead-ids")
        self.fields: list[PdField] = _default_fields()
        self.merged: dict[int, int] = {}  # merged-away person id -> the person kept
        self._sink: VendorState | None = None

    # ---------------------------------------------------------------- the state file

    def _state(self) -> dict[str, Any]:
        return {
            "counters": self._counters,
            "uuids": rng_state(self._uuids),
            "fields": [spec.__dict__ for spec in self.fields],
            "merged": [[gone, keep] for gone, keep in self.merged.items()],
        }

    def state_rows(self) -> list[Change]:
        """Every record, and the company's counters and settings, as the state file keeps them."""
        with self._lock:
            rows: list[Change] = [
                (kind, str(rid), record)
                for kind, records in self._records.items()
                for rid, record in records.items()
            ]
            rows.append(("state", "company", self._state()))
            return rows

    def persist_to(self, sink: VendorState) -> None:
        """Write every change from now on to `sink`."""
        self._sink = sink

    def _persist(self, kind: str | None = None, *record_ids: Any) -> None:
        """Write these records (and the company's state) to the state file, if there is one.
        Called with the lock held, so the file sees changes in the order memory does."""
        if self._sink is None:
            return
        rows: list[Change] = [
            (str(kind), str(rid), self._records[str(kind)].get(rid)) for rid in record_ids
        ]
        rows.append(("state", "company", self._state()))
        self._sink.write(rows)

    @classmethod
    def restore(
        cls, rows: Mapping[str, dict[str, Any]], *, clock: Now | None = None
    ) -> PipedriveCompany:
        """The company as the state file kept it."""
        company = cls(clock)
        for kind in KINDS:
            found = rows.get(kind, {})
            records = [(rid if kind == "lead" else int(rid), r) for rid, r in found.items()]
            records.sort(key=lambda pair: pair[0])
            company._records[kind] = dict(records)
        state = rows["state"]["company"]
        company._counters.update({kind: int(n) for kind, n in state["counters"].items()})
        set_rng_state(company._uuids, state["uuids"])
        company.fields = [PdField(**spec) for spec in state["fields"]]
        company.merged = {int(gone): int(keep) for gone, keep in state["merged"]}
        return company

    # ---------------------------------------------------------------- basics

    def now(self) -> datetime:
        return _utc(self.clock())

    def _stamp(self, kind: str, value: datetime | None = None) -> datetime:
        when = _utc(value) if value is not None else self.now()
        return when.replace(microsecond=0) if kind in ("person", "deal") else when

    def _new_id(self, kind: str) -> Any:
        if kind == "lead":
            return str(uuid.UUID(int=self._uuids.getrandbits(128), version=4))
        self._counters[kind] += 1
        return self._counters[kind]

    def field_key(self, name: str) -> str:
        """The key of the person field called `name` (KeyError when there is none)."""
        with self._lock:
            for spec in self.fields:
                if spec.name == name:
                    return spec.key
        raise KeyError(f"no person field named {name!r}")

    def remove_field(self, name: str) -> None:
        """Delete a custom person field (tests: a company that lacks one of LeadFlow's)."""
        with self._lock:
            self.fields = [f for f in self.fields if not (f.edit_flag and f.name == name)]
            self._persist()

    def _custom(self) -> dict[str, PdField]:
        return {f.key: f for f in self.fields if f.edit_flag}

    # ---------------------------------------------------------------- adding

    def add_user(
        self,
        name: str,
        email: str,
        *,
        active: bool = True,
        is_admin: bool = False,
        created: datetime | None = None,
    ) -> int:
        with self._lock:
            user_id = int(self._new_id("user"))
            when = self._stamp("user", created)
            self._records["user"][user_id] = {
                "id": user_id,
                "name": name,
                "email": email,
                "active_flag": active,
                "is_admin": is_admin,
                "created": when,
                "modified": when,
            }
            self._persist("user", user_id)
            return user_id

    def add_organization(self, name: str, owner_id: int | None = None) -> int:
        with self._lock:
            org_id = int(self._new_id("organization"))
            self._records["organization"][org_id] = {
                "id": org_id,
                "name": name,
                "owner_id": owner_id,
            }
            self._persist("organization", org_id)
            return org_id

    def add_person(
        self,
        name: str | None = None,
        *,
        first_name: str | None = None,
        last_name: str | None = None,
        emails: list[str] | None = None,
        phones: list[str] | None = None,
        org_id: int | None = None,
        owner_id: int | None = None,
        add_time: datetime | None = None,
        update_time: datetime | None = None,
        custom: Mapping[str, Any] | None = None,
    ) -> int:
        """A person; the first email/phone is the primary one. `custom` maps field names (or
        keys) to values."""
        with self._lock:
            person_id = int(self._new_id("person"))
            created = self._stamp("person", add_time)
            full = name or " ".join(p for p in (first_name, last_name) if p) or "(no name)"
            record: dict[str, Any] = {
                "id": person_id,
                "name": full,
                "first_name": first_name,
                "last_name": last_name,
                "emails": [
                    {"label": "work", "value": e, "primary": i == 0}
                    for i, e in enumerate(emails or [])
                ],
                "phones": [
                    {"label": "work", "value": p, "primary": i == 0}
                    for i, p in enumerate(phones or [])
                ],
                "org_id": org_id,
                "owner_id": owner_id if owner_id is not None else self._any_owner(),
                "add_time": created,
                "update_time": self._stamp("person", update_time) if update_time else created,
                "is_deleted": False,
                "custom_fields": {f.key: None for f in self.fields if f.edit_flag},
            }
            for name_or_key, value in (custom or {}).items():
                record["custom_fields"][self._key_of(name_or_key)] = value
            self._records["person"][person_id] = record
            self._persist("person", person_id)
            return person_id

    def add_lead(
        self,
        title: str,
        *,
        person_id: int | None = None,
        organization_id: int | None = None,
        owner_id: int | None = None,
        label_ids: list[str] | None = None,
        source_name: str = "API",
        value: float | None = None,
        currency: str = "EUR",
        add_time: datetime | None = None,
        update_time: datetime | None = None,
        is_archived: bool = False,
    ) -> str:
        """A lead; it must be linked to a person, an organization or both (as in Pipedrive)."""
        if person_id is None and organization_id is None:
            raise ValueError("a lead is linked to a person, an organization or both")
        with self._lock:
            lead_id = str(self._new_id("lead"))
            created = self._stamp("lead", add_time)
            self._records["lead"][lead_id] = {
                "id": lead_id,
                "title": title,
                "owner_id": owner_id if owner_id is not None else self._any_owner(),
                "creator_id": owner_id if owner_id is not None else self._any_owner(),
                "label_ids": list(label_ids or []),
                "person_id": person_id,
                "organization_id": organization_id,
                "source_name": source_name,
                "value": None if value is None else {"amount": value, "currency": currency},
                "add_time": created,
                "update_time": self._stamp("lead", update_time) if update_time else created,
                "is_archived": is_archived,
                "was_seen": False,
            }
            self._persist("lead", lead_id)
            return lead_id

    def add_deal(
        self,
        title: str,
        *,
        person_id: int | None = None,
        org_id: int | None = None,
        user_id: int | None = None,
        stage_id: int = 1,
        status: str = "open",
        value: float = 0.0,
        currency: str = "EUR",
        add_time: datetime | None = None,
        update_time: datetime | None = None,
    ) -> int:
        if status not in ("open", "won", "lost", "deleted"):
            raise ValueError(f"unknown deal status {status!r}")
        with self._lock:
            deal_id = int(self._new_id("deal"))
            created = self._stamp("deal", add_time)
            changed = self._stamp("deal", update_time) if update_time else created
            self._records["deal"][deal_id] = {
                "id": deal_id,
                "title": title,
                "person_id": person_id,
                "org_id": org_id,
                "user_id": user_id if user_id is not None else self._any_owner(),
                "stage_id": stage_id,
                "status": status,
                "value": value,
                "currency": currency,
                "add_time": created,
                "update_time": changed,
                "won_time": changed if status == "won" else None,
                "lost_time": changed if status == "lost" else None,
                "close_time": changed if status in ("won", "lost") else None,
            }
            self._persist("deal", deal_id)
            return deal_id

    def _any_owner(self) -> int | None:
        active = [u for u in self._records["user"].values() if u["active_flag"]]
        return int(active[0]["id"]) if active else None

    def _key_of(self, name_or_key: str) -> str:
        for spec in self.fields:
            if spec.edit_flag and name_or_key in (spec.key, spec.name):
                return spec.key
        raise KeyError(f"no custom person field {name_or_key!r}")

    # ---------------------------------------------------------------- reading

    def get(self, kind: str, record_id: Any) -> dict[str, Any]:
        """A copy of one record (deleted ones too), as Python values."""
        with self._lock:
            return copy.deepcopy(self._record(kind, record_id))

    def records(self, kind: str, *, include_deleted: bool = False) -> list[dict[str, Any]]:
        """Copies of every record of a kind, in id order."""
        with self._lock:
            rows = self._records[self._kind(kind)].values()
            return [
                copy.deepcopy(r)
                for r in sorted(rows, key=lambda r: str(r["id"]) if kind == "lead" else r["id"])
                if include_deleted or not _deleted(kind, r)
            ]

    def custom_value(self, person_id: int, name: str) -> Any:
        with self._lock:
            return self._record("person", person_id)["custom_fields"].get(self._key_of(name))

    @staticmethod
    def _kind(kind: str) -> str:
        if kind not in KINDS:
            raise ValueError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
        return kind

    def _record(self, kind: str, record_id: Any) -> dict[str, Any]:
        try:
            return self._records[self._kind(kind)][record_id]
        except KeyError:
            raise KeyError(f"no {kind} {record_id}") from None

    # ---------------------------------------------------------------- changing

    def update(self, kind: str, record_id: Any, **fields: Any) -> None:
        """Change fields as a user in the UI would (no validation); bumps update_time. For a
        person, `custom={name or key: value}` sets custom fields."""
        with self._lock:
            record = self._record(kind, record_id)
            custom = fields.pop("custom", None)
            unknown = [name for name in fields if name not in record]
            if unknown:
                raise ValueError(f"a {kind} has no field {unknown[0]!r}")
            record.update(fields)
            if custom:
                for name_or_key, value in custom.items():
                    record["custom_fields"][self._key_of(name_or_key)] = value
            self._touch(kind, record)
            self._persist(kind, record_id)

    def _touch(self, kind: str, record: dict[str, Any]) -> None:
        if kind == "user":
            record["modified"] = self.now()
        elif "update_time" in record:
            record["update_time"] = self._stamp(kind)

    def delete(self, kind: str, record_id: Any) -> None:
        """Delete a person, deal or lead: it is gone from every list (a deleted deal is still
        listed by `status=deleted`)."""
        with self._lock:
            record = self._record(kind, record_id)
            if kind == "person":
                record["is_deleted"] = True
            elif kind == "deal":
                record["status"] = "deleted"
            elif kind == "lead":
                del self._records["lead"][record_id]
                self._persist("lead", record_id)
                return
            else:
                raise ValueError(f"{kind} records cannot be deleted here")
            self._touch(kind, record)
            self._persist(kind, record_id)

    def archive_lead(self, lead_id: str, archived: bool = True) -> None:
        self.update("lead", lead_id, is_archived=archived)

    def merge_persons(self, keep_id: int, gone_id: int) -> None:
        """Pipedrive's merge: `gone_id` disappears, its leads and deals move to `keep_id`, whose
        empty fields take the other's values; the kept person is modified."""
        with self._lock:
            keep, gone = self._record("person", keep_id), self._record("person", gone_id)
            if keep_id == gone_id or keep["is_deleted"] or gone["is_deleted"]:
                raise ValueError("merge takes two different persons, neither deleted")
            for name in ("first_name", "last_name", "org_id", "owner_id"):
                if keep.get(name) is None:
                    keep[name] = gone.get(name)
            seen = {e["value"] for e in keep["emails"]}
            keep["emails"] += [
                {**e, "primary": False} for e in gone["emails"] if e["value"] not in seen
            ]
            seen = {p["value"] for p in keep["phones"]}
            keep["phones"] += [
                {**p, "primary": False} for p in gone["phones"] if p["value"] not in seen
            ]
            for key, value in gone["custom_fields"].items():
                if keep["custom_fields"].get(key) is None:
                    keep["custom_fields"][key] = value
            leads, deals = [], []
            for lead in self._records["lead"].values():
                if lead["person_id"] == gone_id:
                    lead["person_id"] = keep_id
                    self._touch("lead", lead)
                    leads.append(lead["id"])
            for deal in self._records["deal"].values():
                if deal["person_id"] == gone_id:
                    deal["person_id"] = keep_id
                    self._touch("deal", deal)
                    deals.append(deal["id"])
            gone["is_deleted"] = True
            self.merged[gone_id] = keep_id
            self._touch("person", gone)
            self._touch("person", keep)
            self._persist("lead", *leads)
            self._persist("deal", *deals)
            self._persist("person", keep_id, gone_id)

    # ---------------------------------------------------------------- generation

    @classmethod
    def generate(
        cls, seed: int, n: int, now: datetime, *, clock: Now | None = None
    ) -> PipedriveCompany:
        """A deterministic company: the sales reps as users (one deactivated), about `n`
        persons with organizations, a lead for most of them (some archived), deals for some, a
        few persons deleted and a few merged away."""
        rng = random.Random(f"pipedrive:{seed}")
        now = _utc(now)
        fixed = now
        company = cls(clock or (lambda: fixed))
        company._uuids = random.Random(f"pipedrive:{seed}:lead-ids")
        start = now - timedelta(days=180)

        def moment(after: datetime) -> datetime:
            span = max(1, int((now - after).total_seconds()))
            return after + timedelta(seconds=rng.randrange(span), milliseconds=rng.randrange(1000))

        owners = []
        for i, (first, last, _team) in enumerate(OWNERS_SPEC):
            slug = f"{ascii_slug(first)}.{ascii_slug(last)}"
            owners.append(
                company.add_user(
                    f"{first} {last}",
                    f"{slug}@quillstone.example",
                    is_admin=i == 0,
                    created=start + timedelta(days=i),
                )
            )
        company.add_user("Former Rep", "former.rep@quillstone.example", active=False, created=start)
        orgs: dict[str, int] = {}
        persons: list[int] = []
        for _ in range(n):
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            stem = rng.choice(_COMPANY_START) + rng.choice(_COMPANY_END)
            if stem not in orgs:
                orgs[stem] = company.add_organization(stem, rng.choice(owners))
            org_id = orgs[stem] if rng.random() < 0.8 else None
            slug = f"{ascii_slug(first)}.{ascii_slug(last)}"
            emails = [f"{slug}@{stem.lower()}.example"] if rng.random() > 0.05 else []
            if emails and rng.random() < 0.15:
                emails.append(f"{slug}{rng.randrange(10, 99)}@mail.example")
            phones = (
                [f"+44 20 7{''.join(rng.choice(string.digits) for _ in range(7))}"]
                if rng.random() < 0.6
                else []
            )
            created = moment(start)
            owner = rng.choice(owners)
            person_id = company.add_person(
                f"{first} {last}",
                first_name=first,
                last_name=last,
                emails=emails,
                phones=phones,
                org_id=org_id,
                owner_id=owner,
                add_time=created,
                update_time=moment(created),
            )
            persons.append(person_id)
            if rng.random() < 0.6:
                lead_created = moment(created)
                company.add_lead(
                    f"{stem} lead",
                    person_id=person_id,
                    organization_id=org_id,
                    owner_id=owner,
                    source_name=rng.choice(("Web forms", "API", "Manually created", "Chatbot")),
                    value=float(rng.choice((0, 1000, 5000, 12000))) or None,
                    add_time=lead_created,
                    update_time=moment(lead_created),
                    is_archived=rng.random() < 0.1,
                )
            if rng.random() < 0.25:
                deal_created = moment(created)
                status = rng.choices(("open", "won", "lost"), weights=(6, 2, 2))[0]
                company.add_deal(
                    f"{stem} deal",
                    person_id=person_id,
                    org_id=org_id,
                    user_id=owner,
                    stage_id=rng.randint(1, 5),
                    status=status,
                    value=float(rng.choice((5, 8, 12, 20, 35)) * 1000),
                    add_time=deal_created,
                    update_time=moment(deal_created),
                )
        for i, person_id in enumerate(persons):
            roll = rng.random()
            record = company._records["person"][person_id]
            if roll < 0.02:
                record["is_deleted"] = True
            elif roll < 0.04 and i > 0:
                keep = persons[rng.randrange(i)]
                if not company._records["person"][keep]["is_deleted"]:
                    company.merge_persons(keep, person_id)
        return company


_COMPANY_START = ("North", "Blue", "Bright", "Iron", "Silver", "Cedar", "Harbor", "Summit", "Pine")
_COMPANY_END = ("works", "labs", "soft", "logic", "grid", "scale", "forge", "stack", "field")


def _deleted(kind: str, record: dict[str, Any]) -> bool:
    if kind == "person":
        return bool(record.get("is_deleted"))
    if kind == "deal":
        return record.get("status") == "deleted"
    return False


# --------------------------------------------------------------------------- wire shapes


def person_v2(record: dict[str, Any], keys: set[str] | None = None) -> dict[str, Any]:
    custom = record["custom_fields"]
    return {
        "id": record["id"],
        "name": record["name"],
        "first_name": record["first_name"],
        "last_name": record["last_name"],
        "owner_id": record["owner_id"],
        "org_id": record["org_id"],
        "add_time": rfc3339(record["add_time"]),
        "update_time": rfc3339(record["update_time"]),
        "emails": copy.deepcopy(record["emails"]),
        "phones": copy.deepcopy(record["phones"]),
        "is_deleted": record["is_deleted"],
        "visible_to": 3,
        "label_ids": [],
        "picture_id": None,
        "custom_fields": {k: v for k, v in custom.items() if keys is None or k in keys},
    }


def deal_v2(record: dict[str, Any]) -> dict[str, Any]:
    def stamp(value: datetime | None) -> str | None:
        return None if value is None else rfc3339(value)

    return {
        "id": record["id"],
        "title": record["title"],
        "creator_user_id": record["user_id"],
        "owner_id": record["user_id"],  # v1's user_id is owner_id in v2
        "person_id": record["person_id"],
        "org_id": record["org_id"],
        "pipeline_id": 1,
        "stage_id": record["stage_id"],
        "value": record["value"],
        "currency": record["currency"],
        "add_time": stamp(record["add_time"]),
        "update_time": stamp(record["update_time"]),
        "stage_change_time": None,
        "status": record["status"],
        "is_deleted": record["status"] == "deleted",
        "probability": None,
        "lost_reason": None,
        "visible_to": 3,
        "close_time": stamp(record["close_time"]),
        "won_time": stamp(record["won_time"]),
        "lost_time": stamp(record["lost_time"]),
        "expected_close_date": None,
        "label_ids": [],
        "custom_fields": {},
    }


def lead_v1(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "title": record["title"],
        "owner_id": record["owner_id"],
        "creator_id": record["creator_id"],
        "label_ids": list(record["label_ids"]),
        "person_id": record["person_id"],
        "organization_id": record["organization_id"],
        "source_name": record["source_name"],
        "origin": "API",
        "channel": None,
        "is_archived": record["is_archived"],
        "was_seen": record["was_seen"],
        "value": copy.deepcopy(record["value"]),
        "expected_close_date": None,
        "next_activity_id": None,
        "add_time": lead_time(record["add_time"]),
        "update_time": lead_time(record["update_time"]),
        "visible_to": "3",
    }


def user_v1(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": record["id"],
        "name": record["name"],
        "email": record["email"],
        "active_flag": record["active_flag"],
        "is_admin": 1 if record["is_admin"] else 0,
        "role_id": 1,
        "lang": 1,
        "locale": "en_US",
        "timezone_name": "Europe/London",
        "has_created_company": bool(record["is_admin"]),
        "created": v1_time(record["created"]),
        "modified": v1_time(record["modified"]),
        "icon_url": None,
        "is_you": False,
    }


# --------------------------------------------------------------------------- cursors


def _encode_cursor(position: list[Any]) -> str:
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError):
        raise PipedriveError(400, "Invalid cursor") from None
    if not isinstance(position, list) or len(position) != 2:
        raise PipedriveError(400, "Invalid cursor")
    return position


# --------------------------------------------------------------------------- the app


@dataclass(frozen=True)
class SeenWrite:
    """One write request as the app saw it (the token left out)."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any


class PipedriveApp(VendorApp):
    vendor = "pipedrive"

    def __init__(
        self,
        ctx: Context,
        company: PipedriveCompany | Callable[[], PipedriveCompany] | None = None,
        *,
        burst_limit: int = DEFAULT_BURST_LIMIT,
    ) -> None:
        super().__init__(ctx)
        make: Callable[[], PipedriveCompany] = (
            company
            if callable(company)
            else lambda: PipedriveCompany.generate(7, 50, ctx.clock.now(), clock=ctx.clock.now)
        )
        # Made (or restored from the state file, with LeadFlow's writes) on first use.
        self._company = Lazy(
            company if isinstance(company, PipedriveCompany) else None,
            lambda: kept(
                ctx.store,
                self.vendor,
                ctx.clock.now_ms,
                make,
                lambda rows: PipedriveCompany.restore(rows, clock=ctx.clock.now),
            ),
        )
        self.burst_limit = burst_limit  # requests per 2 s per token; 0: off
        self.writes: list[SeenWrite] = []
        self.served: list[tuple[str, str, int]] = []  # (method, path, status) per request
        self.faults: list[int] = []  # statuses the next requests fail with under `serving`
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}
        # (token_key(token), UTC day) -> writes that day; kept across a restart, as Pipedrive's.
        self._daily_writes: dict[tuple[str, str], int] = {}
        kept_usage(ctx.store, self.vendor, ctx.clock.now_ms, self._restore_usage, self._usage)

    def _usage(self) -> list[list[Any]]:
        with self._lock:
            return [[key, day, n] for (key, day), n in self._daily_writes.items()]

    def _restore_usage(self, saved: list[list[Any]]) -> None:
        with self._lock:
            self._daily_writes = {(str(key), str(day)): int(n) for key, day, n in saved}

    @property
    def company(self) -> PipedriveCompany:
        return self._company.get()

    def write_log(self) -> list[SeenWrite]:
        with self._lock:
            return list(self.writes)

    # ---------------------------------------------------------------- limits

    def _burst(self, token: str) -> tuple[bool, dict[str, str]]:
        """Take one request from the token's 2-second window: (allowed, rate-limit headers)."""
        now = time.monotonic()
        with self._lock:
            limit = self.burst_limit
            hits = self._hits.setdefault(token, deque())
            while hits and hits[0] <= now - BURST_WINDOW_S:
                hits.popleft()
            if limit <= 0:
                return True, {}
            allowed = len(hits) < limit
            if allowed:
                hits.append(now)
            reset = math.ceil(hits[0] + BURST_WINDOW_S - now) if hits else 0
            headers = {
                "x-ratelimit-limit": str(limit),
                "x-ratelimit-remaining": str(max(0, limit - len(hits))),
                "x-ratelimit-reset": str(max(1, reset) if not allowed else reset),
            }
            return allowed, headers

    def _daily_left(self, token: str, method: str) -> str:
        day = self.company.now().date().isoformat()
        key = (token_key(token), day)
        with self._lock:
            used = self._daily_writes.get(key, 0)
            if method in ("POST", "PUT", "PATCH"):
                used += 1
                self._daily_writes[key] = used
            return str(max(0, DAILY_WRITE_LIMIT - used))

    # ---------------------------------------------------------------- entry points

    def _token(self) -> str:
        return self.ctx.tokens.get("pipedrive", DEFAULT_TOKEN)

    def handle(self, req: Request) -> Response:
        resp = self._handle(req)
        with self._lock:
            self.served.append((req.method, req.path, resp.status))
        return resp

    def _handle(self, req: Request) -> Response:
        given = req.header("x-api-token") or req.param("api_token")
        if not given or given != self._token():
            return pd_error(401, "unauthorized access")
        allowed, headers = self._burst(given)
        if not allowed:
            return pd_error(429, "Request over limit", headers)
        try:
            resp = self._route(req)
        except PipedriveError as exc:
            resp = exc.response()
        if resp.status < 400:
            headers["x-daily-requests-left"] = self._daily_left(given, req.method)
        resp.headers.update(headers)
        return resp

    def fault(self, status: int, req: Request) -> Response:
        if status == 429:
            limit = max(self.burst_limit, 1)
            headers = {
                "x-ratelimit-limit": str(limit),
                "x-ratelimit-remaining": "0",
                "x-ratelimit-reset": "1",
            }
            return pd_error(429, "Request over limit", headers)
        messages = {
            400: "Bad request",
            401: "unauthorized access",
            403: "You do not have permissions to do this action",
            404: "Not found",
            500: "Internal server error",
            502: "Bad gateway",
            503: "Service unavailable",
            504: "Gateway timeout",
        }
        return pd_error(status, messages.get(status, "Something went wrong"))

    # ---------------------------------------------------------------- routing

    def _route(self, req: Request) -> Response:
        v2 = _V2.match(req.path)
        if v2 is not None:
            parts = [p for p in (v2.group(1) or "").split("/") if p]
            if parts in (["persons"], ["deals"]):
                self._only(req, "GET")
                return self._list_v2(req, parts[0])
            if len(parts) == 2 and parts[0] == "persons":
                if req.method == "GET":
                    return self._get_person(parts[1])
                self._only(req, "PATCH")
                return self._patch_person(req, parts[1])
            raise PipedriveError(404, "Unknown method .")
        v1 = _V1.match(req.path)
        if v1 is not None:
            parts = [p for p in (v1.group(1) or "").split("/") if p]
            if parts == ["leads"]:
                self._only(req, "GET")
                return self._list_leads(req)
            if len(parts) == 2 and parts[0] == "leads":
                if req.method == "GET":
                    return Response(200, {"success": True, "data": lead_v1(self._lead(parts[1]))})
                self._only(req, "PATCH")
                return self._patch_lead(req, parts[1])
            if parts == ["users"]:
                self._only(req, "GET")
                users = self.company.records("user")
                return Response(200, {"success": True, "data": [user_v1(u) for u in users]})
            if parts == ["personFields"]:
                self._only(req, "GET")
                return self._person_fields(req)
        raise PipedriveError(404, "Unknown method .")

    @staticmethod
    def _only(req: Request, method: str) -> None:
        if req.method != method:
            raise PipedriveError(405, f"Method {req.method} not allowed")

    # ---------------------------------------------------------------- reads

    @staticmethod
    def _limit(req: Request) -> int:
        raw = req.param("limit")
        if raw is None or raw == "":
            return DEFAULT_PAGE
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE:
            raise PipedriveError(400, f"limit must be an integer from 1 to {MAX_PAGE}")
        return int(raw)

    @staticmethod
    def _time_param(req: Request, name: str) -> datetime | None:
        raw = req.param(name)
        if raw is None or raw == "":
            return None
        try:
            return _parse_rfc3339(raw)
        except ValueError:
            raise PipedriveError(
                400, f"{name} must be a date-time in RFC3339 format, e.g. 2025-01-01T10:20:00Z"
            ) from None

    def _list_v2(self, req: Request, what: str) -> Response:
        kind = "person" if what == "persons" else "deal"
        limit = self._limit(req)
        since = self._time_param(req, "updated_since")
        until = self._time_param(req, "updated_until")
        sort_by = req.param("sort_by") or "id"
        direction = (req.param("sort_direction") or "asc").lower()
        if sort_by not in _SORTABLE_V2:
            raise PipedriveError(400, f"sort_by must be one of {', '.join(_SORTABLE_V2)}")
        if direction not in ("asc", "desc"):
            raise PipedriveError(400, "sort_direction must be one of asc, desc")
        status = req.param("status")
        owner = req.param("owner_id")
        ids = {i.strip() for i in (req.param("ids") or "").split(",") if i.strip()}

        def visible(r: dict[str, Any]) -> bool:
            if kind == "person":
                return not r["is_deleted"]
            if status:  # open, won, lost, or deleted (deals deleted in the last 30 days)
                return bool(r["status"] == status)
            return bool(r["status"] != "deleted")

        rows = [
            r
            for r in self.company.records(kind, include_deleted=True)
            if visible(r)
            and (since is None or r["update_time"] >= since)
            and (until is None or r["update_time"] < until)
            and (not owner or str(r.get("owner_id", r.get("user_id"))) == owner)
            and (not ids or str(r["id"]) in ids)
        ]

        def key(r: dict[str, Any]) -> tuple[Any, int]:
            value = r["id"] if sort_by == "id" else rfc3339(r[sort_by])
            return (value, int(r["id"]))

        rows.sort(key=key, reverse=direction == "desc")
        cursor = req.param("cursor")
        if cursor:
            position = tuple(_decode_cursor(cursor))
            if direction == "asc":
                rows = [r for r in rows if key(r) > position]
            else:
                rows = [r for r in rows if key(r) < position]
        page = rows[:limit]
        more = len(rows) > limit
        wanted = req.param("custom_fields")
        keys = {k.strip() for k in wanted.split(",")} if wanted else None
        data = [person_v2(r, keys) if kind == "person" else deal_v2(r) for r in page]
        next_cursor = _encode_cursor(list(key(page[-1]))) if more and page else None
        return Response(
            200, {"success": True, "data": data, "additional_data": {"next_cursor": next_cursor}}
        )

    def _person(self, raw_id: str) -> dict[str, Any]:
        if not raw_id.isdigit():
            raise PipedriveError(400, "id must be an integer")
        try:
            record = self.company.get("person", int(raw_id))
        except KeyError:
            raise PipedriveError(404, "Person not found") from None
        if record["is_deleted"]:
            raise PipedriveError(404, "Person not found")
        return record

    def _get_person(self, raw_id: str) -> Response:
        return Response(200, {"success": True, "data": person_v2(self._person(raw_id))})

    def _lead(self, raw_id: str) -> dict[str, Any]:
        if not _UUID.match(raw_id):
            raise PipedriveError(400, "Validation failed: id: Invalid uuid")
        try:
            return self.company.get("lead", raw_id)
        except KeyError:
            raise PipedriveError(404, "Lead not found") from None

    @staticmethod
    def _offset(req: Request) -> int:
        raw = req.param("start") or "0"
        if not raw.isdigit():
            raise PipedriveError(400, "start must be a non-negative integer")
        return int(raw)

    def _list_leads(self, req: Request) -> Response:
        start, limit = self._offset(req), self._limit(req)
        archived = req.param("archived_status") or "all"
        if archived not in ("archived", "not_archived", "all"):
            raise PipedriveError(400, "archived_status must be one of archived, not_archived, all")
        filters = {
            name: req.param(name)
            for name in ("owner_id", "person_id", "organization_id")
            if req.param(name)
        }
        rows = [
            r
            for r in self.company.records("lead")
            if (archived == "all" or r["is_archived"] == (archived == "archived"))
            and all(str(r[name]) == value for name, value in filters.items())
        ]
        rows.sort(key=lambda r: r["add_time"])  # Pipedrive's default: oldest first
        for field, descending in reversed(self._sort(req.param("sort"))):
            rows.sort(key=_sort_key(field), reverse=descending)
        return _v1_page(rows, start, limit, lambda _i, r: lead_v1(r))

    @staticmethod
    def _sort(raw: str | None) -> list[tuple[str, bool]]:
        if not raw:
            return []
        out = []
        for part in raw.split(","):
            words = part.split()
            if not words or len(words) > 2 or words[0] not in _SORTABLE_LEADS:
                raise PipedriveError(400, f"Invalid sort field: {part.strip()[:40]}")
            mode = words[1].upper() if len(words) == 2 else "ASC"
            if mode not in ("ASC", "DESC"):
                raise PipedriveError(400, f"Invalid sort mode: {mode[:10]}")
            out.append((words[0], mode == "DESC"))
        return out

    def _person_fields(self, req: Request) -> Response:
        start, limit = self._offset(req), self._limit(req)
        with self.company._lock:
            fields = list(self.company.fields)
        return _v1_page(fields, start, limit, lambda i, f: f.describe(i + 1))

    # ---------------------------------------------------------------- writes

    def _log_write(self, req: Request) -> Any:
        headers = {k: str(v) for k, v in req.headers.items() if k.lower() != "x-api-token"}
        try:
            body = req.json()
        except (ValueError, UnicodeDecodeError):
            with self._lock:
                self.writes.append(SeenWrite(req.method, req.path, headers, None))
            raise PipedriveError(400, "Request body is not valid JSON") from None
        with self._lock:
            self.writes.append(SeenWrite(req.method, req.path, headers, copy.deepcopy(body)))
        if not isinstance(body, dict):
            raise PipedriveError(400, "Request body must be a JSON object")
        return body

    def _check_owner(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise PipedriveError(400, "owner_id must be an integer")
        users = {u["id"]: u for u in self.company.records("user")}
        user = users.get(value)
        if user is None or not user["active_flag"]:
            raise PipedriveError(400, "Owner not found or not active")
        return value

    def _patch_person(self, req: Request, raw_id: str) -> Response:
        body = self._log_write(req)
        current = self._person(raw_id)
        changes: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        for name, value in body.items():
            if name == "owner_id":
                changes["owner_id"] = self._check_owner(value)
            elif name in ("name", "first_name", "last_name"):
                if value is not None and not isinstance(value, str):
                    raise PipedriveError(400, f"{name} must be a string")
                changes[name] = value
            elif name == "org_id":
                if value is not None and value not in {
                    o["id"] for o in self.company.records("organization")
                }:
                    raise PipedriveError(400, "Organization not found")
                changes[name] = value
            elif name == "custom_fields":
                if not isinstance(value, dict):
                    raise PipedriveError(400, "custom_fields must be an object")
                custom = self._custom_values(value)
            else:
                raise PipedriveError(400, f"Unknown field: {name[:40]}")
        with self.company._lock:
            record = self.company._record("person", current["id"])
            record.update(changes)
            record["custom_fields"].update(custom)
            self.company._touch("person", record)
            self.company._persist("person", current["id"])
            return Response(200, {"success": True, "data": person_v2(record)})

    def _custom_values(self, values: dict[str, Any]) -> dict[str, Any]:
        specs = self.company._custom()
        out = {}
        for key, value in values.items():
            spec = specs.get(key)
            if spec is None:
                raise PipedriveError(400, f"Custom field with key {key[:40]} does not exist")
            if value is not None:
                if spec.field_type == "double":
                    if isinstance(value, bool) or not isinstance(value, int | float):
                        raise PipedriveError(400, f"Custom field {key} expects a number")
                    value = float(value)
                elif not isinstance(value, str):
                    raise PipedriveError(400, f"Custom field {key} expects a string")
                elif spec.field_type == "varchar" and len(value) > 255:
                    raise PipedriveError(400, f"Custom field {key} is longer than 255 characters")
            out[key] = value
        return out

    def _patch_lead(self, req: Request, raw_id: str) -> Response:
        body = self._log_write(req)
        current = self._lead(raw_id)
        changes: dict[str, Any] = {}
        for name, value in body.items():
            if name == "owner_id":
                changes[name] = self._check_owner(value)
            elif name == "label_ids":
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise PipedriveError(400, "label_ids must be an array of UUIDs")
                changes[name] = list(value)
            elif name == "title":
                if not isinstance(value, str) or not value.strip():
                    raise PipedriveError(400, "title must be a non-empty string")
                changes[name] = value
            elif name == "is_archived":
                if not isinstance(value, bool):
                    raise PipedriveError(400, "is_archived must be a boolean")
                changes[name] = value
            else:
                raise PipedriveError(400, f"Unknown field: {name[:40]}")
        with self.company._lock:
            record = self.company._record("lead", current["id"])
            record.update(changes)
            self.company._touch("lead", record)
            self.company._persist("lead", current["id"])
            return Response(200, {"success": True, "data": lead_v1(record)})


def _sort_key(field: str) -> Callable[[dict[str, Any]], tuple[int, Any]]:
    return lambda record: _sortable(record[field])


def _sortable(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, "")
    if isinstance(value, int | float):
        return (1, value)
    return (2, value if isinstance(value, datetime) else str(value).lower())


def _v1_page(
    items: list[Any], start: int, limit: int, render: Callable[[int, Any], dict[str, Any]]
) -> Response:
    """A v1 list answer: `limit` items from offset `start` (each rendered with its position in
    the whole list), and `additional_data.pagination` saying whether more follow."""
    page = items[start : start + limit]
    more = start + limit < len(items)
    pagination: dict[str, Any] = {
        "start": start,
        "limit": limit,
        "more_items_in_collection": more,
    }
    if more:
        pagination["next_start"] = start + limit
    return Response(
        200,
        {
            "success": True,
            "data": [render(start + n, item) for n, item in enumerate(page)],
            "additional_data": {"pagination": pagination},
        },
    )


# --------------------------------------------------------------------------- standalone serving


def standalone_context(token: str = DEFAULT_TOKEN, now: datetime | None = None) -> Context:
    """A Context for serving the Pipedrive app on its own (tests), outside `Sandbox`."""
    return standalone.context("pipedrive", token, now)


serving = standalone.serving


__all__ = [
    "DEFAULT_BURST_LIMIT",
    "DEFAULT_TOKEN",
    "LEADFLOW_FIELDS",
    "PipedriveApp",
    "PipedriveCompany",
    "PipedriveError",
    "field_key",
    "lead_time",
    "rfc3339",
    "serving",
    "standalone_context",
]
