"""HubSpot CRM v3 as the sandbox serves it: contacts search and batch writes, owners, properties.

Wire details that matter to a connector, all as HubSpot does them:

- Bearer auth; a missing or wrong token is 401 INVALID_AUTHENTICATION.
- Property values are strings (or null) on the way out and must be strings on the way in.
- Search pages with a numeric `after` offset, `limit` at most 200, `paging` omitted on the last
  page, `total` the full count; a query cannot page past 10,000 results (400), and search has its
  own limit of 5 requests per second per token besides the 100 per rolling 10 s of everything.
- Batch writes take at most 100 inputs; a batch where only some inputs fail answers 207 with one
  error per failure, the others are applied.
- Every write moves `lastmodifieddate` to now, so an incremental search sees it.
- A write that gives a contact a new owner stamps `hubspot_owner_assigneddate` and schedules that
  owner's first touch (`hs_sa_first_engagement_date`, `..._object_type`) after a delay fixed per
  (contact, owner): most within minutes, some hours later, some never. The touch appears, with a new
  `lastmodifieddate`, once the sandbox clock passes it.
- `GET /account-info/v3/details` gives the portal id that record links need.
- `POST /crm/v3/objects/contacts/gdpr-delete` permanently deletes one contact, by id or with
  `idProperty: "email"`, and its associations: 204 with no body. An unknown id is 404
  OBJECT_NOT_FOUND; an unknown email is 204 too (HubSpot then blocklists the address; the sandbox
  does not simulate the blocklist).
- Deals (read-only): `POST /crm/v3/objects/deals/search` with the same filters, sorts, paging and
  10,000-result cap as contacts (and the same per-second search limit), and their contacts through
  `POST /crm/v4/associations/deals/contacts/batch/read` (at most 1,000 inputs; a deal without
  contacts is an error in a 207 answer, the others are returned).
- Companies (read-only; sandbox/companies.py makes them): `POST /crm/v3/objects/companies/search`
  like deals (cursor `hs_lastmodifieddate`; the free-text `query` searches name, domain, website and
  phone), `GET /crm/v3/objects/companies` (paged by id with `after`, at most 100 a page) and
  `GET /crm/v3/objects/companies/{id}`. Without `properties`, name, domain, createdate,
  hs_lastmodifieddate and hs_object_id are returned, as HubSpot does.
- Merges: `POST /crm/v3/objects/contacts/merge` with `primaryObjectId` and `objectIdToMerge` makes
  a new contact with a new id, as HubSpot's changelog says merges now do ("a new record with a new
  ID will be created for the resulting merged record"): the primary's values, the other contact's
  where the primary has none, the lifecycle stage furthest down the funnel, the form submissions
  of both added up, and `hs_merged_object_ids` listing both ids and every id either had absorbed
  (`A;B`, then `A;B;C;X` when X, the contact made of A and B, is merged with C). The two contacts
  leave search, the list and the archive; a `GET` of either old id answers with the new contact
  (its new id), as HubSpot's aliases do. Writes to an old id are not followed (404, or an
  OBJECT_NOT_FOUND error in a batch): HubSpot documents the aliases for fetching only.
- Archive: `DELETE /crm/v3/objects/contacts/{id}` and `POST .../batch/archive` (at most 100 inputs)
  answer 204 and move contacts to the recycle bin, out of search, list, get and batch writes.
  `GET /crm/v3/objects/contacts?archived=true` lists the bin by id (`after`, at most 100 a page),
  each object with `archived: true` and `archivedAt`; HubSpot keeps it 90 days, and so does the
  listing. Restoring is a HubSpot UI action with no API (`Sandbox.hubspot_restore`): the contact
  comes back under its id with a new `lastmodifieddate`, unless a live contact took its email.

Docs: https://developers.hubspot.com/docs/api/crm/search,
https://developers.hubspot.com/docs/api/crm/contacts, https://developers.hubspot.com/docs/api/crm/owners,
https://developers.hubspot.com/docs/api/usage-details,
https://developers.hubspot.com/docs/api/crm/deals, https://developers.hubspot.com/docs/api/crm/associations,
https://developers.hubspot.com/docs/api/crm/companies,
https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/basic/post-crm-v3-objects-contacts-gdpr-delete,
https://developers.hubspot.com/docs/api-reference/crm-contacts-v3/basic/post-crm-v3-objects-contacts-merge,
https://developers.hubspot.com/changelog/updated-merge-functionality-for-contacts-and-companies,
https://knowledge.hubspot.com/records/merge-records, https://knowledge.hubspot.com/records/restore-deleted-records
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sandbox import hubspot_history
from sandbox.clock import hubspot_time, parse_iso_ms
from sandbox.limits import Decision
from sandbox.properties import (
    ALWAYS_RETURNED,
    COMPANY_ALWAYS_RETURNED,
    COMPANY_DEFAULT_RETURNED,
    COMPANY_PROPERTIES_BY_NAME,
    CONTACT_PROPERTIES,
    DEAL_ALWAYS_RETURNED,
    DEAL_DEFAULT_RETURNED,
    DEAL_PROPERTIES_BY_NAME,
    DEFAULT_RETURNED,
    LIFECYCLE_STAGES,
    PROPERTIES_BY_NAME,
    PROPERTY_NAMES,
    UNIQUE_ID_PROPERTIES,
    ContactProperty,
    first_touch_delay_ms,
    touch_type,
)
from sandbox.server import Request, Response, VendorApp

CONTACTS = "/crm/v3/objects/contacts"
SEARCH_PATH = f"{CONTACTS}/search"
OWNERS = "/crm/v3/owners"
PROPERTIES = "/crm/v3/properties/contacts"
CREATED_PROPERTIES = "hubspot.created_properties"  # sandbox meta key: a fresh portal's creations
# Which field types each property type takes (HubSpot's properties API rejects other pairs).
_FIELD_TYPES = {
    "string": ("text", "textarea", "phonenumber", "html", "file"),
    "number": ("number", "calculation_equation"),
    "datetime": ("date",),
    "date": ("date",),
    "enumeration": ("select", "radio", "checkbox", "booleancheckbox", "calculation_equation"),
    "bool": ("booleancheckbox",),
}
ACCOUNT_DETAILS = "/account-info/v3/details"
DEALS = "/crm/v3/objects/deals"
GDPR_DELETE = f"{CONTACTS}/gdpr-delete"
DEAL_SEARCH_PATH = f"{DEALS}/search"
DEAL_CONTACTS_BATCH_READ = "/crm/v4/associations/deals/contacts/batch/read"
COMPANIES = "/crm/v3/objects/companies"
COMPANY_SEARCH_PATH = f"{COMPANIES}/search"
ASSOCIATIONS_MAX_INPUTS = 1_000
MERGE_PATH = f"{CONTACTS}/merge"
BATCH_ARCHIVE = f"{CONTACTS}/batch/archive"
# How long HubSpot keeps an archived contact restorable (and listed with archived=true).
ARCHIVE_KEPT_MS = 90 * 86_400_000
# HubSpot's association type for an unlabeled deal -> contact association.
DEAL_TO_CONTACT_TYPE_ID = 3
SANDBOX_PORTAL_ID = 24681357

# When an owner first touches a newly assigned contact: (share, from ms, to ms); the rest never do.
_TOUCH_TABLE = """CREATE TABLE IF NOT EXISTS hs_first_touch (
    contact_id INTEGER PRIMARY KEY, owner_id TEXT, due_ms INTEGER, object_type TEXT)"""

# The recycle bin: archived contacts, every property kept, and when each was archived.
_ARCHIVE_TABLE = f"""CREATE TABLE IF NOT EXISTS hs_contacts_archived (
    id INTEGER PRIMARY KEY, {", ".join(f"{name} TEXT" for name in PROPERTY_NAMES)},
    archived_ms INTEGER NOT NULL)"""
# A merged-away contact id -> the contact it now resolves to (always a live one).
_ALIAS_TABLE = """CREATE TABLE IF NOT EXISTS hs_contact_aliases (
    old_id INTEGER PRIMARY KEY, new_id INTEGER NOT NULL, merged_ms INTEGER NOT NULL)"""
_CONTACT_COLUMNS = ", ".join(["id", *PROPERTY_NAMES])
# The lifecycle stage a merge keeps, furthest down the funnel first ("other" is no stage of it).
_STAGE_RANK = {stage: rank for rank, stage in enumerate(LIFECYCLE_STAGES) if stage != "other"}

SEARCH_MAX_LIMIT = 200
SEARCH_DEFAULT_LIMIT = 10
BATCH_MAX_INPUTS = 100
LIST_MAX_LIMIT = 100
OWNERS_DEFAULT_LIMIT = 100
OWNERS_MAX_LIMIT = 500
MAX_FILTER_GROUPS = 5
MAX_FILTERS_PER_GROUP = 10
MAX_FILTERS = 25

OPERATORS = {
    "EQ",
    "NEQ",
    "LT",
    "LTE",
    "GT",
    "GTE",
    "BETWEEN",
    "IN",
    "NOT_IN",
    "HAS_PROPERTY",
    "NOT_HAS_PROPERTY",
    "CONTAINS_TOKEN",
    "NOT_CONTAINS_TOKEN",
}
_COMPARE = {"EQ": "=", "LT": "<", "LTE": "<=", "GT": ">", "GTE": ">="}
_EMAIL_RE = re.compile(r"^[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}$")

AUTH_MESSAGE = (
    "Authentication credentials not found. This API supports OAuth 2.0 authentication and you can "
    "find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview"
)


@dataclass(frozen=True)
class CrmObject:
    """What search needs to know of an object type: its table and its properties."""

    name: str
    table: str
    properties: Mapping[str, ContactProperty]
    always_returned: tuple[str, ...]
    default_returned: tuple[str, ...]
    modified: str  # the property HubSpot moves on every change
    searchable: tuple[str, ...]  # what the free-text `query` matches


CONTACT = CrmObject(
    "contacts",
    "hs_contacts",
    PROPERTIES_BY_NAME,
    ALWAYS_RETURNED,
    DEFAULT_RETURNED,
    "lastmodifieddate",
    ("firstname", "lastname", "email", "phone", "company"),
)
DEAL = CrmObject(
    "deals",
    "hs_deals",
    DEAL_PROPERTIES_BY_NAME,
    DEAL_ALWAYS_RETURNED,
    DEAL_DEFAULT_RETURNED,
    "hs_lastmodifieddate",
    ("dealname",),
)
COMPANY = CrmObject(
    "companies",
    "hs_companies",
    COMPANY_PROPERTIES_BY_NAME,
    COMPANY_ALWAYS_RETURNED,
    COMPANY_DEFAULT_RETURNED,
    "hs_lastmodifieddate",
    ("name", "domain", "website", "phone"),
)
SEARCH_PATHS = (SEARCH_PATH, DEAL_SEARCH_PATH, COMPANY_SEARCH_PATH)


class HubSpotError(Exception):
    """A request HubSpot would refuse; `response` is what it answers."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def error(
    status: int,
    message: str,
    category: str | None,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> Response:
    """A HubSpot error body: status, message, correlationId, category (+ errors, context...)."""
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "correlationId": str(uuid.uuid4()),
    }
    if category:
        body["category"] = category
    if errors:
        body["errors"] = errors
    body.update(extra)
    return Response(status, body, dict(headers or {}))


