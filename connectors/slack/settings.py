"""Slack incoming webhooks: what the endpoint answers and the documented limits.

Docs: https://api.slack.com/messaging/webhooks (sending, and the errors under "Handling errors"),
https://api.slack.com/docs/rate-limits ("Incoming webhooks ... 1 per second", short bursts tolerated),
https://api.slack.com/reference/block-kit/blocks (block limits).
"""

from __future__ import annotations

# Success is HTTP 200 with the plain-text body "ok"; every error is plain text naming the problem.
OK_BODY = "ok"

# Errors that no retry fixes: the request (400) or the webhook itself (403/404/410) is wrong.
PAYLOAD_ERRORS = frozenset({"invalid_payload", "no_text", "invalid_blocks", "too_many_attachments"})
WEBHOOK_ERRORS = frozenset(
    {"invalid_token", "no_service", "channel_not_found", "channel_is_archived", "action_prohibited"}
)

# One message per second per webhook; Slack answers 429 with Retry-After beyond that. The client
# keeps a 10 % margin: gaps measured at the sender shrink by the time requests arrive.
MIN_INTERVAL_S = 1.1
# The longest Retry-After honoured inside a run; a longer wait is left to the next run.
MAX_RETRY_AFTER_S = 30.0

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
