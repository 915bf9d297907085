"""Projects: fiscal years, business units and memberships."""

from __future__ import annotations

import re

import sqlalchemy as sa

from accounts.models import Organisation, User
from extensions import db
from projects.models import ROLES, Membership, Project


class ProjectError(ValueError):
    pass


IDENTIFIER_RE = re.compile(r"^[a-z][a-z0-9_-]{0,99}$")


def _check_identifier(identifier: str, project: Project | None = None) -> None:
    if not IDENTIFIER_RE.match(identifier):
        raise ProjectError("identifier")
    clash = db.session.scalar(sa.select(Project).where(Project.identifier == identifier))
    if clash is not None and clash is not project:
        raise ProjectError("identifier_taken")


def create_project(
    name: str,
    identifier: str,
    fiscal_year: int,
    owner: Organisation | None = None,
    *,
    name_en: str | None = None,
    description: str = "",
) -> Project:
    _check_identifier(identifier)
    project = Project(
        name=name,
        name_en=name_en,
        identifier=identifier,
        fiscal_year=fiscal_year,
        owner=owner,
        description=description,
    )
    db.session.add(project)
    db.session.flush()
    return project


def create_unit(
    project: Project, name: str, identifier: str, *, name_en: str | None = None
) -> Project:
    if project.is_unit:
        raise ProjectError("nested_unit")
    _check_identifier(identifier)
    position = len(project.units)
    unit = Project(
        name=name,
        name_en=name_en,
        identifier=identifier,
        parent=project,
        owner_organisation_id=project.owner_organisation_id,
        position=position,
    )
    db.session.add(unit)
    db.session.flush()
    return unit


def update_project(project: Project, data: dict) -> Project:
    if "identifier" in data and data["identifier"] != project.identifier:
        _check_identifier(data["identifier"], project)
    for field in ("name", "name_en", "identifier", "description", "fiscal_year", "is_archived"):
        if field in data and not (field == "fiscal_year" and project.is_unit):
            setattr(project, field, data[field])
    if "owner_organisation_id" in data:
        project.owner_organisation_id = data["owner_organisation_id"] or None
    db.session.flush()
    return project


def set_membership(project: Project, user: User, role: str) -> Membership:
    if role not in ROLES:
        raise ProjectError("role")
    root = project.root
    membership = db.session.scalar(
        sa.select(Membership).where(Membership.project_id == root.id, Membership.user_id == user.id)
    )
    if membership is None:
        membership = Membership(project=root, user=user, role=role)
        db.session.add(membership)
    else:
        membership.role = role
    db.session.flush()
    user.__dict__.pop("_roles_by_root", None)
    return membership


def remove_membership(membership: Membership) -> None:
    db.session.delete(membership)
    db.session.flush()


def members_of(project: Project) -> list[User]:
    """Users who are members of the fiscal-year project a unit belongs to."""
    root = project.root
    return list(
        db.session.scalars(
            sa.select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(Membership.project_id == root.id, User.is_active_account.is_(True))
            .order_by(User.name)
        )
    )
