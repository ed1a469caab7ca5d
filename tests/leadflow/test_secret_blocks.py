"""Secrets from Prefect Secret blocks, on a real (temporary) Prefect server: where a connector's
environment variable is not set, the block of the same name in lower case with dashes is read, and
its value is masked in logs like an environment secret."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from leadflow.config import ConfigError, read_secret, secret_block_name
from leadflow.redact import redact


@pytest.fixture
def block_secret(
    prefect_harness: None, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str]]:
    """(an environment variable name that is not set, the value saved in its Secret block)."""
    from prefect.blocks.system import Secret

    env_name = f"LEADFLOW_BLOCK_TEST_{uuid.uuid4().hex[:8].upper()}"
    monkeypatch.delenv(env_name, raising=False)
    value = f"blk-{uuid.uuid4().hex}"
    Secret(value=value).save(secret_block_name(env_name), overwrite=True)
    yield env_name, value


def test_block_name_follows_the_variable() -> None:
    assert secret_block_name("HUBSPOT_ACCESS_TOKEN") == "hubspot-access-token"


def test_a_secret_block_stands_in_for_an_unset_variable(block_secret: tuple[str, str]) -> None:
    env_name, value = block_secret
    secret = read_secret(env_name)
    assert secret.get_secret_value() == value
    assert value not in repr(secret)
    # AND from now on the value is masked wherever it would be logged
    assert value not in redact(f"GET /crm/v3/objects/contacts failed with key {value}")


def test_the_environment_wins_over_the_block(
    block_secret: tuple[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env_name, _ = block_secret
    monkeypatch.setenv(env_name, "from-the-environment")
    assert read_secret(env_name).get_secret_value() == "from-the-environment"


def test_neither_variable_nor_block_names_both_and_leaks_nothing(prefect_harness: None) -> None:
    env_name = f"LEADFLOW_ABSENT_{uuid.uuid4().hex[:8].upper()}"
    with pytest.raises(ConfigError) as raised:
        read_secret(env_name)
    message = str(raised.value)
    assert f"{env_name} is not set" in message
    assert f"no Prefect Secret block '{secret_block_name(env_name)}'" in message
