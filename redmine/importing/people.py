"""Users, projects and memberships, through Sanmai's own services (their rules hold for
imported rows too; these are hundreds of rows, not hundreds of thousands)."""

from __future__ import annotations

import sqlalchemy as sa

from accounts import services as accounts
from accounts.models import User
from core.extensions import db
from projects import services as projects
from projects.models import Membership, Project
from redmine.importing import mapping
from redmine.importing import source as redmine


def import_users(imp) -> None:
    count = imp.counts["users"]
    table = redmine.users
    mails = _mail_addresses(imp)
    # Groups and the built-in anonymous users are not people who sign in.
    for row in imp.source.rows(sa.select(table).where(table.c.type == "User").order_by(table.c.id)):
        count.read += 1
        if imp.is_unchanged("user", row.id, row.updated_on):
            continue
        data = {
            "login": row.login,
            "name": mapping.person_name(row.firstname, row.lastname, row.login),
            "email": mails.get(row.id),
            "language": mapping.language(row.language),
            "is_admin": bool(row.admin),
            "is_active_account": row.status == 1,  # registered (2) or locked (3): no sign-in
        }
        known = imp.ids["user"].get(row.id)
        if known is not None and row.id in imp.ids["linked_user"]:
            imp.remember("user", row.id, known, row.updated_on)  # Sanmai's account rules
            continue
        if known is not None:
            _update_user(imp, row, known, data)
            continue
        existing = accounts.find_user(row.login)
        if existing is not None:
            imp.remember("user", row.id, existing.id, row.updated_on)
            imp.remember("linked_user", row.id, existing.id)
            count.skip("login already in Sanmai: linked to that account, left as it is")
            continue
        if imp.dry_run:
            imp.remember("user", row.id, imp.placeholder(), row.updated_on)
            count.created += 1
            continue
        try:
            user = accounts.create_user(
                data["login"],
                data["name"],
                email=data["email"],
                language=data["language"],
                is_admin=data["is_admin"],
            )
        except accounts.AccountError as error:
            count.skip(f"not valid in Sanmai: {error}")
            continue
        user.is_active_account = data["is_active_account"]
        # Directory (auth source) users have no Redmine password: they sign in elsewhere.
        if row.hashed_password and row.salt and row.auth_source_id is None:
            user.set_redmine_password(row.hashed_password, row.salt)
        db.session.flush()
        imp.remember("user", row.id, user.id, row.updated_on)
        count.created += 1


def _mail_addresses(imp) -> dict[int, str]:
    """{Redmine user id: address}, the default address where a user has several."""
    table = redmine.email_addresses
    mails: dict[int, str] = {}
    for row in imp.source.rows(sa.select(table).order_by(table.c.is_default, table.c.id)):
        mails[row.user_id] = row.address  # the default one (sorted last) wins
    return mails


def _update_user(imp, row, user_id: int, data: dict) -> None:
    count = imp.counts["users"]
    user = db.session.get(User, user_id)
    if user is None:
        count.skip("its Sanmai account was removed")
        return
    changed = {key: value for key, value in data.items() if getattr(user, key) != value}
    if changed and not imp.dry_run:
        try:
            accounts.update_user(user, changed)
        except accounts.AccountError as error:
            count.skip(f"not valid in Sanmai: {error}")
            return
    imp.remember("user", row.id, user_id, row.updated_on)
    if changed:
        count.updated += 1


def import_projects(imp) -> None:
    """Top-level projects become fiscal-year projects, their sub-projects business units;
    anything deeper goes into its unit (its issues are the unit's)."""
    count = imp.counts["projects"]
    table = redmine.projects
    rows = imp.source.rows(sa.select(table).order_by(table.c.lft, table.c.id))
    by_id = {row.id: row for row in rows}

    def lineage(row) -> list:
        chain = [row]
        while chain[-1].parent_id in by_id and len(chain) <= len(by_id):
            chain.append(by_id[chain[-1].parent_id])
        return chain[::-1]  # top-level project first

    for chain in sorted((lineage(row) for row in rows), key=len):
        row = chain[-1]
        count.read += 1
        if len(chain) > 2:
            unit_id = imp.ids["project"].get(chain[1].id)
            if unit_id is None:
                count.skip("its business unit was not imported")
            else:
                imp.ids["project"][row.id] = unit_id  # for its issues; not a project of its own
                count.skip("below a business unit: its issues go to that unit")
            continue
        parent_id = imp.ids["project"].get(chain[0].id) if len(chain) == 2 else None
        if len(chain) == 2 and parent_id is None:
            count.skip("its fiscal-year project was not imported")
            continue
        _import_project(imp, row, parent_id)


