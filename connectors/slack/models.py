"""Slack message shapes: a fallback `text` plus Block Kit blocks, and the helpers that build them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from connectors.slack import settings


def escape(value: str) -> str:
    """Slack's three control characters in mrkdwn text (https://api.slack.com/reference/surfaces/formatting)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def link(url: str, label: str) -> str:
    return f"<{url}|{escape(label)}>"


def _clip(text: str) -> str:
    limit = settings.MAX_SECTION_TEXT
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": _clip(text)[:150]}}


def section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(mrkdwn)}}


def fields(*pairs: tuple[str, str]) -> dict[str, Any]:
    """A section of label/value fields (at most 10, as Slack allows)."""
    return {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": _clip(f"*{escape(label)}*\n{value}")}
            for label, value in pairs[:10]
        ],
    }


def context(mrkdwn: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(mrkdwn)}]}


@dataclass(frozen=True)
class SlackMessage:
    """What a webhook receives. `text` is the notification/fallback line; `blocks` the layout."""

    text: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"text": self.text}
        if self.blocks:
            body["blocks"] = self.blocks[: settings.MAX_BLOCKS]
        return body
