"""The demo's meetings: several per business unit, all three sheets filled, some homework
overdue, some carried over; loading twice changes nothing."""

import sqlalchemy as sa

import demo.base
import demo.minutes
import demo.tickets
from core.extensions import db
from core.timeutil import local_today
from minutes.models import Item, Meeting
from projects.models import Project
from tickets.models import Status, Ticket


def test_demo_meetings(app):
    for part in (demo.base, demo.tickets, demo.minutes):
        part.load()
        db.session.commit()
    assert demo.minutes.load() is False

    units = db.session.scalars(sa.select(Project).where(Project.parent_id.is_not(None))).all()
    per_unit = dict(
        db.session.execute(
            sa.select(Meeting.unit_id, sa.func.count()).group_by(Meeting.unit_id)
        ).all()
    )
    current = [u for u in units if u.id in per_unit]
    assert len(current) == len(demo.minutes.UNITS)
    assert all(n >= 3 for n in per_unit.values())

    confirmed = db.session.scalars(sa.select(Meeting).where(Meeting.status == "confirmed")).all()
    for meeting in confirmed:
        kinds = {i.kind for i in meeting.items if i.deleted_at is None}
        assert {"goal", "result", "homework"} <= kinds, meeting.title
        assert kinds & {"break", "preview"}, meeting.title
    overdue = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Item)
        .join(Ticket, Ticket.id == Item.ticket_id)
        .join(Status, Status.id == Ticket.status_id)
        .where(Status.is_closed.is_(False), Ticket.due_date < local_today())
    )
    carried = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Item)
        .where(Item.kind == "result", Item.origin_item_id.is_not(None))
    )
    assert overdue >= 5 and carried >= 3
