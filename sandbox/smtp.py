"""A minimal SMTP server (RFC 5321) that hands every message it accepts to the Sandbox, for tests.

Commands: EHLO, HELO, MAIL FROM, RCPT TO, DATA, RSET, NOOP, QUIT, with the replies and sequence rules
a client library (smtplib) expects: 220 greeting, 250 for each accepted step, 354 before the message,
503 for a command out of order, 500/501 for an unknown command or a bad argument. No STARTTLS and no
AUTH are offered (EHLO does not list them), as on an internal relay; a client that insists gets the
error it would get from such a relay. Loopback only.

`FaultInjector` faults for vendor "smtp" make the next MAIL FROM answer with that code (421: a
transient refusal a sender retries later; 550: a permanent one), so retries can be tested.
"""

from __future__ import annotations

import email
import email.policy
import logging
import re
import socket
import socketserver
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

from sandbox.clock import Clock, hubspot_time
from sandbox.limits import FaultInjector

log = logging.getLogger("sandbox")

MAX_LINE = 1000  # RFC 5321 4.5.3.1.6, CRLF included
MAX_MESSAGE = 10 * 1024 * 1024
MAX_RECIPIENTS = 100
_PATH_RE = re.compile(r"^(FROM|TO):\s*<([^<>]*)>(\s+.*)?$", re.IGNORECASE)
_REPLIES = {
    421: "421 4.3.0 Service not available, closing transmission channel",
    450: "450 4.2.1 Mailbox unavailable, try again later",
    451: "451 4.3.0 Local error in processing",
    452: "452 4.3.1 Insufficient system storage",
    550: "550 5.7.1 Message rejected",
    554: "554 5.0.0 Transaction failed",
}


@dataclass(frozen=True)
class SmtpMessage:
    """One accepted message: the envelope and the parsed message."""

    mail_from: str
    recipients: tuple[str, ...]
    message: EmailMessage
    received_at: str  # ISO-8601 on the sandbox clock


class _Handler(socketserver.StreamRequestHandler):
    server: SmtpServer

    def _reply(self, line: str) -> None:
        self.wfile.write(line.encode("ascii") + b"\r\n")
        self.wfile.flush()

    def _readline(self) -> bytes | None:
        line = self.rfile.readline(MAX_LINE + 1)
        return line if line else None

    def handle(self) -> None:
        self.connection.settimeout(30)
        self._reply(f"220 {self.server.hostname} ESMTP LeadFlow sandbox ready")
        sender: str | None = None
        recipients: list[str] = []
        greeted = False
        try:
            while True:
                raw = self._readline()
                if raw is None:
                    return
                if len(raw) > MAX_LINE:
                    self._reply("500 5.5.2 Line too long")
                    continue
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                verb, _, arg = line.partition(" ")
                verb = verb.upper()
                if verb == "EHLO" or verb == "HELO":
                    if not arg.strip():
                        self._reply(f"501 5.5.4 Syntax: {verb} hostname")
                        continue
                    greeted, sender, recipients = True, None, []
                    if verb == "HELO":
                        self._reply(f"250 {self.server.hostname}")
                    else:
                        self._reply(f"250-{self.server.hostname} greets {arg.strip()[:64]}")
                        self._reply(f"250-SIZE {MAX_MESSAGE}")
                        self._reply("250-8BITMIME")
                        self._reply("250 SMTPUTF8")
                elif verb == "NOOP":
                    self._reply("250 2.0.0 OK")
                elif verb == "RSET":
                    sender, recipients = None, []
                    self._reply("250 2.0.0 OK")
                elif verb == "QUIT":
                    self._reply("221 2.0.0 Bye")
                    return
                elif verb == "MAIL":
                    if not greeted:
                        self._reply("503 5.5.1 Send EHLO or HELO first")
                    elif sender is not None:
                        self._reply("503 5.5.1 Sender already given")
                    else:
                        address = self._path(arg, "FROM")
                        if address is None:
                            continue
                        fault = self.server.faults.take("smtp", "MAIL")
                        if fault is not None:
                            self._reply(_REPLIES.get(fault, f"{fault} Transaction failed"))
                            if fault == 421:
                                return
                            continue
                        sender = address
                        self._reply("250 2.1.0 OK")
                elif verb == "RCPT":
                    if sender is None:
                        self._reply("503 5.5.1 Need MAIL before RCPT")
                        continue
                    address = self._path(arg, "TO")
                    if address is None:
                        continue
                    if "@" not in address:
                        self._reply("501 5.1.3 Bad recipient address syntax")
                    elif len(recipients) >= MAX_RECIPIENTS:
                        self._reply("452 4.5.3 Too many recipients")
                    else:
                        recipients.append(address)
                        self._reply("250 2.1.5 OK")
                elif verb == "DATA":
                    if not recipients or sender is None:
                        self._reply("503 5.5.1 Need RCPT before DATA")
                        continue
                    self._reply("354 End data with <CR><LF>.<CR><LF>")
                    data = self._read_data()
                    if data is None:
                        self._reply(f"552 5.3.4 Message exceeds {MAX_MESSAGE} bytes")
                    else:
                        self.server.accept(sender, recipients, data)
                        self._reply("250 2.0.0 OK: queued")
                    sender, recipients = None, []
                elif verb in ("STARTTLS", "AUTH"):
                    self._reply("502 5.5.1 Command not implemented")
                else:
                    self._reply("500 5.5.2 Command unrecognized")
        except (ConnectionError, TimeoutError, OSError):
            return

    def _path(self, arg: str, keyword: str) -> str | None:
        match = _PATH_RE.match(arg.strip())
        if match is None or match.group(1).upper() != keyword:
            self._reply(
                f"501 5.5.4 Syntax: {'MAIL FROM' if keyword == 'FROM' else 'RCPT TO'}:<address>"
            )
            return None
        return match.group(2).strip()

    def _read_data(self) -> bytes | None:
        """Lines up to a lone ".", dot-unstuffed; None (after draining) when it is too large."""
        chunks: list[bytes] = []
        size = 0
        too_big = False
        while True:
            raw = self.rfile.readline(MAX_MESSAGE + 2)
            if not raw:
                raise ConnectionError("the client went away inside DATA")
            if raw in (b".\r\n", b".\n"):
                break
            if raw.startswith(b".."):
                raw = raw[1:]
            if raw.endswith(b"\r\n"):
                raw = raw[:-2] + b"\n"  # the wire's CRLF, stored as the parser's line ends
            size += len(raw)
            if size > MAX_MESSAGE:
                too_big = True
            elif not too_big:
                chunks.append(raw)
        return None if too_big else b"".join(chunks)


class SmtpServer(socketserver.ThreadingTCPServer):
    """The SMTP stand-in: one thread per connection, messages kept in memory."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        host: str,
        port: int,
        clock: Clock,
        faults: FaultInjector,
        on_message: Callable[[SmtpMessage], None],
    ) -> None:
        self.hostname = "sandbox.leadflow.local"
        self.clock = clock
        self.faults = faults
        self.on_message = on_message
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), _Handler)

    def accept(self, sender: str, recipients: list[str], data: bytes) -> None:
        parsed: Any = email.message_from_bytes(data, policy=email.policy.default)
        self.on_message(
            SmtpMessage(sender, tuple(recipients), parsed, hubspot_time(self.clock.now_ms()))
        )

    @property
    def port(self) -> int:
        return int(self.server_address[1])
