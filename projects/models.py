"""Where: fiscal-year projects (年度), their business units (業務単位) and memberships.

A business unit is a project with a parent, as a Redmine sub-project is: one table gives
one id space, so tickets, meetings and the Redmine-compatible API all speak of "project".
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accounts.models import Organisation, User
from core import generations
from core.extensions import db
from core.timeutil import reiwa, utcnow

ROLES = ("manager", "facilitator", "member", "viewer")


class Project(db.Model):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Redmine-style identifier used in URLs and by API clients, e.g. "maebashi-2026-jyuki".
    identifier: Mapped[str] = mapped_column(sa.String(100), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str | None] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    parent_id: Mapped[int | None] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    # Set on fiscal-year projects; units read it from their parent.
    fiscal_year: Mapped[int | None] = mapped_column(index=True)
    owner_organisation_id: Mapped[int | None] = mapped_column(sa.ForeignKey("organisations.id"))
    # Tracker used for homework tickets of this project's meetings (default 問い合わせ管理).
    homework_tracker_id: Mapped[int | None] = mapped_column(sa.ForeignKey("trackers.id"))
    position: Mapped[int] = mapped_column(default=0)
    is_archived: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    parent: Mapped[Project | None] = relationship(remote_side=[id], back_populates="units")
    units: Mapped[list[Project]] = relationship(
        back_populates="parent", order_by="Project.position, Project.id"
    )
    owner: Mapped[Organisation | None] = relationship()
    memberships: Mapped[list[Membership]] = relationship(
        back_populates="project", cascade="all, delete-orphan"
    )

    def __repr__(self) -> str:
        return f"<Project {self.identifier}>"

    @property
    def is_unit(self) -> bool:
        return self.parent_id is not None

    @property
    def root(self) -> Project:
        return self.parent if self.parent is not None else self

    @property
    def year(self) -> int | None:
        return self.root.fiscal_year

    def year_label(self, locale: str = "ja") -> str:
        year = self.year
        if year is None:
            return ""
        return f"FY{year}" if locale == "en" else f"令和{reiwa(year)}年度"


class Membership(db.Model):
    __tablename__ = "memberships"
    __table_args__ = (sa.UniqueConstraint("user_id", "project_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    # Always a fiscal-year (top-level) project: membership covers all its units.
    project_id: Mapped[int] = mapped_column(sa.ForeignKey("projects.id"), index=True)
    role: Mapped[str] = mapped_column(sa.String(16))  # one of ROLES
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship()
    project: Mapped[Project] = relationship(back_populates="memberships")


# What the data generations (core.generations) watch of these models.
generations.watch(
    "directory",
    Project,
    [
        "name",
        "name_en",
        "identifier",
        "parent",
        "parent_id",
        "fiscal_year",
        "is_archived",
        "position",
    ],
)
generations.watch("directory", Membership)
