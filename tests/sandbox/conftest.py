"""Fixtures for the sandbox tests: a running sandbox on free ports and authenticated sessions.

Rate limits are switched off in `sb` so tests that page a lot are not throttled; the rate-limit
tests switch on the limit they test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sandbox import Sandbox
from tests.sandbox.sandbox_helpers import NOW, TOKENS, Client, no_limits


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    sandbox = no_limits(Sandbox(seed=7, leads=300, tokens=TOKENS, now=NOW))
    with sandbox:
        yield sandbox


@pytest.fixture
def hubspot(sb: Sandbox) -> Iterator[Client]:
    with Client(sb.urls["hubspot"], {"Authorization": "Bearer tok-h"}) as client:
        yield client


@pytest.fixture
def meta(sb: Sandbox) -> Iterator[Client]:
    with Client(sb.urls["meta"], {"Authorization": "Bearer tok-m"}) as client:
        yield client


@pytest.fixture
def typeform(sb: Sandbox) -> Iterator[Client]:
    with Client(sb.urls["typeform"], {"Authorization": "Bearer tok-t"}) as client:
        yield client
