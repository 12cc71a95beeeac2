"""E-mail over SMTP (smtplib), plain text in UTF-8, over TLS unless turned off: STARTTLS
(port 587) or implicit TLS (SMTPS, port 465). The server's certificate is checked against
the system's CAs, or against ``PORTAL_SMTP_CA_FILE`` for a relay with a private CA.

There is no delivery report for e-mail: the receiving server's acceptance is the last
thing we learn, so a sent e-mail also counts as delivered.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from portal.integrations.channels import ChannelError, Envelope, Sent


class SmtpEmailChannel:
    name = "email"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        user: str,
        password: str,
        tls: str,
        sender: str,
        ca_file: str | None = None,
        timeout: float = 20.0,
    ) -> None:
        if tls not in ("starttls", "implicit", "off"):
            raise ValueError(f"unknown SMTP TLS mode {tls!r}")
        self.host, self.port, self.user, self.password = host, port, user, password
        self.tls, self.ca_file, self.sender, self.timeout = tls, ca_file, sender, timeout

    def _connect(self) -> smtplib.SMTP:
        if self.tls == "implicit":
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=self._context())
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.tls == "starttls":
            try:
                smtp.starttls(context=self._context())
            except BaseException:
                smtp.close()
                raise
        return smtp

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.ca_file)

    def build(self, envelope: Envelope) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = envelope.to
        message["Subject"] = envelope.subject or ""
        message["Date"] = formatdate(localtime=False)
        domain = self.sender.rpartition("@")[2] or None
        message["Message-ID"] = make_msgid(idstring=f"outbox.{envelope.reference}", domain=domain)
        for name, value in envelope.headers.items():
            message[name] = value
        message.set_content(envelope.body, charset="utf-8")
        return message

    def send(self, envelope: Envelope) -> Sent:
        message = self.build(envelope)
        try:
            with self._connect() as smtp:
                if self.user:
                    smtp.login(self.user, self.password)
                refused = smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused:
            raise ChannelError("smtp server refused the recipient", transient=False) from None
        except smtplib.SMTPResponseException as error:
            # 5xx is permanent, 4xx temporary (RFC 5321); the server's text may quote the address.
            raise ChannelError(f"smtp server answered {error.smtp_code}", transient=error.smtp_code < 500) from None
        except (smtplib.SMTPException, OSError) as error:
            raise ChannelError(f"smtp failed ({type(error).__name__})") from None
        if refused:
            raise ChannelError("smtp server refused the recipient", transient=False)
        return Sent(provider_id=message["Message-ID"], delivered=True)
