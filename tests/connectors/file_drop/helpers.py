"""Reading a dropped file's bytes the way the pipeline does, for the file drop's tests."""

from __future__ import annotations

import hashlib
from datetime import datetime

from connectors.file_drop import DroppedFile, parse_event, parse_referral, read_file
from connectors.records import SourceRecord

LOADED_AT = datetime(2026, 6, 10, 9, 0)
PARSERS = {"events": parse_event, "referrals": parse_referral}


def dropped(
    content: str | bytes,
    stream: str = "events",
    *,
    encoding: str = "utf-8",
    date_order: str | None = None,
) -> DroppedFile:
    """`content` (text is written as UTF-8) read as the file `<stream>/drop.csv`."""
    data = content.encode("utf-8") if isinstance(content, str) else content
    return read_file(
        data,
        stream=stream,
        name=f"{stream}/drop.csv",
        sha256=hashlib.sha256(data).hexdigest(),
        encoding=encoding,
        date_order=date_order,
        loaded_at=LOADED_AT,
    )


def records(content: str | bytes, stream: str = "events", **options: str) -> list[SourceRecord]:
    """Every payload of the file, parsed as staging parses it."""
    return [
        PARSERS[stream](payload, None) for payload in dropped(content, stream, **options).payloads
    ]


def only(content: str | bytes, stream: str = "events", **options: str) -> SourceRecord:
    [record] = records(content, stream, **options)
    return record
