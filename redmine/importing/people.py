"""Users, projects and memberships, through Sanmai's own services (their rules hold for
imported rows too; these are hundreds of rows, not hundreds of thousands). Users and projects
share one path (`_map_or_create`): update the row a Redmine row became, or make one."""

from __future__ import annotations

import sqlalchemy as sa

from accounts import services as accounts
from accounts.models import Organisation, User
from core.extensions import db
from projects import services as projects
from projects.models import Membership, Project
from redmine.importing import mapfile, mapping, organisations
from redmine.importing import source as redmine


def import_users(imp) -> None:
    count = imp.counts["users"]
    table = redmine.users
    mails = _mail_addresses(imp)
    groups = organisations.of_users(imp)
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
        if known is None and (existing := accounts.find_user(row.login)) is not None:
            imp.remember("user", row.id, existing.id, row.updated_on)
            imp.remember("linked_user", row.id, existing.id)
            count.skip("login already in Sanmai: linked to that account, left as it is")
            continue

        organisation_id = None
        if known is None:  # placed once, when made; moved in Sanmai since is left alone
            place = groups.get(row.id) or organisations.by_domain(imp, data["email"])
            organisation_id = organisations.organisation_id(imp, place)

        def create(data, row=row, organisation_id=organisation_id):
            user = accounts.create_user(
                data["login"],
                data["name"],
                email=data["email"],
                organisation=db.session.get(Organisation, organisation_id or 0),
                language=data["language"],
                is_admin=data["is_admin"],
            )
            user.is_active_account = data["is_active_account"]
            # Directory (auth source) users have no Redmine password: they sign in elsewhere.
            if row.hashed_password and row.salt and row.auth_source_id is None:
                user.set_redmine_password(row.hashed_password, row.salt)
            return user

        _map_or_create(imp, "user", row, data, create=create, update=accounts.update_user)


def _mail_addresses(imp) -> dict[int, str]:
    """{Redmine user id: address}, the default address where a user has several."""
    table = redmine.email_addresses
    mails: dict[int, str] = {}
    for row in imp.source.rows(sa.select(table).order_by(table.c.is_default, table.c.id)):
        mails[row.user_id] = row.address  # the default one (sorted last) wins
    return mails


# kind: (its count, its Sanmai model, what it is called in a reason, its service's error)
_KINDS = {
    "user": ("users", User, "account", accounts.AccountError),
    "project": ("projects", Project, "project", projects.ProjectError),
}


def _map_or_create(imp, kind: str, row, data: dict, *, create, update) -> int | None:
    """Bring Redmine's `kind` row over: change what changed of the Sanmai row it became
    (`update(obj, changed)`), or make one (`create(data)`); its Sanmai id, or None when it
    cannot come (counted with why). In a dry run nothing is written."""
    counted, model, noun, error_class = _KINDS[kind]
    count = imp.counts[counted]
    known = imp.ids[kind].get(row.id)
    if known is not None:
        obj = db.session.get(model, known) if known > 0 else None
        if obj is None and known > 0:
            count.skip(f"its Sanmai {noun} was removed")
            return None
        changed = {key: value for key, value in data.items() if obj and getattr(obj, key) != value}
        if changed and not imp.dry_run:
            try:
                update(obj, changed)
            except error_class as error:
                count.skip(f"not valid in Sanmai: {error}", error=True)
                return None
        imp.remember(kind, row.id, known, row.updated_on)
        count.updated += bool(changed)
        return known
    if imp.dry_run:
        made = imp.placeholder()
    else:
        try:
            made = create(data)
        except error_class as error:
            count.skip(f"not valid in Sanmai: {error}", error=True)
            return None
        db.session.flush()
        made = made.id
    imp.remember(kind, row.id, made, row.updated_on)
    count.created += 1
    return made


def import_projects(imp) -> None:
    """Top-level projects become fiscal-year projects, their sub-projects business units;
    anything deeper goes into its unit (its issues are the unit's). The mapping file may
    skip a project, move it under another (`unit_of`), and give its key, owner and year."""
    count = imp.counts["projects"]
    table = redmine.projects
    rows = imp.source.rows(sa.select(table).order_by(table.c.lft, table.c.id))
    chains, _loops = mapfile.lineages(imp.mapfile, rows)
    for chain in sorted(chains.values(), key=len):
        row = chain[-1]
        count.read += 1
        if any(imp.mapfile.projects.get(up.identifier, _NO_RULE).skip for up in chain):
            # skipped since an earlier run brought it: its issues are left as they are
            imp.ids["project"].pop(row.id, None)
            count.skip("skipped by the mapping file, or under a project it skips")
            continue
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


_NO_RULE = mapfile.ProjectRule()


def _import_project(imp, row, parent_id: int | None) -> None:
    count = imp.counts["projects"]
    rule = imp.mapfile.projects.get(row.identifier, _NO_RULE)
    year = None
    if parent_id is None:
        year = rule.fiscal_year or mapping.fiscal_year(row.name)
    data = {"name": row.name, "description": row.description or "", "is_archived": row.status == 9}
    if year is not None:
        data["fiscal_year"] = year  # renamed without a year: it keeps the one it has
    known = imp.ids["project"].get(row.id)
    if known is not None:
        imp.roots[known] = parent_id or known
        if imp.is_unchanged("project", row.id, row.updated_on):
            return
        if rule.owner is not None:
            data["owner_organisation_id"] = organisations.organisation_id(imp, rule.owner)
        _map_or_create(imp, "project", row, data, create=None, update=projects.update_project)
        return
    if parent_id is None and year is None:
        count.skip("no fiscal year in its name (such as 令和8年度, R8, 2026年度, FY2026)")
        return
    identifier = rule.key or row.identifier
    if db.session.scalar(sa.select(Project.id).where(Project.identifier == identifier)):
        count.skip("its identifier is already a Sanmai project's", error=True)
        return
    # A unit takes its fiscal year's owner unless the mapping file names one.
    owner_id = None
    if parent_id is None or rule.owner is not None:
        owner_id = organisations.organisation_id(imp, rule.owner)

    def create(data):
        if parent_id is None:
            owner = db.session.get(Organisation, owner_id or 0)
            project = projects.create_project(
                data["name"], identifier, year, owner, description=data["description"]
            )
        else:
            project = projects.create_unit(
                db.session.get(Project, parent_id), data["name"], identifier
            )
            if owner_id is not None:
                project.owner_organisation_id = owner_id
        project.is_archived = data["is_archived"]
        return project

    project_id = _map_or_create(imp, "project", row, data, create=create, update=None)
    if project_id is not None:
        imp.roots[project_id] = parent_id or project_id


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
