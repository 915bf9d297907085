"""What the reports package stores: the reminder digests sent (one per person per day)."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db
from core.timeutil import utcnow


class ReminderSend(db.Model):
    """A digest sent (or being sent) to one user for one Japan-time day.

    The unique (user_id, day) row is claimed before the mail goes out, so two runs of
    `flask remind` on one day — even at the same time — send one digest.
    """

    __tablename__ = "reminder_sends"
    __table_args__ = (sa.UniqueConstraint("user_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    day: Mapped[date]  # Japan time
    item_count: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
