"""One package per external system, all with the same public shape.

Every source package exposes `STREAMS`, `open_client(config)`, `partitions(config, stream)` and
`pull(client, config, stream, window, partition)`. `LEAD_STREAMS` says which streams carry leads
and how their payloads become a `SourceRecord`; the other streams (HubSpot owners) are reference
data read by dbt and routing.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from connectors import hubspot, meta, typeform
from connectors.records import SourceRecord

SOURCES: dict[str, ModuleType] = {"hubspot": hubspot, "meta": meta, "typeform": typeform}

Parser = Callable[[dict[str, Any], str | None], SourceRecord]

LEAD_STREAMS: dict[tuple[str, str], Parser] = {
    ("hubspot", "contacts"): lambda payload, _partition: hubspot.parse_contact(payload),
    ("meta", "leads"): meta.parse_lead,
    ("typeform", "responses"): typeform.parse_response,
}


def source_module(name: str) -> ModuleType:
    try:
        return SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown source {name!r}; known: {', '.join(SOURCES)}") from None
