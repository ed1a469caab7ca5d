"""E-mail shapes: one plain-text message to one recipient, built as a stdlib EmailMessage."""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid


@dataclass(frozen=True)
class Email:
    """A notification: one recipient, a subject line and a plain-text body."""

    to: str
    subject: str
    text: str

    def build(
        self, from_address: str, *, message_id_domain: str = "leadflow.local"
    ) -> EmailMessage:
        message = EmailMessage()
        message["From"] = from_address
        message["To"] = self.to
        # Header injection: a subject is one line, whatever the data held.
        message["Subject"] = " ".join(self.subject.split())[:200]
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=message_id_domain)
        message.set_content(self.text)
        return message
