"""Sending e-mail over SMTP with the settings from the environment (config.py):
SANMAI_SMTP_HOST, _PORT, _TLS (off | starttls | ssl), _USER, _PASSWORD, SANMAI_MAIL_FROM."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

TLS_MODES = ("off", "starttls", "ssl")


class MailError(RuntimeError):
    pass


def build_message(config, to: str, subject: str, text: str, html: str | None = None):
    message = EmailMessage()
    message["From"] = config["SANMAI_MAIL_FROM"]
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=config["SANMAI_MAIL_FROM"].rpartition("@")[2] or None)
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype="html")
    return message


class Mailer:
    """One SMTP connection for a batch of messages: `with Mailer(config) as m: m.send(msg)`."""

    def __init__(self, config, timeout: float = 30):
        self.host = config["SANMAI_SMTP_HOST"]
        self.port = int(config["SANMAI_SMTP_PORT"])
        self.tls = (config["SANMAI_SMTP_TLS"] or "off").lower()
        self.user = config["SANMAI_SMTP_USER"]
        self.password = config["SANMAI_SMTP_PASSWORD"]
        self.timeout = timeout
        self.smtp: smtplib.SMTP | None = None
        if self.tls not in TLS_MODES:
            raise MailError(
                f"SANMAI_SMTP_TLS must be one of {', '.join(TLS_MODES)}, not {self.tls!r}"
            )

    def __enter__(self) -> Mailer:
        try:
            if self.tls == "ssl":
                self.smtp = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                self.smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.tls == "starttls":
                    self.smtp.starttls(context=ssl.create_default_context())
            if self.user:
                self.smtp.login(self.user, self.password)
        except (OSError, smtplib.SMTPException) as error:
            raise MailError(f"cannot connect to {self.host}:{self.port}: {error}") from error
        return self

    def send(self, message: EmailMessage) -> None:
        try:
            self.smtp.send_message(message)
        except smtplib.SMTPException as error:
            raise MailError(f"sending to {message['To']} failed: {error}") from error

    def __exit__(self, *exc) -> None:
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (OSError, smtplib.SMTPException):
                self.smtp.close()
