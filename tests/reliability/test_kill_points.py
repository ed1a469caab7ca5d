"""Crash safety (issue 9 point 1): a sync killed with SIGKILL at any crash point, then run again,
leaves the warehouse and the sandbox CRM exactly as an uninterrupted sync does.

Each kill point costs about 80 s (a killed run, its re-run and the next hour), so CI runs the one
that once lost track of a CRM copy; `make bench-reliability` (or `pytest -m slow`) runs them all and
records the results in bench/results/reliability.json.
"""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from leadflow.faults import ENV, POINTS
from tests.reliability import kill_harness

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("leadflow", "flows", "connectors", "enrichment", "dedupe", "scoring", "routing")
IN_CI = ("push:answered",)  # a contact created by a batch whose answer was lost (fixed in dedupe)


def _call_sites() -> dict[str, list[str]]:
    """crash_point("...") calls in the product code, by point name."""
    sites: dict[str, list[str]] = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "crash_point"
                ):
                    arg = node.args[0]
                    assert isinstance(arg, ast.Constant), f"{path}: a crash point is a literal"
                    sites.setdefault(str(arg.value), []).append(f"{path.name}:{node.lineno}")
    return sites


def test_every_declared_crash_point_has_a_call_site_and_every_call_is_declared() -> None:
    sites = _call_sites()
    assert set(sites) == set(POINTS)


def test_the_harness_kills_at_every_declared_point_and_at_least_twenty() -> None:
    assert len(set(kill_harness.KILL_POINTS)) == len(kill_harness.KILL_POINTS) >= 20
    assert {p.partition("#")[0] for p in kill_harness.KILL_POINTS} == set(POINTS)


KILL_SELF = """
from leadflow.faults import crash_point
for n in range(3):
    print(n, flush=True)
    crash_point("push:answered")
"""


@pytest.mark.parametrize(
    ("spec", "printed", "killed"),
    [
        ("push:answered", "0", True),
        ("push:answered#3", "0 1 2", True),
        ("push:answered#4", "0 1 2", False),  # never reached: the run ends normally
        ("push:recorded", "0 1 2", False),
    ],
)
def test_a_crash_point_kills_its_process_at_the_named_occurrence(
    spec: str, printed: str, killed: bool
) -> None:
    child = subprocess.run(
        [sys.executable, "-c", KILL_SELF],
        env={**os.environ, ENV: spec},
        capture_output=True,
        text=True,
        check=False,
    )
    assert child.stdout.split() == printed.split()
    assert child.returncode == (-signal.SIGKILL if killed else 0)


def test_an_undeclared_crash_point_is_an_error() -> None:
    from leadflow.faults import crash_point

    with pytest.raises(ValueError, match="declare it"):
        crash_point("push:answred")


@pytest.mark.parametrize(
    "point",
    [
        pytest.param(p, marks=() if p in IN_CI else pytest.mark.slow)
        for p in kill_harness.KILL_POINTS
    ],
)
def test_a_run_killed_at_a_crash_point_recovers_to_the_uninterrupted_result(
    calm_world: dict[str, Any], point: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the first hour's run killed with SIGKILL at the point
    # WHEN the hour is run again and a later hour runs
    outcome = kill_harness.killed_and_recovered(tmp_path, point, calm_world, monkeypatch.setenv)
    # THEN the kill happened where it was asked to
    assert outcome.reached, outcome.child_error
    # AND the warehouse and the CRM are the uninterrupted world's: every raw record with the same
    # status and lead, the same leads, scores, owners, pushes and CRM contacts, no cursor past
    # unsaved rows, no duplicate contact, no lead assigned twice
    assert outcome.differences == []
    assert (outcome.lost_records, outcome.duplicate_crm_writes, outcome.double_assignments) == (
        0,
        0,
        0,
    )
