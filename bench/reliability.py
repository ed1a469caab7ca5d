"""Reliability benchmark (issue 9 points 8 and 9): kill points, chaos runs, hostile inputs, leaks.

    make bench-reliability     # = .venv/bin/python bench/reliability.py

1. Kill points: the world of tests/reliability/kill_harness.py synced without a kill, then once per
   kill point killed with SIGKILL there, re-run and run a later hour; each must end exactly as the
   uninterrupted world (tests/reliability/test_kill_points.py runs the same harness).
2. Chaos: the same world under 10 % chaos (tests/flows/test_chaos_runs.py) with several chaos
   seeds; each must end as the uninterrupted one, notifications included, with no dead letter left.
3. Hostile input: the hypothesis suites of tests/reliability, in a pytest child process; the number
   of generated payloads that went through each check is counted by the tests themselves.
4. Leaks: every log line this process saw, every killed child's output, every log the Prefect
   server holds, every stored error and run summary of every world, searched for the connectors'
   tokens, the Slack webhook's secret and the e-mail address and phone number of every person.

Writes bench/results/reliability.json and bench/RELIABILITY.md (the report), and exits non-zero
when a figure misses the bar (a kill point not recovered, a chaos run not reconciled, a failed
hypothesis suite, a leak).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest  # MonkeyPatch: the tests' env handling, outside pytest
from harness import REPO, machine  # (harness puts the repository on sys.path)

from sandbox import Sandbox
from tests.flows import test_chaos_runs as chaos
from tests.flows.test_lead_sync import TOKEN_ENV, TOKENS
from tests.reliability import kill_harness
from tests.reliability.leaks import capturing_logs, find_leaks, stored_texts
from tests.reliability.payloads import COUNTS_ENV

RESULTS = REPO / "bench" / "results" / "reliability.json"
REPORT = REPO / "bench" / "RELIABILITY.md"
HYPOTHESIS_SUITES = (
    "tests/reliability/test_hostile_records.py",
    "tests/reliability/test_hostile_end_to_end.py",
    "tests/reliability/test_regressions.py",
    "tests/reliability/test_sql_safety.py",
)
SECRET_ENV = {*TOKEN_ENV.values(), "LEADFLOW_SLACK_WEBHOOK_URL"}


class SecretRecorder:
    """setenv for the worlds that also remembers every secret value it set (the planted secrets)."""

    def __init__(self) -> None:
        self.patch = pytest.MonkeyPatch()
        self.values: set[str] = set(TOKENS.values())

    def setenv(self, name: str, value: str) -> None:
        if name in SECRET_ENV:
            # the webhook URL's secret is its path; the host and port are not secret
            self.values.add(value.split("/services/", 1)[-1])
        self.patch.setenv(name, value)


def people_of(seed: int, leads: int) -> list[str]:
    """The e-mail addresses and phone numbers of every person of a sandbox world."""
    people = Sandbox(seed=seed, leads=leads, tokens=TOKENS).world.people
    return [p.email for p in people] + [p.phone for p in people if p.phone]


def prefect_server_texts() -> list[tuple[str, str]]:
    """Every log line and artifact the Prefect server holds (what its UI would show anyone)."""
    from prefect.client.orchestration import get_client

    texts: list[tuple[str, str]] = []
    with get_client(sync_client=True) as client:
        offset = 0
        while page := client.read_logs(limit=200, offset=offset):
            texts += [("prefect server log", log.message) for log in page]
            offset += len(page)
        for artifact in client.read_artifacts():
            texts.append(("prefect artifact", f"{artifact.description} {artifact.data}"))
    return texts


def run_kill_points(
    work: Path, points: list[str], reference: dict[str, Any], recorder: SecretRecorder
) -> tuple[list[dict[str, Any]], list[tuple[str, str]], float]:
    started = time.monotonic()
    outcomes, outputs = [], []
    for n, point in enumerate(points, start=1):
        began = time.monotonic()
        outcome = kill_harness.killed_and_recovered(
            work / f"kill-{n:02d}", point, reference, recorder.setenv
        )
        result = {**outcome.as_dict(), "seconds": round(time.monotonic() - began, 1)}
        outcomes.append(result)
        outputs.append((f"killed run output: {point}", outcome.child_output))
        print(
            f"kill {n}/{len(points)} {point}: reached={outcome.reached} "
            f"recovered={outcome.recovered} {outcome.differences or ''}",
            flush=True,
        )
    return outcomes, outputs, time.monotonic() - started


def run_chaos(
    work: Path, seeds: list[int], reference: dict[str, Any], recorder: SecretRecorder
) -> dict[str, Any]:
    started = time.monotonic()
    runs = []
    for seed in seeds:
        world = chaos.sync_chaotic_world(work / f"chaos-{seed}", recorder.setenv, chaos_seed=seed)
        after = world["snapshot"]
        differences = kill_harness.differences(reference, after)
        if after["notifications"] != reference["notifications"]:
            differences.append("notifications")
        statuses = [r.get("status", "completed") for r in world["runs"]]
        reconciled = (
            not differences
            and not after["dead_letters"]
            and after["accounting"]["unprocessed"] == 0
            and statuses == ["completed"] * len(statuses)
        )
        runs.append(
            {
                "chaos_seed": seed,
                "faults_served": world["served"],
                "runs": statuses,
                "differences": differences,
                "dead_letters_left": len(after["dead_letters"]),
                "reconciled": reconciled,
            }
        )
        print(f"chaos seed {seed}: served {world['served']} reconciled={reconciled}", flush=True)
    return {"runs": runs, "seconds": round(time.monotonic() - started, 1)}


def run_hypothesis(work: Path) -> dict[str, Any]:
    counts_file = work / "hypothesis-counts.json"
    started = time.monotonic()
    child = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *HYPOTHESIS_SUITES],
        cwd=REPO,
        env={**os.environ, COUNTS_ENV: str(counts_file)},
        capture_output=True,
        text=True,
        check=False,
    )
    counts = json.loads(counts_file.read_text()) if counts_file.exists() else {}
    by_source: Counter[str] = Counter()
    for check, n in counts.items():
        by_source[check.rpartition(":")[2]] += n
    return {
        "passed": child.returncode == 0,
        "pytest_summary": (child.stdout.strip().splitlines() or [""])[-1],
        "examples_by_check": counts,
        "examples_by_source": dict(sorted(by_source.items())),
        "seconds": round(time.monotonic() - started, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", default="all", help="all, or kill points separated by commas")
    parser.add_argument("--chaos-seeds", default="5,6,7", help="chaos seeds, separated by commas")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--report", type=Path, default=REPORT)
    args = parser.parse_args()
    points = list(kill_harness.KILL_POINTS) if args.points == "all" else args.points.split(",")
    seeds = [int(s) for s in args.chaos_seeds.split(",") if s]

    from prefect.testing.utilities import prefect_test_harness

    started_at = datetime.now(UTC)
    recorder = SecretRecorder()
    try:
        with (
            capturing_logs() as capture,
            tempfile.TemporaryDirectory(prefix="bench-reliability-") as tmp,
            prefect_test_harness(server_startup_timeout=90),
        ):
            work = Path(tmp)
            began = time.monotonic()
            reference = kill_harness.uninterrupted(work / "uninterrupted", recorder.setenv)
            reference_seconds = time.monotonic() - began
            kills, child_outputs, kill_seconds = run_kill_points(work, points, reference, recorder)
            chaos_result = run_chaos(work, seeds, reference, recorder)
            texts = [("log line: this process", line) for line in capture.lines] + child_outputs
            texts += prefect_server_texts()
            for warehouse in sorted(work.rglob("warehouse.duckdb")):
                texts += [
                    (f"warehouse: {warehouse.parent.name}", t) for t in stored_texts(warehouse)
                ]
            hypothesis = run_hypothesis(work)
    finally:
        recorder.patch.undo()
    needles = [*sorted(recorder.values), *people_of(kill_harness.SEED, kill_harness.LEADS)]
    leaks = find_leaks(texts, needles)

    recovered = [k for k in kills if k["reached"] and k["recovered"]]
    result = {
        "benchmark": "reliability",
        "command": "make bench-reliability  # .venv/bin/python bench/reliability.py "
        + " ".join(sys.argv[1:]),
        "recorded_at": started_at.isoformat(timespec="seconds"),
        "commit": _commit(),
        "machine": machine(),
        "kill_points": len(kills),
        "recovered": len(recovered),
        "lost_records": sum(k["lost_records"] for k in kills),
        "duplicate_crm_writes": sum(k["duplicate_crm_writes"] for k in kills),
        "double_assignments": sum(k["double_assignments"] for k in kills),
        "duplicate_notifications": sum(k["duplicate_notifications"] for k in kills),
        "chaos_rate": chaos.CHAOS_RATE,
        "chaos_runs": len(chaos_result["runs"]),
        "chaos_runs_reconciled": sum(r["reconciled"] for r in chaos_result["runs"]),
        "hypothesis_examples": sum(hypothesis["examples_by_check"].values()),
        "hypothesis_passed": hypothesis["passed"],
        "secret_leaks": len(leaks),
        "texts_searched": len(texts),
        "texts_by_kind": dict(Counter(where.partition(":")[0] for where, _ in texts)),
        "needles_searched": {
            "secrets": len(recorder.values),
            "personal": len(needles) - len(recorder.values),
        },
        "leaks_found_in": sorted({where for where, _ in leaks}),
        "kills": kills,
        "chaos": chaos_result,
        "hypothesis": hypothesis,
        "seconds": {
            "uninterrupted_world": round(reference_seconds, 1),
            "kill_points": round(kill_seconds, 1),
            "chaos": chaos_result["seconds"],
            "hypothesis": hypothesis["seconds"],
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    args.report.write_text(render_report(result), encoding="utf-8")
    print(f"wrote {args.out} and {args.report}")
    ok = (
        result["recovered"] == result["kill_points"]
        and result["chaos_runs_reconciled"] == result["chaos_runs"]
        and hypothesis["passed"]
        and not leaks
    )
    return 0 if ok else 1


def _commit() -> str:
    """The commit measured (with "+changes" when the tree differs from it), or "" outside git."""

    def git(*args: str) -> str:
        run = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False)
        return run.stdout.strip() if run.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD")
    return (
        f"{head}+changes" if head and git("status", "--porcelain", "--untracked-files=no") else head
    )


def render_report(r: dict[str, Any]) -> str:
    """bench/RELIABILITY.md from the results: written by the same command, never by hand."""
    lines = [
        "# Reliability report",
        "",
        f"Generated by `make bench-reliability` on {r['recorded_at']} at commit "
        f"{r.get('commit') or 'unknown'} "
        f"({r['machine']['cpus']} CPUs, Python {r['machine']['python']}); figures from "
        "`bench/results/reliability.json`. Do not edit by hand: re-run the command.",
        "",
        "| figure | result |",
        "|---|---|",
        f"| kill points recovered | **{r['recovered']} / {r['kill_points']}** |",
        f"| raw records lost | {r['lost_records']} |",
        f"| duplicate CRM writes (a contact created twice) | {r['duplicate_crm_writes']} |",
        f"| leads assigned twice | {r['double_assignments']} |",
        f"| notifications sent twice | {r['duplicate_notifications']} |",
        f"| chaos runs reconciled at {r['chaos_rate']:.0%} faults | "
        f"**{r['chaos_runs_reconciled']} / {r['chaos_runs']}** |",
        f"| hostile payloads generated (hypothesis) | {r['hypothesis_examples']:,} "
        f"({'all suites passed' if r['hypothesis_passed'] else 'A SUITE FAILED'}) |",
        f"| secret or personal-data leaks | **{r['secret_leaks']}** in {r['texts_searched']:,} "
        f"texts, searching for {r['needles_searched']['secrets']} secrets and "
        f"{r['needles_searched']['personal']} e-mail addresses and phone numbers |",
        "",
        "Texts searched for leaks: "
        + ", ".join(f"{kind} {n:,}" for kind, n in sorted(r["texts_by_kind"].items()))
        + ".",
        "",
        "## Kill points",
        "",
        "Each run of the kill world (tests/reliability/kill_harness.py) was ended with SIGKILL at the "
        "point (`#n`: its n-th occurrence), run again for the same hour, then run an hour later, "
        "and compared with the same world synced without a kill: every raw record's status and "
        "lead, identity links, quarantine, leads, scores, lifecycle events, owners, queue, push "
        "state, dead letters, cursors, and every CRM contact's owner, lead id, score and grade.",
        "",
        "| # | kill point | reached | recovered | differences | seconds |",
        "|---|---|---|---|---|---|",
    ]
    for n, k in enumerate(r["kills"], start=1):
        differences = ", ".join(k["differences"]) or "none"
        lines.append(
            f"| {n} | `{k['point']}` | {'yes' if k['reached'] else 'NO'} | "
            f"{'yes' if k['recovered'] else 'NO'} | {differences} | {k['seconds']} |"
        )
    lines += [
        "",
        "## Chaos runs",
        "",
        f"The kill world under {r['chaos_rate']:.0%} chaos (tests/flows/test_chaos_runs.py): that "
        "share of HubSpot, Meta and Typeform requests failing (429 with Retry-After, 5xx, a "
        "timeout after the write was applied, truncated JSON, a partial 207) in the first hour, "
        "then two calm hours, compared with the uninterrupted world as the kill points are, "
        "notifications included.",
        "",
        "| chaos seed | faults served | runs | differences | dead letters left | reconciled |",
        "|---|---|---|---|---|---|",
    ]
    for c in r["chaos"]["runs"]:
        served = ", ".join(f"{k} {v}" for k, v in sorted(c["faults_served"].items()))
        lines.append(
            f"| {c['chaos_seed']} | {served} | {', '.join(c['runs'])} | "
            f"{', '.join(c['differences']) or 'none'} | {c['dead_letters_left']} | "
            f"{'yes' if c['reconciled'] else 'NO'} |"
        )
    h = r["hypothesis"]
    lines += [
        "",
        "## Hostile input",
        "",
        f"`pytest {' '.join(HYPOTHESIS_SUITES)}`: {h['pytest_summary']}",
        "",
        "| source | payloads generated |",
        "|---|---|",
        *(f"| {source} | {n:,} |" for source, n in h["examples_by_source"].items()),
        "",
        "| check | payloads |",
        "|---|---|",
        *(f"| {check} | {n:,} |" for check, n in h["examples_by_check"].items()),
        "",
        "## Time",
        "",
        f"Uninterrupted world {r['seconds']['uninterrupted_world']} s, kill points "
        f"{r['seconds']['kill_points']} s, chaos {r['seconds']['chaos']} s, hypothesis "
        f"{r['seconds']['hypothesis']} s.",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
