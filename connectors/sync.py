"""The shapes every reverse-ETL destination shares: one row of a dbt `sync_` model (the exact
write for one lead) and what the destination answered for it. connectors/reverse_etl.py diffs and
logs them; each destination's connector turns rows into its own requests and answers into
outcomes, one per row."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class SyncRow:
    """One row of a marts.sync_<destination>__<object> model: the exact write for one lead."""

    lead_id: str
    operation: (
        str  # update (a known record, by object_id) | upsert (create or match by id_property)
    )
    object_id: str | None  # the destination's record id, for update
    id_property: str | None  # the unique property an upsert matches on
    id_value: str | None
    properties: dict[str, str]  # null columns are left out: the destination keeps what it has
    object_type: str | None = (
        None  # where a destination writes several kinds (Salesforce Lead/Contact)
    )

    def request_input(self) -> dict[str, Any]:
        """The row as one HubSpot batch input."""
        if self.operation == "update":
            return {"id": self.object_id, "properties": self.properties}
        return {"idProperty": self.id_property, "id": self.id_value, "properties": self.properties}

    def as_payload(self) -> dict[str, Any]:
        """The whole write, for ops.dead_letter (whatever the destination's request looks like)."""
        return {k: v for k, v in asdict(self).items() if k != "lead_id" and v is not None}


@dataclass(frozen=True)
class PushOutcome:
    lead_id: str
    operation: str
    ok: bool
    object_id: str | None = None  # the record's id in the destination, when acknowledged
    http_status: int | None = None
    category: str = ""
    message: str = ""  # safe to log: no personal values
    retriable: bool = False
