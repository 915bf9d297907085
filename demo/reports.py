"""Demo history for the manager's pages: a year and a half of monthly meetings.

Three business units (住民記録, 個人住民税, and the council's 基盤運用) meet once a month
through the whole previous fiscal year (令和7年度 when this year is 令和8年度) and this year
up to five weeks ago (the minutes demo has the last weeks). Each meeting records the month's
topic of the municipal year — a goal, a result, homework, a preview — and a ticket is raised
now and then. Homework is closed after a while, decided at the next meeting (a result linked
back to it) or left open, late in summer more often, so the dashboard has overdue items and a
chart with a trend, and last year's same weeks fill "this time last year".

Everything goes through the services; times are then moved to the meetings' own dates.
The topics and the series' people: demo/report_topics.py.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from core.extensions import db
from core.timeutil import JST, fiscal_year_bounds, fiscal_year_of, local_today
from demo.base import demo_users
from demo.report_topics import SERIES, SERIES_TITLE, TOPICS
from minutes import carry_over, confirmations, items, meetings, revisions
from minutes import homework as minutes_homework
from minutes.models import Confirmation, Item, ItemEvent, Meeting, Revision
from projects.models import Project
from reports import services as reports
from tickets import services as tickets
from tickets.models import Journal, JournalDetail, Status, Ticket, Tracker

SEASON_LATE = {6: 0.35, 7: 0.55, 8: 0.6, 9: 0.5, 10: 0.3}  # summer work piles up


def load() -> bool:
    marker = SERIES_TITLE.format(unit="住民記録", n=1)
    if db.session.scalar(sa.select(Meeting.id).where(Meeting.title == marker)) is not None:
        return False
    users = demo_users()
    today = local_today()
    year = fiscal_year_of(today)
    rng = random.Random(20260401)
    done = db.session.scalar(sa.select(Status).where(Status.name == "完了"))
    results = {}
    for fy, end in ((year - 1, fiscal_year_bounds(year - 1)[1]), (year, today - timedelta(35))):
        for spec in SERIES if fy == year else SERIES[:2]:
            unit = db.session.scalar(
                sa.select(Project).where(Project.identifier == spec[1].format(fy=fy))
            )
            if unit is not None:
                results[(spec[0], fy)] = _series(unit, spec, users, fy, end, today, rng, done)
    _supersede(results, users, year)
    return True


def _at(day: date, hour: int = 10) -> datetime:
    return datetime.combine(day, time(hour), JST).astimezone(UTC).replace(tzinfo=None)


def _days(fy: int, weekday: int, end: date) -> list[date]:
    """The second `weekday` of every month of fiscal year `fy`, up to `end`."""
    out = []
    for k in range(12):
        first = date(fy + (3 + k) // 12, (3 + k) % 12 + 1, 8)
        day = first + timedelta(days=(weekday - first.weekday()) % 7)
        if day <= end:
            out.append(day)
    return out


def _series(unit, spec, users, fy, end, today, rng, done) -> dict[int, Item]:
    key, _ident, name, weekday, fac, people, holders, author, assignee = spec
    facilitator = users[fac]
    topics = TOPICS[key]
    days = _days(fy, weekday, end)
    pending: dict[int, list[Item]] = {}  # meeting index → homework decided there
    closes: list[tuple[Item, datetime]] = []
    results: dict[int, Item] = {}
    current = fy == fiscal_year_of(today)
    city_side = [
        db.session.scalar(sa.select(Status).where(Status.name == n)) for n in ("確認依頼", "情報")
    ]
    for n, day in enumerate(days):
        topic = topics[day.month]
        meeting = meetings.create_meeting(
            facilitator,
            unit,
            {
                "title": SERIES_TITLE.format(unit=name, n=n + 1),
                "starts_at": _at(day),
                "ends_at": _at(day, 11),
                "place": "本庁舎 4階 情報政策課 会議室",
                "facilitator_id": facilitator.id,
            },
        )
        for login in [fac, *people]:
            meetings.add_attendee(facilitator, meeting, users[login])
        meetings.set_status(facilitator, meeting, "in_session")
        goal = items.add_item(facilitator, meeting, "goal", topic[0])
        text = topic[6] if current and len(topic) > 6 else topic[1]
        results[day.month] = items.add_item(facilitator, meeting, "result", text, parent=goal)
        for homework in pending.pop(n, []):
            decision = f"「{homework.ticket.subject}」の報告を受け、内容を了承した。"
            carry_over.carry_over(facilitator, meeting, homework, decision=decision, goal=goal)
            closes.append((homework, _at(day, 11)))
        whats = [topic[2], topic[3], f"{topic[0]}ための資料をまとめる"] if current else [topic[2]]
        latest = current and n == len(days) - 1
        for k, what in enumerate(whats):
            holder = holders[(3 * n + k) % len(holders)]
            who = users.get(holder) or holder
            # The latest meeting's homework is still running: due today, tomorrow, later.
            due = today + timedelta(days=(0, 1, 9)[k]) if latest else day + timedelta(14 + 7 * k)
            homework = minutes_homework.add_homework(
                facilitator, meeting, who, what, due, goal=goal
            )
            still_open = latest or _plan(homework, day, n, current, today, rng, pending, closes)
            if still_open and rng.random() < 0.45:  # the vendor answered: the ball is with the city
                tickets.update_ticket(
                    homework.ticket.assignee or facilitator,
                    homework.ticket,
                    {"status": city_side[n % 2]},
                    notes="回答しました。ご確認をお願いします。",
                )
        items.add_item(facilitator, meeting, "preview", topic[4])
        if n % 4 == 1:
            items.add_item(facilitator, meeting, "break", f"{name}担当の人事異動の予定を共有した")
        _confirm(meeting, facilitator)
        _backdate(meeting, _at(day))
        if n % 2 == 0:
            _ticket(unit, users[author], users[assignee], topic[5], day, today, rng, done)
    for planned in pending.values():  # the series ended before the meeting that was to decide
        closes.extend((homework, _at(days[-1] + timedelta(days=30), 11)) for homework in planned)
    for homework, at in closes:
        if at.date() < today:
            _close(homework.ticket, at, facilitator, done)
    return results


def _plan(homework, day, n, current, today, rng, pending, closes) -> bool:
    """Decide how this homework ends: closed in time, decided at the next meeting, closed
    late (summer work piles up this year), or — now and then this year — still open (True)."""
    late = SEASON_LATE.get(day.month, 0.12) if current else 0.1
    roll = rng.random()
    if current and roll < 0.07:
        return True  # still open, and overdue by now
    if roll < late:
        closes.append((homework, _at(day + timedelta(days=rng.randint(25, 75)), 16)))
    elif roll < late + 0.3:
        pending.setdefault(n + 1, []).append(homework)
    else:
        closes.append((homework, _at(day + timedelta(days=rng.randint(3, 14)), 16)))
    return False


def _close(ticket: Ticket, at: datetime, fallback, done) -> None:
    """Close at `at` (unless a carry-over already did, then only its date is moved).

    History is written as the rows the ticket services would have left (status change and
    journal with its detail), dated in the past: a year of workflow replayed through the
    services would make `demo load` several times slower for the same pages.
    """
    if ticket.status_id == done.id:
        journal = db.session.scalar(
            sa.select(Journal).where(Journal.ticket_id == ticket.id).order_by(Journal.id.desc())
        )
        if journal is not None:
            journal.created_at = at
    else:
        journal = Journal(
            ticket_id=ticket.id,
            user_id=(ticket.assignee_id or fallback.id),
            notes="対応が完了しました。",
            created_at=at,
        )
        journal.details.append(
            JournalDetail(
                property="attr",
                name="status_id",
                old_value=str(ticket.status_id),
                new_value=str(done.id),
            )
        )
        db.session.add(journal)
        ticket.status_id = done.id
        ticket.version += 1
    ticket.closed_at = ticket.updated_at = at


def _ticket(unit, author, assignee, subject, day, today, rng, done) -> None:
    tracker = db.session.scalar(sa.select(Tracker).where(Tracker.name == "問い合わせ管理"))
    raised = day + timedelta(days=rng.randint(1, 6))
    if raised >= today:
        return
    ticket = tickets.create_ticket(
        author,
        unit,
        {
            "subject": subject,
            "tracker_id": tracker.id,
            "assignee": assignee,
            "due_date": raised + timedelta(days=14),
            "description": "### どの画面・帳票・データが\n"
            + subject
            + "\n\n### 結果と得たい成果の差\n"
            "正しく処理されるようにしたい。",
        },
    )
    ticket.created_at = ticket.updated_at = _at(raised, 9)
    closed = raised + timedelta(days=rng.randint(5, 25))
    if closed < today:
        _close(ticket, _at(closed, 17), author, done)


def _confirm(meeting: Meeting, facilitator) -> None:
    revision = revisions.freeze(facilitator, meeting)
    for attendee in meeting.attendees:
        confirmations.record_in_room(facilitator, revision, attendee)


def _backdate(meeting: Meeting, start: datetime) -> None:
    """Items, events, homework tickets, the revision and its sign-offs dated in the meeting
    (a few UPDATEs; the rows in the session are not read back)."""
    end = start + timedelta(hours=1)
    homework = sa.select(Item.ticket_id).where(
        Item.meeting_id == meeting.id, Item.kind == "homework"
    )
    frozen = sa.select(Revision.id).where(Revision.meeting_id == meeting.id)
    plain = {"synchronize_session": False}
    for statement in (
        sa.update(Item)
        .where(Item.meeting_id == meeting.id)
        .values(created_at=start, updated_at=start),
        sa.update(Ticket).where(Ticket.id.in_(homework)).values(created_at=start, updated_at=start),
        sa.update(Journal).where(Journal.ticket_id.in_(homework)).values(created_at=start),
        sa.update(ItemEvent).where(ItemEvent.meeting_id == meeting.id).values(at=start),
        sa.update(Revision).where(Revision.meeting_id == meeting.id).values(frozen_at=end),
        sa.update(Confirmation)
        .where(Confirmation.revision_id.in_(frozen))
        .values(at=end + timedelta(minutes=2)),
        sa.update(Meeting)
        .where(Meeting.id == meeting.id)
        .values(created_at=start - timedelta(days=3), updated_at=end),
    ):
        db.session.execute(statement, execution_options=plain)


def _supersede(results, users, year) -> None:
    """This year's changed decisions supersede last year's (both stay in the register)."""
    for key, topics in TOPICS.items():
        for month, topic in topics.items():
            old = results.get((key, year - 1), {}).get(month)
            new = results.get((key, year), {}).get(month)
            if len(topic) > 6 and old is not None and new is not None:
                reports.mark_superseded(users["okada"], old, new)
