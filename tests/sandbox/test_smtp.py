"""The SMTP stand-in: the RFC 5321 dialogue smtplib speaks, sequence errors, faults, recorded mail."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from sandbox import Sandbox
from tests.sandbox.sandbox_helpers import NOW


@pytest.fixture
def smtp() -> Iterator[Sandbox]:
    with Sandbox(leads=5, now=NOW) as sandbox:
        yield sandbox


def message(to: str = "rep@quillstone.example", body: str = "Hello\n") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "leadflow@quillstone.example"
    msg["To"] = to
    msg["Subject"] = "New lead assigned"
    msg.set_content(body)
    return msg


class Dialogue:
    """A raw SMTP conversation, one command and its reply at a time."""

    def __init__(self, address: tuple[str, int]) -> None:
        self.sock = socket.create_connection(address, timeout=5)
        self.file = self.sock.makefile("rb")
        self.greeting = self.reply()

    def reply(self) -> str:
        lines = []
        while True:
            line = self.file.readline().decode().rstrip("\r\n")
            lines.append(line)
            if len(line) < 4 or line[3] != "-":
                return "\n".join(lines)

    def send(self, line: str) -> str:
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def test_smtplib_delivers_and_the_sandbox_keeps_envelope_and_message(smtp: Sandbox) -> None:
    # GIVEN a message whose body has a line starting with a dot (SMTP dot-stuffing)
    with smtplib.SMTP(*smtp.smtp_address, timeout=5) as client:
        client.ehlo()
        refused = client.send_message(message(body="Hello\n.hidden dot\n"))
    # THEN it is accepted as sent, with the dot line intact
    assert refused == {}
    [mail] = smtp.emails()
    assert mail.mail_from == "leadflow@quillstone.example"
    assert mail.recipients == ("rep@quillstone.example",)
    assert mail.message["Subject"] == "New lead assigned"
    assert mail.message.get_content() == "Hello\n.hidden dot\n"


def test_the_dialogue_follows_rfc_5321(smtp: Sandbox) -> None:
    talk = Dialogue(smtp.smtp_address)
    try:
        assert talk.greeting.startswith("220 ")
        assert talk.send("MAIL FROM:<a@b.io>").startswith("503")  # no EHLO yet
        ehlo = talk.send("EHLO client.example")
        assert ehlo.startswith("250-") and "STARTTLS" not in ehlo and "AUTH" not in ehlo
        assert talk.send("RCPT TO:<c@d.io>").startswith("503")  # no MAIL yet
        assert talk.send("DATA").startswith("503")
        assert talk.send("MAIL FROM:<a@b.io>").startswith("250")
        assert talk.send("MAIL FROM:<a@b.io>").startswith("503")  # sender already given
        assert talk.send("RCPT TO:nobody").startswith("501")  # no angle brackets
        assert talk.send("RCPT TO:<c@d.io>").startswith("250")
        assert talk.send("NOOP").startswith("250")
        assert talk.send("RSET").startswith("250")
        assert talk.send("DATA").startswith("503")  # RSET forgot the transaction
        assert talk.send("HELP").startswith("500")
        assert talk.send("STARTTLS").startswith("502")
        assert talk.send("QUIT").startswith("221")
    finally:
        talk.close()
    assert smtp.emails() == []


def test_a_transient_fault_is_a_4xx_the_sender_can_retry(smtp: Sandbox) -> None:
    # GIVEN the next transaction will be refused for now
    smtp.inject_faults("smtp", 451, 1)
    with smtplib.SMTP(*smtp.smtp_address, timeout=5) as client:
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            client.send_message(message())
        assert refused.value.smtp_code == 451
        client.rset()
        # WHEN the sender tries again THEN it goes through
        client.send_message(message())
    assert len(smtp.emails()) == 1


def test_the_server_listens_on_loopback_only(smtp: Sandbox) -> None:
    host, _port = smtp.smtp_address
    assert host == "127.0.0.1"
