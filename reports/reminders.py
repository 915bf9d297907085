"""Daily reminder digests (`flask --app app remind`): each assignee gets ONE e-mail a day, in
their language, listing their homework that is overdue or due within SANMAI_REMIND_DAYS.

Idempotent: the (user, Japan-time day) row in reminder_sends is claimed and committed before
the mail goes out, so a second run on the same day — even one running at the same time —
skips that person. A failed send releases the claim, so the next run tries again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app, g, render_template, url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.exc import IntegrityError

import permissions
from accounts.models import LANGUAGES, User
from core.extensions import db
from core.mail import Mailer, MailError, build_message
from core.urls import object_url
from reports import queries
from reports.models import ReminderSend
from tickets.models import Status, Ticket


@dataclass
class Digest:
    user: User
    overdue: list[queries.HomeworkLine]
    due_soon: list[queries.HomeworkLine]

    @property
    def count(self) -> int:
        return len(self.overdue) + len(self.due_soon)


@dataclass
class Outcome:
    sent: list[str] = field(default_factory=list)  # logins
    skipped: list[str] = field(default_factory=list)  # already sent today
    failed: list[tuple[str, str]] = field(default_factory=list)  # (login, reason)


def _due_clauses(clock: queries.Clock, days: int) -> list:
    return [
        queries.is_homework(),
        Status.is_closed.is_(False),
        Ticket.due_date <= clock.today + timedelta(days=days),
    ]


def recipients(clock: queries.Clock, days: int) -> list[User]:
    """Active users with an e-mail address who hold open homework due soon or overdue."""
    holders = (
        sa.select(Ticket.assignee_id)
        .join(Status, Status.id == Ticket.status_id)
        .where(*_due_clauses(clock, days))
    )
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.id.in_(holders),
                User.is_active_account.is_(True),
                User.email.is_not(None),
                User.email != "",
            )
            .order_by(User.id)
        )
    )


def digest_for(user: User, clock: queries.Clock, days: int) -> Digest:
    """The user's own due and overdue homework, in the projects they may see."""
    tickets = list(
        db.session.scalars(
            sa.select(Ticket)
            .join(Status, Status.id == Ticket.status_id)
            .where(
                Ticket.assignee_id == user.id,
                permissions.visible_ticket(user, Ticket),
                *_due_clauses(clock, days),
            )
            .order_by(Ticket.due_date, Ticket.id)
            .options(*queries.ticket_loads())
        ).unique()
    )
    lines = queries.with_items(user, tickets)
    return Digest(
        user,
        [line for line in lines if line.ticket.due_date < clock.today],
        [line for line in lines if line.ticket.due_date >= clock.today],
    )


def _claim(user: User, clock: queries.Clock, count: int) -> ReminderSend | None:
    """Record today's digest for `user` before sending; None when it was already sent."""
    claim = ReminderSend(user_id=user.id, day=clock.today, item_count=count, sent_at=clock.now)
    db.session.add(claim)
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return claim


def _release(claim: ReminderSend) -> None:
    db.session.execute(sa.delete(ReminderSend).where(ReminderSend.id == claim.id))
    db.session.commit()


def render_digest(digest: Digest, clock: queries.Clock):
    """The e-mail for one digest, in the user's language, with links to SANMAI_BASE_URL."""
    config = current_app.config
    language = digest.user.language if digest.user.language in LANGUAGES else "ja"
    base_url = config["SANMAI_BASE_URL"].rstrip("/")
    with (
        current_app.test_request_context("/", base_url=base_url + "/"),
        force_locale(language),
    ):
        g.pop("reports_language", None)  # the `named` filter's cache is per language
        context = {
            "digest": digest,
            "clock": clock,
            "days": config["SANMAI_REMIND_DAYS"],
            "ticket_url": lambda t: (
                object_url("tickets.show", t.id, external=True)
                or url_for("reports.homework", _external=True)
            ),
            "my_page_url": url_for("reports.my_page", _external=True),
        }
        subject = _(
            "[Sanmai] Your homework: %(overdue)s overdue, %(soon)s due soon",
            overdue=len(digest.overdue),
            soon=len(digest.due_soon),
        )
        text = render_template("reports/mail/digest.txt", **context)
    return build_message(config, digest.user.email, subject, text)


def send_reminders(clock: queries.Clock | None = None, days: int | None = None) -> Outcome:
    clock = clock or queries.Clock.at()
    days = current_app.config["SANMAI_REMIND_DAYS"] if days is None else days
    outcome = Outcome()
    people = recipients(clock, days)
    already = set(
        db.session.scalars(
            sa.select(ReminderSend.user_id).where(
                ReminderSend.day == clock.today, ReminderSend.user_id.in_([u.id for u in people])
            )
        )
    )
    todo = []
    for user in people:
        if user.id in already:
            outcome.skipped.append(user.login)
            continue
        digest = digest_for(user, clock, days)
        if digest.count:
            todo.append(digest)
    if not todo:
        return outcome
    with Mailer(current_app.config) as mailer:
        for digest in todo:
            message = render_digest(digest, clock)
            claim = _claim(digest.user, clock, digest.count)
            if claim is None:  # another run got there first
                outcome.skipped.append(digest.user.login)
                continue
            try:
                mailer.send(message)
            except MailError as error:
                _release(claim)
                outcome.failed.append((digest.user.login, str(error)))
            else:
                outcome.sent.append(digest.user.login)
    return outcome
