"""Keep secrets and personal data out of logs and error messages.

`redact()` masks e-mail addresses, phone-number-like digit runs and bearer/access tokens in free
text (a vendor's error message can quote the email it rejected). `RedactingFilter` applies it to
every log record, and `install_log_redaction()` attaches it to the loggers LeadFlow writes through,
Prefect's included.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}")
# Seven or more digits, optionally with spaces, dots, dashes, parentheses and a leading +.
_PHONE = re.compile(r"(?<![\w.])\+?\(?\d[\d\s().\-]{5,}\d(?![\w.])")
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=\-]+")
_TOKEN_PARAM = re.compile(r"(?i)((?:access_token|token|api_key|apikey|key)=)[^&\s\"']+")

# Strings registered at run time (the tokens actually in use) are masked wherever they appear.
_known_secrets: set[str] = set()


def register_secret(value: str) -> None:
    """Mask this exact value in every later redaction (ignored when too short to be a secret)."""
    if value and len(value) >= 6:
        _known_secrets.add(value)


def register_env_secrets(names: Iterable[str]) -> None:
    """Mask the values of these environment variables (the config's `*_env` secrets) from now on.

    Flows call this when they start, so a secret is masked even in a line logged before the client
    that uses it is built.
    """
    for name in names:
        register_secret(os.environ.get(name, ""))


def _mask_phone(match: re.Match[str]) -> str:
    digits = sum(ch.isdigit() for ch in match.group(0))
    # ISO dates and times are digit runs too; only mask what looks like a phone number.
    return (
        "[phone]"
        if digits >= 7 and not re.fullmatch(r"[\d\-:T. ]+", match.group(0))
        else match.group(0)
    )


def redact(text: str) -> str:
    """Mask tokens, e-mail addresses and phone numbers in `text`."""
    for secret in _known_secrets:
        text = text.replace(secret, "[secret]")
    text = _BEARER.sub(r"\1[secret]", text)
    text = _TOKEN_PARAM.sub(r"\1[secret]", text)
    text = _EMAIL.sub("[email]", text)
    return _PHONE.sub(_mask_phone, text)


class RedactingFilter(logging.Filter):
    """Rewrites each record's message with `redact()` before any handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is left to the handler's own error path
            return True
        record.msg = redact(message)
        record.args = None
        # A traceback is formatted by the handler after the filters ran; format it here, redacted,
        # and the handler's Formatter uses this text instead of formatting the exception again.
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_TRACEBACKS = logging.Formatter()


_FILTER = RedactingFilter()


def install_log_redaction(*names: str) -> None:
    """Attach the redacting filter to every handler configured so far (root, Prefect's, ours).

    Filters on a handler see every record that reaches it, propagated ones included; call this
    after logging is configured (the flow calls it when it starts).
    """
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [
        obj for obj in logging.root.manager.loggerDict.values() if isinstance(obj, logging.Logger)
    ]
    loggers += [logging.getLogger(n) for n in ("prefect", "leadflow", *names)]
    for logger in loggers:
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
        for handler in logger.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
