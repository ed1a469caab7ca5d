"""The folder is this source's API: which files wait in it, and each file's bytes as payloads.

No HTTP here, so no session, limiter or paginator: `new_files` lists a stream's folder and
`read_file` turns one file's bytes into the payloads landed in raw (models.py says their shape).
Reading never raises on what a file holds. A file that is no CSV at all (empty, binary, an Excel
workbook, a header naming no email or phone column) becomes a `DroppedFile` rejected whole with
one payload saying why; a row it cannot read keeps its place and carries the reader's `problem`.
Files are only ever read: LeadFlow never moves, renames or deletes one (the folder belongs to the
people who drop files in it, and the content hash, not the place, is what makes a file loaded).
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import itertools
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from connectors.file_drop import settings
from leadflow.config import ConfigError, FileDropSourceConfig

log = logging.getLogger("leadflow.connectors.file_drop")

_ZIP = b"PK\x03\x04"  # .xlsx, .docx, .zip
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
# Bytes the configured encoding could not decode come out as lone surrogates (surrogateescape).
_ESCAPED = range(0xDC80, 0xDD00)
SAVE_AS = "save it as CSV UTF-8 (.csv)"


@dataclass
class DroppedFile:
    """One file read from the drop: its identity (the sha256 of its bytes) and its payloads, one
    per data row, or one for the whole file when `rejected` says why it could not be read."""

    stream: str
    name: str  # relative to the drop folder, with forward slashes: events/webinar.csv
    sha256: str
    byte_size: int
    payloads: list[dict[str, Any]] = field(default_factory=list)
    blank_rows: int = 0  # rows with no value at all (a spreadsheet's empty lines): not data
    rejected: str | None = None

    @property
    def rows(self) -> int:
        """Data rows read (each one payload); none for a file rejected whole."""
        return 0 if self.rejected else len(self.payloads)


def drop_folder(path: Path) -> Path:
    """The configured folder, or a one-line error saying how to fix it. CSV files left directly
    in it belong to no stream: said in the log, since nobody would otherwise learn why they
    never load."""
    folders = " and ".join(f"{stream}/" for stream in settings.STREAM_FOLDERS)
    if not path.is_dir():
        raise ConfigError(
            f"sources.file_drop.path: {path} is not a folder; create it with {folders} inside, "
            "or fix the path"
        )
    stray = sum(1 for child in path.iterdir() if _is_drop_file(child))
    if stray:
        log.warning(
            "file_drop: %d CSV file(s) directly in %s are not read: move them into %s",
            stray,
            path,
            folders,
        )
    return path


def new_files(
    folder: Path, stream: str, config: FileDropSourceConfig, known: set[str], *, as_of: datetime
) -> Iterator[DroppedFile]:
    """Every CSV file in `<folder>/<stream>/` whose content hash is not in `known`, read, in
    name order; `as_of` (the run's clock) is when its rows count from if they give no date. A
    file changed less than `settle_seconds` ago (by the wall clock) may still be being copied in:
    it waits for the next run. A file that cannot be opened (permissions, gone since listed) is
    skipped with a warning and tried again next run."""
    directory = folder / stream
    if not directory.is_dir():
        return
    now = time.time()
    for path in sorted(directory.iterdir()):
        if not _is_drop_file(path):
            continue
        name = f"{stream}/{path.name}"
        try:
            if now - path.stat().st_mtime < config.settle_seconds:
                log.info("file_drop: %s changed moments ago; it is read on a later run", name)
                continue
            data = path.read_bytes()
        except OSError as exc:
            log.warning(
                "file_drop: %s could not be read (%s); tried again next run", name, exc.strerror
            )
            continue
        sha256 = hashlib.sha256(data).hexdigest()
        if sha256 in known:
            continue
        known.add(sha256)  # a second copy in the same folder is the same file
        yield read_file(
            data,
            stream=stream,
            name=name,
            sha256=sha256,
            encoding=config.encoding,
            date_order=config.date_order,
            loaded_at=as_of,
        )


def _is_drop_file(path: Path) -> bool:
    return (
        path.suffix.lower() == settings.FILE_SUFFIX
        and not path.name.startswith(settings.IGNORED_PREFIXES)
        and path.is_file()
    )


def read_file(
    data: bytes,
    *,
    stream: str,
    name: str,
    sha256: str,
    encoding: str = "utf-8",
    date_order: str | None = None,
    loaded_at: datetime,
) -> DroppedFile:
    """One file's bytes as payloads. Never raises on the content."""
    dropped = DroppedFile(stream, name, sha256, len(data))
    common: dict[str, Any] = {
        "file_name": name,
        "file_sha256": sha256,
        "loaded_at": loaded_at.isoformat(),  # naive UTC: a row without a date counts from here
    }
    if date_order is not None:
        common["date_order"] = date_order  # the raw row says how its dates were read
    try:
        header, records = _records(_decode(data, encoding), stream)
    except _Rejected as rejected:
        dropped.rejected = str(rejected)
        dropped.payloads = [{**common, "byte_size": len(data), "problem": dropped.rejected}]
        return dropped
    for record in records:
        if record.problem is None and not any(value.strip() for value in record.values):
            dropped.blank_rows += 1
            continue
        payload = {**common, "row_number": record.row_number}
        if record.problem is not None:
            payload.update(problem=record.problem, text=record.text)
        else:
            payload.update(_row_payload(header, record.values, encoding))
        dropped.payloads.append(payload)
    return dropped


class _Rejected(Exception):
    """Why a whole file cannot be read (the message); read_file turns it into its one payload."""


NO_CONTACT_COLUMN = (
    "the header (row 1) names no email or phone column, so no one in the file can be reached "
    "(connectors/file_drop/README.md lists the columns read)"
)


def _decode(data: bytes, encoding: str) -> str:
    """The file's text. Bytes the encoding cannot decode are kept escaped, for the row holding
    them to say so; a byte order mark overrides `encoding`."""
    if not data.strip(b" \t\r\n" + codecs.BOM_UTF8):
        raise _Rejected("the file is empty")
    if data.startswith(_ZIP):
        raise _Rejected(f"the file is a ZIP archive, most likely an Excel workbook: {SAVE_AS}")
    if data.startswith(_UTF16_BOMS):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise _Rejected(f"the file starts as UTF-16 text but is not: {SAVE_AS}") from None
    if b"\x00" in data:
        raise _Rejected(f"the file holds binary data, not CSV text: {SAVE_AS}")
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", "surrogateescape")
    return data.decode(encoding, "surrogateescape")


@dataclass
class Record:
    """One CSV record after the header, with its spreadsheet row number; one the csv module could
    not read keeps its text as the file had it and the reader's problem."""

    row_number: int
    values: list[str]
    problem: str | None = None
    text: str | None = None


class _Lines:
    """The file's lines, remembering those the csv reader took for the record it is reading."""

    def __init__(self, content: str) -> None:
        self._lines = iter(io.StringIO(content, newline=""))
        self.taken: list[str] = []

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        line = next(self._lines)
        self.taken.append(line)
        return line


def _records(content: str, stream: str) -> tuple[list[str], list[Record]]:
    """The header and every record after it. Strict quoting: a quote never closed, or text after
    a closing quote, is a problem of that record rather than a guess at where its values end."""
    delimiter = _delimiter(content, stream)
    if delimiter is None:
        raise _Rejected(NO_CONTACT_COLUMN)
    lines = _Lines(content)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    header: list[str] | None = None
    records: list[Record] = []
    for row_number in itertools.count(1):
        lines.taken = []
        try:
            values = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            taken = "".join(lines.taken)
            if "unexpected end of data" in str(exc):  # the quote never closed: EOF inside it
                problem = "from this row on the file cannot be read as CSV: a quote is never closed"
            else:
                problem = (
                    "the row's quotes cannot be read as CSV: a quoted value must end at its "
                    'closing quote (write a quote inside one as "")'
                )
            if header is None:
                raise _Rejected(
                    "the header (row 1) cannot be read as CSV: its quotes do not close"
                ) from None
            records.append(Record(row_number, [], problem, _clean(taken)))
            continue
        if header is None:
            header = values
        else:
            records.append(Record(row_number, values))
    if header is None:
        raise _Rejected(NO_CONTACT_COLUMN)
    return header, records


def _delimiter(content: str, stream: str) -> str | None:
    """The delimiter that splits the first line into the most columns this stream reads, if the
    header then names an email or a phone column."""
    first_line = content.splitlines()[0] if content else ""
    known = settings.known_headers(stream)
    contact = {key for field in ("email", "phone") for key in settings.COLUMNS[stream][field]}
    best: tuple[int, str] | None = None
    for delimiter in settings.DELIMITERS:
        cells = next(csv.reader([first_line], delimiter=delimiter), [])
        keys = [settings.header_key(cell) for cell in cells]
        if not contact & set(keys):
            continue
        score = sum(1 for key in keys if key in known)
        if best is None or score > best[0]:
            best = (score, delimiter)
    return best[1] if best else None


def _row_payload(header: list[str], values: list[str], encoding: str) -> dict[str, Any]:
    """`values` (header as written -> value), `extra_values` past the header, and the reader's
    `problem` with the row, when it has one."""
    names = _column_names(header)
    payload: dict[str, Any] = {
        "values": {name: _clean(value) for name, value in zip(names, values, strict=False)}
    }
    if len(values) > len(names):
        payload["extra_values"] = [_clean(value) for value in values[len(names) :]]
    problem = None
    if len(values) != len(names):
        problem = (
            f"the row has {len(values)} values where the header has {len(names)} columns "
            "(a comma or semicolon inside a value that is not in quotes?)"
        )
    if problem is None:
        garbled = next((n for n, v in zip(names, values, strict=False) if _undecodable(v)), None)
        if garbled is not None:
            problem = (
                f"column '{_clean(garbled)}' holds bytes that are not {encoding} text: "
                f"{SAVE_AS}, or set sources.file_drop.encoding to the file's encoding"
            )
    if problem is not None:
        payload["problem"] = problem
    return payload


def _column_names(header: list[str]) -> list[str]:
    """The header's names as written, made unique: an empty one is `(column 7)`, a repeated one
    `Email (column 7)`; only the first of a name is read, the others stay in raw."""
    names: list[str] = []
    seen: set[str] = set()
    for index, cell in enumerate(header, start=1):
        name = cell if cell.strip() else f"(column {index})"
        if name in seen:
            name = f"{name} (column {index})"
        seen.add(name)
        names.append(_clean(name))
    return names


def _undecodable(value: str) -> bool:
    return any(ord(char) in _ESCAPED for char in value)


def _clean(value: str) -> str:
    """A value JSON and the warehouse can hold: undecodable bytes become U+FFFD (the row's
    `problem` already says so)."""
    if not _undecodable(value):
        return value
    return "".join("\ufffd" if ord(char) in _ESCAPED else char for char in value)
