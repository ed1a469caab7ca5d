"""The SMTP client against the sandbox: one connection, plain-text mail, the error taxonomy."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from connectors.email import Email, SmtpClient, open_client, send_email
from connectors.http import AuthError, FatalError, RetriableError
from leadflow.config import EmailNotifyConfig
from sandbox import Sandbox
from tests.sandbox.sandbox_helpers import NOW

MAIL = Email(to="rep@quillstone.example", subject="New lead\r\nBcc: x@evil.example", text="Hi\n")


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox(leads=5, now=NOW) as sandbox:
        yield sandbox


def smtp_client(sb: Sandbox, **kw: object) -> SmtpClient:
    host, port = sb.smtp_address
    return SmtpClient(host=host, port=port, from_address="leadflow@quillstone.example", **kw)  # type: ignore[arg-type]


def test_messages_go_out_over_one_connection(sb: Sandbox) -> None:
    with smtp_client(sb) as client:
        send_email(client, MAIL)
        send_email(client, Email(to="other@quillstone.example", subject="Two", text="2\n"))
    first, second = sb.emails()
    assert first.recipients == ("rep@quillstone.example",)
    # a subject is one line whatever the data held: no header injection
    assert first.message["Subject"] == "New lead Bcc: x@evil.example"
    assert first.message["Bcc"] is None
    assert first.message.get_content() == "Hi\n"
    assert second.recipients == ("other@quillstone.example",)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        pytest.param(451, RetriableError, id="4xx-transient"),
        pytest.param(421, RetriableError, id="421-closing"),
        pytest.param(550, FatalError, id="5xx-permanent"),
    ],
)
def test_reply_codes_map_to_the_error_taxonomy(sb: Sandbox, code: int, error: type) -> None:
    sb.inject_faults("smtp", code, 1)
    with smtp_client(sb) as client, pytest.raises(error) as err:
        send_email(client, MAIL)
    # the message names the step and the code, never the address
    assert str(code) in str(err.value) and "rep@" not in str(err.value)


def test_a_server_that_is_down_is_retriable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = SmtpClient(host="127.0.0.1", port=port, from_address="a@b.io", timeout_s=2)
    with pytest.raises(RetriableError, match="could not connect"):
        send_email(client, MAIL)


def test_credentials_against_a_server_without_auth_are_an_auth_error(sb: Sandbox) -> None:
    client = smtp_client(sb, username="leadflow", password=SecretStr("s3cret-pass"))
    with pytest.raises(AuthError) as err:
        send_email(client, MAIL)
    assert "s3cret-pass" not in str(err.value)


def test_starttls_against_a_server_without_it_is_an_auth_error(sb: Sandbox) -> None:
    with pytest.raises(AuthError, match="does not offer STARTTLS"):
        send_email(smtp_client(sb, starttls=True), MAIL)


def test_open_client_reads_credentials_from_the_environment(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    host, port = sb.smtp_address
    # not a word other tests' text contains: whatever read_secret reads is masked from then on
    monkeypatch.setenv("SMTP_USER", "smtp-relay-7q4x")
    monkeypatch.setenv("SMTP_PASS", "pw-123456")
    config = EmailNotifyConfig(
        host=host, port=port, username_env="SMTP_USER", password_env="SMTP_PASS"
    )
    client = open_client(config)
    assert client.username == "smtp-relay-7q4x" and client.password is not None
    assert "pw-123456" not in repr(client)
