"""`flask remind`: one digest per assignee per day, in their language, against a real SMTP
server (aiosmtpd) started in the test, reading back what it received."""

import email
import email.policy
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from core.extensions import db
from core.timeutil import local_today
from reports.models import ReminderSend
from reports.queries import Clock
from reports.reminders import send_reminders
from tests.fixtures.ports import free_port

# Wednesday 25 November 2026, 07:00 in Japan.
MORNING = Clock(datetime(2026, 11, 24, 22, 0))


class Inbox:
    def __init__(self):
        self.messages = []
        self.logins = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.rcpt_tos, message))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        self.logins.append((auth_data.login.decode(), auth_data.password.decode()))
        return AuthResult(success=auth_data.password == b"s3cret")

    def to(self, address):
        return [m for rcpt, m in self.messages if address in rcpt]


@pytest.fixture
def smtp(app):
    inbox = Inbox()
    # Controller(port=0) fails: its readiness check connects to the port it was given.
    port = free_port()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=port,
        authenticator=inbox.authenticate,
        auth_require_tls=False,
    )
    controller.start()
    saved = {k: app.config[k] for k in app.config if k.startswith("SANMAI_")}
    app.config.update(
        SANMAI_SMTP_HOST="127.0.0.1",
        SANMAI_SMTP_PORT=port,
        SANMAI_SMTP_TLS="off",
        SANMAI_SMTP_USER="",
        SANMAI_MAIL_FROM="sanmai@city.example.jp",
        SANMAI_BASE_URL="https://sanmai.city.example.jp/",
        SANMAI_REMIND_DAYS=3,
    )
    yield inbox
    controller.stop()
    app.config.update(saved)


@pytest.fixture
def team(make_user, make_unit):
    sato = make_user(login="sato", name="佐藤 花子", email="sato@city.example.jp")
    nakamura = make_user(
        login="nakamura", name="Rena Nakamura", email="nakamura@vendor.example.jp", language="en"
    )
    unit = make_unit(members={sato: "member", nakamura: "member"})
    return sato, nakamura, unit


def _body(message) -> str:
    return message.get_body(("plain",)).get_content()


def test_each_assignee_gets_one_digest_in_their_language_with_links(smtp, team, make_homework):
    sato, nakamura, unit = team
    late = make_homework(
        unit, who=sato, due_date=date(2026, 11, 20), what="住基の帳票レイアウトを確認する"
    )
    soon = make_homework(unit, who=sato, due_date=date(2026, 11, 28), what="転出証明の文言案を出す")
    make_homework(unit, who=sato, due_date=date(2026, 12, 10), what="来月の作業")  # not yet
    make_homework(unit, who=sato, due_date=date(2026, 11, 1), status="完了")  # done
    make_homework(unit, who=nakamura, due_date=date(2026, 11, 25), what="Send the test plan")

    outcome = send_reminders(MORNING)

    assert sorted(outcome.sent) == ["nakamura", "sato"]
    assert len(smtp.messages) == 2
    (ja,) = smtp.to("sato@city.example.jp")
    assert "宿題" in ja["Subject"] and "期限超過 1件" in ja["Subject"]
    assert ja["From"] == "sanmai@city.example.jp"
    body = _body(ja)
    assert "住基の帳票レイアウトを確認する" in body and "転出証明の文言案を出す" in body
    assert "来月の作業" not in body
    assert "5日超過" in body
    assert f"https://sanmai.city.example.jp/issues/{late.ticket_id}" in body
    assert f"https://sanmai.city.example.jp/issues/{soon.ticket_id}" in body
    assert "https://sanmai.city.example.jp/my/page" in body
    (en,) = smtp.to("nakamura@vendor.example.jp")
    assert en["Subject"].startswith("[Sanmai] Your homework")
    assert "Send the test plan" in _body(en) and "today" in _body(en)


def test_running_twice_on_one_day_sends_one_digest(smtp, team, make_homework):
    sato, _, unit = team
    make_homework(unit, who=sato, due_date=date(2026, 11, 20))

    first = send_reminders(MORNING)
    second = send_reminders(Clock(MORNING.now + timedelta(hours=10)))  # 17:00, same day

    assert first.sent == ["sato"] and second.sent == [] and second.skipped == ["sato"]
    assert len(smtp.messages) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReminderSend)) == 1


def test_the_next_day_brings_a_new_digest(smtp, team, make_homework):
    sato, _, unit = team
    make_homework(unit, who=sato, due_date=date(2026, 11, 20))

    send_reminders(MORNING)
    send_reminders(Clock(MORNING.now + timedelta(days=1)))

    assert len(smtp.to("sato@city.example.jp")) == 2


def test_homework_in_a_project_the_assignee_cannot_see_is_left_out(
    smtp, team, make_homework, make_unit, make_user
):
    sato, _, unit = team
    foreign = make_unit(members={make_user(): "manager"})
    make_homework(foreign, who=sato, due_date=date(2026, 11, 20), what="他市の宿題")
    make_homework(unit, who=sato, due_date=date(2026, 11, 21), what="自分の宿題")

    send_reminders(MORNING)

    (message,) = smtp.to("sato@city.example.jp")
    assert "自分の宿題" in _body(message) and "他市の宿題" not in _body(message)


def test_the_command_twice_on_one_day(app, smtp, team, make_homework):
    sato, _, unit = team
    make_homework(unit, who=sato, due_date=local_today() - timedelta(days=1))
    runner = app.test_cli_runner()

    first = runner.invoke(args=["remind"])
    second = runner.invoke(args=["remind"])

    assert first.exit_code == 0 and "1 sent" in first.output
    assert second.exit_code == 0 and "0 sent, 1 already sent today" in second.output
    assert len(smtp.messages) == 1


def test_smtp_login_uses_the_configured_user(app, smtp, team, make_homework):
    sato, _, unit = team
    make_homework(unit, who=sato, due_date=date(2026, 11, 20))
    app.config.update(SANMAI_SMTP_USER="sanmai", SANMAI_SMTP_PASSWORD="s3cret")

    send_reminders(MORNING)

    assert smtp.logins == [("sanmai", "s3cret")] and len(smtp.messages) == 1


def test_when_the_server_is_down_nothing_is_recorded_and_the_command_fails(
    app, smtp, team, make_homework
):
    sato, _, unit = team
    make_homework(unit, who=sato, due_date=local_today() - timedelta(days=1))
    app.config["SANMAI_SMTP_PORT"] = free_port()  # nobody listens there

    result = app.test_cli_runner().invoke(args=["remind"])

    assert result.exit_code != 0 and "cannot connect" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReminderSend)) == 0
