"""Slack incoming webhooks as the sandbox serves them: POST /services/T…/B…/<secret>.

Wire details a sender must handle, as Slack does them:

- The URL path is the credential. A path of the wrong shape is 404 `no_service`; the right shape
  with an unknown secret is 403 `invalid_token`.
- The body is JSON (`Content-Type: application/json`); unparseable JSON or a non-object is 400
  `invalid_payload`, an object with neither `text` nor `blocks` is 400 `no_text`, blocks of the wrong
  shape are 400 `invalid_blocks`.
- Success is 200 with the plain-text body `ok`; errors are plain text too (not JSON).
- About one message per second per webhook: more is 429 with `Retry-After` (seconds).

Docs: https://api.slack.com/messaging/webhooks (errors under "Handling errors"),
https://api.slack.com/docs/rate-limits ("Incoming webhooks: 1 per second").

Every accepted message is kept, so tests read exactly what a channel would have shown.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from typing import Any

from sandbox.clock import hubspot_time
from sandbox.limits import Decision
from sandbox.server import Request, Response, VendorApp

SERVICES = "/services/"
_PATH_RE = re.compile(r"^/services/(T[A-Z0-9]+)/(B[A-Z0-9]+)/([A-Za-z0-9_-]+)$")
# Block Kit limits Slack enforces on messages (https://api.slack.com/reference/block-kit/blocks).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_TEXT = 40_000
BLOCK_TYPES = {"section", "divider", "header", "context", "actions", "image", "rich_text", "input"}


@dataclass(frozen=True)
class SlackMessage:
    """One message a webhook accepted: the webhook's team/bot ids (not its secret) and the payload."""

    team_id: str
    webhook_id: str
    payload: dict[str, Any]
    received_at: str  # ISO-8601 on the sandbox clock


def _text(status: int, body: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, body.encode("utf-8"), {"Content-Type": "text/html", **(headers or {})})


def _block_problem(blocks: Any) -> str | None:
    if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
        return f"blocks must be an array of at most {MAX_BLOCKS} blocks"
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
            return f"block {i} has no known type"
        if block["type"] in ("section", "header"):
            text = block.get("text")
            fields = block.get("fields")
            if text is None and not fields:
                return f"block {i}: a {block['type']} needs text"
            for part in [text, *(fields or [])]:
                if part is None:
                    continue
                if not isinstance(part, dict) or part.get("type") not in ("mrkdwn", "plain_text"):
                    return f"block {i}: text objects need a type of mrkdwn or plain_text"
                if not isinstance(part.get("text"), str) or not part["text"]:
                    return f"block {i}: a text object needs non-empty text"
                if len(part["text"]) > MAX_SECTION_TEXT:
                    return f"block {i}: text longer than {MAX_SECTION_TEXT} characters"
        if block["type"] == "context" and not isinstance(block.get("elements"), list):
            return f"block {i}: a context block needs elements"
    return None


class SlackApp(VendorApp):
    vendor = "slack"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lock = threading.Lock()
        self._messages: list[SlackMessage] = []

    # ------------------------------------------------------------------ Python side

    def messages(self) -> list[SlackMessage]:
        with self._lock:
            return list(self._messages)

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()

    # ------------------------------------------------------------------ serving

    def handle(self, req: Request) -> Response:
        match = _PATH_RE.match(req.path)
        if match is None:
            return _text(404, "no_service")
        if req.method != "POST":
            return _text(405, "invalid_method")
        team_id, webhook_id, secret = match.groups()
        if f"{team_id}/{webhook_id}/{secret}" != self.ctx.tokens["slack"]:
            return _text(403, "invalid_token")
        decision = self.ctx.limiter.acquire(["slack"], req.path)
        if not decision.allowed:
            return self._rate_limited(decision)
        try:
            payload = req.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _text(400, "invalid_payload")
        if not isinstance(payload, dict):
            return _text(400, "invalid_payload")
        text = payload.get("text")
        blocks = payload.get("blocks")
        if not (isinstance(text, str) and text.strip()) and not blocks:
            return _text(400, "no_text")
        if isinstance(text, str) and len(text) > MAX_TEXT:
            return _text(400, "invalid_payload")
        if blocks is not None and _block_problem(blocks) is not None:
            return _text(400, "invalid_blocks")
        with self._lock:
            self._messages.append(
                SlackMessage(team_id, webhook_id, payload, hubspot_time(self.ctx.clock.now_ms()))
            )
        return _text(200, "ok")

    def fault(self, status: int, req: Request) -> Response:
        if status == 429:
            return self._rate_limited(Decision(False, "slack", 1, 1.0, 0, 1))
        if status == 403:
            return _text(403, "invalid_token")
        if status == 404:
            return _text(404, "no_service")
        if status < 500:
            return _text(status, "invalid_payload")
        return _text(status, "rollup_error")

    @staticmethod
    def _rate_limited(decision: Decision) -> Response:
        return _text(429, "rate_limited", {"Retry-After": str(decision.retry_after)})
