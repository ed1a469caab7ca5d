"""Run LeadFlow's dbt project (dbt_project/) in-process.

`build("prepare", path)` builds what scoring and routing read (seeds, staging, intermediate) and
`build("publish", path)` what comes after them (marts, reverse-ETL payloads); the sync flow runs the
two steps through leadflow/dbt_state.py, which leaves out the nodes whose inputs did not change.
`run_dbt` runs any other dbt command the same way.

Why it looks like this:
- dbt runs in this process through `dbtRunner`, which is faster than a subprocess and returns
  structured results. dbt keeps global state, so invocations are serialized with a lock.
- --project-dir and --profiles-dir are always absolute: a relative one poisons dbt's partial-parse
  cache for runs started from another directory (a Prefect worker, the CLI).
- The profile reads the DuckDB path from LEADFLOW_WAREHOUSE_PATH, set only for the call. With
  `keep_open: true` in profiles.yml dbt-duckdb opens the file once per invocation (not once per
  node); `_close_duckdb` closes it when dbt is done, so Python can open it right after (DuckDB
  allows one writer per file and never waits for a lock).
- dbt prints nothing on stdout unless something fails (`--quiet`); its full log goes to
  <target>/logs/dbt.log. A failure raises `DbtError` whose message names every failed model or test.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leadflow.faults import crash_point

PROJECT_DIR = Path(__file__).resolve().parent.parent / "dbt_project"
WAREHOUSE_PATH_ENV = "LEADFLOW_WAREHOUSE_PATH"
TARGETS = ("duckdb", "postgres")
# The hourly flow's two steps, and the speed lane's narrower pair (intake/lane.py).
SELECTORS = ("prepare", "publish", "lane_prepare", "lane_publish")

# Node statuses that make a run fail (warn and skipped do not, on their own).
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})

_MESSAGE_CHARS = 300
_MAX_NODES_LISTED = 10
_dbt_lock = threading.Lock()


@dataclass(frozen=True)
class FailedNode:
    """A model, seed, test or unit test that failed, with dbt's message about it."""

    unique_id: str
    resource_type: str
    name: str
    status: str
    message: str

    def describe(self) -> str:
        """One line: the node and the most telling line of dbt's message about it."""
        label = f"{self.resource_type.replace('_', ' ')} {self.name}"
        detail = _telling_line(self.message)
        return f"{label} ({self.status}: {detail})" if detail else f"{label} ({self.status})"


@dataclass(frozen=True)
class DbtRunResult:
    """What one dbt invocation did: how many nodes ended in each status, and which failed."""

    command: tuple[str, ...]
    success: bool
    status_counts: dict[str, int] = field(default_factory=dict)
    failed: tuple[FailedNode, ...] = ()
    elapsed_s: float = 0.0

    @property
    def count_nodes(self) -> int:
        return sum(self.status_counts.values())


class DbtError(Exception):
    """A dbt invocation failed; the message names the failed models and tests."""

    def __init__(self, message: str, result: DbtRunResult | None = None) -> None:
        super().__init__(message)
        self.result = result


def build(
    selector: str,
    warehouse_path: Path,
    *,
    target: str = "duckdb",
    dbt_vars: Mapping[str, Any] | None = None,
    target_path: Path | None = None,
    unit_tests: bool = True,
    manifest: Any = None,
    extra_args: Sequence[str] = (),
) -> DbtRunResult:
    """`dbt build --selector <selector>`: one of SELECTORS (dbt_project/selectors.yml).

    `unit_tests=False` leaves dbt's unit tests out: they test the SQL's logic on fixed inputs, not
    the data, so the sync flow skips them (they run in the test suite) and keeps the data tests
    that guard the push.
    """
    if selector not in SELECTORS:
        raise ValueError(f"unknown dbt selector {selector!r}: use one of {', '.join(SELECTORS)}")
    skip = [] if unit_tests else ["--exclude-resource-type", "unit_test"]
    return run_dbt(
        ["build", "--selector", selector, *skip, *extra_args],
        warehouse_path=warehouse_path,
        target=target,
        dbt_vars=dbt_vars,
        target_path=target_path,
        manifest=manifest,
    )


