"""Every "who may do what to which object" rule, in one place.

Views load objects through the visibility filter (404 when not visible), then ask a
`can_*` rule (403 when visible but not allowed). Templates call the same rules.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa
from flask_babel import gettext as _

from accounts.models import User
from core import errors, parsing
from core.extensions import db
from core.rows import plain_rows
from projects.models import Membership, Project
from projects.services import IDENTIFIER_RE

# What each role may do; a higher role includes the lower ones.
ROLE_RANK = {"viewer": 0, "member": 1, "facilitator": 2, "manager": 3}


def _is_user(user) -> bool:
    return isinstance(user, User) and user.is_authenticated


def visible_root_ids(user) -> sa.Select:
    """Ids of the fiscal-year projects `user` is a member of."""
    return sa.select(Membership.project_id).where(Membership.user_id == user.id)


def visible_project_ids(user) -> sa.Select:
    """Ids of every project and unit `user` may see, as a sub-select for `.in_()`."""
    if not _is_user(user):
        return sa.select(Project.id).where(sa.false())
    if user.is_admin:
        return sa.select(Project.id)
    roots = visible_root_ids(user)
    return sa.select(Project.id).where(sa.or_(Project.id.in_(roots), Project.parent_id.in_(roots)))


def visible(user, project_column) -> sa.ColumnElement[bool]:
    """A WHERE clause restricting `project_column` to what `user` may see."""
    return project_column.in_(visible_project_ids(user))


def visible_to_bound_user(project_column) -> sa.ColumnElement[bool]:
    """visible(), with the user as the bound parameters `viewer_id` and `viewer_is_admin`
    (bound_user gives them): a statement using it is built once and reused (the
    live-following poll, many per second; my page)."""
    return sa.or_(
        sa.bindparam("viewer_is_admin", type_=sa.Boolean), _in_bound_projects(project_column)
    )


def _in_bound_projects(project_column) -> sa.ColumnElement[bool]:
    viewer = sa.bindparam("viewer_id", type_=sa.Integer)
    roots = sa.select(Membership.project_id).where(Membership.user_id == viewer)
    ids = sa.select(Project.id).where(sa.or_(Project.id.in_(roots), Project.parent_id.in_(roots)))
    return project_column.in_(ids)


def bound_user(user) -> dict:
    """The parameters of the *_to_bound_user clauses for `user`."""
    return {"viewer_id": user.id, "viewer_is_admin": bool(user.is_admin)}


# Redmine's default roles: a Manager sees every issue, private ones included; a Developer or
# Reporter sees a private issue only as its author or assignee.
PRIVATE_TICKET_READERS = ("facilitator", "manager")


def _hidden_private_ids(ticket, viewer, readers: sa.Select) -> sa.Select:
    """Ids of the private tickets `viewer` (an id or a bound parameter) is neither author nor
    assignee of, outside the fiscal-year projects `readers` (where the viewer's role reads
    every private ticket). Few rows, from the index ix_tickets_private, so the query
    that excludes them keeps reading only its own index (a NOT IN, one hashed sub-select)."""
    private = _private_alias(sa.inspect(ticket).mapper.class_)
    reader_projects = sa.select(Project.id).where(
        sa.or_(Project.id.in_(readers), Project.parent_id.in_(readers))
    )
    return sa.select(private.id).where(
        private.is_private,  # as PostgreSQL's partial index says it, so that it is used
        sa.func.coalesce(private.author_id, 0) != viewer,
        sa.func.coalesce(private.assignee_id, 0) != viewer,
        private.project_id.not_in(reader_projects),
    )


@functools.cache
def _private_alias(ticket_class):
    """The alias of the tickets table that the sub-select of hidden private tickets reads,
    made once: SQLAlchemy adapts a new alias's columns afresh, which cost more than building
    the rest of the list's query."""
    return sa.orm.aliased(ticket_class)


def _private_readers(viewer) -> sa.Select:
    return sa.select(Membership.project_id).where(
        Membership.user_id == viewer, Membership.role.in_(PRIVATE_TICKET_READERS)
    )


