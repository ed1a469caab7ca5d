"""Fivetran rows -> the payloads the vendor APIs return, so that one parser per vendor
(connectors/hubspot/models.py, connectors/salesforce/models.py), one raw table per stream and the
same dbt staging models serve both loaders.

A row comes from client.py as {column: value} with DuckDB's Python values (datetime, bool, int,
Decimal, str, ...) and a few columns of LeadFlow's own (`__leadflow_*`: the cursor as read in SQL,
the deletion, a contact's account name). Every value is turned into the vendor's wire form:
HubSpot's properties are strings ("true", "25", "2026-05-01T09:30:00.000Z"), Salesforce's fields
JSON booleans, numbers and `2026-05-01T09:30:00.000+0000`. A value that cannot be read as what it
must be (a time in no known form, a NaN) is sent as null and its field named in the payload's
`_leadflow_unreadable` list: the record still lands, and validation judges what is left (a
contact without a readable creation time is quarantined with that reason). Nothing here raises on
a value.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from connectors.fivetran import settings
from connectors.records import flag
from connectors.streams import parse_timestamp

# The columns client.py adds to every row it reads.
KEY = "__leadflow_key"  # the keyset's cursor value (a naive UTC timestamp, or None)
ID = "__leadflow_id"
DELETED = "__leadflow_deleted"  # deleted at the source: is_deleted, _fivetran_deleted, history
MODIFIED = "__leadflow_modified"  # the stream's cursor column, read as a time in SQL
SYNCED = "__leadflow_synced"  # _fivetran_synced, read as a time in SQL (HubSpot's archivedAt)
ACCOUNT_NAME = "__leadflow_account_name"  # Salesforce contacts: their Account's Name
NO_ACCOUNT_TABLE = object()  # the account table is not there: Account is left out

UNREADABLE = "_leadflow_unreadable"


class _Row:
    """One row being mapped, and the fields whose values could not be read."""

    def __init__(self, row: dict[str, Any]) -> None:
        self.row = row
        self.unreadable: list[str] = []

    def columns(self) -> list[str]:
        """The source's own columns: neither Fivetran's metadata nor LeadFlow's additions."""
        return [
            c
            for c in self.row
            if not c.startswith(settings.SYSTEM_PREFIX) and not c.startswith("__leadflow_")
        ]

    def finish(self, payload: dict[str, Any]) -> dict[str, Any]:
        if self.unreadable:
            payload[UNREADABLE] = sorted(set(self.unreadable))
        return payload


# --------------------------------------------------------------------------- values


_ONE_DIGIT_HOUR = re.compile(r"^(\d{4}-\d{2}-\d{2})[ T](\d):")
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def read_time(value: Any) -> datetime | None:
    """A time from a typed column (datetime, date, epoch number) or a text one in the forms
    Fivetran and the seeds hold ('2020-12-30 3:15:52', '2021-04-01 17:32:47.123',
    '2021-04-01T17:32:47Z', '...+0000', '... UTC', epoch seconds or ms), as naive UTC; None when
    it reads as no time."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, str):
        value = value.strip().removesuffix(" UTC").removesuffix(" +00:00")
        value = _ONE_DIGIT_HOUR.sub(r"\1 0\2:", value)
    return parse_timestamp(value)


def _iso_ms(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}"


def hubspot_time(value: datetime | None) -> str | None:
    """HubSpot's form: 2026-05-01T09:30:00.000Z."""
    return None if value is None else _iso_ms(value) + "Z"


def salesforce_time(value: datetime | None) -> str | None:
    """Salesforce's form: 2026-05-01T09:30:00.000+0000."""
    return None if value is None else _iso_ms(value) + "+0000"


def _number(value: float | Decimal) -> int | float | None:
    """A finite number, integral ones as int (25.0 -> 25); None for NaN and infinities."""
    if isinstance(value, Decimal):
        if not value.is_finite():
            return None
        return int(value) if value == value.to_integral_value() else float(value)
    if not math.isfinite(value):
        return None
    return int(value) if value.is_integer() else value


