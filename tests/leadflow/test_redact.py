"""Secrets and personal data never reach a log line or an error message."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from leadflow.config import load_settings
from leadflow.redact import RedactingFilter, redact, register_env_secrets, register_secret

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("text", "leaked"),
    [
        pytest.param("contact ana.silva@acme.io already exists", "ana.silva@acme.io", id="email"),
        pytest.param("call +1 415 555 0134 now", "555 0134", id="phone-international"),
        pytest.param("phone (415) 555-0134 is invalid", "555-0134", id="phone-national"),
        pytest.param(
            "Authorization: Bearer pat-na1-abcdef123456", "pat-na1-abcdef123456", id="bearer"
        ),
        pytest.param(
            "GET /leads?access_token=EAAG123456789&limit=5", "EAAG123456789", id="token-param"
        ),
    ],
)
def test_redact_masks_personal_data_and_tokens(text: str, leaked: str) -> None:
    assert leaked not in redact(text)


def test_redact_keeps_timestamps_and_ids_readable() -> None:
    text = "cursor 2026-05-01T10:20:30 for contact 51000001 page 2"
    assert redact(text) == text


def test_registered_secrets_are_masked_anywhere() -> None:
    register_secret("plain-looking-value-42")
    assert "plain-looking-value-42" not in redact("token=x; also plain-looking-value-42 in text")


def test_log_filter_rewrites_messages_with_arguments(caplog: pytest.LogCaptureFixture) -> None:
    logger = logging.getLogger("leadflow.test_redact")
    logger.addFilter(RedactingFilter())
    with caplog.at_level(logging.INFO, logger="leadflow.test_redact"):
        logger.info("rejected %s", "bob@example.com")
    assert "bob@example.com" not in caplog.text
    assert "[email]" in caplog.text


def test_log_filter_redacts_tracebacks_too() -> None:
    # GIVEN a handler with the redacting filter, and an exception whose message holds an address
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep()
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger("tests.redact.traceback")
    logger.addHandler(handler)
    try:
        # WHEN it is logged with its traceback
        try:
            raise ValueError("contact ana.silva@acme.io was rejected")
        except ValueError:
            logger.exception("push failed")
    finally:
        logger.removeHandler(handler)
    # THEN the traceback is printed, without the address
    assert len(lines) == 1
    assert "ValueError: contact [email] was rejected" in lines[0]
    assert "ana.silva@acme.io" not in lines[0]


def test_every_secret_the_config_names_is_masked_once_registered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # GIVEN the shipped config and values in the variables it names for secrets
    settings = load_settings(REPO / "leadflow.yml")
    names = settings.secret_env_names()
    assert {"HUBSPOT_ACCESS_TOKEN", "LEMLIST_API_KEY", "LEADFLOW_SLACK_WEBHOOK_URL"} <= set(names)
    for i, name in enumerate(names):
        monkeypatch.setenv(name, f"planted-{name.lower()}-{i}x")
    # WHEN a flow registers them at its start (before any client is built)
    register_env_secrets(names)
    # THEN each value is masked wherever it appears
    for i, name in enumerate(names):
        assert f"planted-{name.lower()}-{i}x" not in redact(f"see planted-{name.lower()}-{i}x here")