def visible_ticket(user, ticket, project_column=None) -> sa.ColumnElement[bool]:
    """A WHERE clause restricting `ticket` (the Ticket entity or an alias of it) to the
    tickets `user` may see: its project is visible (visible()), and a private ticket only to
    admins, its author, its assignee, and facilitators and managers of its project
    (can_view_ticket for one loaded ticket). No query per row. `project_column`: an
    expression of the ticket's project to test instead of the column (`+ 0` keeps a planner
    off the project index)."""
    if not _is_user(user):
        return sa.false()
    project = ticket.project_id if project_column is None else project_column
    if user.is_admin:
        return visible(user, project)
    hidden = _hidden_private_ids(ticket, user.id, _private_readers(user.id))
    return sa.and_(visible(user, project), ticket.id.not_in(hidden))


def visible_ticket_to_bound_user(ticket) -> sa.ColumnElement[bool]:
    """visible_ticket(), with the user as the bound parameters of visible_to_bound_user."""
    viewer = sa.bindparam("viewer_id", type_=sa.Integer)
    hidden = _hidden_private_ids(ticket, viewer, _private_readers(viewer))
    return sa.or_(
        sa.bindparam("viewer_is_admin", type_=sa.Boolean),
        sa.and_(_in_bound_projects(ticket.project_id), ticket.id.not_in(hidden)),
    )


def role_in(user, project: Project) -> str | None:
    """The user's role in the fiscal-year project that `project` belongs to."""
    if not _is_user(user):
        return None
    if user.is_admin:
        return "manager"
    return roles_by_root(user).get(project.parent_id or project.id)


def roles_by_root(user) -> dict[int, str]:
    """{fiscal-year project id: role}, loaded once per user object (so once per request)."""
    cached = user.__dict__.get("_roles_by_root")
    if cached is None:
        rows = plain_rows(_roles_statement(), {"user_id": user.id})
        cached = {project_id: role for project_id, role in rows}
        user.__dict__["_roles_by_root"] = cached
    return cached


@functools.cache
def _roles_statement() -> sa.Select:
    """Built once: building it cost about what running it does."""
    return sa.select(Membership.project_id, Membership.role).where(
        Membership.user_id == sa.bindparam("user_id")
    )


def has_role(user, project: Project, at_least: str) -> bool:
    role = role_in(user, project)
    return role is not None and ROLE_RANK[role] >= ROLE_RANK[at_least]


# --- projects -------------------------------------------------------------------------------


def can_view_project(user, project: Project) -> bool:
    return role_in(user, project) is not None


def readable_previous_years(user, project_column) -> sa.ColumnElement[bool]:
    """This time last year (昨年の今頃) offers last year's project or unit only where the reader
    could open it directly (a newcomer is added to last year's project as a viewer). The page
    finds it by identifier, owner and name, which a project's manager can change: the match
    grants nothing. A WHERE clause on `project_column`, as visible()."""
    return visible(user, project_column)


def can_manage_project(user, project: Project) -> bool:
    return has_role(user, project, "manager")


def can_administer(user) -> bool:
    return _is_user(user) and user.is_admin


def load_project(user, key: int | str) -> Project:
    """A project or unit by id or identifier, or 404 when absent or not visible."""
    if isinstance(key, int) or str(key).isdigit():
        column, value = Project.id, parsing.id_or_none(key)  # None: an id that cannot exist
    else:  # text no identifier can be (NUL, other scripts …) is not looked up
        column, value = Project.identifier, key if IDENTIFIER_RE.match(str(key)) else None
    project = None
    if value is not None:
        project = db.session.scalar(
            sa.select(Project).where(column == value, visible(user, Project.id))
        )
    if project is None:
        raise errors.NotFound("project")
    return project


# --- minutes --------------------------------------------------------------------------------


def can_create_meeting(user, unit: Project) -> bool:
    return has_role(user, unit, "facilitator")


def can_edit_minutes(user, meeting) -> bool:
    """Facilitators and managers of the project, and the meeting's own facilitator."""
    if meeting.is_confirmed:
        return False
    if (
        _is_user(user)
        and meeting.facilitator_id == user.id
        and can_view_project(user, meeting.unit)
    ):
        return True
    return has_role(user, meeting.unit, "facilitator")