def _time_field(
    mapped: _Row, field: str, value: Any, form: Callable[[datetime | None], str | None]
) -> str | None:
    """A value that must be a time, in the vendor's form; null and named when it is not one."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    parsed = read_time(value)
    if parsed is None:
        mapped.unreadable.append(field)
    return form(parsed)


def hubspot_value(mapped: _Row, name: str, value: Any) -> Any:
    """A property value as HubSpot sends it: a string, or null."""
    if value is None:
        return None
    if name in settings.HUBSPOT_TIMESTAMP_PROPERTIES or (
        name.startswith("hs_lifecyclestage_") and name.endswith("_date")
    ):
        return _time_field(mapped, f"properties.{name}", value, hubspot_time)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return hubspot_time(read_time(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float | Decimal):
        number = _number(value)
        if number is None:
            mapped.unreadable.append(f"properties.{name}")
            return None
        return str(number)
    if isinstance(value, str):
        # HubSpot's booleans are lower case; Fivetran's text columns may hold TRUE / False.
        return value.lower() if value.strip().lower() in ("true", "false") else value
    if isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, bytes):
        mapped.unreadable.append(f"properties.{name}")
        return None
    return str(value)


_BOOLEAN_FIELD = re.compile(r"^(Is|Has|DoNot)[A-Z]")


def salesforce_value(mapped: _Row, field: str, value: Any) -> Any:
    """A field value as the REST API sends it: JSON booleans, numbers, strings, or null."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None  # the API sends null for an empty field, never ""
    if field in settings.SALESFORCE_DATE_FIELDS:
        if isinstance(value, str) and _DATE_ONLY.match(value.strip()):
            return value.strip()
        return _time_field(
            mapped, field, value, lambda t: None if t is None else t.date().isoformat()
        )
    if field == "SystemModstamp" or (field.endswith("Date") and not field.endswith("__c")):
        return _time_field(mapped, field, value, salesforce_time)
    if isinstance(value, bool):
        return value
    if isinstance(value, datetime):
        return salesforce_time(read_time(value))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        number = _number(value)
        if number is None:
            mapped.unreadable.append(field)
        return number
    if isinstance(value, str):
        if _BOOLEAN_FIELD.match(field):
            read = flag(value)
            return value if read is None else read  # garbled: kept, the parser reads it as None
        return value
    return _plain(mapped, field, value)


def _plain(mapped: _Row, field: str, value: Any) -> Any:
    """Any other value as JSON can hold it: a nested list or struct with its times and decimals
    as text, bytes as unreadable, anything else (a UUID, an interval) as its text."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float | Decimal):
        number = _number(value)
        if number is None:
            mapped.unreadable.append(field)
        return number
    if isinstance(value, list | dict):
        plain: Any = json.loads(json.dumps(value, default=str))
        return plain
    if isinstance(value, bytes):
        mapped.unreadable.append(field)
        return None
    return str(value)


def record_id_text(value: Any) -> str | None:
    """An id column's value as the API's string id (78971951, not 78971951.0)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float | Decimal):
        number = _number(value)
        return None if number is None else str(number)
    text = str(value).strip()
    return text or None


# --------------------------------------------------------------------------- HubSpot


def _hubspot_properties(mapped: _Row, id_column: str, renamed: dict[str, str]) -> dict[str, Any]:
    """Every `property_<name>` column as properties.<name>; the table's other columns under the
    property they stand for (`renamed`: deal_pipeline_stage_id -> dealstage), when no property
    column holds it, else under their own name."""
    props: dict[str, Any] = {}
    others: list[str] = []
    for column in mapped.columns():
        if column == id_column or column in ("is_deleted",):
            continue
        if column.startswith(settings.HUBSPOT_PROPERTY_PREFIX):
            name = column[len(settings.HUBSPOT_PROPERTY_PREFIX) :]
            props[name] = hubspot_value(mapped, name, mapped.row[column])
        else:
            others.append(column)
    for column in others:
        name = renamed.get(column, column)
        if name not in props:
            props[name] = hubspot_value(mapped, name, mapped.row[column])
    return props


