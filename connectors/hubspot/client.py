"""The HubSpot HTTP session (bearer auth, limits, error bodies) and its paginators."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import requests
from pydantic import SecretStr

from connectors.http import ApiClient, FatalError, RateLimiter
from connectors.hubspot import settings
from connectors.streams import Page, parse_timestamp
from leadflow.config import HttpSettings


def describe_error(response: requests.Response) -> tuple[str, str]:
    """HubSpot errors: {"status":"error","message":...,"category"|"errorType":...}."""
    body = response.json()
    category = body.get("category") or body.get("errorType") or ""
    return str(category), str(body.get("message", ""))


def make_client(base_url: str, token: SecretStr, http: HttpSettings | None = None) -> ApiClient:
    calls, period = settings.GENERAL_LIMIT
    # HubSpot's search limit is one per token, whatever the object: the two paths share it.
    search = RateLimiter(*settings.SEARCH_LIMIT)
    return ApiClient(
        source="hubspot",
        base_url=base_url,
        token=token,
        http=http or HttpSettings(),
        describe_error=describe_error,
        limiters={
            "/": RateLimiter(calls, period),
            settings.SEARCH_CONTACTS: search,
            settings.SEARCH_DEALS: search,
            settings.SEARCH_COMPANIES: search,
        },
    )


def _ms(value: datetime) -> str:
    return str(int((value - datetime(1970, 1, 1)).total_seconds() * 1000))


def _modified(record: dict[str, Any], cursor: str = settings.CURSOR_PROPERTY) -> datetime | None:
    props = record.get("properties")
    return parse_timestamp(props.get(cursor)) if isinstance(props, dict) else None


def search_modified_since(
    client: ApiClient,
    since: datetime | None,
    properties: tuple[str, ...],
    limit: int,
    *,
    path: str = settings.SEARCH_CONTACTS,
    cursor: str = settings.CURSOR_PROPERTY,
) -> Iterator[Page]:
    """Every object modified at or after `since`, oldest change first, with nothing skipped.

    Contacts by default; deals with `path=SEARCH_DEALS, cursor=DEAL_CURSOR_PROPERTY`.

    Keyset pagination on lastmodifieddate instead of HubSpot's `after` offsets: each page asks again
    for `lastmodifieddate >= <last value seen>`. Offsets shift when a record changes during the
    pull (it jumps to the end and the record after it is skipped), and they stop at the search
    API's 10,000-result cap; a keyset never does either. Rows tied on the boundary value are
    re-read and dropped by id; a page made only of one timestamp is drained by hs_object_id.
    """
    limit = min(limit, settings.SEARCH_MAX_LIMIT)
    lower = since
    seen_at_lower: set[str] = set()
    while True:
        filters = (
            []
            if lower is None
            else [{"propertyName": cursor, "operator": "GTE", "value": _ms(lower)}]
        )
        body = {
            "filterGroups": [{"filters": filters}] if filters else [],
            "sorts": [{"propertyName": cursor, "direction": "ASCENDING"}],
            "properties": list(properties),
            "limit": limit,
        }
        data = client.post_json(path, body)[1]
        results: list[dict[str, Any]] = data.get("results") or []
        more = bool((data.get("paging") or {}).get("next"))
        fresh = [
            r
            for r in results
            if not (_modified(r, cursor) == lower and str(r.get("id")) in seen_at_lower)
        ]
        if not more:
            yield Page(fresh, last=True)
            return
        if fresh:
            yield Page(fresh)
        top = _modified(results[-1], cursor)
        if top is None:  # cannot move a keyset on a missing value; HubSpot always sets it
            raise ValueError(f"hubspot: a search result has no {cursor}")
        if top == lower or not fresh:
            yield from _drain_timestamp(client, top, properties, limit, path=path, cursor=cursor)
            lower, seen_at_lower = top + timedelta(milliseconds=1), set()
            continue
        lower = top
        seen_at_lower = {str(r.get("id")) for r in results if _modified(r, cursor) == top}


def _drain_timestamp(
    client: ApiClient,
    stamp: datetime,
    properties: tuple[str, ...],
    limit: int,
    *,
    path: str,
    cursor: str,
) -> Iterator[Page]:
    """All objects sharing exactly one modified time (a bulk import), paged by hs_object_id."""
    last_id = "0"
    while True:
        body = {
            "filterGroups": [
                {
                    "filters": [
                        {"propertyName": cursor, "operator": "EQ", "value": _ms(stamp)},
                        {"propertyName": "hs_object_id", "operator": "GT", "value": last_id},
                    ]
                }
            ],
            "sorts": [{"propertyName": "hs_object_id", "direction": "ASCENDING"}],
            "properties": list(properties),
            "limit": limit,
        }
        data = client.post_json(path, body)[1]
        results = data.get("results") or []
        if results:
            yield Page(results)
        if not (data.get("paging") or {}).get("next") or not results:
            return
        last_id = str(results[-1].get("id"))


def list_owners(client: ApiClient) -> Iterator[Page]:
    """GET /crm/v3/owners, following paging.next.after to the end."""
    after: str | None = None
    while True:
        params: dict[str, Any] = {"limit": settings.OWNERS_PAGE_LIMIT, "archived": "false"}
        if after:
            params["after"] = after
        data = client.get_json(settings.OWNERS, params=params)
        after = ((data.get("paging") or {}).get("next") or {}).get("after")
        yield Page(data.get("results") or [], last=after is None)
        if after is None:
            return


def list_archived_since(
    client: ApiClient, since: datetime | None, properties: tuple[str, ...], limit: int
) -> Iterator[Page]:
    """Contacts archived at or after `since` (HubSpot's recycle bin), oldest archive first.

    The bin has no search: `GET /crm/v3/objects/contacts?archived=true` lists it by id, `after`
    the last id, with no filter and no sort. So every page is read on every run (the bin holds
    90 days of deletions, a short read), and the ones archived at or after `since` are yielded,
    sorted by `archivedAt`, so that a cursor on it may commit with each page: a run that stops
    midway has landed exactly the oldest ones. Re-reads are free, raw keeps one row per version.
    """
    limit = min(limit, settings.LIST_MAX_LIMIT)
    archived: list[dict[str, Any]] = []
    after: str | None = None
    while True:
        params: dict[str, Any] = {
            "archived": "true",
            "limit": limit,
            "properties": ",".join(properties),
        }
        if after:
            params["after"] = after
        data = client.get_json(settings.CONTACTS, params=params)
        for record in data.get("results") or []:
            stamp = parse_timestamp(record.get("archivedAt"))
            # without a readable archivedAt, a contact cannot be placed: it is always yielded
            if since is None or stamp is None or stamp >= since:
                archived.append(record)
        after = ((data.get("paging") or {}).get("next") or {}).get("after")
        if after is None:
            break

    def order(record: dict[str, Any]) -> tuple[datetime, int, str]:
        ident = str(record.get("id"))
        stamp = parse_timestamp(record.get("archivedAt")) or datetime.min
        return (stamp, len(ident), ident)

    archived.sort(key=order)
    for start in range(0, len(archived), limit):
        yield Page(archived[start : start + limit], last=start + limit >= len(archived))
    if not archived:
        yield Page([], last=True)


def search_deals_modified_since(
    client: ApiClient, since: datetime | None, limit: int
) -> Iterator[Page]:
    """Deals modified at or after `since` (the contacts keyset, on hs_lastmodifieddate), each with
    its contacts: `associations.contacts` holds the v4 batch read's `to` list for the deal
    ([{toObjectId, associationTypes}], empty when it has none)."""
    for page in search_modified_since(
        client,
        since,
        settings.DEAL_PROPERTIES,
        limit,
        path=settings.SEARCH_DEALS,
        cursor=settings.DEAL_CURSOR_PROPERTY,
    ):
        contacts = deal_contacts(client, [str(deal.get("id")) for deal in page.records])
        for deal in page.records:
            deal["associations"] = {"contacts": contacts.get(str(deal.get("id")), [])}
        yield page


def search_companies_modified_since(
    client: ApiClient, since: datetime | None, limit: int
) -> Iterator[Page]:
    """Companies modified at or after `since`: the contacts keyset on hs_lastmodifieddate, so the
    10,000-result cap of the search API is never reached."""
    return search_modified_since(
        client,
        since,
        settings.COMPANY_PROPERTIES,
        limit,
        path=settings.SEARCH_COMPANIES,
        cursor=settings.COMPANY_CURSOR_PROPERTY,
    )


def search_history_modified_since(
    client: ApiClient,
    since: datetime | None,
    limit: int,
    *,
    search_path: str,
    cursor: str,
    batch_read_path: str,
    history_properties: tuple[str, ...],
) -> Iterator[Page]:
    """The property histories of every object modified at or after `since`, oldest change first:
    one record per object, `{id, properties: {<cursor>: the value the search saw},
    propertiesWithHistory: {<property>: [versions, newest first]}}`.

    The search cannot return history (it has no propertiesWithHistory), so each page of the keyset
    search (the contacts', over the same cursor, asking for the cursor alone) is read again by id
    with batch read, 50 ids a request. The cursor value kept is the search's, not the batch read's:
    an object that changed between the two reads must not move the stream's cursor past objects
    later pages have not read yet. An object gone between the two reads (archived, merged away:
    OBJECT_NOT_FOUND) has no record; its next version comes with the contact's next change."""
    for page in search_modified_since(
        client, since, (cursor,), limit, path=search_path, cursor=cursor
    ):
        modified = {
            str(record.get("id")): (record.get("properties") or {}).get(cursor)
            for record in page.records
        }
        histories = read_histories(client, batch_read_path, list(modified), history_properties)
        records = [
            {
                "id": object_id,
                "properties": {cursor: modified[object_id]},
                "propertiesWithHistory": {
                    name: versions.get(name) or [] for name in history_properties
                },
            }
            for object_id, versions in ((i, histories[i]) for i in modified if i in histories)
        ]
        yield Page(records, last=page.last)


def read_histories(
    client: ApiClient, path: str, ids: list[str], properties: tuple[str, ...]
) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """object id -> its `propertiesWithHistory`, from POST .../batch/read with
    propertiesWithHistory, HISTORY_BATCH_MAX_INPUTS ids a request (HubSpot refuses more with
    history). Ids HubSpot does not have (a 207's OBJECT_NOT_FOUND) are left out."""
    found: dict[str, dict[str, list[dict[str, Any]]]] = {}
    unique = list(dict.fromkeys(ids))
    for start in range(0, len(unique), settings.HISTORY_BATCH_MAX_INPUTS):
        batch = unique[start : start + settings.HISTORY_BATCH_MAX_INPUTS]
        body = client.post_json(
            path,
            {
                "properties": list(properties),
                "propertiesWithHistory": list(properties),
                "inputs": [{"id": i} for i in batch],
            },
        )[1]
        for result in body.get("results") or []:
            history = result.get("propertiesWithHistory")
            found[str(result.get("id"))] = history if isinstance(history, dict) else {}
    return found


def deal_contacts(client: ApiClient, deal_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """deal id -> its contacts, from POST /crm/v4/associations/deals/contacts/batch/read.

    At most 1,000 ids a request. HubSpot answers 207 when some deals have no contacts (an
    OBJECT_NOT_FOUND error each, which is simply no contacts); a deal with more than a page of
    contacts carries a `paging.next.after` token that is asked for again with its id.
    """
    found: dict[str, list[dict[str, Any]]] = {}
    pending: list[dict[str, str]] = [{"id": deal_id} for deal_id in deal_ids]
    while pending:
        batch = pending[: settings.ASSOCIATIONS_MAX_INPUTS]
        pending = pending[settings.ASSOCIATIONS_MAX_INPUTS :]
        body = client.post_json(settings.DEAL_CONTACTS_BATCH_READ, {"inputs": batch})[1]
        for result in body.get("results") or []:
            deal_id = str((result.get("from") or {}).get("id"))
            found.setdefault(deal_id, []).extend(result.get("to") or [])
            after = ((result.get("paging") or {}).get("next") or {}).get("after")
            if after:
                pending.append({"id": deal_id, "after": str(after)})
    return found


def read_contacts(
    client: ApiClient, ids: list[str], properties: tuple[str, ...]
) -> tuple[list[dict[str, Any]], list[str]]:
    """(contacts, ids HubSpot does not have) from POST /crm/v3/objects/contacts/batch/read, 100 ids
    a request, with the properties the pull asks for, so each object is the one a search returns.

    A 207 names the ids it could not get (OBJECT_NOT_FOUND: deleted or never there); an id in
    neither list was not answered and is worth asking again later.
    """
    found: list[dict[str, Any]] = []
    missing: list[str] = []
    for start in range(0, len(ids), settings.BATCH_MAX_INPUTS):
        batch = ids[start : start + settings.BATCH_MAX_INPUTS]
        body = client.post_json(
            settings.BATCH_READ_CONTACTS,
            {"properties": list(properties), "inputs": [{"id": i} for i in batch]},
        )[1]
        found.extend(body.get("results") or [])
        for error in body.get("errors") or []:
            if error.get("category") == "OBJECT_NOT_FOUND":
                missing.extend(str(i) for i in (error.get("context") or {}).get("ids") or [])
    return found, missing


def read_contact(
    client: ApiClient, contact_id: str, properties: tuple[str, ...]
) -> dict[str, Any] | None:
    """GET /crm/v3/objects/contacts/{id}: the contact, or for an id merged away the contact it
    was merged into (HubSpot follows merges on a read by id); None when HubSpot has neither."""
    if not contact_id.isdigit():
        return None
    try:
        return dict(
            client.get_json(
                f"{settings.CONTACTS}/{contact_id}",
                params={"properties": ",".join(properties)},
            )
        )
    except FatalError as exc:
        if exc.status == 404:
            return None
        raise
