"""Where secrets and personal data must never show up, and the search for them (issue 9 point 5):
used by tests/flows/test_lead_sync.py on one synced world and by bench/reliability.py on every world
it runs (killed runs' output, chaos runs, the Prefect server's logs)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb

# Every message the warehouse keeps about a call that failed, and every run summary.
STORED_TEXTS_SQL = """
    select error from ops.push_log where error is not null
    union all select error_message from ops.dead_letter
    union all select last_error from ops.notifications where last_error is not null
    union all select error from ops.nurture_pushes where error is not null
    union all select summary::varchar from ops.sync_runs where summary is not null
"""


class LogCapture(logging.Handler):
    """Keeps every record it is given, formatted with its traceback, as a real handler prints it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def capturing_logs() -> Iterator[LogCapture]:
    """Every record of every level the root and Prefect loggers see, as their handlers format it
    (after the redaction the flow installs on every handler)."""
    capture = LogCapture()
    watched = [logging.getLogger(), logging.getLogger("prefect")]
    levels = [logger.level for logger in watched]
    for logger in watched:
        logger.addHandler(capture)
        logger.setLevel(logging.DEBUG)
    try:
        yield capture
    finally:
        for logger, level in zip(watched, levels, strict=True):
            logger.removeHandler(capture)
            logger.setLevel(level)


def stored_texts(warehouse: Path) -> list[str]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return [str(row[0]) for row in con.execute(STORED_TEXTS_SQL).fetchall()]


def find_leaks(texts: Iterable[tuple[str, str]], needles: Iterable[str]) -> list[tuple[str, int]]:
    """(where, which needle by its position in `needles`) for every needle found in a (where,
    text) pair; a phone number is also looked for without its +. Positions, not needles: a report
    of leaks must not leak."""
    wanted = list(needles)
    return [
        (where, index)
        for where, text in texts
        for index, needle in enumerate(wanted)
        if needle and (needle in text or needle.lstrip("+") in text)
    ]
