"""Values reach SQL as bound parameters; only identifiers from fixed sets are written into it.

A static scan (ast) of the Python packages for `execute(` / `executemany(` / `sql(` / `query(`
calls whose SQL is built at run time: an f-string, `+`, `%` or `.format`. Each interpolated part
must be provably an identifier or SQL fragment from a fixed set:

- a string literal, or a module-level constant (DDL, a column list) or anything built only from them;
- a loop or comprehension variable over such a constant (`for c in RECORD_COLUMNS`);
- a local variable every assignment of which is itself safe;
- a call to a function that only returns an allow-listed identifier (`raw_table()` refuses any
  (source, stream) not in RAW_STREAMS), psycopg's `sql.Identifier`/`sql.SQL` composition, or
  `"?" * n` placeholders for bound values;
- or a site listed in REVIEWED below, each with the reason it is safe.

Anything else fails the test with file:line, so a value pasted into SQL is caught at review time.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = (
    "leadflow",
    "connectors",
    "enrichment",
    "dedupe",
    "expectations",
    "scoring",
    "routing",
    "flows",
    "intake",
)
SQL_METHODS = frozenset({"execute", "executemany", "sql", "query"})

# Functions whose result may be written into SQL: each returns an identifier or SQL fragment from a
# fixed set (or psycopg's composable SQL, which quotes identifiers itself).
SAFE_CALLS = frozenset(
    {
        "raw_table",  # leadflow/warehouse.py: raises for a (source, stream) not in RAW_STREAMS
        "record_status_sql",  # leadflow/accounting.py: built from LEAD_STREAMS via raw_table()
        "_raw_records_sql",  # leadflow/accounting.py: the same
        "_quoted",  # leadflow/forget.py: quotes a table name taken from the fixed ERASE_TABLES set
        "Identifier",  # psycopg.sql.Identifier: quoted by psycopg
        "SQL",  # psycopg.sql.SQL: a composable built from literals
        "Literal",  # psycopg.sql.Literal: quoted by psycopg
        "len",
        "postgres_type",  # leadflow/pg_mirror.py: maps a DuckDB type name to a fixed Postgres one
        "_duck_ident",  # leadflow/pg_mirror.py: double-quotes a catalog name, doubling any quote
        "warehouse_ddl",  # leadflow/pg_mirror.py: the DDL constants of leadflow/warehouse.py
        "_lead_columns",  # scoring/features.py: the columns of BASE/OPTIONAL_ATTRIBUTES present
        "_lead_select",  # routing/roster.py: constants, and the field names of fixed tuples
    }
)
# String methods whose result is safe when the string and the arguments are.
SAFE_METHODS = frozenset({"join", "format", "replace", "strip", "lower", "upper"})

# Sites the scan cannot prove safe, read by hand: (file, enclosing function) -> why it is safe.
REVIEWED: dict[tuple[str, str], str] = {
    ("connectors/reverse_etl.py", "read_changed_sync_rows"): (
        "`model` is a relation name from the constant SYNC_MODELS (its one caller); the columns are"
        " owned_fields' constants kept only where the model has them, each double-quoted"
    ),
    ("routing/notify.py", "enqueue"): (
        "the `events` dict pairs literal SELECTs with their bound parameters; only the literal is"
        " formatted in, the parameters are bound"
    ),
    ("leadflow/forget.py", "_payload_matches"): (
        "table is raw_table() or 'ops.quarantine', columns a literal column list; the address is bound"
    ),
    ("leadflow/forget.py", "_count"): (
        "targets come from _targets(): raw_table() names, OPS_TABLES literals and catalog relation"
        " names; the person's keys are bound through registered frames (forget_records)"
    ),
    ("leadflow/forget.py", "_delete"): "the same targets as _count",
    ("leadflow/dbt_state.py", "_table_digest"): (
        "the schema and identifier of a dbt source declared in dbt_project/models (the"
        " manifest's), each double-quoted; no record value is in it"
    ),
    ("dedupe/probabilistic.py", "score"): (
        "blocked_pairs_sql joins the blocking rules, SQL conditions the operator writes in"
        " leadflow.yml (validated to name only IDENTITY_FEATURES columns, as Splink itself runs"
        " them) or the module's constant SPELLING_BLOCKING_RULES, over fixed table names; no"
        " record value is in it. predicted.physical_name is the table name Splink generated"
    ),
    # connectors/fivetran/client.py reads tables whose names come from the catalog and config
    ("connectors/fivetran/client.py", "read_pages"): (
        "identifiers pass through quote() (double quotes doubled); the fragments of `query` are"
        " query_for's fixed templates over catalog column names through quote(); the window and"
        " paging values are bound; page_rows is an int"
    ),
    ("connectors/fivetran/client.py", "deal_contacts"): (
        "the table through client.qualified() and catalog column names through quote(); the deal"
        " ids are bound as one list"
    ),
    ("connectors/fivetran/client.py", "connect"): (
        "ATTACH and SET take no bound parameters: the DuckDB file and the spill folder are written"
        " as string literals by _literal (single quotes doubled)"
    ),
    ("connectors/fivetran/client.py", "_attach_postgres"): (
        "ATTACH takes no bound parameters: the URL is a string literal by _literal (single quotes"
        " doubled), and config validation refuses a URL that holds a password"
    ),
    ("connectors/fivetran/client.py", "_scalar"): (
        "runs the SQL its callers pass, each a literal with its values bound"
    ),
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    function: str
    parts: tuple[str, ...]

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.function}(): {', '.join(self.parts)}"


class _Scope:
    """The bindings a name in a SQL string can come from: module constants, then the function."""

    def __init__(self, module: ast.Module, function: ast.AST | None, line: int = 0) -> None:
        self.module_bindings = _bindings(module.body)
        self.imported_constants = _imported_constants(module)
        self.function = function
        self.local_bindings: dict[str, list[ast.AST]] = {}
        self.params: set[str] = set()
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            # Bindings after the call (a loop reusing the name over the results) do not feed it.
            before = [n for n in ast.walk(function) if getattr(n, "lineno", 0) < line]
            self.local_bindings = _bindings(before)
            arguments = function.args
            for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
                self.params.add(arg.arg)


def _imported_constants(module: ast.Module) -> set[str]:
    """UPPER_CASE names imported from LeadFlow's own modules: module constants by convention."""
    return {
        alias.asname or alias.name
        for node in module.body
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in PACKAGES
        for alias in node.names
        if (alias.asname or alias.name).isupper()
    }


