"""State-aware dbt builds: an hourly build rebuilds only the models whose inputs changed.

dbt rebuilds and re-tests every selected node on every run, so an hourly run that pulled nothing
new from most sources still pays each of their staging views, tables and data tests (about 25 ms a
node whatever the data: bench/README.md). The sync flow's `prepare` and `publish` go through
`build_changed` instead, the idea of dbt Cloud's state-aware orchestration on our own terms:

- A node's **input key** is a digest of the project (every node's checksum and config, the
  project's macros, dbt_project.yml, the vars, the dbt version) and of the *contents* of every
  warehouse table it reads through `source()`, directly or through the models it refs: the row
  count and the sum of DuckDB's `hash()` of every row, so an update in place counts as much as a new
  row. A table costs one scan (0.3 s for 1.4 million raw rows with their payloads).
- After a build where every node passed, each node it built or tested keeps its key in
  ops.dbt_node_state (in the warehouse, so the state travels with the data it describes). A failed
  build stores nothing: what failed is built and tested again next time.
- The next build skips a table (or incremental model, or seed) whose key is the one stored and
  whose relation exists; a view, which reads its tables when queried, only when the project
  changed. It runs a data test when its key changed (its rows may have), when a parent is built,
  or when a parent measures against "now"; a test whose `where` reads a table of its own always.
- A table that measures against "now" (it calls the `as_of` macro, directly or through another
  macro: dim_leads' ages, rpt_stale_leads), or reads one that does, is built on every run.
- `--full-refresh`, an upgrade of the project or of dbt, other vars, or a dropped relation all lead
  to the build dbt would have done anyway.

The selector (dbt_project/selectors.yml) still decides what a step may build; its resolved node
list is cached per project digest under the target path, since dbt 1.11 ignores --exclude next to
--selector. The build itself is `dbt build --select <nodes> --indirect-selection empty`.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from leadflow.dbt import PROJECT_DIR, DbtError, DbtRunResult, run_dbt
from leadflow.warehouse import Warehouse, has_table

STATE_TABLE = "ops.dbt_node_state"
STATE_DDL = f"""
create table if not exists {STATE_TABLE} (
    node_id varchar primary key,   -- a dbt unique_id: model, seed or data test
    input_key varchar not null,    -- the node's input key when it last built or passed
    built_at timestamp not null    -- when the build that stored it ended (UTC)
)
"""
# The macro whose callers measure against the current time (dbt_project/macros/funnel.sql).
TIME_MACRO = "macro.leadflow.as_of"
_BUILT_TYPES = frozenset({"model", "seed"})
_SELECTION_CACHE = "leadflow_selection.json"
_PROJECT_FOLDERS = ("models", "macros", "seeds", "tests")
_PROJECT_FILES = ("dbt_project.yml", "selectors.yml", "profiles.yml")
_MANIFESTS: dict[str, Any] = {}


@dataclass(frozen=True)
class BuildPlan:
    """What one state-aware build runs: unique_ids to build and test, and those left as they are."""

    selector: str
    build: tuple[str, ...]
    tests: tuple[str, ...]
    skipped: tuple[str, ...]
    # the input key of every selected node, stored for those built and tested once all passed
    keys: Mapping[str, str]


def build_changed(
    selector: str,
    warehouse_path: Path,
    *,
    dbt_vars: Mapping[str, Any] | None = None,
    target_path: Path | None = None,
    full_refresh: bool = False,
) -> tuple[DbtRunResult, BuildPlan]:
    """`dbt build --selector <selector>` without the nodes whose inputs are unchanged since their
    last passing build (data tests only: unit tests belong to the test suite). Stores the new state
    when every node passes; raises DbtError, storing nothing, when one fails. `full_refresh`
    rebuilds every selected node from scratch (and stores their state)."""
    warehouse_path = Path(warehouse_path).resolve()
    manifest = parsed(warehouse_path, dbt_vars=dbt_vars, target_path=target_path)
    project = project_key(manifest, dbt_vars)
    # what a selector resolves to does not depend on the vars
    selected = selector_nodes(
        selector,
        project_key(manifest, None),
        manifest,
        warehouse_path,
        dbt_vars=dbt_vars,
        target_path=target_path,
    )
    with Warehouse(warehouse_path).connect() as con:
        stored: dict[str, str] | None = {} if full_refresh else None
        plan = plan_build(selector, manifest, selected, project, con, stored=stored)
    names = [manifest.nodes[uid].name for uid in (*plan.build, *plan.tests)]
    if names:
        result = run_dbt(
            [
                "build",
                "--select",
                *names,
                "--indirect-selection",
                "empty",
                *(["--full-refresh"] if full_refresh else []),
            ],
            warehouse_path=warehouse_path,
            dbt_vars=dbt_vars,
            target_path=target_path,
            manifest=manifest,
            label=f"build --selector {selector} ({len(plan.build)} changed nodes, {len(plan.tests)} tests)",
        )
    else:  # nothing changed and nothing measures against now: dbt has nothing to do
        result = DbtRunResult(command=("build", "--selector", selector), success=True)
    with Warehouse(warehouse_path).connect() as con:
        store_state(con, plan)
    return result, plan


def parsed(
    warehouse_path: Path,
    *,
    dbt_vars: Mapping[str, Any] | None = None,
    target_path: Path | None = None,
) -> Any:
    """dbt's manifest, parsed once per process for the same project files, vars and target path:
    the run's `publish` reuses what its `prepare` parsed (a partial parse still takes seconds)."""
    from leadflow.dbt import parse

    files = sorted(
        (str(path), path.stat().st_mtime_ns, path.stat().st_size)
        for folder in _PROJECT_FOLDERS
        for path in (PROJECT_DIR / folder).rglob("*")
        if path.is_file()
    ) + [(name, (PROJECT_DIR / name).stat().st_mtime_ns, 0) for name in _PROJECT_FILES]
    key = json.dumps(
        [files, dict(dbt_vars or {}), str(target_path or "")], sort_keys=True, default=str
    )
    if key not in _MANIFESTS:
        _MANIFESTS.clear()  # one project state at a time
        _MANIFESTS[key] = parse(warehouse_path, dbt_vars=dbt_vars, target_path=target_path)
    return _MANIFESTS[key]