def parse(
    warehouse_path: Path,
    *,
    dbt_vars: Mapping[str, Any] | None = None,
    target_path: Path | None = None,
) -> Any:
    """`dbt parse`, returning dbt's Manifest: pass it as `manifest=` to `build` / `run_dbt` and
    they skip parsing (about a second even with partial parsing). For a long-lived process (the
    speed lane); the manifest is as old as the project files were when it was parsed, and later
    runs must pass the same `dbt_vars`."""
    outcome = _invoke(
        ["parse"], Path(warehouse_path).resolve(), "duckdb", dbt_vars, target_path, True, None
    )
    if not outcome.success or outcome.result is None:
        detail = " ".join(str(outcome.exception or "see dbt.log").split())
        raise DbtError(f"dbt parse failed: {detail}")
    return outcome.result


def run_dbt(
    args: Sequence[str],
    *,
    warehouse_path: Path,
    target: str = "duckdb",
    dbt_vars: Mapping[str, Any] | None = None,
    target_path: Path | None = None,
    quiet: bool = True,
    manifest: Any = None,
    label: str | None = None,
) -> DbtRunResult:
    """Run one dbt command (e.g. ["build", "--select", "dim_leads"]) against the warehouse.

    `dbt_vars` overrides vars of dbt_project.yml (e.g. score_grades when leadflow.yml changes the
    grade bands). `target_path` moves dbt's artifacts and logs (default: dbt_project/target).
    Returns the run's summary; raises DbtError when dbt fails or any node fails, whose message
    names the command as `label` when given (a command listing hundreds of nodes reads badly).
    """
    if not args:
        raise ValueError("run_dbt needs a dbt command, e.g. ['build']")
    if target not in TARGETS:
        raise ValueError(f"unknown dbt target {target!r}: use one of {', '.join(TARGETS)}")
    warehouse_path = Path(warehouse_path).resolve()
    if target == "duckdb":
        warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    command = tuple(args)
    started = time.monotonic()
    outcome = _invoke(command, warehouse_path, target, dbt_vars, target_path, quiet, manifest)
    elapsed = time.monotonic() - started

    results = list(getattr(outcome.result, "results", None) or [])
    # The on-run-start hook (PostgreSQL's lenient-cast functions) is no model or test: not counted,
    # but its failure fails the run like any node's.
    status_counts = Counter(_status(r) for r in results if not _is_hook(r))
    failed = tuple(_failed_node(r) for r in results if _status(r) in FAILED_STATUSES)
    result = DbtRunResult(
        command=command,
        success=bool(outcome.success) and not failed,
        status_counts=dict(status_counts),
        failed=failed,
        elapsed_s=round(elapsed, 3),
    )
    if not result.success:
        raise DbtError(
            _failure_message(label or " ".join(command), result, outcome.exception), result
        )
    return result


def _invoke(
    command: Sequence[str],
    warehouse_path: Path,
    target: str,
    dbt_vars: Mapping[str, Any] | None,
    target_path: Path | None,
    quiet: bool,
    manifest: Any,
) -> Any:
    """One dbtRunner invocation against this project and warehouse; dbt's own result object."""
    target_dir = Path(target_path).resolve() if target_path else PROJECT_DIR / "target"
    invocation = [*command, *_project_options(command, target, target_dir, dbt_vars, quiet)]

    # Imported here: dbt takes ~1 s to import and most of LeadFlow never runs it.
    from dbt.cli.main import dbtRunner

    with _dbt_lock, scoped_environ({WAREHOUSE_PATH_ENV: str(warehouse_path)}):
        try:
            return dbtRunner(manifest=manifest, callbacks=[_crash_point_per_node]).invoke(
                invocation
            )
        finally:
            _close_duckdb()