def _hubspot_object(
    row: dict[str, Any], id_column: str, cursor_property: str, renamed: dict[str, str]
) -> tuple[_Row, dict[str, Any]]:
    mapped = _Row(row)
    object_id = record_id_text(row.get(id_column))
    props = _hubspot_properties(mapped, id_column, renamed)
    # The cursor property as SQL read it, so the record's cursor is the one the keyset followed.
    if MODIFIED in row and f"{settings.HUBSPOT_PROPERTY_PREFIX}{cursor_property}" in row:
        props[cursor_property] = hubspot_time(row[MODIFIED])
        if row[MODIFIED] is None and row[f"{settings.HUBSPOT_PROPERTY_PREFIX}{cursor_property}"]:
            mapped.unreadable.append(f"properties.{cursor_property}")
    if object_id is not None:
        props.setdefault("hs_object_id", object_id)  # the API always returns it
    payload: dict[str, Any] = {
        "id": object_id,
        "properties": props,
        "createdAt": props.get("createdate"),
        "updatedAt": props.get(cursor_property),
        "archived": bool(row.get(DELETED)),
    }
    return mapped, payload


def hubspot_contact(row: dict[str, Any], *, archived: bool) -> dict[str, Any]:
    """A `contact` row as CRM v3 returns the contact; from the archived partition (the row is
    deleted in Fivetran) as the recycle bin lists it, `archived: true` and `archivedAt`: the
    time Fivetran synced the deletion (HubSpot's own archive time is not in Fivetran's tables)."""
    mapped, payload = _hubspot_object(row, "id", "lastmodifieddate", {})
    payload["archived"] = archived
    if archived:
        payload["archivedAt"] = hubspot_time(row.get(SYNCED))
    return mapped.finish(payload)


def hubspot_deal(
    row: dict[str, Any], id_column: str, contacts: list[dict[str, Any]] | None
) -> dict[str, Any]:
    """A `deal` row as the deals search returns it, with `associations.contacts` as the v4
    batch read's `to` list (None: no deal_contact table, so no associations key)."""
    mapped, payload = _hubspot_object(
        row,
        id_column,
        "hs_lastmodifieddate",
        {
            "deal_pipeline_id": "pipeline",
            "deal_pipeline_stage_id": "dealstage",
            "owner_id": "hubspot_owner_id",
        },
    )
    if contacts is not None:
        payload["associations"] = {"contacts": contacts}
    return mapped.finish(payload)


def hubspot_company(row: dict[str, Any], id_column: str) -> dict[str, Any]:
    """A `company` row as the companies search returns it."""
    mapped, payload = _hubspot_object(row, id_column, "hs_lastmodifieddate", {})
    return mapped.finish(payload)


def _camel(column: str) -> str:
    head, *rest = column.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


_OWNER_FIELDS = {
    "email": "email",
    "first_name": "firstName",
    "last_name": "lastName",
    "type": "type",
    "created_at": "createdAt",
    "updated_at": "updatedAt",
}


