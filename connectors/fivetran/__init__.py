"""Fivetran's tables as a source ("bring your own loader"): HubSpot and Salesforce read from the
tables a team already loads with Fivetran instead of from the vendors' APIs, when leadflow.yml
says `sources.<source>.loader: fivetran`.

No API is called and no token is read. Each row is turned into exactly the payload the vendor's
API returns (models.py), so the vendor's own `STREAMS`, parsers, raw tables, dbt staging models,
identity rules and everything downstream are the same for both loaders; leadflow.landing.land
lands the pages with the same cursors and lookback.

Public API: `reader(source, warehouse=, root=)`, a `FivetranSource` with the shape of a source
package: `STREAMS` (the vendor's), `open_client(config)`, `partitions(config, stream)`,
`pull(client, config, stream, window, partition)`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from connectors import hubspot, salesforce
from connectors.fivetran import models, settings
from connectors.fivetran.client import (
    Query,
    TablesClient,
    connect,
    deal_contacts,
    query_for,
    read_pages,
)
from connectors.salesforce import settings as salesforce_settings
from connectors.streams import Page, PullWindow, Stream
from leadflow.config import HubSpotSourceConfig, SalesforceSourceConfig

log = logging.getLogger("leadflow.connectors.fivetran")

Rows = list[dict[str, Any]]

__all__ = ["SOURCES", "FivetranSource", "TablesClient", "reader"]

SOURCES = tuple(settings.TABLES)  # the vendors whose Fivetran tables LeadFlow reads


class FivetranSource:
    """One vendor's Fivetran tables, with the public shape of a source package.

    `STREAMS` are the vendor package's own (same raw tables, ids and cursors); `partitions` too
    (HubSpot's contacts: the live ones, then the `archived` ones, here the rows Fivetran marks
    deleted). `warehouse` and `root` say where the tables are when `fivetran.database` is unset
    (the warehouse) or a relative path (relative to leadflow.yml's folder).
    """

    def __init__(self, source: str, *, warehouse: Path, root: Path) -> None:
        if source not in settings.TABLES:
            raise ValueError(
                f"{source!r} cannot be read from Fivetran's tables; these can: {', '.join(SOURCES)}"
            )
        self.source = source
        self.vendor = hubspot if source == "hubspot" else salesforce
        self.STREAMS: dict[str, Stream] = self.vendor.STREAMS
        self.warehouse = warehouse
        self.root = root

    def open_client(self, config: object) -> TablesClient:
        """The connection to the tables, checked: a ConfigError naming the table and the config
        key when the schema or a needed table is missing."""
        return connect(
            self.source, _config(config).fivetran, warehouse=self.warehouse, root=self.root
        )

    def partitions(self, config: object, stream: str) -> list[str | None]:
        """The vendor's partitions of a stream; none for a stream with no Fivetran table mapped
        (HubSpot's stage histories, read from the API's propertiesWithHistory only), which is
        then not read at all."""
        if stream not in settings.TABLES[self.source]:
            return []
        partitions: list[str | None] = self.vendor.partitions(_config(config), stream)
        return partitions

    def pull(
        self,
        client: TablesClient,
        config: object,
        stream: str,
        window: PullWindow,
        partition: str | None = None,
    ) -> Iterator[Page]:
        """Pages of at most settings.PAGE_ROWS payloads whose cursor is at or after
        `window.since`, oldest first, then an empty last page. A stream whose optional table is
        missing yields only that last page."""
        table = settings.TABLES[self.source].get(stream)
        if table is None:
            raise ValueError(f"{self.source} has no stream {stream!r}")
        if not client.has(table.table):
            yield Page([], last=True)
            return
        query = query_for(client, table, partition)
        to_payloads = self._mapper(client, _config(config), stream, partition, query)
        unreadable: set[str] = set()
        count_unreadable = 0
        for rows in read_pages(client, query, window.since, settings.PAGE_ROWS):
            records = to_payloads(rows)
            for record in records:
                if models.UNREADABLE in record:
                    count_unreadable += 1
                    unreadable.update(record[models.UNREADABLE])
            yield Page(records)
        if count_unreadable:
            # Field names only: never a value (it may be a person's).
            log.warning(
                "%s.%s: %d rows of %s had values that read as nothing they must be (%s); "
                "landed with those values null",
                self.source,
                stream,
                count_unreadable,
                query.table_label,
                ", ".join(sorted(unreadable)),
            )
        yield Page([], last=True)

    def _mapper(
        self,
        client: TablesClient,
        config: HubSpotSourceConfig | SalesforceSourceConfig,
        stream: str,
        partition: str | None,
        query: Query,
    ) -> Callable[[Rows], Rows]:
        """rows -> payloads for one stream."""
        id_column = query.id_column
        if self.source == "hubspot":
            if stream == "contacts":
                archived = partition is not None
                return lambda rows: [models.hubspot_contact(r, archived=archived) for r in rows]
            if stream == "owners":
                return lambda rows: [models.hubspot_owner(r, id_column) for r in rows]
            if stream == "companies":
                return lambda rows: [models.hubspot_company(r, id_column) for r in rows]

            def deals(rows: Rows) -> Rows:
                if not client.has(settings.HUBSPOT_DEAL_CONTACT):
                    return [models.hubspot_deal(r, id_column, None) for r in rows]
                ids = [models.record_id_text(r[models.ID]) or "" for r in rows]
                contacts = deal_contacts(client, [i for i in ids if i])
                return [
                    models.hubspot_deal(r, id_column, contacts.get(i, []))
                    for r, i in zip(rows, ids, strict=True)
                ]

            return deals
        sobject, fields = salesforce_settings.STREAM_OBJECTS[stream]
        known = {models.squash(f): f for f in fields if "." not in f}
        cursor_field = (
            models.salesforce_field(query.cursor_column, known) if query.cursor_column else None
        )
        api_version = getattr(config, "api_version", salesforce_settings.DEFAULT_API_VERSION)
        joined = query.account_joined

        def records(rows: Rows) -> Rows:
            return [
                models.salesforce_record(
                    r,
                    sobject=sobject,
                    fields=fields,
                    known=known,
                    cursor_field=cursor_field,
                    api_version=api_version,
                    account_name=r.get(models.ACCOUNT_NAME) if joined else models.NO_ACCOUNT_TABLE,
                )
                for r in rows
            ]

        return records


def _config(config: object) -> HubSpotSourceConfig | SalesforceSourceConfig:
    if not isinstance(config, HubSpotSourceConfig | SalesforceSourceConfig):
        raise TypeError(f"not a HubSpot or Salesforce source config: {type(config).__name__}")
    return config


def reader(source: str, *, warehouse: Path, root: Path) -> FivetranSource:
    """The Fivetran tables of `source` (hubspot, salesforce) as a source."""
    return FivetranSource(source, warehouse=warehouse, root=root)
