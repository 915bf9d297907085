"""What each imported Redmine row became in Sanmai."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from core.extensions import db


class ImportMap(db.Model):
    """Redmine's `kind` row `redmine_id` is Sanmai's row `sanmai_id` (kind: user, project,
    tracker, status, priority, workflow, issue, journal, custom_field, custom_value,
    attachment, relation, watcher; linked_user: a user whose login Sanmai had, linked to that
    account and never changed by the import; planned_issue: the ticket id a run chose for an
    issue before writing it; issue_ids, redmine_id 0: 1 when the first run kept Redmine's issue
    ids, 0 when it gave new ones; search: no Redmine row, the marker that the tickets' search
    index awaits its rebuild, importing.search)."""

    __tablename__ = "redmine_import_map"

    kind: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    redmine_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    sanmai_id: Mapped[int]
    # Redmine's updated_on when the row was last brought over: an unchanged row is left alone.
    source_updated_at: Mapped[datetime | None]