def _user_id(value: Any) -> int | float | str | None:
    """HubSpot's userId is a number; text holding one is read as one."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal):
        return _number(value)
    text = str(value).strip()
    return int(text) if text.isdigit() else (text or None)


def hubspot_owner(row: dict[str, Any], id_column: str) -> dict[str, Any]:
    """An `owner` row as GET /crm/v3/owners returns it. `id` is the owner id (what
    hubspot_owner_id holds and the push writes); `userId` the owner's HubSpot user
    (`active_user_id`, or `user_id`): two numbers, never swapped. A deleted or inactive owner is
    `archived`, as HubSpot archives the owner of a removed user."""
    mapped = _Row(row)
    payload: dict[str, Any] = {"id": record_id_text(row.get(id_column))}
    user_id: Any = None
    for column in mapped.columns():
        value = row[column]
        if column == id_column:
            continue
        if column in ("active_user_id", "user_id"):
            user_id = _user_id(value) if user_id is None else user_id
            continue
        if column in ("is_active", "is_deleted"):
            continue
        field = _OWNER_FIELDS.get(column, _camel(column))
        if field in ("createdAt", "updatedAt") or isinstance(value, datetime | date):
            payload[field] = _time_field(mapped, field, value, hubspot_time)
        else:
            payload[field] = _plain(mapped, field, value)
    if MODIFIED in row and "updated_at" in row:
        payload["updatedAt"] = hubspot_time(row[MODIFIED])
    payload["userId"] = user_id
    inactive = flag(row.get("is_active")) is False
    payload["archived"] = bool(row.get(DELETED)) or inactive
    return mapped.finish(payload)


# --------------------------------------------------------------------------- Salesforce


def squash(name: str) -> str:
    """A field name folded to compare Fivetran's with the API's: LeadFlow_Lead_Id__c,
    leadflow_lead_id_c and lead_flow_lead_id_c all read `leadflowleadidc`."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def salesforce_field(column: str, known: dict[str, str]) -> str:
    """The API name of a Fivetran column: a field the stream selects by its folded name, else
    the best guess at Salesforce's naming (annual_revenue -> AnnualRevenue, a custom
    secondary_email_c -> Secondary_Email__c)."""
    found = known.get(squash(column))
    if found:
        return found
    parts = [part for part in column.split("_") if part]
    words = [part[:1].upper() + part[1:] for part in parts]
    if len(parts) > 1 and parts[-1] == "c":
        return "_".join(words[:-1]) + "__c"
    return "".join(words)


def salesforce_record(
    row: dict[str, Any],
    *,
    sobject: str,
    fields: tuple[str, ...],
    known: dict[str, str],
    cursor_field: str | None,
    api_version: str,
    account_name: Any = NO_ACCOUNT_TABLE,
) -> dict[str, Any]:
    """A row of an object's table as a query answer holds the record: `attributes`, then every
    field, the ones the API pull selects (`fields`) always present (null when the table lacks
    the column, as the API sends an empty field). `IsDeleted` is true when Fivetran or
    Salesforce says so. Columns the pull does not select are passed on under their best-guess API
    name (unread by the parsers and dbt)."""
    mapped = _Row(row)
    object_id = record_id_text(row.get("id"))
    payload: dict[str, Any] = {
        "attributes": {
            "type": sobject,
            "url": f"/services/data/{api_version}/sobjects/{sobject}/{object_id}",
        }
    }
    for column in mapped.columns():
        field = salesforce_field(column, known)
        if field in payload:
            continue  # two columns for one field: the first one read wins
        payload[field] = (
            object_id if field == "Id" else salesforce_value(mapped, field, row[column])
        )
    if cursor_field is not None and MODIFIED in row:
        # The cursor field as SQL read it, so the record's cursor is the one the keyset followed.
        if row[MODIFIED] is None and payload.get(cursor_field) is not None:
            mapped.unreadable.append(cursor_field)
        payload[cursor_field] = salesforce_time(row[MODIFIED])
    for field in fields:
        if "." not in field:
            payload.setdefault(field, None)
    if bool(row.get(DELETED)) or "IsDeleted" in fields:
        payload["IsDeleted"] = bool(row.get(DELETED))
    if account_name is not NO_ACCOUNT_TABLE and "Account.Name" in fields:
        account_id = payload.get("AccountId")
        payload["Account"] = (
            None
            if account_id is None
            else {
                "attributes": {
                    "type": "Account",
                    "url": f"/services/data/{api_version}/sobjects/Account/{account_id}",
                },
                "Name": account_name,
            }
        )
    return mapped.finish(payload)
