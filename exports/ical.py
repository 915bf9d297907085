"""iCalendar feeds of homework due dates, per user and per project, for calendar apps.

A feed URL carries the user's secret feed token (User.feed_token) instead of a session, so a
calendar app can subscribe; renewing the token kills every old URL at once. A project's feed
uses the same personal token and is checked against the user's memberships on every fetch:
someone who leaves a project stops seeing it, with nothing shared to revoke.
"""

from __future__ import annotations

import secrets
from datetime import UTC, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from icalendar import Alarm, Calendar, Event
from sqlalchemy.orm import joinedload

import permissions
from accounts.models import User
from core.extensions import db
from minutes.models import Item, Meeting
from projects.models import Project
from tickets.models import Status, Ticket


def ensure_feed_token(user: User) -> str:
    if not user.feed_token:
        user.feed_token = secrets.token_urlsafe(24)
        db.session.flush()
    return user.feed_token


def renew_feed_token(user: User) -> str:
    user.feed_token = secrets.token_urlsafe(24)
    db.session.flush()
    return user.feed_token


def user_by_feed_token(token: str) -> User | None:
    if not token or len(token) > 64:
        return None
    user = db.session.scalar(sa.select(User).where(User.feed_token == token))
    return user if user is not None and user.is_active else None


def open_homework(user: User, *, assignee: User | None = None, project: Project | None = None):
    """(item, ticket, meeting) of open homework with a due date that `user` may see."""
    stmt = (
        sa.select(Item, Ticket, Meeting)
        .join(Ticket, Ticket.id == Item.ticket_id)
        .join(Meeting, Meeting.id == Item.meeting_id)
        .join(Status, Status.id == Ticket.status_id)
        .where(
            Item.kind == "homework",
            Item.deleted_at.is_(None),
            Ticket.due_date.is_not(None),
            Status.is_closed.is_(False),
            permissions.visible_ticket(user, Ticket),
        )
        .options(joinedload(Ticket.assignee), joinedload(Ticket.status))
        .order_by(Ticket.due_date, Ticket.id)
    )
    if assignee is not None:
        stmt = stmt.where(Ticket.assignee_id == assignee.id)
    if project is not None:
        units = sa.select(Project.id).where(Project.parent_id == project.id)
        stmt = stmt.where(sa.or_(Ticket.project_id == project.id, Ticket.project_id.in_(units)))
    return db.session.execute(stmt).all()


def calendar(name: str, rows, ticket_url, alarm_days: int | None = None) -> bytes:
    """One all-day event per homework on its due date, with a reminder at 9:00 `alarm_days`
    days before (SANMAI_ICAL_ALARM_DAYS; 0 for none)."""
    if alarm_days is None:
        alarm_days = current_app.config.get("SANMAI_ICAL_ALARM_DAYS", 1)
    cal = Calendar()
    cal.add("prodid", "-//Sanmai//homework//JA")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", "Asia/Tokyo")
    host = current_app.config.get("SANMAI_BASE_URL", "sanmai").split("//")[-1].split("/")[0]
    seen = set()
    for _item, ticket, meeting in rows:
        if ticket.id in seen:
            continue
        seen.add(ticket.id)
        event = Event()
        # Stable per ticket: a changed due date moves the event instead of adding one.
        event.add("uid", f"homework-{ticket.id}@{host}")
        event.add("dtstamp", ticket.updated_at.replace(tzinfo=UTC))
        event.add("last-modified", ticket.updated_at.replace(tzinfo=UTC))
        event.add("dtstart", ticket.due_date)
        event.add("dtend", ticket.due_date + timedelta(days=1))
        event.add("summary", _("Homework due: %(what)s", what=ticket.subject))
        event.add(
            "description",
            "\n".join(
                [
                    _("Who: %(who)s", who=ticket.who),
                    _("Meeting: %(title)s", title=meeting.title),
                    _("Status: %(status)s", status=ticket.status.name),
                    ticket_url(ticket),
                ]
            ),
        )
        event.add("url", ticket_url(ticket))
        event.add("transp", "TRANSPARENT")
        if alarm_days > 0:
            alarm = Alarm()
            alarm.add("action", "DISPLAY")
            alarm.add("description", _("Homework due: %(what)s", what=ticket.subject))
            # At 9:00 (the calendar's local time) that many days before the due date.
            alarm.add("trigger", timedelta(days=-alarm_days, hours=9))
            event.add_component(alarm)
        cal.add_component(event)
    return cal.to_ical()