def _import_project(imp, row, parent_id: int | None) -> None:
    count = imp.counts["projects"]
    year = mapping.fiscal_year(row.name) if parent_id is None else None
    data = {"name": row.name, "description": row.description or "", "is_archived": row.status == 9}
    if parent_id is None:
        data["fiscal_year"] = year
    known = imp.ids["project"].get(row.id)
    if known is not None:
        imp.roots[known] = parent_id or known
        if imp.is_unchanged("project", row.id, row.updated_on):
            return
        project = db.session.get(Project, known)
        if project is None:
            count.skip("its Sanmai project was removed")
            return
        if parent_id is None and year is None:
            data.pop("fiscal_year")  # renamed without a year: keep the one it has
        changed = {key: value for key, value in data.items() if getattr(project, key) != value}
        if changed and not imp.dry_run:
            try:
                projects.update_project(project, changed)
            except projects.ProjectError as error:
                count.skip(f"not valid in Sanmai: {error}")
                return
        imp.remember("project", row.id, known, row.updated_on)
        if changed:
            count.updated += 1
        return
    if parent_id is None and year is None:
        count.skip("no fiscal year in its name (such as 令和8年度, R8, 2026年度, FY2026)")
        return
    if db.session.scalar(sa.select(Project.id).where(Project.identifier == row.identifier)):
        count.skip("its identifier is already a Sanmai project's")
        return
    if imp.dry_run:
        project_id = imp.placeholder()
    else:
        try:
            if parent_id is None:
                project = projects.create_project(
                    row.name, row.identifier, year, description=data["description"]
                )
            else:
                parent = db.session.get(Project, parent_id)
                project = projects.create_unit(parent, row.name, row.identifier)
        except projects.ProjectError as error:
            count.skip(f"not valid in Sanmai: {error}")
            return
        project.is_archived = data["is_archived"]
        db.session.flush()
        project_id = project.id
    imp.roots[project_id] = parent_id or project_id
    imp.remember("project", row.id, project_id, row.updated_on)
    count.created += 1


def import_memberships(imp) -> None:
    """One Sanmai membership per person and fiscal-year project, with the strongest role the
    person holds anywhere in it (Redmine's members of its units and deeper included). A
    group's members are Redmine's own member rows of each user (inherited roles), so groups
    themselves are passed over."""
    count = imp.counts["memberships"]
    members, member_roles, roles, users = (
        redmine.members,
        redmine.member_roles,
        redmine.roles,
        redmine.users,
    )
    statement = (
        sa.select(members.c.id, members.c.user_id, members.c.project_id, roles.c.permissions)
        .join(member_roles, member_roles.c.member_id == members.c.id)
        .join(roles, roles.c.id == member_roles.c.role_id)
        .join(users, users.c.id == members.c.user_id)
        .where(users.c.type == "User")
        .order_by(members.c.id)
    )
    wanted: dict[tuple[int, int], str] = {}
    seen: set[int] = set()
    for row in imp.source.rows(statement):
        new_member = row.id not in seen
        seen.add(row.id)
        count.read += new_member
        user_id = imp.ids["user"].get(row.user_id)
        project_id = imp.ids["project"].get(row.project_id)
        if user_id is None or project_id not in imp.roots:
            if new_member:
                count.skip("its user or project was not imported")
            continue
        key = (user_id, imp.roots[project_id])
        role = mapping.sanmai_role(mapping.permissions_of(row.permissions))
        wanted[key] = mapping.stronger(wanted.get(key), role)
    for (user_id, root_id), role in wanted.items():
        current = None
        if user_id > 0 and root_id > 0:
            current = db.session.scalar(
                sa.select(Membership.role).where(
                    Membership.user_id == user_id, Membership.project_id == root_id
                )
            )
        if current == role:
            continue
        if not imp.dry_run:
            projects.set_membership(
                db.session.get(Project, root_id), db.session.get(User, user_id), role
            )
        if current is None:
            count.created += 1
        else:
            count.updated += 1
