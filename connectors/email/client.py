"""One SMTP connection per run (smtplib), with the project's error taxonomy.

- Retriable: connection refused or dropped, timeouts, and 4yz replies (the server says "later").
- Fatal: 5yz replies (a refused sender, recipient or message); `AuthError` for refused credentials,
  or a server that lacks the STARTTLS / AUTH the config asks for.

smtplib's own exceptions quote the addresses involved, so they are never passed on: messages carry
only the reply code and the step that failed.
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from types import TracebackType

from pydantic import SecretStr

from connectors.email import settings
from connectors.http import AuthError, ConnectorError, FatalError, RetriableError

SOURCE = "email"


def _reply_error(step: str, code: int) -> ConnectorError:
    what = f"{step} failed with SMTP {code}"
    if code in settings.AUTH_FAILURES:
        return AuthError(SOURCE, f"{what}: check the SMTP username and password", status=code)
    if code in settings.TRANSIENT:
        return RetriableError(SOURCE, what, status=code, category="transient")
    return FatalError(SOURCE, what, status=code, category="permanent")


@dataclass
class SmtpClient:
    """Opened lazily on the first send and kept for the run; `close()` sends QUIT."""

    host: str
    port: int
    from_address: str
    timeout_s: float = 10.0
    starttls: bool = False
    username: str | None = None
    password: SecretStr | None = None
    _smtp: smtplib.SMTP | None = field(default=None, init=False, repr=False)

    def _connect(self) -> smtplib.SMTP:
        step = "connect"
        try:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            try:
                step = "EHLO"
                smtp.ehlo()
                if self.starttls:
                    step = "STARTTLS"
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if self.username is not None and self.password is not None:
                    step = "AUTH"
                    smtp.login(self.username, self.password.get_secret_value())
            except BaseException:
                smtp.close()
                raise
        except smtplib.SMTPServerDisconnected:
            raise RetriableError(SOURCE, f"{step}: the server closed the connection") from None
        except smtplib.SMTPNotSupportedError:
            raise AuthError(SOURCE, f"the SMTP server does not offer {step}") from None
        except smtplib.SMTPAuthenticationError as exc:
            raise _reply_error(step, exc.smtp_code) from None
        except smtplib.SMTPResponseException as exc:
            raise _reply_error(step, exc.smtp_code) from None
        except smtplib.SMTPException as exc:
            # e.g. "SMTP AUTH extension not supported by server"
            raise AuthError(SOURCE, f"{step} failed: {type(exc).__name__}") from None
        except TimeoutError:
            raise RetriableError(SOURCE, f"{step} timed out") from None
        except (ConnectionError, OSError):
            raise RetriableError(SOURCE, f"{step}: could not connect") from None
        return smtp

    def send(self, message: EmailMessage) -> None:
        """Send one message; raises RetriableError / FatalError / AuthError when it was not."""
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            refused = self._smtp.send_message(message, from_addr=self.from_address)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            raise _reply_error("RCPT", max(codes) if codes else 550) from None
        except smtplib.SMTPSenderRefused as exc:
            self.close()
            raise _reply_error("MAIL", exc.smtp_code) from None
        except smtplib.SMTPDataError as exc:
            raise _reply_error("DATA", exc.smtp_code) from None
        except smtplib.SMTPResponseException as exc:
            self.close()
            raise _reply_error("send", exc.smtp_code) from None
        except (smtplib.SMTPServerDisconnected, TimeoutError, OSError):
            self._drop()
            raise RetriableError(SOURCE, "the SMTP connection dropped during send") from None
        if refused:
            codes = [code for code, _ in refused.values()]
            raise _reply_error("RCPT", max(codes))

    def _drop(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None

    def close(self) -> None:
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass  # the server went first; nothing is lost by not saying goodbye
        finally:
            self._drop()

    def __enter__(self) -> SmtpClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
