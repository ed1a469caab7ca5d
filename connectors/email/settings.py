"""SMTP submission (RFC 5321 / 6409): reply-code classes and defaults.

Docs: https://docs.python.org/3/library/smtplib.html, RFC 5321 section 4.2 (reply codes: 4yz is a
transient failure worth retrying, 5yz a permanent one), RFC 3207 (STARTTLS).
"""

from __future__ import annotations

DEFAULT_PORT = 587  # submission; the sandbox listens on 8705
# Reply codes meaning "the credentials were refused" (RFC 4954): fix the config, do not retry.
AUTH_FAILURES = frozenset({530, 534, 535, 538})
# Transient replies (4yz) are retried on the next run; permanent ones (5yz) fail the message.
TRANSIENT = range(400, 500)