def project_key(manifest: Any, dbt_vars: Mapping[str, Any] | None) -> str:
    """A digest of everything in the project that shapes what a node builds."""
    import dbt.version

    digest = hashlib.sha256()

    def add(*parts: object) -> None:
        for part in parts:
            digest.update(str(part).encode())
            digest.update(b"\x00")

    add(dbt.version.__version__, json.dumps(dict(dbt_vars or {}), sort_keys=True, default=str))
    for name in _PROJECT_FILES:
        add(name, (PROJECT_DIR / name).read_text(encoding="utf-8"))
    for uid in sorted(manifest.nodes):
        node = manifest.nodes[uid]
        config = json.dumps(node.config.to_dict(), sort_keys=True, default=str)
        add(uid, node.checksum.checksum, config, getattr(node, "raw_code", ""))
    for uid in sorted(manifest.sources):
        source = manifest.sources[uid]
        add(uid, source.schema, source.identifier)
    for uid in sorted(manifest.macros):
        macro = manifest.macros[uid]
        if macro.package_name == manifest.metadata.project_name:
            add(uid, macro.macro_sql)
    return digest.hexdigest()


def selector_nodes(
    selector: str,
    project: str,
    manifest: Any,
    warehouse_path: Path,
    *,
    dbt_vars: Mapping[str, Any] | None = None,
    target_path: Path | None = None,
) -> list[str]:
    """The unique_ids a selector resolves to (models, seeds, data tests), as `dbt ls` lists them;
    cached under the target path per project digest (resolving takes a dbt invocation)."""
    from leadflow.dbt import _invoke

    target_dir = Path(target_path).resolve() if target_path else PROJECT_DIR / "target"
    cache_path = target_dir / _SELECTION_CACHE
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    if cache.get("project") != project:
        cache = {"project": project, "selectors": {}}
    if selector not in cache["selectors"]:
        command = ["ls", "--selector", selector, "--resource-type", "model"]
        command += ["--resource-type", "seed", "--resource-type", "test"]
        # --log-level none: `ls` prints its list even with --quiet
        command += ["--output", "json", "--output-keys", "unique_id", "--log-level", "none"]
        outcome = _invoke(command, warehouse_path, "duckdb", dbt_vars, target_path, True, manifest)
        if not outcome.success or outcome.result is None:
            raise DbtError(f"dbt ls --selector {selector} failed: {outcome.exception}")
        cache["selectors"][selector] = sorted(
            json.loads(line)["unique_id"] for line in outcome.result
        )
        target_dir.mkdir(parents=True, exist_ok=True)
        partial = cache_path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(cache), encoding="utf-8")
        partial.replace(cache_path)  # whole or not at all, for a neighbour reading it
    return list(cache["selectors"][selector])


