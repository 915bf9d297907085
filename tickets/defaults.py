"""Reference data every installation starts with: trackers, statuses, priorities, workflows.

Statuses say who holds the ball (owner_side) — see docs/ARCHITECTURE.md for the table.
"""

import click
import sqlalchemy as sa
from flask.cli import with_appcontext
from sqlalchemy.orm import aliased

from core.extensions import db
from tickets.models import Priority, Status, Tracker, Transition

TRACKERS = [
    ("問い合わせ管理", "Inquiry"),
    ("初動問題管理", "Initial problem"),
    ("収束問題管理", "Problem resolution"),
    ("変更管理", "Change"),
    ("リリース管理", "Release"),
    ("委託管理", "Outsourcing"),
]

# name, English, who holds the ball, closed?
STATUSES = [
    ("起票", "New", "vendor", False),  # raised by the city, waiting for the vendor
    ("受付", "Accepted", "vendor", False),
    ("調査中", "Investigating", "vendor", False),
    ("情報", "Information needed", "city", False),  # the vendor asks the city back
    ("回答", "Answered", "city", False),
    ("対応中", "In progress", "vendor", False),
    ("確認依頼", "Review requested", "city", False),
    ("保留", "On hold", "city", False),
    ("完了", "Done", "city", True),
    ("却下", "Rejected", "city", True),
]

PRIORITIES = [
    ("低め", "Low", False),
    ("通常", "Normal", True),
    ("高め", "High", False),
    ("急いで", "Urgent", False),
    ("今すぐ", "Immediate", False),
]


def ensure_defaults() -> None:
    """Create missing reference data; never changes or removes what exists (idempotent)."""
    if db.session.scalar(sa.select(sa.func.count()).select_from(Status)) == 0:
        for position, (name, name_en, side, closed) in enumerate(STATUSES, start=1):
            db.session.add(
                Status(
                    name=name, name_en=name_en, owner_side=side, is_closed=closed, position=position
                )
            )
    if db.session.scalar(sa.select(sa.func.count()).select_from(Priority)) == 0:
        for position, (name, name_en, default) in enumerate(PRIORITIES, start=1):
            db.session.add(
                Priority(name=name, name_en=name_en, is_default=default, position=position)
            )
    db.session.flush()
    if db.session.scalar(sa.select(sa.func.count()).select_from(Tracker)) == 0:
        statuses = db.session.scalars(sa.select(Status).order_by(Status.position)).all()
        for position, (name, name_en) in enumerate(TRACKERS, start=1):
            tracker = Tracker(
                name=name, name_en=name_en, position=position, default_status_id=statuses[0].id
            )
            db.session.add(tracker)
            db.session.flush()
            add_default_workflow(tracker)
    db.session.flush()


def add_default_workflow(tracker: Tracker) -> None:
    """Members move a ticket between open statuses and close it; facilitators and managers
    may also re-open a closed one. Viewers change nothing."""
    # One INSERT … SELECT over the statuses: as an executemany of ~250 rows psycopg sends
    # each row as a statement of its own, and every test starting from empty tables pays it.
    roles = sa.union_all(
        *(
            sa.select(sa.literal(role).label("role"))
            for role in ("member", "facilitator", "manager")
        )
    ).subquery("roles")
    source, target = aliased(Status), aliased(Status)
    pairs = (
        sa.select(sa.literal(tracker.id), roles.c.role, source.id, target.id)
        .select_from(roles)
        .join(source, sa.true())  # every role with every pair of statuses
        .join(target, target.id != source.id)
        .where(sa.or_(roles.c.role != "member", source.is_closed.is_(False)))
    )
    columns = ["tracker_id", "role", "from_status_id", "to_status_id"]
    db.session.execute(sa.insert(Transition).from_select(columns, pairs))


@click.command("setup")
@with_appcontext
def setup_command():
    """Create the reference data (trackers, statuses, priorities, workflows) if missing."""
    ensure_defaults()
    db.session.commit()
    click.echo("reference data ready")
