"""One router at a time: a lease row in the warehouse, and retries on DuckDB transaction conflicts.

Two routers at once (a re-run, or a second thread with its own cursor on the same database) would
both read the same unassigned leads and the same pool state. The lease in ops.routing_lease makes
the second wait until the first is done, then find nothing left to route; after `wait_s` it gives up
cleanly. The lease uses the wall clock, not the run's pinned `as_of`.

A router that crashed leaves its lease behind. One held by another process is taken over at once:
DuckDB lets one process at a time open the warehouse for writing, so while this process can write,
the process named in the lease (`new_holder` puts the pid first) has closed the file or died; waiting
for its `ttl_s` would only leave a killed run's re-run, and the next hourly run, routing nothing. A
lease of this process (another thread) is honoured until it expires after `ttl_s`.

The lease alone is not trusted: the writer re-checks in its own transaction that it still holds it,
assignments have a primary key, and DuckDB's optimistic concurrency raises a conflict rather than
losing a write; a conflict rolls back the whole decision batch, which is then re-read and re-decided.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TypeVar

import duckdb

from leadflow.warehouse import transaction, utcnow

__all__ = ["LeaseLost", "assert_holder", "hold_lease", "new_holder", "retry_conflicts"]

T = TypeVar("T")
LEASE = "route"
CONFLICTS = (duckdb.TransactionException, duckdb.ConstraintException)


class LeaseLost(Exception):
    """The lease expired or was taken while this router was deciding; its batch is rolled back."""


def _rollback_quietly(con: duckdb.DuckDBPyConnection) -> None:
    # no transaction may be open: DuckDB rolls back a failed commit by itself
    with contextlib.suppress(duckdb.Error):
        con.execute("rollback")


def new_holder(label: str) -> str:
    """A lease holder name: this process's pid, the caller's label (a run id), a random part."""
    return f"{_pid_prefix()}{label}:{uuid.uuid4().hex[:12]}"


def _pid_prefix() -> str:
    return f"pid{os.getpid()}:"


def _try_acquire(con: duckdb.DuckDBPyConnection, holder: str, ttl_s: float) -> bool:
    now = utcnow()
    try:
        with transaction(con):
            con.execute(
                """insert into ops.routing_lease (name, holder, acquired_at, expires_at)
                   values (?, ?, ?, ?)
                   on conflict (name) do update set holder = excluded.holder,
                       acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
                   where ops.routing_lease.expires_at <= ?
                      or not starts_with(ops.routing_lease.holder, ?)""",
                [LEASE, holder, now, now + timedelta(seconds=ttl_s), now, _pid_prefix()],
            )
            row = con.execute(
                "select holder from ops.routing_lease where name = ?", [LEASE]
            ).fetchone()
    except CONFLICTS:
        _rollback_quietly(con)
        return False
    return row is not None and row[0] == holder


@contextmanager
def hold_lease(
    con: duckdb.DuckDBPyConnection, holder: str, *, wait_s: float, ttl_s: float
) -> Iterator[bool]:
    """Yield True while holding the routing lease, or False if another router kept it `wait_s`."""
    deadline = time.monotonic() + wait_s
    acquired = _try_acquire(con, holder, ttl_s)
    while not acquired and time.monotonic() < deadline:
        time.sleep(0.02 + random.random() * 0.05)
        acquired = _try_acquire(con, holder, ttl_s)
    try:
        yield acquired
    finally:
        if acquired:
            for _ in range(20):
                try:
                    con.execute(
                        "delete from ops.routing_lease where name = ? and holder = ?",
                        [LEASE, holder],
                    )
                    break
                except CONFLICTS:
                    _rollback_quietly(con)
                    time.sleep(0.01)


def assert_holder(con: duckdb.DuckDBPyConnection, holder: str) -> None:
    """Inside the write transaction: fail (and so roll back) unless `holder` still holds the lease."""
    row = con.execute(
        "select holder, expires_at from ops.routing_lease where name = ?", [LEASE]
    ).fetchone()
    if row is None or row[0] != holder or row[1] <= utcnow():
        raise LeaseLost("the routing lease expired or was taken by another router")


def retry_conflicts(
    con: duckdb.DuckDBPyConnection, work: Callable[[], T], *, attempts: int = 8
) -> T:
    """Run `work` (which opens its own transaction); on a transaction conflict, retry it whole."""
    for attempt in range(attempts):
        try:
            return work()
        except CONFLICTS:
            _rollback_quietly(con)
            if attempt == attempts - 1:
                raise
            time.sleep(0.02 * (attempt + 1) + random.random() * 0.03)
    raise AssertionError("unreachable")