def _invalid(message: str, **extra: Any) -> HubSpotError:
    return HubSpotError(error(400, message, "VALIDATION_ERROR", **extra))


def _property_invalid(name: str, message: str, code: str) -> str:
    detail = [
        {
            "isValid": False,
            "message": message,
            "error": code,
            "name": name,
            "localizedErrorMessage": message,
        }
    ]
    return "Property values were not valid: " + json.dumps(detail)


class HubSpotApp(VendorApp):
    vendor = "hubspot"

    # ------------------------------------------------------------------ entry

    def handle(self, req: Request) -> Response:
        token = req.bearer_token()
        if token is None or token != self.ctx.tokens["hubspot"]:
            return error(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
        is_search = req.method == "POST" and req.path.rstrip("/") in SEARCH_PATHS
        buckets = ["hubspot", "hubspot_search"] if is_search else ["hubspot"]
        decision = self.ctx.limiter.acquire(buckets, token)
        if not decision.allowed:
            return self._rate_limited(decision, token)
        self._settle_first_touches()
        try:
            resp = self._route(req)
        except HubSpotError as exc:
            resp = exc.response
        # Search responses carry no X-HubSpot-RateLimit headers (its limit is per second and
        # separate), so a connector must not depend on them there.
        if not is_search and decision.limit:
            resp.headers.update(_limit_headers(decision))
        return resp

    def fault(self, status: int, req: Request) -> Response:
        if status == 429:
            decision = Decision(False, "hubspot", *self.ctx.limiter.limit("hubspot"), 0, 1)
            return self._rate_limited(decision, req.bearer_token() or "")
        if status == 401:
            return error(401, AUTH_MESSAGE, "INVALID_AUTHENTICATION")
        if status == 403:
            return error(
                403,
                "This app hasn't been granted all required scopes to make this call.",
                "MISSING_SCOPES",
            )
        if status == 404:
            return error(404, "resource not found", "OBJECT_NOT_FOUND")
        if status < 500:
            return error(status, "There was a problem with the request.", "VALIDATION_ERROR")
        return error(status, "internal error", None)

    def _rate_limited(self, decision: Decision, token: str) -> Response:
        group = hashlib.sha256(token.encode()).hexdigest()[:8]
        headers = {"Retry-After": str(decision.retry_after), **_limit_headers(decision)}
        if decision.bucket == "hubspot_search":
            return error(
                429,
                "You have reached your secondly limit.",
                None,
                headers=headers,
                errorType="RATE_LIMIT",
                policyName="SECONDLY",
                groupName=f"publicapi:private-app:search-secondly:{group}",
            )
        return error(
            429,
            "You have reached your ten_secondly_rolling limit.",
            None,
            headers=headers,
            errorType="RATE_LIMIT",
            policyName="TEN_SECONDLY_ROLLING",
            groupName=f"publicapi:private-app:ten-secondly-rolling:{group}",
        )

    def _route(self, req: Request) -> Response:
        path = req.path.rstrip("/")
        post = req.method == "POST"
        get = req.method == "GET"
        if path == SEARCH_PATH:
            return self._search(self._body(req)) if post else _not_allowed()
        if path == DEAL_SEARCH_PATH:
            return self._search(self._body(req), DEAL) if post else _not_allowed()
        if path == DEAL_CONTACTS_BATCH_READ:
            return self._deal_contacts(self._body(req)) if post else _not_allowed()
        if path == COMPANY_SEARCH_PATH:
            return self._search(self._body(req), COMPANY) if post else _not_allowed()
        if path == DEALS:
            return self._list_contacts(req, DEAL) if get else _not_allowed()
        if path == f"{DEALS}/batch/read":
            return self._batch_read(self._body(req), DEAL) if post else _not_allowed()
        if path.startswith(DEALS + "/") and path.count("/") == 5:
            return self._get_deal(req, path.rsplit("/", 1)[1]) if get else _not_allowed()
        if path == COMPANIES:
            return self._list_contacts(req, COMPANY) if get else _not_allowed()
        if path.startswith(COMPANIES + "/") and path.count("/") == 5:
            return self._get_company(req, path.rsplit("/", 1)[1]) if get else _not_allowed()
        if path == f"{CONTACTS}/batch/upsert":
            return self._batch_upsert(self._body(req)) if post else _not_allowed()
        if path == f"{CONTACTS}/batch/update":
            return self._batch_update(self._body(req)) if post else _not_allowed()
        if path == f"{CONTACTS}/batch/read":
            return self._batch_read(self._body(req)) if post else _not_allowed()
        if path == GDPR_DELETE:
            return self._gdpr_delete(self._body(req)) if post else _not_allowed()
        if path == MERGE_PATH:
            return self._merge_request(self._body(req)) if post else _not_allowed()
        if path == BATCH_ARCHIVE:
            return self._batch_archive(self._body(req)) if post else _not_allowed()
        if path == CONTACTS:
            if not get:
                return _not_allowed()
            return self._list_archived(req) if _archived(req) else self._list_contacts(req)
        if path.startswith(CONTACTS + "/") and path.count("/") == 5:
            if req.method == "DELETE":
                self.archive([path.rsplit("/", 1)[1]])
                return Response(204)
            return self._get_contact(req, path.rsplit("/", 1)[1]) if get else _not_allowed()
        if path == OWNERS:
            return self._owners(req) if get else _not_allowed()
        if path == ACCOUNT_DETAILS:
            return Response(200, self._account_details()) if get else _not_allowed()
        if path.startswith(OWNERS + "/") and path.count("/") == 4:
            return self._owner(path.rsplit("/", 1)[1]) if get else _not_allowed()
        if path == PROPERTIES:
            if get:
                missing = self._uncreated()
                return Response(
                    200,
                    {
                        "results": [
                            _property_def(p) for p in CONTACT_PROPERTIES if p.name not in missing
                        ]
                    },
                )
            return self._create_property(self._body(req)) if post else _not_allowed()
        if path.startswith(PROPERTIES + "/") and path.count("/") == 5 and get:
            prop = PROPERTIES_BY_NAME.get(path.rsplit("/", 1)[1])
            if prop is None or prop.name in self._uncreated():
                return error(
                    404, f"Unable to find property {path.rsplit('/', 1)[1]}", "OBJECT_NOT_FOUND"
                )
            return Response(200, _property_def(prop))
        return error(404, f"No route for {req.method} {req.path}", "OBJECT_NOT_FOUND")

    @staticmethod
    def _body(req: Request) -> dict[str, Any]:
        if not req.body.strip():
            raise _invalid("Invalid input JSON : No content to map due to end-of-input")
        try:
            body = req.json()
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            line = getattr(exc, "lineno", 1)
            col = getattr(exc, "colno", 1)
            msg = getattr(exc, "msg", str(exc))
            raise _invalid(f"Invalid input JSON on line {line}, column {col}: {msg}") from exc
        if not isinstance(body, dict):
            raise _invalid("Invalid input JSON on line 1, column 1: expected a JSON object")
        return body

    # ------------------------------------------------------------------ search

    def _search(self, body: dict[str, Any], obj: CrmObject = CONTACT) -> Response:
        limit = _int(body.get("limit", SEARCH_DEFAULT_LIMIT), "limit")
        if limit < 0 or limit > SEARCH_MAX_LIMIT:
            raise _invalid(
                f"limit must be between 0 and {SEARCH_MAX_LIMIT} (got {limit})",
                errors=[
                    {"message": f"must be less than or equal to {SEARCH_MAX_LIMIT}", "in": "limit"}
                ],
            )
        after_raw = body.get("after")
        after = 0 if after_raw in (None, "") else _int(after_raw, "after")
        if after < 0:
            raise _invalid(f"after must be a non-negative offset (got {after_raw})")
        cap = self.ctx.knobs.hubspot_search_cap
        if after + limit > cap:
            raise _invalid(
                f"Search results are limited to {cap} per query and after={after} with "
                f"limit={limit} pages past them. Narrow the query with filters instead.",
                context={"after": [str(after)], "limit": [str(limit)]},
            )
        where, params = _where(body.get("filterGroups") or [], body.get("query"), obj)
        order = _order(body.get("sorts") or [], obj)
        props = _requested(body.get("properties"), obj)
        with self.ctx.store.read() as conn:
            total = conn.execute(
                f"SELECT COUNT(*) FROM {obj.table} WHERE {where}", params
            ).fetchone()[0]
            rows = conn.execute(
                f"SELECT * FROM {obj.table} WHERE {where} ORDER BY {order} LIMIT ? OFFSET ?",
                [*params, limit, after],
            ).fetchall()
        out: dict[str, Any] = {
            "total": total,
            "results": [_object(r, props, obj) for r in rows],
        }
        if after + len(rows) < total and rows:
            out["paging"] = {"next": {"after": str(after + len(rows))}}
        return Response(200, out)

    # ------------------------------------------------------------------ associations

    def _deal_contacts(self, body: dict[str, Any]) -> Response:
        """POST /crm/v4/associations/deals/contacts/batch/read: each deal's contacts."""
        started = self.ctx.clock.now_ms()
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise _invalid("Invalid input JSON: inputs must be an array")
        if len(inputs) > ASSOCIATIONS_MAX_INPUTS:
            raise _invalid(
                f"Batch read is limited to {ASSOCIATIONS_MAX_INPUTS} inputs (got {len(inputs)})"
            )
        results, errors = [], []
        with self.ctx.store.read() as conn:
            for item in inputs:
                raw = str(item.get("id", "")) if isinstance(item, dict) else ""
                rows = (
                    conn.execute(
                        # an archived contact is no longer associated (HubSpot drops the links)
                        "SELECT contact_id FROM hs_deals WHERE id = ? AND contact_id IN "
                        "(SELECT id FROM hs_contacts) ORDER BY contact_id",
                        (int(raw),),
                    ).fetchall()
                    if raw.isdigit()
                    else []
                )
                if not rows:
                    errors.append(
                        {
                            "status": "error",
                            "category": "OBJECT_NOT_FOUND",
                            "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                            "message": f"No contacts are associated with deal {raw}.",
                            "context": {"fromObjectId": [raw]},
                        }
                    )
                    continue
                results.append(
                    {
                        "from": {"id": raw},
                        "to": [
                            {
                                "toObjectId": int(row[0]),
                                "associationTypes": [
                                    {
                                        "category": "HUBSPOT_DEFINED",
                                        "typeId": DEAL_TO_CONTACT_TYPE_ID,
                                        "label": None,
                                    }
                                ],
                            }
                            for row in rows
                        ],
                    }
                )
        return _batch_response(results, errors, started, self.ctx.clock.now_ms())

    # ------------------------------------------------------------------ batch writes

    def _inputs(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise _invalid("Invalid input JSON: inputs must be an array")
        if len(inputs) > BATCH_MAX_INPUTS:
            raise _invalid(
                f"Batch input size {len(inputs)} exceeds the limit of {BATCH_MAX_INPUTS} inputs",
                context={"limit": [str(BATCH_MAX_INPUTS)], "size": [str(len(inputs))]},
            )
        for item in inputs:
            if not isinstance(item, dict) or "id" not in item:
                raise _invalid("Invalid input JSON: each input needs an id and properties")
            props = item.get("properties", {})
            if not isinstance(props, dict):
                raise _invalid("Invalid input JSON: properties must be an object")
        missing = self._uncreated()
        unknown = sorted(
            {
                n
                for item in inputs
                for n in item.get("properties", {})
                if n not in PROPERTIES_BY_NAME or n in missing
            }
        )
        if unknown:
            details = [
                {
                    "isValid": False,
                    "message": f'Property "{name}" does not exist',
                    "error": "PROPERTY_DOESNT_EXIST",
                    "name": name,
                    "localizedErrorMessage": f'Property "{name}" does not exist',
                }
                for name in unknown
            ]
            raise _invalid(
                "Property values were not valid: " + json.dumps(details),
                errors=[
                    {
                        "message": f'Property "{name}" does not exist',
                        "code": "PROPERTY_DOESNT_EXIST",
                        "context": {"propertyName": [name]},
                    }
                    for name in unknown
                ],
            )
        return inputs

    def _batch_upsert(self, body: dict[str, Any]) -> Response:
        started = self.ctx.clock.now_ms()
        inputs = self._inputs(body)
        keys: list[tuple[str, str]] = []
        for item in inputs:
            id_prop = item.get("idProperty")
            if id_prop not in UNIQUE_ID_PROPERTIES:
                raise _invalid(
                    f"Unable to perform update/upsert by non-unique 0-1 property {id_prop}"
                    if id_prop
                    else "idProperty is required for batch upsert"
                )
            raw = item.get("id")
            if not isinstance(raw, str) or not raw.strip():
                raise _invalid("Invalid input JSON: id must be a non-empty string")
            keys.append((id_prop, _norm_email(raw) if id_prop == "email" else raw))
        dupes = sorted({k[1] for k in keys if keys.count(k) > 1})
        if dupes:
            raise _invalid(f"Duplicate IDs found in batch input: {dupes}. IDs must be unique")
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        with self.ctx.store.transaction() as conn:
            for item, (id_prop, key) in zip(inputs, keys, strict=True):
                result = self._upsert_one(conn, id_prop, key, item.get("properties", {}))
                (errors if result.get("status") == "error" else results).append(result)
        return _batch_response(results, errors, started, self.ctx.clock.now_ms())

    def _upsert_one(
        self, conn: sqlite3.Connection, id_prop: str, key: str, props: dict[str, Any]
    ) -> dict[str, Any]:
        if id_prop == "email" and not _EMAIL_RE.match(key):
            return _value_error(key, "email", f"Email address {key} is invalid", "INVALID_EMAIL")
        values, problem = self._validate(conn, key, props)
        if problem is not None:
            return problem
        row = conn.execute(f"SELECT * FROM hs_contacts WHERE {id_prop} = ?", (key,)).fetchone()
        now = self.ctx.clock.now_ms()
        if row is None:
            values[id_prop] = key
            conflict = self._conflicts(conn, values, None, key)
            if conflict is not None:
                return conflict
            contact_id = self.ctx.store.next_hubspot_id(conn)
            new_row: dict[str, str | None] = dict.fromkeys(PROPERTY_NAMES)
            new_row.update(values)
            new_row["hs_object_id"] = str(contact_id)
            new_row["createdate"] = values.get("createdate") or hubspot_time(now)
            new_row["lastmodifieddate"] = hubspot_time(now)
            _stamp_lifecycle(new_row, None, now)
            cols = ["id", *PROPERTY_NAMES]
            marks = ", ".join("?" for _ in cols)
            conn.execute(
                f"INSERT INTO hs_contacts ({', '.join(cols)}) VALUES ({marks})",
                [contact_id, *(new_row[n] for n in PROPERTY_NAMES)],
            )
            if new_row["email"]:
                self.ctx.store.add_truth(conn, "hubspot", str(contact_id), str(new_row["email"]))
            if new_row["lifecyclestage"]:
                hubspot_history.record_contact_change(
                    conn, None, contact_id, new_row["lifecyclestage"], now
                )
            written = conn.execute(
                "SELECT * FROM hs_contacts WHERE id = ?", (contact_id,)
            ).fetchone()
            written = self._owner_assigned(conn, None, written, now)
            return {**_object(written, _written_props(props, id_prop)), "new": True}
        conflict = self._conflicts(conn, values, int(row["id"]), key)
        if conflict is not None:
            return conflict
        written = self._apply(conn, row, values, now)
        written = self._owner_assigned(conn, row["hubspot_owner_id"], written, now)
        return {**_object(written, _written_props(props, id_prop)), "new": False}

    def _batch_update(self, body: dict[str, Any]) -> Response:
        started = self.ctx.clock.now_ms()
        inputs = self._inputs(body)
        results: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        missing: list[str] = []
        with self.ctx.store.transaction() as conn:
            for item in inputs:
                raw = str(item.get("id", ""))
                id_prop = item.get("idProperty")
                if id_prop is not None and id_prop not in UNIQUE_ID_PROPERTIES:
                    raise _invalid(
                        f"Unable to perform update/upsert by non-unique 0-1 property {id_prop}"
                    )
                row = self._find(conn, raw, id_prop)
                if row is None:
                    missing.append(raw)
                    continue
                props = item.get("properties", {})
                values, problem = self._validate(conn, raw, props)
                if problem is None:
                    problem = self._conflicts(conn, values, int(row["id"]), raw)
                if problem is not None:
                    errors.append(problem)
                    continue
                now = self.ctx.clock.now_ms()
                written = self._apply(conn, row, values, now)
                written = self._owner_assigned(conn, row["hubspot_owner_id"], written, now)
                results.append(_object(written, _written_props(props, None)))
        if missing:
            errors.append(
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": "Could not get some CONTACT objects, they may be deleted or not "
                    "exist. Check that ids are valid.",
                    "context": {"ids": missing},
                }
            )
        return _batch_response(results, errors, started, self.ctx.clock.now_ms())

    def _gdpr_delete(self, body: dict[str, Any]) -> Response:
        """POST /crm/v3/objects/contacts/gdpr-delete: the contact and its associations, for good."""
        raw = body.get("objectId")
        if not isinstance(raw, str) or not raw.strip():
            raise _invalid(
                "Invalid input JSON: objectId is required",
                errors=[{"message": "must not be null", "in": "objectId"}],
            )
        id_prop = body.get("idProperty")
        if id_prop is not None and id_prop not in (*UNIQUE_ID_PROPERTIES, "hs_object_id"):
            raise _invalid(f"Unable to perform GDPR delete by non-unique 0-1 property {id_prop}")
        with self.ctx.store.transaction() as conn:
            row = self._find(conn, raw.strip(), id_prop)
            if row is None and self._purge_archived(conn, raw.strip(), id_prop):
                return Response(204)  # a permanent delete reaches into the recycle bin too
            if row is None:
                if id_prop == "email":
                    return Response(204)  # HubSpot blocklists an unknown address and says 204
                return error(404, "resource not found", "OBJECT_NOT_FOUND")
            conn.execute(_TOUCH_TABLE)
            conn.execute("DELETE FROM hs_first_touch WHERE contact_id = ?", (row["id"],))
            conn.execute("UPDATE hs_deals SET contact_id = NULL WHERE contact_id = ?", (row["id"],))
            conn.execute("DELETE FROM hs_contacts WHERE id = ?", (row["id"],))
            hubspot_history.forget_contact(conn, int(row["id"]))
        return Response(204)

    def _batch_read(self, body: dict[str, Any], obj: CrmObject = CONTACT) -> Response:
        """POST /crm/v3/objects/<contacts|deals>/batch/read: at most 100 inputs, or 50 when the
        request asks for `propertiesWithHistory` (HubSpot's own error for more)."""
        started = self.ctx.clock.now_ms()
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or len(inputs) > BATCH_MAX_INPUTS:
            raise _invalid(f"inputs must be an array of at most {BATCH_MAX_INPUTS} items")
        history = _history_names(obj, body.get("propertiesWithHistory"))
        if history is not None and len(inputs) > hubspot_history.HISTORY_MAX_OBJECTS:
            raise _invalid(hubspot_history.BATCH_LIMIT_MESSAGE)
        id_prop = body.get("idProperty")
        if id_prop is not None and (obj is not CONTACT or id_prop not in UNIQUE_ID_PROPERTIES):
            raise _invalid(f"Unable to perform read by non-unique 0-1 property {id_prop}")
        props = _requested(body.get("properties"), obj)
        results, missing = [], []
        with self.ctx.store.read() as conn:
            users = hubspot_history.user_ids(conn)
            for item in inputs:
                raw = str(item.get("id", "")) if isinstance(item, dict) else ""
                row = self._find(conn, raw, id_prop) if obj is CONTACT else _by_id(conn, obj, raw)
                if row is None:
                    missing.append(raw)
                else:
                    results.append(_read_object(conn, row, props, obj, history, users))
        errors = []
        if missing:
            label = "CONTACT" if obj is CONTACT else "DEAL"
            errors.append(
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "message": f"Could not get some {label} objects, they may be deleted or not "
                    "exist. Check that ids are valid.",
                    "context": {"ids": missing},
                }
            )
        return _batch_response(results, errors, started, self.ctx.clock.now_ms())

    @staticmethod
    def _find(conn: sqlite3.Connection, raw: str, id_prop: str | None) -> sqlite3.Row | None:
        if id_prop in (None, "hs_object_id"):
            if not raw.isdigit():
                return None
            return conn.execute("SELECT * FROM hs_contacts WHERE id = ?", (int(raw),)).fetchone()
        key = _norm_email(raw) if id_prop == "email" else raw
        return conn.execute(f"SELECT * FROM hs_contacts WHERE {id_prop} = ?", (key,)).fetchone()

    def _validate(
        self, conn: sqlite3.Connection, input_id: str, props: dict[str, Any]
    ) -> tuple[dict[str, str | None], dict[str, Any] | None]:
        """Stored values for a write, or the error HubSpot gives for its first bad property."""
        values: dict[str, str | None] = {}
        for name, value in props.items():
            prop = PROPERTIES_BY_NAME[name]
            if not isinstance(value, str):
                shown = json.dumps(value)
                return values, _value_error(
                    input_id,
                    name,
                    f"Property value {shown} for {name} is not a string; HubSpot property values "
                    "are sent as strings",
                    "INVALID_PROPERTY_VALUE",
                )
            if not prop.writable:
                return values, _value_error(
                    input_id,
                    name,
                    f'"{name}" is a read only property; its value cannot be set.',
                    "READ_ONLY_VALUE",
                )
            if value == "":
                values[name] = None  # HubSpot clears a property written as ""
                continue
            if name == "email":
                email = _norm_email(value)
                if not _EMAIL_RE.match(email):
                    return values, _value_error(
                        input_id, name, f"Email address {value} is invalid", "INVALID_EMAIL"
                    )
                values[name] = email
            elif name == "hubspot_owner_id":
                owner = conn.execute(
                    "SELECT 1 FROM owners WHERE id = ? AND archived = 0", (value,)
                ).fetchone()
                if owner is None:
                    return values, _value_error(
                        input_id, name, f"{value} is not a valid owner id", "INVALID_OWNER_ID"
                    )
                values[name] = value
            elif prop.options and value not in prop.options:
                return values, _value_error(
                    input_id,
                    name,
                    f"{value} was not one of the allowed options: {list(prop.options)}",
                    "INVALID_OPTION",
                )
            elif prop.type == "number":
                try:
                    float(value)
                except ValueError:
                    return values, _value_error(
                        input_id, name, f"{value} was not a valid number.", "INVALID_DOUBLE"
                    )
                values[name] = value
            elif prop.type == "datetime":
                try:
                    values[name] = hubspot_time(_time_ms(value))
                except ValueError:
                    return values, _value_error(
                        input_id, name, f"{value} was not a valid date.", "INVALID_DATE"
                    )
            else:
                values[name] = value
        return values, None

    @staticmethod
    def _conflicts(
        conn: sqlite3.Connection, values: dict[str, str | None], own_id: int | None, input_id: str
    ) -> dict[str, Any] | None:
        """HubSpot keeps email and leadflow_lead_id unique: a write taking another's value fails."""
        for name in ("email", "leadflow_lead_id"):
            value = values.get(name)
            if value is None:
                continue
            other = conn.execute(
                f"SELECT id FROM hs_contacts WHERE {name} = ?", (value,)
            ).fetchone()
            if other is not None and int(other[0]) != own_id:
                message = (
                    f"Contact already exists. Existing ID: {other[0]}"
                    if name == "email"
                    else f"A contact with the unique value {value} for {name} already exists. "
                    f"Existing ID: {other[0]}"
                )
                return {
                    "status": "error",
                    "category": "CONFLICT",
                    "message": message,
                    "context": {"id": [input_id], "existingId": [str(other[0])]},
                }
        return None

    @staticmethod
    def _apply(
        conn: sqlite3.Connection, row: sqlite3.Row, values: dict[str, str | None], now: int
    ) -> sqlite3.Row:
        current = {name: row[name] for name in PROPERTY_NAMES}
        updated = {**current, **values}
        updated["lastmodifieddate"] = hubspot_time(now)
        _stamp_lifecycle(updated, current.get("lifecyclestage"), now)
        if updated["lifecyclestage"] != current["lifecyclestage"]:
            hubspot_history.record_contact_change(
                conn, row, int(row["id"]), updated["lifecyclestage"], now
            )
        changed = [n for n in PROPERTY_NAMES if updated[n] != current[n]]
        if changed:
            conn.execute(
                f"UPDATE hs_contacts SET {', '.join(f'{n} = ?' for n in changed)} WHERE id = ?",
                [*(updated[n] for n in changed), row["id"]],
            )
        written: sqlite3.Row = conn.execute(
            "SELECT * FROM hs_contacts WHERE id = ?", (row["id"],)
        ).fetchone()
        return written

    # ------------------------------------------------------------------ first touch

    def _owner_assigned(
        self, conn: sqlite3.Connection, before: str | None, written: sqlite3.Row, now: int
    ) -> sqlite3.Row:
        """A write gave the contact a new owner: stamp the assignment, clear the previous owner's
        first engagement (HubSpot resets it per owner) and schedule the new owner's first touch."""
        owner = written["hubspot_owner_id"]
        if not owner or owner == before:
            return written
        conn.execute(_TOUCH_TABLE)
        conn.execute(
            "UPDATE hs_contacts SET hubspot_owner_assigneddate = ?, "
            "hs_sa_first_engagement_date = NULL, hs_sa_first_engagement_object_type = NULL "
            "WHERE id = ?",
            (hubspot_time(now), written["id"]),
        )
        conn.execute("DELETE FROM hs_first_touch WHERE contact_id = ?", (written["id"],))
        delay = first_touch_delay_ms(str(written["id"]), str(owner))
        if delay is not None:
            conn.execute(
                "INSERT INTO hs_first_touch VALUES (?, ?, ?, ?)",
                (written["id"], owner, now + delay, touch_type(str(written["id"]), str(owner))),
            )
        row: sqlite3.Row = conn.execute(
            "SELECT * FROM hs_contacts WHERE id = ?", (written["id"],)
        ).fetchone()
        return row

    def _settle_first_touches(self) -> None:
        """Touches whose time has come show up on the contact, with a new lastmodifieddate (now,
        when the sandbox notices: never behind a cursor a pull already committed)."""
        now = self.ctx.clock.now_ms()
        query = (
            "SELECT contact_id, owner_id, due_ms, object_type FROM hs_first_touch WHERE due_ms <= ?"
        )
        with self.ctx.store.read() as conn:  # the common case, nothing due, takes no write lock
            conn.execute(_TOUCH_TABLE)
            if not conn.execute(query + " LIMIT 1", (now,)).fetchall():
                return
        with self.ctx.store.transaction() as conn:
            due = conn.execute(query, (now,)).fetchall()
            for contact_id, owner_id, due_ms, object_type in due:
                # The touch is a logged sales activity too: HubSpot counts it and dates it.
                touched = hubspot_time(due_ms)
                conn.execute(
                    "UPDATE hs_contacts SET hs_sa_first_engagement_date = ?, "
                    "hs_sa_first_engagement_object_type = ?, lastmodifieddate = ?, "
                    "num_contacted_notes = CAST(COALESCE(num_contacted_notes, '0') AS INTEGER) + 1, "
                    "notes_last_contacted = CASE WHEN notes_last_contacted > ? "
                    "THEN notes_last_contacted ELSE ? END, "
                    "notes_last_updated = CASE WHEN notes_last_updated > ? "
                    "THEN notes_last_updated ELSE ? END "
                    "WHERE id = ? AND hubspot_owner_id = ?",
                    (touched, object_type, hubspot_time(now), touched, touched, touched, touched,
                     contact_id, owner_id),
                )  # fmt: skip
                conn.execute("DELETE FROM hs_first_touch WHERE contact_id = ?", (contact_id,))

    def _account_details(self) -> dict[str, Any]:
        """GET /account-info/v3/details: the portal id a record link needs."""
        return {
            "portalId": SANDBOX_PORTAL_ID,
            "accountType": "STANDARD",
            "timeZone": "UTC",
            "companyCurrency": "USD",
            "additionalCurrencies": [],
            "utcOffset": "+00:00",
            "utcOffsetMilliseconds": 0,
            "uiDomain": "app.hubspot.com",
            "dataHostingLocation": "na1",
        }

    # ------------------------------------------------------------------ reads

    def _list_contacts(self, req: Request, obj: CrmObject = CONTACT) -> Response:
        """GET /crm/v3/objects/<contacts|deals|companies>: every object by id, `after` the last id
        seen; at most 100 a page, or 50 with `propertiesWithHistory`."""
        limit = _int(req.param("limit") or LIST_MAX_LIMIT // 10, "limit")
        if limit < 1 or limit > LIST_MAX_LIMIT:
            raise _invalid(f"limit must be between 1 and {LIST_MAX_LIMIT} (got {limit})")
        history = _history_names(obj, _csv(req, "propertiesWithHistory"))
        if history is not None and limit > hubspot_history.HISTORY_MAX_OBJECTS:
            raise _history_page_too_big(limit)
        after = _int(req.param("after") or 0, "after")
        props = _requested(_csv(req), obj)
        with self.ctx.store.read() as conn:
            rows = conn.execute(
                f"SELECT * FROM {obj.table} WHERE id > ? ORDER BY id LIMIT ?", (after, limit + 1)
            ).fetchall()
            users = hubspot_history.user_ids(conn)
            results = [_read_object(conn, r, props, obj, history, users) for r in rows[:limit]]
        out: dict[str, Any] = {"results": results}
        if len(rows) > limit:
            nxt = str(rows[limit - 1]["id"])
            query = urlencode({"after": nxt, "limit": limit})
            path = f"/crm/v3/objects/{obj.name}"
            out["paging"] = {"next": {"after": nxt, "link": f"{req.base_url}{path}?{query}"}}
        return Response(200, out)

    def _get_deal(self, req: Request, raw: str) -> Response:
        """GET /crm/v3/objects/deals/{id}, with `propertiesWithHistory` if asked."""
        history = _history_names(DEAL, _csv(req, "propertiesWithHistory"))
        with self.ctx.store.read() as conn:
            row = _by_id(conn, DEAL, raw)
            if row is None:
                return error(404, "resource not found", "OBJECT_NOT_FOUND")
            users = hubspot_history.user_ids(conn)
            body = _read_object(conn, row, _requested(_csv(req), DEAL), DEAL, history, users)
        return Response(200, body)

    def _get_company(self, req: Request, raw: str) -> Response:
        with self.ctx.store.read() as conn:
            row = (
                conn.execute("SELECT * FROM hs_companies WHERE id = ?", (int(raw),)).fetchone()
                if raw.isdigit()
                else None
            )
        if row is None:
            return error(404, "resource not found", "OBJECT_NOT_FOUND")
        return Response(200, _object(row, _requested(_csv(req), COMPANY), COMPANY))

    def _get_contact(self, req: Request, raw: str) -> Response:
        """GET /crm/v3/objects/contacts/{id}: a live contact; with `archived=true`, one in the
        recycle bin; the id of a contact merged away answers with the contact it became."""
        id_prop = req.param("idProperty")
        if id_prop is not None and id_prop not in UNIQUE_ID_PROPERTIES:
            raise _invalid(f"Unable to perform read by non-unique 0-1 property {id_prop}")
        props = _requested(_csv(req))
        history = _history_names(CONTACT, _csv(req, "propertiesWithHistory"))
        with self.ctx.store.read() as conn:
            users = hubspot_history.user_ids(conn)
            if _archived(req):
                conn.execute(_ARCHIVE_TABLE)
                row = (
                    self._archived_row(conn, int(raw), self.ctx.clock.now_ms())
                    if raw.isdigit() and id_prop in (None, "hs_object_id")
                    else None
                )
                if row is None:
                    return error(404, "resource not found", "OBJECT_NOT_FOUND")
                body = _read_object(conn, row, props, CONTACT, history, users)
                return Response(200, {**body, "archived": True, **_archived_at(row)})
            row = self._find(conn, raw, id_prop)
            if row is None and id_prop in (None, "hs_object_id") and raw.isdigit():
                row = self._alias_target(conn, int(raw))
            if row is None:
                return error(404, "resource not found", "OBJECT_NOT_FOUND")
            return Response(200, _read_object(conn, row, props, CONTACT, history, users))

    def _owners(self, req: Request) -> Response:
        limit = _int(req.param("limit") or OWNERS_DEFAULT_LIMIT, "limit")
        if limit < 1 or limit > OWNERS_MAX_LIMIT:
            raise _invalid(f"limit must be between 1 and {OWNERS_MAX_LIMIT} (got {limit})")
        after = _int(req.param("after") or 0, "after")
        archived = (req.param("archived") or "false").lower() == "true"
        email = req.param("email")
        owners = [
            o
            for o in self.ctx.store.owners()
            if o.archived == archived and (email is None or o.email.lower() == email.lower())
        ]
        page = owners[after : after + limit]
        out: dict[str, Any] = {"results": [_owner_json(o) for o in page]}
        if after + limit < len(owners):
            nxt = str(after + limit)
            query = urlencode({"after": nxt, "limit": limit})
            out["paging"] = {"next": {"after": nxt, "link": f"{req.base_url}{OWNERS}/?{query}"}}
        return Response(200, out)

    def _owner(self, owner_id: str) -> Response:
        for owner in self.ctx.store.owners():
            if owner.id == owner_id:
                return Response(200, _owner_json(owner))
        return error(404, f"Owner {owner_id} not found", "OBJECT_NOT_FOUND")

    # ------------------------------------------------------------------ merges

    def _merge_request(self, body: dict[str, Any]) -> Response:
        """POST /crm/v3/objects/contacts/merge: both ids required, as strings of digits."""
        ids = []
        for name in ("primaryObjectId", "objectIdToMerge"):
            value = body.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                value = str(value)
            if not isinstance(value, str) or not value.strip():
                raise _invalid(
                    f"Invalid input JSON: {name} is required",
                    errors=[{"message": "must not be null", "in": name}],
                )
            ids.append(value.strip())
        return self.merge(ids[0], ids[1])

    def merge(self, primary_id: str, merged_id: str) -> Response:
        """Merge two live contacts (an old id of a merged one stands for what it became) into a
        new contact with a new id; the answer HubSpot gives: 200 with the new contact."""
        now = self.ctx.clock.now_ms()
        with self.ctx.store.transaction() as conn:
            conn.execute(_ALIAS_TABLE)
            conn.execute(_TOUCH_TABLE)
            primary, other = (self._live_or_alias(conn, raw) for raw in (primary_id, merged_id))
            if primary is None or other is None:
                return error(404, "resource not found", "OBJECT_NOT_FOUND")
            if primary["id"] == other["id"]:
                return error(
                    400, f"Cannot merge contact {primary['id']} into itself", "VALIDATION_ERROR"
                )
            new_id = self.ctx.store.next_hubspot_id(conn)
            values = _merged_values(primary, other)
            values["hs_object_id"] = str(new_id)
            values["lastmodifieddate"] = hubspot_time(now)
            old_ids = (int(primary["id"]), int(other["id"]))
            hubspot_history.record_merge(
                conn, primary, other, new_id, values["lifecyclestage"], now
            )
            # Both leave first: the new contact takes the primary's email, which stays unique.
            conn.execute("DELETE FROM hs_contacts WHERE id IN (?, ?)", old_ids)
            conn.execute(
                f"INSERT INTO hs_contacts ({_CONTACT_COLUMNS}) VALUES "
                f"({', '.join('?' for _ in range(len(PROPERTY_NAMES) + 1))})",
                [new_id, *(values[name] for name in PROPERTY_NAMES)],
            )
            # Earlier aliases of either contact follow it to the new one, so no chain is left.
            conn.execute(
                "UPDATE hs_contact_aliases SET new_id = ? WHERE new_id IN (?, ?)",
                (new_id, *old_ids),
            )
            conn.executemany(
                "INSERT INTO hs_contact_aliases VALUES (?, ?, ?)",
                [(old, new_id, now) for old in old_ids],
            )
            conn.execute(
                "UPDATE hs_deals SET contact_id = ? WHERE contact_id IN (?, ?)", (new_id, *old_ids)
            )
            # The primary owner's first touch, if still to come, is the new contact's.
            conn.execute("DELETE FROM hs_first_touch WHERE contact_id = ?", (old_ids[1],))
            conn.execute(
                "UPDATE hs_first_touch SET contact_id = ? WHERE contact_id = ?",
                (new_id, old_ids[0]),
            )
            # The new record stands for the person the primary stood for (the world's truth).
            conn.execute(
                "INSERT OR IGNORE INTO truth SELECT 'hubspot', ?, person_id FROM truth "
                "WHERE source = 'hubspot' AND record_id IN (?, ?) "
                "ORDER BY record_id = ? DESC LIMIT 1",
                (str(new_id), str(old_ids[0]), str(old_ids[1]), str(old_ids[0])),
            )
            row = conn.execute("SELECT * FROM hs_contacts WHERE id = ?", (new_id,)).fetchone()
        return Response(200, _object(row, list(DEFAULT_RETURNED)))

    def _live_or_alias(self, conn: sqlite3.Connection, raw: str) -> sqlite3.Row | None:
        row = self._find(conn, raw, None)
        if row is None and raw.isdigit():
            row = self._alias_target(conn, int(raw))
        return row

    @staticmethod
    def _alias_target(conn: sqlite3.Connection, old_id: int) -> sqlite3.Row | None:
        """The live contact a merged-away id resolves to, if it was merged away."""
        conn.execute(_ALIAS_TABLE)
        row: sqlite3.Row | None = conn.execute(
            "SELECT c.* FROM hs_contact_aliases a JOIN hs_contacts c ON c.id = a.new_id "
            "WHERE a.old_id = ?",
            (old_id,),
        ).fetchone()
        return row

    # ------------------------------------------------------------------ archive

    def _batch_archive(self, body: dict[str, Any]) -> Response:
        """POST /crm/v3/objects/contacts/batch/archive: 204, whatever the ids (HubSpot's docs name
        no per-input result; an id that is not a live contact is left alone)."""
        inputs = body.get("inputs")
        if not isinstance(inputs, list):
            raise _invalid("Invalid input JSON: inputs must be an array")
        if len(inputs) > BATCH_MAX_INPUTS:
            raise _invalid(
                f"Batch input size {len(inputs)} exceeds the limit of {BATCH_MAX_INPUTS} inputs",
                context={"limit": [str(BATCH_MAX_INPUTS)], "size": [str(len(inputs))]},
            )
        if not all(isinstance(item, dict) and "id" in item for item in inputs):
            raise _invalid("Invalid input JSON: each input needs an id")
        self.archive([str(item["id"]) for item in inputs])
        return Response(204)

    def archive(self, contact_ids: list[str]) -> int:
        """Move the live contacts among `contact_ids` to the recycle bin, stamped now; returns how
        many moved. Their pending first touches go, and deals stop listing them."""
        now = self.ctx.clock.now_ms()
        moved = 0
        with self.ctx.store.transaction() as conn:
            conn.execute(_ARCHIVE_TABLE)
            conn.execute(_TOUCH_TABLE)
            for raw in contact_ids:
                row = self._find(conn, raw.strip(), None)
                if row is None:
                    continue
                # An earlier archive of the same id (restored since) is replaced by this one.
                conn.execute("DELETE FROM hs_contacts_archived WHERE id = ?", (row["id"],))
                conn.execute(
                    f"INSERT INTO hs_contacts_archived ({_CONTACT_COLUMNS}, archived_ms) "
                    f"SELECT {_CONTACT_COLUMNS}, ? FROM hs_contacts WHERE id = ?",
                    (now, row["id"]),
                )
                conn.execute("DELETE FROM hs_contacts WHERE id = ?", (row["id"],))
                conn.execute("DELETE FROM hs_first_touch WHERE contact_id = ?", (row["id"],))
                moved += 1
        return moved

    def restore(self, contact_id: str) -> None:
        """HubSpot's "Restore records" (a UI action; the API has none): the archived contact comes
        back under its id, with a new lastmodifieddate. Refused, as HubSpot refuses it, when a
        live contact holds its email (or its unique lead id), or when it is past the 90 days."""
        now = self.ctx.clock.now_ms()
        with self.ctx.store.transaction() as conn:
            conn.execute(_ARCHIVE_TABLE)
            row = self._archived_row(conn, int(contact_id), now) if contact_id.isdigit() else None
            if row is None:
                raise ValueError(f"contact {contact_id} is not in the recycle bin")
            clash = self._conflicts(
                conn,
                {"email": row["email"], "leadflow_lead_id": row["leadflow_lead_id"]},
                None,
                contact_id,
            )
            if clash is not None:
                raise ValueError(
                    f"contact {contact_id} cannot be restored: a live contact "
                    f"({clash['context']['existingId'][0]}) holds its email or lead id"
                )
            conn.execute(
                f"INSERT INTO hs_contacts ({_CONTACT_COLUMNS}) "
                f"SELECT {_CONTACT_COLUMNS} FROM hs_contacts_archived WHERE id = ?",
                (row["id"],),
            )
            conn.execute("DELETE FROM hs_contacts_archived WHERE id = ?", (row["id"],))
            conn.execute(
                "UPDATE hs_contacts SET lastmodifieddate = ? WHERE id = ?",
                (hubspot_time(now), row["id"]),
            )

    @staticmethod
    def _archived_row(conn: sqlite3.Connection, contact_id: int, now: int) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute(
            "SELECT * FROM hs_contacts_archived WHERE id = ? AND archived_ms >= ?",
            (contact_id, now - ARCHIVE_KEPT_MS),
        ).fetchone()
        return row

    def _purge_archived(self, conn: sqlite3.Connection, raw: str, id_prop: str | None) -> bool:
        """Delete an archived contact for good (GDPR delete): by id, or by its unique property."""
        conn.execute(_ARCHIVE_TABLE)
        if id_prop in (None, "hs_object_id"):
            if not raw.isdigit():
                return False
            where, key = "id = ?", str(int(raw))
        else:
            where, key = f"{id_prop} = ?", _norm_email(raw) if id_prop == "email" else raw
        ids = [
            r[0] for r in conn.execute(f"SELECT id FROM hs_contacts_archived WHERE {where}", (key,))
        ]
        conn.execute(f"DELETE FROM hs_contacts_archived WHERE {where}", (key,))
        for contact_id in ids:
            hubspot_history.forget_contact(conn, int(contact_id))
        return bool(ids)

    def _list_archived(self, req: Request) -> Response:
        """GET /crm/v3/objects/contacts?archived=true: the recycle bin by id, `after` the last id
        seen, with `archivedAt`; what is past HubSpot's 90 days is gone."""
        limit = _int(req.param("limit") or LIST_MAX_LIMIT // 10, "limit")
        if limit < 1 or limit > LIST_MAX_LIMIT:
            raise _invalid(f"limit must be between 1 and {LIST_MAX_LIMIT} (got {limit})")
        after = _int(req.param("after") or 0, "after")
        history = _history_names(CONTACT, _csv(req, "propertiesWithHistory"))
        if history is not None and limit > hubspot_history.HISTORY_MAX_OBJECTS:
            raise _history_page_too_big(limit)
        props = _requested(_csv(req))
        with self.ctx.store.read() as conn:
            conn.execute(_ARCHIVE_TABLE)
            rows = conn.execute(
                "SELECT * FROM hs_contacts_archived WHERE id > ? AND archived_ms >= ? "
                "ORDER BY id LIMIT ?",
                (after, self.ctx.clock.now_ms() - ARCHIVE_KEPT_MS, limit + 1),
            ).fetchall()
            users = hubspot_history.user_ids(conn)
            results = [
                {
                    **_read_object(conn, r, props, CONTACT, history, users),
                    "archived": True,
                    **_archived_at(r),
                }
                for r in rows[:limit]
            ]
        out: dict[str, Any] = {"results": results}
        if len(rows) > limit:
            nxt = str(rows[limit - 1]["id"])
            query = urlencode({"archived": "true", "after": nxt, "limit": limit})
            out["paging"] = {"next": {"after": nxt, "link": f"{req.base_url}{CONTACTS}?{query}"}}
        return Response(200, out)

    def _uncreated(self) -> frozenset[str]:
        """The custom properties a fresh portal lacks until the properties API creates them."""
        if not self.ctx.knobs.hubspot_fresh_portal:
            return frozenset()
        with self.ctx.store.read() as conn:
            created = json.loads(self.ctx.store.meta_get(conn, CREATED_PROPERTIES) or "[]")
        return frozenset(p.name for p in CONTACT_PROPERTIES if p.custom) - set(created)

    def _create_property(self, body: dict[str, Any]) -> Response:
        """POST /crm/v3/properties/contacts: name, label, type, fieldType and groupName are
        required, and the type must go with the field type, as HubSpot checks them."""
        missing_fields = [
            f for f in ("name", "label", "type", "fieldType", "groupName") if not body.get(f)
        ]
        if missing_fields:
            return error(
                400,
                "Invalid input JSON on line 1: missing required properties "
                + ", ".join(missing_fields),
                "VALIDATION_ERROR",
            )
        name, kind, field_type = body["name"], body["type"], body["fieldType"]
        if field_type not in _FIELD_TYPES.get(kind, ()):
            return error(
                400,
                f"Property type {kind!r} cannot be used with field type {field_type!r}",
                "VALIDATION_ERROR",
            )
        prop = PROPERTIES_BY_NAME.get(name)
        if prop is not None and name not in self._uncreated():
            return error(409, f"Property named '{name}' already exists.", "OBJECT_ALREADY_EXISTS")
        if prop is None or not prop.custom or prop.type != kind:
            # The sandbox's property set is fixed; creating others is not simulated.
            return error(
                400,
                f"The sandbox serves a fixed set of contact properties; {name!r} of type "
                f"{kind!r} is not one of them.",
                "VALIDATION_ERROR",
            )
        with self.ctx.store.transaction() as conn:
            created = json.loads(self.ctx.store.meta_get(conn, CREATED_PROPERTIES) or "[]")
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                (CREATED_PROPERTIES, json.dumps(sorted({*created, name}))),
            )
        return Response(201, _property_def(prop))


# --------------------------------------------------------------------------- helpers


def _not_allowed() -> Response:
    return error(405, "HTTP method not allowed for this resource", "VALIDATION_ERROR")


def _limit_headers(decision: Decision) -> dict[str, str]:
    return {
        "X-HubSpot-RateLimit-Max": str(decision.limit),
        "X-HubSpot-RateLimit-Remaining": str(decision.remaining),
        "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(decision.per_seconds * 1000)),
    }


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise _invalid(f"{name} must be an integer")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _invalid(f"{name} must be an integer (got {value!r})") from None


def _csv(req: Request, name: str = "properties") -> list[str]:
    return [p for value in req.query.get(name, []) for p in value.split(",") if p]


def _history_names(obj: CrmObject, raw: Any) -> list[str] | None:
    """The `propertiesWithHistory` a read asks for, of those the sandbox keeps a history of;
    None when it asks for none (an empty parameter). Asking for any, kept or not, is what lowers
    HubSpot's page and batch limits to 50."""
    if not raw:
        return None
    if not isinstance(raw, list):
        raise _invalid("propertiesWithHistory must be an array of property names")
    return hubspot_history.requested(obj.name, raw)


def _history_page_too_big(limit: int) -> HubSpotError:
    # The text is ours: HubSpot answers a 400 here, its message is not published.
    most = hubspot_history.HISTORY_MAX_OBJECTS
    return _invalid(
        f"limit must be at most {most} when propertiesWithHistory is requested (got {limit})",
        errors=[{"message": f"must be less than or equal to {most}", "in": "limit"}],
    )


def _by_id(conn: sqlite3.Connection, obj: CrmObject, raw: str) -> sqlite3.Row | None:
    if not raw.isdigit():
        return None
    row: sqlite3.Row | None = conn.execute(
        f"SELECT * FROM {obj.table} WHERE id = ?", (int(raw),)
    ).fetchone()
    return row


def _read_object(
    conn: sqlite3.Connection,
    row: sqlite3.Row,
    props: list[str],
    obj: CrmObject,
    history: list[str] | None,
    users: list[int],
) -> dict[str, Any]:
    """An object as a read returns it; with `propertiesWithHistory`, each of those properties'
    versions newest first, and its current value among the properties as well."""
    if not history:
        return _object(row, props, obj)
    body = _object(row, list(dict.fromkeys([*props, *history])), obj)
    body["propertiesWithHistory"] = hubspot_history.with_history(
        conn, obj.name, row, history, users
    )
    return body


def _archived_at(row: sqlite3.Row) -> dict[str, str]:
    return {"archivedAt": hubspot_time(row["archived_ms"])}


def _norm_email(value: str) -> str:
    return value.strip().lower()


def _time_ms(value: Any) -> int:
    """Epoch ms from an epoch-milliseconds number/string or an ISO-8601 date/datetime."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    text = str(value).strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    return parse_iso_ms(text)


def _requested(props: Any, obj: CrmObject = CONTACT) -> list[str]:
    if not props:
        return list(obj.default_returned)
    if not isinstance(props, list):
        raise _invalid("properties must be an array of property names")
    # Unknown names are ignored, as HubSpot does on reads.
    wanted = [p for p in props if isinstance(p, str) and p in obj.properties]
    return list(dict.fromkeys([*wanted, *obj.always_returned]))


def _written_props(props: dict[str, Any], id_prop: str | None) -> list[str]:
    names = list(props)
    if id_prop:
        names.append(id_prop)
    return list(dict.fromkeys([*names, *ALWAYS_RETURNED]))


def _object(row: sqlite3.Row, props: list[str], obj: CrmObject = CONTACT) -> dict[str, Any]:
    # Contacts keep hs_object_id in a column of its own; deals and companies serve it from the id.
    columns = set(row.keys())
    values = {name: row[name] if name in columns else str(row["id"]) for name in props}
    return {
        "id": str(row["id"]),
        "properties": values,
        "createdAt": row["createdate"],
        "updatedAt": row[obj.modified],
        "archived": False,
    }


def _archived(req: Request) -> bool:
    return (req.param("archived") or "false").lower() == "true"


def _merged_values(primary: sqlite3.Row, other: sqlite3.Row) -> dict[str, str | None]:
    """The properties of the contact a merge makes, as HubSpot documents them: the primary's
    values, the other's where the primary has none; the lifecycle stage furthest down the funnel;
    both contacts' form submissions added up; and every id merged into it, both old ids
    included, in ascending order."""
    values: dict[str, str | None] = {
        name: primary[name] if primary[name] not in (None, "") else other[name]
        for name in PROPERTY_NAMES
    }
    stages = [s for s in (primary["lifecyclestage"], other["lifecyclestage"]) if s in _STAGE_RANK]
    if stages:
        values["lifecyclestage"] = max(stages, key=_STAGE_RANK.__getitem__)
    counts = [r["num_conversion_events"] for r in (primary, other) if r["num_conversion_events"]]
    if counts:
        values["num_conversion_events"] = str(sum(int(float(c)) for c in counts))
    merged = {str(primary["id"]), str(other["id"])}
    for row in (primary, other):
        merged.update(i for i in (row["hs_merged_object_ids"] or "").split(";") if i)
    values["hs_merged_object_ids"] = ";".join(sorted(merged, key=int))
    return values


def contact_object(row: sqlite3.Row) -> dict[str, Any]:
    """A contact with every property, as `GET` with all properties named would return it."""
    return _object(row, list(PROPERTY_NAMES))


def _value_error(input_id: str, name: str, message: str, code: str) -> dict[str, Any]:
    return {
        "status": "error",
        "category": "VALIDATION_ERROR",
        "message": _property_invalid(name, message, code),
        "context": {"id": [input_id], "propertyName": [name]},
        "errors": [{"message": message, "code": code, "context": {"propertyName": [name]}}],
    }


def _batch_response(
    results: list[dict[str, Any]], errors: list[dict[str, Any]], started: int, completed: int
) -> Response:
    body: dict[str, Any] = {"status": "COMPLETE", "results": results}
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
    body["startedAt"] = hubspot_time(started)
    body["completedAt"] = hubspot_time(completed)
    return Response(207 if errors else 200, body)


def _stamp_lifecycle(row: dict[str, str | None], before: str | None, now: int) -> None:
    """HubSpot records when a contact first entered a stage; a write moving the stage does too."""
    stage = row.get("lifecyclestage")
    if stage and stage != before:
        key = f"hs_lifecyclestage_{stage}_date"
        if key in row and not row[key]:
            row[key] = hubspot_time(now)


def _owner_json(owner: Any) -> dict[str, Any]:
    stamp = hubspot_time(owner.created_ms)
    return {
        "id": owner.id,
        "email": owner.email,
        "type": "PERSON",
        "firstName": owner.first_name,
        "lastName": owner.last_name,
        "userId": owner.user_id,
        "userIdIncludingInactive": owner.user_id,
        "createdAt": stamp,
        "updatedAt": stamp,
        "archived": owner.archived,
        "teams": [{"id": owner.team_id, "name": owner.team, "primary": True}],
    }


def _property_def(prop: Any) -> dict[str, Any]:
    field_type = {"string": "text", "number": "number", "datetime": "date", "enumeration": "select"}
    return {
        "name": prop.name,
        "label": prop.label,
        "type": prop.type,
        "fieldType": field_type[prop.type],
        "description": "",
        "groupName": prop.group,
        "options": [
            {"label": o, "value": o, "displayOrder": i, "hidden": False}
            for i, o in enumerate(prop.options)
        ],
        "displayOrder": -1,
        "calculated": False,
        "externalOptions": prop.name == "hubspot_owner_id",
        "hasUniqueValue": prop.unique,
        "hidden": False,
        "formField": prop.writable,
        "modificationMetadata": {
            "archivable": prop.custom,
            "readOnlyDefinition": not prop.custom,
            "readOnlyValue": not prop.writable,
        },
        "archived": False,
    }


# --------------------------------------------------------------------------- search SQL


def _where(groups: Any, query: Any, obj: CrmObject = CONTACT) -> tuple[str, list[Any]]:
    """SQL for HubSpot's filterGroups (OR of ANDs) and the free-text `query`."""
    if not isinstance(groups, list):
        raise _invalid("filterGroups must be an array")
    if len(groups) > MAX_FILTER_GROUPS:
        raise _invalid(f"Too many filter groups: {len(groups)} (maximum {MAX_FILTER_GROUPS})")
    total = 0
    ors: list[str] = []
    params: list[Any] = []
    for group in groups:
        filters = group.get("filters", []) if isinstance(group, dict) else None
        if not isinstance(filters, list):
            raise _invalid("each filter group needs a filters array")
        if len(filters) > MAX_FILTERS_PER_GROUP:
            raise _invalid(
                f"Too many filters in a group: {len(filters)} (maximum {MAX_FILTERS_PER_GROUP})"
            )
        total += len(filters)
        ands = []
        for flt in filters:
            sql, values = _filter_sql(flt, obj)
            ands.append(sql)
            params.extend(values)
        if ands:
            ors.append("(" + " AND ".join(ands) + ")")
    if total > MAX_FILTERS:
        raise _invalid(f"Too many filters: {total} (maximum {MAX_FILTERS})")
    clauses = ["(" + " OR ".join(ors) + ")"] if ors else []
    if query:
        if not isinstance(query, str):
            raise _invalid("query must be a string")
        like = f"%{query.strip().lower()}%"
        clauses.append("(" + " OR ".join(f"lower({c}) LIKE ?" for c in obj.searchable) + ")")
        params.extend([like] * len(obj.searchable))
    return (" AND ".join(clauses) or "1"), params


def _filter_sql(flt: Any, obj: CrmObject = CONTACT) -> tuple[str, list[Any]]:
    if not isinstance(flt, dict):
        raise _invalid("a filter must be an object")
    name = flt.get("propertyName")
    op = flt.get("operator", "EQ")
    prop = obj.properties.get(str(name))
    if prop is None:
        raise _invalid(f"There was a problem with a filter: property {name!r} does not exist")
    if op not in OPERATORS:
        raise _invalid(f"There was a problem with a filter: unknown operator {op!r}")
    col = "id" if prop.name == "hs_object_id" else prop.name

    def lhs() -> str:
        if col == "id" or prop.type == "datetime":
            return col
        if prop.type == "number":
            return f"CAST({col} AS REAL)"
        return f"lower({col})"

    def conv(value: Any) -> Any:
        try:
            if prop.type == "datetime":
                return hubspot_time(_time_ms(value))
            if prop.type == "number":
                return float(value)
        except (TypeError, ValueError):
            raise _invalid(
                f"There was a problem with a filter: {value!r} is not a valid value for {name}"
            ) from None
        return str(value).lower()

    has = f"({col} IS NOT NULL AND {col} != '')"
    if op == "HAS_PROPERTY":
        return has, []
    if op == "NOT_HAS_PROPERTY":
        return f"NOT {has}", []
    if op in _COMPARE:
        if "value" not in flt:
            raise _invalid(f"There was a problem with a filter: {op} needs a value")
        return f"{lhs()} {_COMPARE[op]} ?", [conv(flt["value"])]
    if op == "NEQ":
        return f"({col} IS NULL OR {lhs()} != ?)", [conv(flt.get("value"))]
    if op == "BETWEEN":
        if "value" not in flt or "highValue" not in flt:
            raise _invalid("There was a problem with a filter: BETWEEN needs value and highValue")
        return f"{lhs()} BETWEEN ? AND ?", [conv(flt["value"]), conv(flt["highValue"])]
    if op in ("IN", "NOT_IN"):
        values = flt.get("values")
        if not isinstance(values, list) or not values:
            raise _invalid(f"There was a problem with a filter: {op} needs a values array")
        marks = ", ".join("?" for _ in values)
        if op == "IN":
            return f"{lhs()} IN ({marks})", [conv(v) for v in values]
        return f"({col} IS NULL OR {lhs()} NOT IN ({marks}))", [conv(v) for v in values]
    pattern = "%" + str(flt.get("value", "")).lower().replace("*", "%") + "%"
    if op == "CONTAINS_TOKEN":
        return f"lower({col}) LIKE ?", [pattern]
    return f"({col} IS NULL OR lower({col}) NOT LIKE ?)", [pattern]


def _order(sorts: Any, obj: CrmObject = CONTACT) -> str:
    if not isinstance(sorts, list):
        raise _invalid("sorts must be an array")
    if len(sorts) > 1:
        raise _invalid("Only one sort is allowed per search request")
    if not sorts:
        return "id ASC"
    sort = sorts[0]
    if isinstance(sort, str):
        name, direction = (sort[1:], "DESCENDING") if sort.startswith("-") else (sort, "ASCENDING")
    elif isinstance(sort, dict):
        name = str(sort.get("propertyName"))
        direction = str(sort.get("direction", "ASCENDING")).upper()
    else:
        raise _invalid("a sort is a property name or {propertyName, direction}")
    prop = obj.properties.get(str(name))
    if prop is None:
        raise _invalid(f"There was a problem with a sort: property {name!r} does not exist")
    if direction not in ("ASCENDING", "DESCENDING"):
        raise _invalid(f"sort direction must be ASCENDING or DESCENDING (got {direction})")
    if prop.name == "hs_object_id":
        expr = "id"
    elif prop.type == "number":
        expr = f"CAST({prop.name} AS REAL)"
    elif prop.type == "string":
        expr = f"lower({prop.name})"
    else:
        expr = prop.name
    sql_dir = "ASC" if direction == "ASCENDING" else "DESC"
    return f"{expr} {sql_dir}, id ASC" if expr != "id" else f"id {sql_dir}"
