"""Projects: fiscal years, business units and memberships."""

from __future__ import annotations

import re

import sqlalchemy as sa
from flask_babel import gettext as _

from accounts.models import Organisation, User
from core import errors, textfields
from core.extensions import db
from projects.models import ROLES, Membership, Project


class ProjectError(errors.Invalid):
    """str(error) is the message, `field` the form field it is about."""


# Text attributes: (label, longest length, multi-line).
_TEXTS = {
    "name": (lambda: _("Name"), textfields.TITLE, False),
    "name_en": (lambda: _("Name (English)"), textfields.TITLE, False),
    "description": (lambda: _("Description"), textfields.LONG_TEXT, True),
}


def _texts(data: dict) -> dict:
    """`data` with its texts cleaned and checked (textfields)."""
    out = dict(data)
    for field, (label, limit, multiline) in _TEXTS.items():
        if out.get(field) is not None:
            out[field] = textfields.checked(
                out[field],
                field=field,
                label=label(),
                limit=limit,
                error=ProjectError,
                multiline=multiline,
                strip=not multiline,
            )
    return out


IDENTIFIER_RE = re.compile(r"^[a-z][a-z0-9_-]{0,99}$")


def _check_identifier(identifier: str, project: Project | None = None) -> None:
    if not IDENTIFIER_RE.match(identifier):
        raise ProjectError(
            _("Lower-case letters, digits, - and _, starting with a letter."), "identifier"
        )
    clash = db.session.scalar(sa.select(Project).where(Project.identifier == identifier))
    if clash is not None and clash is not project:
        raise ProjectError(_("This identifier is already taken."), "identifier")


def create_project(
    name: str,
    identifier: str,
    fiscal_year: int,
    owner: Organisation | None = None,
    *,
    name_en: str | None = None,
    description: str = "",
) -> Project:
    texts = _texts({"name": name, "name_en": name_en, "description": description})
    _check_identifier(identifier)
    project = Project(
        name=texts["name"],
        name_en=texts["name_en"],
        identifier=identifier,
        fiscal_year=fiscal_year,
        owner=owner,
        description=texts["description"],
    )
    db.session.add(project)
    db.session.flush()
    return project


def create_unit(
    project: Project, name: str, identifier: str, *, name_en: str | None = None
) -> Project:
    if project.is_unit:
        raise ProjectError(_("A business unit cannot have units of its own."))
    texts = _texts({"name": name, "name_en": name_en})
    _check_identifier(identifier)
    position = len(project.units)
    unit = Project(
        name=texts["name"],
        name_en=texts["name_en"],
        identifier=identifier,
        parent=project,
        owner_organisation_id=project.owner_organisation_id,
        position=position,
    )
    db.session.add(unit)
    db.session.flush()
    return unit


def update_project(project: Project, data: dict) -> Project:
    data = _texts(data)
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
        raise ProjectError(_("There is no such role."), "role")
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
