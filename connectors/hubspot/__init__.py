"""HubSpot CRM: pull contacts, owners, deals and companies (incremental) and the contacts' and deals'
stage histories, push scores and owners (reverse ETL).

Public API: `STREAMS`, `open_client`, `pull`, `parse_contact`, `push_contacts`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence

from connectors.http import ApiClient, ConnectorError, FatalError, RetriableError
from connectors.hubspot import client as hubspot_client
from connectors.hubspot import models, settings
from connectors.hubspot.models import parse_contact
from connectors.streams import Page, PullWindow, Stream
from connectors.sync import PushOutcome, SyncRow
from leadflow.config import HubSpotDestinationConfig, HubSpotSourceConfig

log = logging.getLogger("leadflow.connectors.hubspot")

__all__ = [
    "STREAMS",
    "PushOutcome",
    "SyncRow",
    "ensure_properties",
    "open_client",
    "parse_contact",
    "partitions",
    "pull",
    "push_contacts",
]

STREAMS: dict[str, Stream] = {
    # Two passes, each under a cursor of its own (`partitions`): the live contacts by search on
    # lastmodifieddate, then the recycle bin on archivedAt (an archived contact is a new version
    # of its record, marked deleted at the source: quarantined, its last live version kept).
    "contacts": Stream(
        source="hubspot",
        name="contacts",
        primary_key="id",
        cursor_field="properties.lastmodifieddate",  # the archived partition: archivedAt
        sorted_by_cursor=True,
        record_id=models.contact_id,
        record_cursor=models.contact_cursor,
    ),
    "owners": Stream(
        source="hubspot",
        name="owners",
        primary_key="id",
        cursor_field="updatedAt",
        sorted_by_cursor=False,
        record_id=models.owner_id,
        record_cursor=models.owner_cursor,
    ),
    "deals": Stream(
        source="hubspot",
        name="deals",
        primary_key="id",
        cursor_field="properties.hs_lastmodifieddate",
        sorted_by_cursor=True,
        record_id=models.deal_id,
        record_cursor=models.deal_cursor,
    ),
    # The accounts leads are matched to (dedupe/accounts.py).
    "companies": Stream(
        source="hubspot",
        name="companies",
        primary_key="id",
        cursor_field="properties.hs_lastmodifieddate",
        sorted_by_cursor=True,
        record_id=models.company_id,
        record_cursor=models.company_cursor,
    ),
    # Stage histories (`stage_history`, default on): the same keyset searches as contacts and deals,
    # under cursors of their own, each page read again by id with propertiesWithHistory (search
    # has none). One record per object per pull: its id and its versions. Last, so that a portal
    # refusing them never holds up the streams leads come from.
    settings.CONTACT_LIFECYCLE_HISTORY: Stream(
        source="hubspot",
        name=settings.CONTACT_LIFECYCLE_HISTORY,
        primary_key="id",
        cursor_field="properties.lastmodifieddate",
        sorted_by_cursor=True,
        record_id=models.contact_id,
        record_cursor=models.contact_history_cursor,
    ),
    settings.DEAL_STAGE_HISTORY: Stream(
        source="hubspot",
        name=settings.DEAL_STAGE_HISTORY,
        primary_key="id",
        cursor_field="properties.hs_lastmodifieddate",
        sorted_by_cursor=True,
        record_id=models.deal_id,
        record_cursor=models.deal_history_cursor,
    ),
}
HISTORY_STREAMS = (settings.CONTACT_LIFECYCLE_HISTORY, settings.DEAL_STAGE_HISTORY)


def open_client(config: HubSpotSourceConfig | HubSpotDestinationConfig) -> ApiClient:
    return hubspot_client.make_client(config.base_url, config.access_token(), config.http)


def pull(
    client: ApiClient,
    config: HubSpotSourceConfig,
    stream: str,
    window: PullWindow,
    partition: str | None = None,
) -> Iterator[Page]:
    """Pages of raw records for one stream; contacts, deals and companies incrementally, owners in
    full (a small list). Each deal carries its contacts (`associations.contacts`). The contacts'
    `archived` partition is the recycle bin, with the same properties as the live contacts. The
    stage histories follow the contacts' and deals' searches: the objects changed since their
    cursor, each with every version of its lifecyclestage / dealstage."""
    if stream == "contacts" and partition == settings.ARCHIVED_PARTITION:
        return hubspot_client.list_archived_since(
            client, window.since, settings.CONTACT_PROPERTIES, config.page_size
        )
    if stream == "contacts":
        return hubspot_client.search_modified_since(
            client, window.since, settings.CONTACT_PROPERTIES, config.page_size
        )
    if stream == "deals":
        return hubspot_client.search_deals_modified_since(client, window.since, config.page_size)
    if stream == "companies":
        return hubspot_client.search_companies_modified_since(
            client, window.since, config.page_size
        )
    if stream == "owners":
        return hubspot_client.list_owners(client)
    if stream == settings.CONTACT_LIFECYCLE_HISTORY:
        return hubspot_client.search_history_modified_since(
            client,
            window.since,
            config.page_size,
            search_path=settings.SEARCH_CONTACTS,
            cursor=settings.CURSOR_PROPERTY,
            batch_read_path=settings.BATCH_READ_CONTACTS,
            history_properties=settings.CONTACT_HISTORY_PROPERTIES,
        )
    if stream == settings.DEAL_STAGE_HISTORY:
        return hubspot_client.search_history_modified_since(
            client,
            window.since,
            config.page_size,
            search_path=settings.SEARCH_DEALS,
            cursor=settings.DEAL_CURSOR_PROPERTY,
            batch_read_path=settings.BATCH_READ_DEALS,
            history_properties=settings.DEAL_HISTORY_PROPERTIES,
        )
    raise ValueError(f"hubspot has no stream {stream!r}")


def ensure_properties(client: ApiClient, *, create: bool = True) -> list[str]:
    """Make sure the portal has LeadFlow's custom contact properties before a push writes them:
    the ones missing are created through the properties API (one POST each; a 409 means another
    process made it meanwhile). With `create` false, a missing one stops the push with an error
    naming it. Returns the names created."""
    body = client.get_json(settings.PROPERTIES, params={"archived": "false"})
    results = body.get("results") if isinstance(body, dict) else None
    present = {str(p.get("name")) for p in results or [] if isinstance(p, dict)}
    missing = [d for d in settings.CUSTOM_PROPERTIES if d["name"] not in present]
    if missing and not create:
        raise FatalError(
            "hubspot",
            "the portal has no contact property "
            + ", ".join(str(d["name"]) for d in missing)
            + "; create them (connectors/hubspot/README.md) or set create_properties: true",
            category="MISSING_PROPERTY",
        )
    created = []
    for definition in missing:
        try:
            client.post_json(settings.PROPERTIES, dict(definition))
        except FatalError as exc:
            if exc.status != 409:
                raise
        created.append(str(definition["name"]))
    if created:
        log.info("hubspot: created contact properties %s", ", ".join(created))
    return created


# Per-input error categories of a 207 that say "not now" rather than "never": resent next run.
TRANSIENT_ERROR_CATEGORIES = frozenset({"RATE_LIMITS"})


def push_contacts(
    client: ApiClient, rows: Sequence[SyncRow], batch_size: int = 100
) -> list[PushOutcome]:
    """Write each row with batch/update (known contact id) or batch/upsert (by a unique property).

    A batch HubSpot rejects as a whole (a 400 for one bad input) is split in halves until the bad
    inputs stand alone, so one bad lead never blocks its batch neighbours. Retriable failures that
    outlast the client's retries come back as outcomes with retriable=True (dead-lettered, and
    tried again on the next run).
    """
    batch_size = min(batch_size, settings.BATCH_MAX_INPUTS)
    outcomes: list[PushOutcome] = []
    for operation, path in (
        ("update", settings.BATCH_UPDATE_CONTACTS),
        ("upsert", settings.BATCH_UPSERT_CONTACTS),
    ):
        group = [r for r in rows if r.operation == operation]
        for start in range(0, len(group), batch_size):
            outcomes.extend(_send(client, path, operation, group[start : start + batch_size]))
    return outcomes


def _key(row: SyncRow) -> str:
    if row.operation == "update":
        return str(row.object_id)
    return (row.id_value or "").strip().lower() if row.id_property == "email" else str(row.id_value)


def _send(client: ApiClient, path: str, operation: str, batch: list[SyncRow]) -> list[PushOutcome]:
    try:
        status, body = client.post_json(path, {"inputs": [r.request_input() for r in batch]})
    except FatalError as exc:
        if len(batch) > 1:
            middle = len(batch) // 2
            return _send(client, path, operation, batch[:middle]) + _send(
                client, path, operation, batch[middle:]
            )
        return [_failed(batch[0], exc, retriable=False)]
    except (RetriableError, ConnectorError) as exc:
        return [_failed(row, exc, retriable=True) for row in batch]
    return _match(batch, operation, status, body)


def _failed(row: SyncRow, exc: ConnectorError, *, retriable: bool) -> PushOutcome:
    return PushOutcome(
        row.lead_id,
        row.operation,
        ok=False,
        http_status=exc.status,
        category=exc.category or type(exc).__name__,
        message=str(exc),
        retriable=retriable,
    )


def _match(batch: list[SyncRow], operation: str, status: int, body: dict) -> list[PushOutcome]:
    """Pair each input with its result: by id for update, by the id property's value for upsert."""
    by_key: dict[str, str] = {}
    for result in body.get("results") or []:
        props = result.get("properties") or {}
        if operation == "update":
            by_key[str(result.get("id"))] = str(result.get("id"))
        else:
            for prop in ("email", "leadflow_lead_id"):
                value = props.get(prop)
                if value:
                    key = value.strip().lower() if prop == "email" else value
                    by_key.setdefault(key, str(result.get("id")))
    errors = body.get("errors") or []
    outcomes = []
    for row in batch:
        object_id = by_key.get(_key(row))
        if object_id is not None:
            outcomes.append(
                PushOutcome(
                    row.lead_id, operation, ok=True, object_id=object_id, http_status=status
                )
            )
            continue
        error = _error_for(row, errors)
        category = _category(error)
        outcomes.append(
            PushOutcome(
                row.lead_id,
                operation,
                ok=False,
                http_status=status,
                category=category,
                message=ConnectorError(
                    "hubspot", str(error.get("message", "no result for this input"))
                ).args[0],
                # an input turned away for a moment (a per-input rate limit) goes again next run
                retriable=category.split("/")[0] in TRANSIENT_ERROR_CATEGORIES,
            )
        )
    return outcomes