def _bindings(nodes: list[ast.AST] | list[ast.stmt]) -> dict[str, list[ast.AST]]:
    """name -> the expressions it is assigned (a for/comprehension target maps to its iterable)."""
    found: dict[str, list[ast.AST]] = {}

    def bind(target: ast.AST, value: ast.AST) -> None:
        if isinstance(target, ast.Name):
            found.setdefault(target.id, []).append(value)
        elif isinstance(target, ast.Tuple | ast.List):
            for element in target.elts:
                bind(element, _Iterated(value))

    for node in nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                bind(target, node.value)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
            bind(node.target, node.value)
        elif isinstance(node, ast.For | ast.comprehension):
            bind(node.target, _Iterated(node.iter))
        elif (  # parts.append(x) / parts.extend(xs): x is one of the list's elements
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"append", "extend"}
            and isinstance(node.func.value, ast.Name)
            and node.args
        ):
            element = node.args[0] if node.func.attr == "append" else _Iterated(node.args[0])
            bind(node.func.value, ast.List(elts=[element]))
    return found


class _Iterated(ast.expr):
    """An element of `source`: safe when `source` is."""

    def __init__(self, source: ast.AST) -> None:
        super().__init__()
        self.source = source


def _safe(node: ast.AST, scope: _Scope, seen: frozenset[str] = frozenset()) -> bool:
    if isinstance(node, _Iterated):
        return _safe(node.source, scope, seen)
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.JoinedStr):
        return all(
            _safe(part.value, scope, seen)
            for part in node.values
            if isinstance(part, ast.FormattedValue)
        )
    if isinstance(node, ast.FormattedValue):
        return _safe(node.value, scope, seen)
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, ast.Mult):  # "?" * n: placeholders for bound values
            return isinstance(node.left, ast.Constant) or isinstance(node.right, ast.Constant)
        return _safe(node.left, scope, seen) and _safe(node.right, scope, seen)
    if isinstance(node, ast.IfExp):
        return _safe(node.body, scope, seen) and _safe(node.orelse, scope, seen)
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return all(_safe(element, scope, seen) for element in node.elts)
    if isinstance(node, ast.Dict):
        return all(_safe(v, scope, seen) for v in node.values) and all(
            k is None or _safe(k, scope, seen) for k in node.keys
        )
    if isinstance(node, ast.Subscript):
        return _safe(node.value, scope, seen)
    if isinstance(node, ast.GeneratorExp | ast.ListComp | ast.SetComp):
        inner = _Scope.__new__(_Scope)
        inner.module_bindings = scope.module_bindings
        inner.imported_constants = scope.imported_constants
        inner.function = scope.function
        inner.params = scope.params
        inner.local_bindings = {**scope.local_bindings, **_bindings(node.generators)}  # type: ignore[arg-type]
        return _safe(node.elt, inner, seen)
    if isinstance(node, ast.Call):
        return _safe_call(node, scope, seen)
    if isinstance(node, ast.Name):
        return _safe_name(node.id, scope, seen)
    if isinstance(node, ast.Attribute):
        # settings.dbname etc. are values, not identifiers; only module constants are safe
        return False
    return False


