"""Reminders over TLS: SANMAI_SMTP_TLS=starttls and =ssl against a real aiosmtpd server with a
certificate made for the test (the client trusts only the test's CA)."""

import ssl
from datetime import date, datetime

import pytest
from aiosmtpd.controller import Controller

from core import mail
from reports.queries import Clock
from reports.reminders import send_reminders
from tests.fixtures.ports import free_port
from tests.fixtures.tls import make_certificates
from tests.test_remind import Inbox


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """(CA, server certificate, server key)."""
    return make_certificates(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def trust(monkeypatch, certificate):
    """The mailer verifies the server as always, against the test's CA only."""
    ca, _cert, _key = certificate
    original = ssl.create_default_context
    monkeypatch.setattr(
        mail.ssl,
        "create_default_context",
        lambda *args, **kwargs: original(*args, **{**kwargs, "cafile": str(ca)}),
    )


def _server(certificate, mode):
    _ca, cert, key = certificate
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    inbox, port = Inbox(), free_port()
    if mode == "ssl":
        controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=context)
    else:
        controller = Controller(
            inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True
        )
    return inbox, port, controller


@pytest.mark.parametrize("mode", ["starttls", "ssl"])
def test_digest_sent_over_tls(app, trust, certificate, make_user, make_unit, make_homework, mode):
    inbox, port, controller = _server(certificate, mode)
    controller.start()
    saved = {k: app.config[k] for k in ("SANMAI_SMTP_HOST", "SANMAI_SMTP_PORT", "SANMAI_SMTP_TLS")}
    app.config.update(SANMAI_SMTP_HOST="127.0.0.1", SANMAI_SMTP_PORT=port, SANMAI_SMTP_TLS=mode)
    try:
        sato = make_user(email="sato@city.example.jp")
        unit = make_unit(members={sato: "member"})
        make_homework(unit, who=sato, due_date=date(2026, 11, 20))

        outcome = send_reminders(Clock(datetime(2026, 11, 24, 22, 0)))
    finally:
        controller.stop()
        app.config.update(saved)

    assert outcome.sent == [sato.login]
    (message,) = inbox.to("sato@city.example.jp")
    assert "宿題" in message["Subject"]


def test_an_unknown_tls_mode_is_refused(app):
    with pytest.raises(mail.MailError, match="SANMAI_SMTP_TLS"):
        mail.Mailer({**app.config, "SANMAI_SMTP_TLS": "yes"})