def _category(error: dict) -> str:
    """'VALIDATION_ERROR/INVALID_OWNER_ID': the category and, when given, the first detail code."""
    category = str(error.get("category") or "UNKNOWN")
    details = error.get("errors")
    if (
        isinstance(details, list)
        and details
        and isinstance(details[0], dict)
        and details[0].get("code")
    ):
        category = f"{category}/{details[0]['code']}"
    return category


def _error_for(row: SyncRow, errors: list[dict]) -> dict:
    """The batch error whose context names this input, else the first error."""
    key = _key(row)
    for error in errors:
        context = error.get("context") or {}
        values = [
            str(v).strip().lower() for vs in context.values() if isinstance(vs, list) for v in vs
        ]
        if key.lower() in values:
            return error
    return errors[0] if errors else {}


def partitions(config: HubSpotSourceConfig, stream: str) -> list[str | None]:
    """HubSpot streams are pulled whole, with one cursor each; contacts twice, the live ones and
    then the recycle bin (`archived`), because the bin is read another way and has a cursor of
    its own (archivedAt), which must never move the live contacts' one. The stage histories are
    not pulled at all with `stage_history: false`."""
    if stream == "contacts":
        return [None, settings.ARCHIVED_PARTITION]
    if stream in HISTORY_STREAMS and not config.stage_history:
        return []  # switched off: not read, and its cursor stays where it was
    return [None]