def require_unlocked(meeting) -> None:
    """Confirmed minutes are locked for everyone (Locked)."""
    if meeting.is_confirmed:
        raise errors.Locked(
            _("These minutes are confirmed and can no longer be changed."), "status"
        )


def require_edit_minutes(user, meeting) -> None:
    """The one edit gate of minutes: not locked (require_unlocked), and the actor may edit
    them (can_edit_minutes, else Forbidden). `user` None: a change by the system (scheduled
    jobs, the CLI), checked for the lock only."""
    require_unlocked(meeting)
    if user is not None and not can_edit_minutes(user, meeting):
        raise errors.Forbidden("edit minutes")


def can_run_meeting(user, meeting) -> bool:
    """Freeze, record confirmations in the room, change status."""
    if (
        _is_user(user)
        and meeting.facilitator_id == user.id
        and can_view_project(user, meeting.unit)
    ):
        return True
    return has_role(user, meeting.unit, "facilitator")


def can_confirm_as(user, attendee) -> bool:
    """Sign off (or object) on one's own device: only as oneself. The facilitator records
    others in the room (can_run_meeting); guests use their one-time link."""
    return _is_user(user) and attendee.user_id is not None and attendee.user_id == user.id


# --- tickets --------------------------------------------------------------------------------


def can_add_ticket(user, unit: Project, meeting=None) -> bool:
    """Members upward file tickets in a unit of their project; through the minutes of
    `meeting` (homework), whoever may edit those minutes files them in the meeting's unit."""
    if meeting is not None and unit.id == meeting.unit_id and can_edit_minutes(user, meeting):
        return True
    return has_role(user, unit, "member")


def can_view_ticket(user, ticket) -> bool:
    """visible_ticket() for one loaded ticket: its project is visible, and a private ticket
    only to admins, its author, its assignee, and facilitators and managers of its project."""
    if not can_view_project(user, ticket.project):
        return False
    if not ticket.is_private:
        return True
    return (
        ticket.author_id == user.id
        or (ticket.assignee_id is not None and ticket.assignee_id == user.id)
        or has_role(user, ticket.project, PRIVATE_TICKET_READERS[0])
    )


def can_set_ticket_private(user, unit: Project) -> bool:
    """Mark a ticket of `unit` private or public: members upward (Redmine's
    set_issues_private)."""
    return has_role(user, unit, "member")


def can_edit_ticket(user, ticket) -> bool:
    return has_role(user, ticket.project, "member")


def can_change_ticket(user, ticket, meeting=None) -> bool:
    """Change a ticket (fields, status, parent link, journal): members upward of its project;
    through the minutes of `meeting`, also whoever may edit those minutes, for a ticket of the
    meeting's own unit (its homework). Another project's meeting grants nothing."""
    if (
        meeting is not None
        and ticket.project_id == meeting.unit_id
        and can_edit_minutes(user, meeting)
    ):
        return True
    return can_edit_ticket(user, ticket)


def can_comment_ticket(user, ticket) -> bool:
    return has_role(user, ticket.project, "member")


def can_delete_ticket(user, ticket) -> bool:
    return has_role(user, ticket.project, "manager")


def can_view_private_notes(user, journal) -> bool:
    """Private notes: their writer, and members upward (as Redmine's view_private_notes,
    which its Reporter role lacks); viewers do not see them."""
    return can_view_private_notes_of(user, journal.user_id, journal.ticket.project)


def can_view_private_notes_of(user, writer_id: int | None, project: Project) -> bool:
    """can_view_private_notes for a journal known by its writer and its ticket's project."""
    if _is_user(user) and writer_id == user.id:
        return True
    return has_role(user, project, "member")


def can_attach_to_meeting(user, meeting) -> bool:
    """Members add files (handouts, screenshots) to a meeting of their project."""
    return has_role(user, meeting.unit, "member")


# --- reports --------------------------------------------------------------------------------


def can_supersede_decision(user, item) -> bool:
    """Facilitators and managers of the decision's project mark it superseded (or undo that)."""
    return can_supersede_in(user, item.meeting.unit)


def can_supersede_in(user, unit) -> bool:
    """can_supersede_decision for the decisions of `unit` (anything with id and parent_id)."""
    return has_role(user, unit, "facilitator")