def plan_build(
    selector: str,
    manifest: Any,
    selected: Sequence[str],
    project: str,
    con: Any,
    *,
    stored: Mapping[str, str] | None = None,
) -> BuildPlan:
    """Which of `selected` to build and test, from the warehouse's contents and stored state."""
    graph = _Graph(manifest)
    built_nodes = [uid for uid in selected if graph.resource_type(uid) in _BUILT_TYPES]
    tests = [uid for uid in selected if graph.resource_type(uid) == "test"]
    sources = sorted({sid for uid in selected for sid in graph.sources_of(uid)})
    digests = {sid: _table_digest(con, manifest.sources[sid]) for sid in sources}
    if stored is None:
        stored = load_state(con)
    existing = _relations(con)

    def data_key(uid: str) -> str:
        parts = [project, *(f"{sid}={digests[sid]}" for sid in sorted(graph.sources_of(uid)))]
        return hashlib.sha256("\x00".join(parts).encode()).hexdigest()

    keys: dict[str, str] = {}
    to_build: list[str] = []
    for uid in built_nodes:
        node = manifest.nodes[uid]
        # A view reads its tables when queried (and "now" with them): it is built again only when
        # its SQL may have changed. A table holds what it read when it was built.
        is_view = node.config.materialized == "view"
        keys[uid] = project if is_view else data_key(uid)
        up_to_date = (
            stored.get(uid) == keys[uid]
            and (is_view or not graph.is_time_dependent(uid))
            and (node.schema.lower(), (node.alias or node.name).lower()) in existing
        )
        if not up_to_date:
            to_build.append(uid)

    building = set(to_build)
    to_test: list[str] = []
    for uid in tests:
        keys[uid] = data_key(uid)
        parents = graph.parents(uid)
        if (
            not parents
            or _reads_other_tables(manifest.nodes[uid])
            or stored.get(uid) != keys[uid]
            or any(
                parent in building or (parent in manifest.nodes and graph.is_time_dependent(parent))
                for parent in parents
            )
        ):
            to_test.append(uid)
    ran = building | set(to_test)
    return BuildPlan(
        selector=selector,
        build=tuple(to_build),
        tests=tuple(to_test),
        skipped=tuple(uid for uid in selected if uid not in ran),
        keys=keys,
    )


def load_state(con: Any) -> dict[str, str]:
    """node_id -> input key of the last passing build; empty before the first."""
    if not has_table(con, "ops", "dbt_node_state"):
        return {}
    return dict(con.execute(f"select node_id, input_key from {STATE_TABLE}").fetchall())


def store_state(con: Any, plan: BuildPlan) -> None:
    """Store the input keys of what the plan built and tested."""
    rows = [(uid, plan.keys[uid]) for uid in (*plan.build, *plan.tests)]
    con.execute("create schema if not exists ops")
    con.execute(STATE_DDL)
    if rows:
        con.executemany(
            f"insert or replace into {STATE_TABLE} (node_id, input_key, built_at)"
            " values (?, ?, cast(current_timestamp at time zone 'UTC' as timestamp))",
            rows,
        )


class _Graph:
    """Parents, upstream sources and time dependence of the manifest's nodes, memoised."""

    def __init__(self, manifest: Any) -> None:
        self._manifest = manifest
        self._sources: dict[str, frozenset[str]] = {}
        self._timed: dict[str, bool] = {}
        self._timed_macros: dict[str, bool] = {}

    def resource_type(self, uid: str) -> str:
        node = self._manifest.nodes.get(uid)
        return "" if node is None else str(getattr(node.resource_type, "value", node.resource_type))

    def parents(self, uid: str) -> list[str]:
        node = self._manifest.nodes.get(uid)
        return [] if node is None else list(getattr(node.depends_on, "nodes", ()))

    def sources_of(self, uid: str) -> frozenset[str]:
        if uid not in self._sources:
            found: set[str] = set()
            for parent in self.parents(uid):
                if parent in self._manifest.sources:
                    found.add(parent)
                elif parent in self._manifest.nodes:
                    found |= self.sources_of(parent)
            self._sources[uid] = frozenset(found)
        return self._sources[uid]

    def is_time_dependent(self, uid: str) -> bool:
        if uid not in self._timed:
            node = self._manifest.nodes[uid]
            self._timed[uid] = any(
                self._macro_is_timed(macro) for macro in node.depends_on.macros
            ) or any(
                self.is_time_dependent(parent)
                for parent in self.parents(uid)
                if parent in self._manifest.nodes
            )
        return self._timed[uid]

    def _macro_is_timed(self, uid: str) -> bool:
        if uid == TIME_MACRO:
            return True
        if uid not in self._timed_macros:
            self._timed_macros[uid] = False  # a cycle guard; dbt forbids macro recursion anyway
            macro = self._manifest.macros.get(uid)
            calls = [] if macro is None else list(macro.depends_on.macros)
            self._timed_macros[uid] = any(self._macro_is_timed(call) for call in calls)
        return self._timed_macros[uid]


def _table_digest(con: Any, source: Any) -> str:
    """Row count and the sum of every row's 64-bit hash: the same for the same contents, and
    different for any other short of a hash collision."""
    relation = ".".join(
        '"' + part.replace('"', '""') + '"' for part in (source.schema, source.identifier)
    )
    try:
        count, total = con.execute(
            f"select count(*), coalesce(sum(hash(_row)::hugeint), 0) from {relation} as _row"
        ).fetchone()
    except Exception as exc:  # a missing table: its staging view fails in dbt, by name
        if "does not exist" not in str(exc):
            raise
        return "missing"
    return f"{count}:{total}"


def _relations(con: Any) -> set[tuple[str, str]]:
    rows = con.execute("select table_schema, table_name from information_schema.tables").fetchall()
    return {(schema.lower(), name.lower()) for schema, name in rows}


def _reads_other_tables(test: Any) -> bool:
    """A test whose `where` reads a table of its own (`record_key in (select ... from ops...)`)
    depends on more than its parents: it always runs."""
    where = (getattr(test.config, "where", None) or "").lower()
    return "select" in where
