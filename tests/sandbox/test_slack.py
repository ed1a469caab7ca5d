"""The Slack stand-in: incoming webhooks with Slack's answers, its 1/s limit, recorded messages."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sandbox import Sandbox
from tests.sandbox.sandbox_helpers import NOW


@pytest.fixture
def slack() -> Iterator[Sandbox]:
    with Sandbox(leads=5, now=NOW) as sandbox:
        yield sandbox


def post(url: str, body: Any = None, data: bytes | None = None) -> requests.Response:
    if data is not None:
        return requests.post(
            url, data=data, headers={"Content-Type": "application/json"}, timeout=5
        )
    return requests.post(url, json=body, timeout=5)


def test_a_valid_message_is_answered_ok_in_plain_text_and_recorded(slack: Sandbox) -> None:
    # GIVEN a Block Kit message WHEN posted to the webhook
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*New lead*"}}]
    response = post(slack.slack_webhook_url, {"text": "New lead", "blocks": blocks})
    # THEN Slack's plain "ok" comes back and the channel shows the message
    assert (response.status_code, response.text) == (200, "ok")
    [message] = slack.slack_messages()
    assert message.payload == {"text": "New lead", "blocks": blocks}
    assert (message.team_id, message.webhook_id) == ("T00SANDBOX", "B00SANDBOX")


@pytest.mark.parametrize(
    ("path", "status", "body"),
    [
        pytest.param(
            "/services/T00SANDBOX/B00SANDBOX/wrong-secret", 403, "invalid_token", id="secret"
        ),
        pytest.param("/services/not-a-webhook", 404, "no_service", id="shape"),
        pytest.param("/api/chat.postMessage", 404, "no_service", id="other-path"),
    ],
)
def test_a_wrong_webhook_url_is_refused_like_slack(
    slack: Sandbox, path: str, status: int, body: str
) -> None:
    response = post(slack.urls["slack"] + path, {"text": "hi"})
    assert (response.status_code, response.text) == (status, body)
    assert slack.slack_messages() == []


@pytest.mark.parametrize(
    ("payload", "raw", "error"),
    [
        pytest.param(None, b"{not json", "invalid_payload", id="bad-json"),
        pytest.param(["a", "list"], None, "invalid_payload", id="not-an-object"),
        pytest.param({"username": "x"}, None, "no_text", id="no-text"),
        pytest.param({"text": "   "}, None, "no_text", id="blank-text"),
        pytest.param(
            {"text": "x", "blocks": [{"type": "banner"}]}, None, "invalid_blocks", id="type"
        ),
        pytest.param(
            {
                "text": "x",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3001}}],
            },
            None,
            "invalid_blocks",
            id="section-too-long",
        ),
        pytest.param(
            {"text": "x", "blocks": [{"type": "section"}]},
            None,
            "invalid_blocks",
            id="empty-section",
        ),
    ],
)
def test_a_bad_payload_is_a_400_naming_the_problem(
    slack: Sandbox, payload: Any, raw: bytes | None, error: str
) -> None:
    response = post(slack.slack_webhook_url, payload, raw)
    assert (response.status_code, response.text) == (400, error)
    assert slack.slack_messages() == []


def test_more_than_one_message_a_second_is_a_429_with_retry_after(slack: Sandbox) -> None:
    # GIVEN Slack's one message per second per webhook
    assert post(slack.slack_webhook_url, {"text": "one"}).status_code == 200
    # WHEN a second message follows at once
    response = post(slack.slack_webhook_url, {"text": "two"})
    # THEN it is refused with Retry-After, and not recorded
    assert response.status_code == 429 and response.text == "rate_limited"
    assert int(response.headers["Retry-After"]) >= 1
    assert [m.payload["text"] for m in slack.slack_messages()] == ["one"]


@pytest.mark.parametrize(("status", "body"), [(500, "rollup_error"), (429, "rate_limited")])
def test_injected_faults_answer_in_slacks_shape(slack: Sandbox, status: int, body: str) -> None:
    slack.inject_faults("slack", status, 1)
    response = post(slack.slack_webhook_url, {"text": "x"})
    assert (response.status_code, response.text) == (status, body)
    assert slack.slack_messages() == []


def test_the_control_endpoint_lists_messages(slack: Sandbox) -> None:
    post(slack.slack_webhook_url, {"text": "hello"})
    listed = requests.get(slack.urls["slack"] + "/_sandbox/slack/messages", timeout=5).json()
    assert [m["payload"] for m in listed] == [{"text": "hello"}]
    # the webhook secret is not echoed back
    assert "sandbox-slack-webhook-secret" not in str(listed)