def _close_duckdb() -> None:
    """Close the DuckDB file dbt-duckdb kept open for the invocation.

    profiles.yml sets `keep_open: true`: one open of the file for a whole build instead of one per
    model and test (an open and its checkpoint on close cost about as much as a data test's query;
    bench/README.md). dbt-duckdb then holds the file until its environment closes, and DuckDB lets
    one process write: so it is closed here, after every invocation, before Python opens the file.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager
    except ImportError:  # the postgres-only install
        return
    with DuckDBConnectionManager._LOCK:
        env = DuckDBConnectionManager._ENV
        if env is not None:
            env.close()
        DuckDBConnectionManager.close_all_connections()


def _project_options(
    args: Sequence[str],
    target: str,
    target_dir: Path,
    dbt_vars: Mapping[str, Any] | None,
    quiet: bool,
) -> list[str]:
    """The options that point dbt at this project, for those the (sub)command accepts."""
    import click
    from dbt.cli.main import cli

    command: click.Command = cli
    for token in args:  # walk down groups: ["source", "freshness"], ["docs", "generate"]
        if not isinstance(command, click.Group) or token not in command.commands:
            break
        command = command.commands[token]
    if command is cli:
        raise ValueError(f"unknown dbt command {args[0]!r}")
    accepted = {param.name for param in command.params}
    wanted: list[tuple[str, list[str]]] = [
        ("project_dir", ["--project-dir", str(PROJECT_DIR)]),
        ("profiles_dir", ["--profiles-dir", str(PROJECT_DIR)]),
        ("target", ["--target", target]),
        ("target_path", ["--target-path", str(target_dir)]),
        ("log_path", ["--log-path", str(target_dir / "logs")]),
        ("quiet", ["--quiet"] if quiet else []),
        ("vars", ["--vars", json.dumps(dict(dbt_vars))] if dbt_vars else []),
    ]
    return [token for name, tokens in wanted if name in accepted for token in tokens]


def _telling_line(message: str) -> str:
    """dbt's messages open with a header ("Runtime Error in model x (path)"); the cause follows."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    generic = (
        "Runtime Error",
        "Compilation Error",
        "Database Error",
        "Failure in",
        "An error occurred",
    )
    specific = [line for line in lines if not line.startswith(generic)]
    line = (specific or lines or [""])[0]
    return line if len(line) <= _MESSAGE_CHARS else line[: _MESSAGE_CHARS - 3] + "..."


def _is_hook(result: Any) -> bool:
    return str(getattr(getattr(result, "node", None), "resource_type", "")) == "operation"


def _crash_point_per_node(event: Any) -> None:
    if event.info.name == "NodeFinished":
        crash_point("dbt:node-done")


def _status(result: Any) -> str:
    status = result.status
    return str(getattr(status, "value", status))


def _failed_node(result: Any) -> FailedNode:
    node = result.node
    message = result.message or ""
    if not message and getattr(result, "failures", None):
        message = f"{result.failures} failing rows"
    return FailedNode(
        unique_id=node.unique_id,
        resource_type=str(getattr(node.resource_type, "value", node.resource_type)),
        name=node.name,
        status=_status(result),
        message=str(message),
    )


def _failure_message(command: str, result: DbtRunResult, exception: BaseException | None) -> str:
    head = f"dbt {command} failed"
    if exception is not None:
        detail = " ".join(str(exception).split())
        if "Could not set lock" in detail:
            detail += (
                " (another process has the warehouse open; DuckDB allows one writer: close it)"
            )
        return f"{head}: {detail}"
    if not result.failed:
        return f"{head} (see dbt.log under the dbt target path)"
    shown = [node.describe() for node in result.failed[:_MAX_NODES_LISTED]]
    if len(result.failed) > _MAX_NODES_LISTED:
        shown.append(f"and {len(result.failed) - _MAX_NODES_LISTED} more")
    return f"{head}: {len(result.failed)} of {result.count_nodes} nodes failed: {'; '.join(shown)}"


@contextmanager
def scoped_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of the block, then restore them."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old
