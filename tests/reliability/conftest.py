"""Hands the count of generated hostile payloads to bench/reliability.py (issue 9 point 8)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.reliability.payloads import COUNTS_ENV, GENERATED


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = os.environ.get(COUNTS_ENV)
    if out:
        Path(out).write_text(
            json.dumps(dict(sorted(GENERATED.items())), indent=2), encoding="utf-8"
        )
