"""One package per external system, all with the same public shape.

Every source package exposes `STREAMS`, `open_client(config)`, `partitions(config, stream)` and
`pull(client, config, stream, window, partition)`, except `file_drop`: a folder has no client and
no cursor, so its package reads files and leadflow.pipeline.pull_source lands them
(connectors/file_drop/__init__.py). `SOURCES` are pulled every run. `WEBHOOK_SOURCES` have
their payloads arrive at `leadflow serve`, which lands them in their raw tables; one that is not
also in `SOURCES` exposes `STREAMS` and a parser only (google_ads is both: a pull fills the same
table). `LEAD_STREAMS` says which streams, pulled or landed, carry leads and how their payloads
become a `SourceRecord`; the other streams (HubSpot owners, Salesforce opportunities and users) are
reference data read by dbt and routing, or landed for them.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from connectors import (
    file_drop,
    google_ads,
    hubspot,
    linkedin,
    meta,
    pipedrive,
    salesforce,
    typeform,
    webform,
)
from connectors.records import SourceRecord
from connectors.streams import Stream

SOURCES: dict[str, ModuleType] = {
    "hubspot": hubspot,
    "meta": meta,
    "typeform": typeform,
    "salesforce": salesforce,
    "linkedin": linkedin,
    "pipedrive": pipedrive,
    "file_drop": file_drop,
    # Also a webhook source: a team without the webhook, or recovering deliveries it missed, pulls
    # the same submissions into the same raw table (connectors/google_ads/README.md).
    "google_ads": google_ads,
}

WEBHOOK_SOURCES: dict[str, ModuleType] = {"webform": webform, "google_ads": google_ads}

Parser = Callable[[dict[str, Any], str | None], SourceRecord]

LEAD_STREAMS: dict[tuple[str, str], Parser] = {
    ("hubspot", "contacts"): lambda payload, _partition: hubspot.parse_contact(payload),
    ("meta", "leads"): meta.parse_lead,
    ("typeform", "responses"): typeform.parse_response,
    ("webform", "submissions"): webform.parse_submission,
    ("google_ads", "lead_form_submissions"): google_ads.parse_lead,
    ("salesforce", "leads"): salesforce.parse_lead,
    ("salesforce", "contacts"): salesforce.parse_contact,
    ("linkedin", "lead_form_responses"): linkedin.parse_response,
    # A person is the lead record; a Leads Inbox item names its person by id and carries no
    # contact point of its own (reference data, like deals). A person's LeadFlow lead id lives in
    # a custom field whose key only the account knows: not read until LeadFlow pushes to Pipedrive.
    ("pipedrive", "persons"): pipedrive.parse_person,
    # A row's kind (attended, registered, referral) is its form_id: sources.file_drop
    # .intent_events gives each its intent event.
    ("file_drop", "events"): file_drop.parse_event,
    ("file_drop", "referrals"): file_drop.parse_referral,
}


def source_module(name: str) -> ModuleType:
    try:
        return SOURCES[name]
    except KeyError:
        raise ValueError(f"unknown source {name!r}; known: {', '.join(SOURCES)}") from None


def stream_of(source: str, stream: str) -> Stream:
    """The declaration of a stream, pulled (`SOURCES`) or landed by the intake (`WEBHOOK_SOURCES`)."""
    module = SOURCES.get(source) or WEBHOOK_SOURCES.get(source)
    if module is None:
        raise ValueError(f"unknown source {source!r}")
    declared: Stream = module.STREAMS[stream]
    return declared
