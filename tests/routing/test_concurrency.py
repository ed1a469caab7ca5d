"""Two routers at once: no lead assigned twice, pool state consistent with the assignments.

Real concurrency: threads, each with its own DuckDB cursor on one warehouse file, released together
by a barrier. The second test removes the lease to show that the warehouse itself (primary keys,
conflict detection, retried transactions) still keeps the state consistent.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

import routing
from leadflow.warehouse import Warehouse, utcnow
from routing import RouteResult, route_new_leads
from routing.lease import hold_lease, new_holder
from tests.routing.world import T0, add_leads, build_world, routing_config

LEADS = 120
ROUTERS = 4


@pytest.fixture
def warehouse(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    wh = Warehouse(tmp_path / "w.duckdb")
    wh.ensure_schema()
    with wh.connect() as con:
        build_world(con)
        add_leads(con, [f"l{n:03d}" for n in range(LEADS)])
        yield con


def race(con: duckdb.DuckDBPyConnection) -> list[RouteResult | BaseException]:
    config = routing_config(
        rules=[{"name": "na", "pool": "na"}], reps={"a@s.io": {"weight": 2}}, fallback_owner=None
    )
    barrier = threading.Barrier(ROUTERS)
    results: list[RouteResult | BaseException] = [RuntimeError("not run")] * ROUTERS

    def router(n: int) -> None:
        cursor = con.cursor()
        try:
            barrier.wait()
            results[n] = route_new_leads(cursor, config, run_id=f"r{n}", as_of=T0)
        except BaseException as exc:  # reported by the test, not lost in the thread
            results[n] = exc
        finally:
            cursor.close()

    threads = [threading.Thread(target=router, args=(n,)) for n in range(ROUTERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def assert_consistent(
    con: duckdb.DuckDBPyConnection, results: list[RouteResult | BaseException]
) -> None:
    errors = [r for r in results if isinstance(r, BaseException)]
    assert not errors, errors
    # every lead assigned exactly once, and the routers' own counts add up to that
    rows = con.execute("select lead_id, owner_email from ops.lead_assignments").fetchall()
    assert len(rows) == len({lead for lead, _ in rows}) == LEADS
    assert sum(r.routed for r in results if isinstance(r, RouteResult)) == LEADS
    # exactly one audit row per assignment
    assert con.execute(
        "select count(*), count(distinct lead_id) from ops.routing_audit"
    ).fetchone() == (
        LEADS,
        LEADS,
    )
    # the pool's counter equals the assignments it made, and its state is a valid SWRR state
    turns, state = con.execute("select next_index, state from ops.routing_pools").fetchone()  # type: ignore[misc]
    assert turns == LEADS
    current = json.loads(state)
    assert abs(sum(current.values())) < 1e-9
    # weights 2:1:1 over 120 turns: exactly 60 / 30 / 30
    assert Counter(owner for _, owner in rows) == {"a@s.io": 60, "b@s.io": 30, "c@s.io": 30}


def test_concurrent_routers_assign_each_lead_once(warehouse: duckdb.DuckDBPyConnection) -> None:
    results = race(warehouse)
    assert_consistent(warehouse, results)
    # one router did the work; the others waited for the lease and found nothing left
    assert sorted(r.considered for r in results if isinstance(r, RouteResult)) == [0] * (
        ROUTERS - 1
    ) + [LEADS]
    assert warehouse.execute("select count(*) from ops.routing_lease").fetchone() == (0,)


def test_without_the_lease_transaction_conflicts_are_retried_and_nothing_is_duplicated(
    warehouse: duckdb.DuckDBPyConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a lease that lets everybody in (as if it had expired under a slow router)
    @contextmanager
    def open_door(*args: object, **kwargs: object) -> Iterator[bool]:
        yield True

    monkeypatch.setattr(routing, "hold_lease", open_door)
    monkeypatch.setattr(routing, "assert_holder", lambda con, holder: None)
    results = race(warehouse)
    assert_consistent(warehouse, results)


def test_a_router_that_cannot_get_the_lease_gives_up_cleanly(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN another router of this process (a thread) holds a live lease
    with hold_lease(warehouse.cursor(), new_holder("other-run"), wait_s=0, ttl_s=60) as held:
        assert held
        result = route_new_leads(warehouse, routing_config(lease_wait_s=0.2), run_id="r1", as_of=T0)
    assert result.lease_busy and result.routed == 0
    assert warehouse.execute("select count(*) from ops.lead_assignments").fetchone() == (0,)


def test_an_expired_lease_is_taken_over(warehouse: duckdb.DuckDBPyConnection) -> None:
    # GIVEN a router crashed holding the lease, which has since expired
    warehouse.execute(
        "insert into ops.routing_lease values ('route', 'crashed', ?, ?)", [utcnow(), utcnow()]
    )
    result = route_new_leads(warehouse, routing_config(lease_wait_s=0), run_id="r1", as_of=T0)
    assert result.routed == LEADS


def test_a_live_lease_of_a_process_that_is_gone_is_taken_over_at_once(
    warehouse: duckdb.DuckDBPyConnection,
) -> None:
    # GIVEN a lease with 10 minutes to run, left by a process killed while routing (this process
    # has the warehouse open for writing, so that process cannot be routing now)
    warehouse.execute(
        "insert into ops.routing_lease values ('route', 'pid999999999:killed-run:0f0f', ?, ?)",
        [utcnow(), utcnow() + timedelta(minutes=10)],
    )
    # WHEN this process routes without waiting THEN it takes the lease and routes every lead
    result = route_new_leads(warehouse, routing_config(lease_wait_s=0), run_id="r1", as_of=T0)
    assert not result.lease_busy and result.routed == LEADS
