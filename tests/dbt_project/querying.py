"""Reading a built warehouse in the dbt tests: one query's rows as dicts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb


def rows(path: Path, sql: str) -> list[dict[str, Any]]:
    """The rows of `sql` on the DuckDB file at `path` (opened read-only), as column -> value."""
    with duckdb.connect(str(path), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