def _safe_call(node: ast.Call, scope: _Scope, seen: frozenset[str]) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if name in SAFE_CALLS:
        return name not in {"SQL"} or all(
            isinstance(arg, ast.Constant) or _safe(arg, scope, seen) for arg in node.args
        )
    if isinstance(func, ast.Attribute) and name in {"items", "values", "keys"}:
        return _safe(func.value, scope, seen)
    if isinstance(func, ast.Attribute) and name in SAFE_METHODS:
        receiver_ok = _safe(func.value, scope, seen)
        args_ok = all(_safe(arg, scope, seen) for arg in node.args) and all(
            _safe(keyword.value, scope, seen) for keyword in node.keywords
        )
        return receiver_ok and args_ok
    return False


def _safe_name(name: str, scope: _Scope, seen: frozenset[str]) -> bool:
    if name in seen:
        return True  # a cycle (x = x + ...): decided by the other bindings
    seen = seen | {name}
    if name in scope.local_bindings:
        return all(_safe(value, scope, seen) for value in scope.local_bindings[name])
    if name in scope.params:
        return False
    if name in scope.imported_constants:
        return True
    if name in scope.module_bindings:
        module_scope = _Scope.__new__(_Scope)
        module_scope.module_bindings = scope.module_bindings
        module_scope.imported_constants = scope.imported_constants
        module_scope.function = None
        module_scope.local_bindings = {}
        module_scope.params = set()
        return all(_safe(value, module_scope, seen) for value in scope.module_bindings[name])
    return False


def _dynamic_parts(node: ast.AST) -> list[ast.AST]:
    """The parts of a SQL argument built at run time (empty for a plain literal)."""
    if isinstance(node, ast.Constant):
        return []
    if isinstance(node, ast.JoinedStr):
        return [part.value for part in node.values if isinstance(part, ast.FormattedValue)]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _dynamic_parts(node.left) + _dynamic_parts(node.right)
    return [node]


def _functions(tree: ast.Module) -> dict[ast.AST, ast.AST | None]:
    """Each node -> its innermost enclosing function (None at module level)."""
    owner: dict[ast.AST, ast.AST | None] = {}

    def visit(node: ast.AST, function: ast.AST | None) -> None:
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            owner[child] = inner
            visit(child, inner)

    visit(tree, None)
    return owner


def scan(root: Path = ROOT) -> list[Finding]:
    findings = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            owners = _functions(tree)
            for node in ast.walk(tree):
                if not (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in SQL_METHODS
                    and node.args
                ):
                    continue
                function = owners.get(node)
                scope = _Scope(tree, function, node.lineno)
                unsafe = [part for part in _dynamic_parts(node.args[0]) if not _safe(part, scope)]
                if unsafe:
                    findings.append(
                        Finding(
                            str(path.relative_to(root)),
                            node.lineno,
                            getattr(function, "name", "<module>"),
                            tuple(ast.unparse(part)[:80] for part in unsafe),
                        )
                    )
    return findings


def test_sql_is_built_only_from_allow_listed_identifiers() -> None:
    findings = [finding for finding in scan() if (finding.path, finding.function) not in REVIEWED]
    assert not findings, (
        "SQL built from values that are not allow-listed identifiers:\n"
        + "\n".join(map(str, findings))
    )


def test_the_scan_catches_a_value_pasted_into_sql(tmp_path: Path) -> None:
    # GIVEN a module that formats a parameter into SQL, and one that binds it
    package = tmp_path / "leadflow"
    package.mkdir()
    (package / "bad.py").write_text(
        "def find(con, email):\n"
        "    con.execute(f\"select * from ops.lead_records where email = '{email}'\")\n"
        "    con.execute(\"select * from ops.lead_records where email = '%s'\" % email)\n"
        "    con.execute('select * from t where e = {}'.format(email))\n",
        encoding="utf-8",
    )
    (package / "good.py").write_text(
        "TABLES = ('a', 'b')\n"
        "def find(con, email, ids):\n"
        "    for table in TABLES:\n"
        "        con.execute(f'select * from ops.{table} where email = ?', [email])\n"
        "    marks = ', '.join('?' * len(ids))\n"
        "    con.execute(f'select * from t where id in ({marks})', ids)\n",
        encoding="utf-8",
    )
    # WHEN the scan runs over it
    findings = [f for f in scan(tmp_path) if f.path.startswith("leadflow")]
    # THEN the three pasted values are found, and the bound ones are not
    assert sorted((f.path, f.line) for f in findings) == [
        ("leadflow/bad.py", 2),
        ("leadflow/bad.py", 3),
        ("leadflow/bad.py", 4),
    ]
