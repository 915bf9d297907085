"""Which Sanmai organisation an imported person or project belongs to.

A person goes by their first Redmine group (by group id; a group the mapping file sets to
false does not count): an organisation of the group's name, or of the name the mapping
file's [organisations.groups] gives it. A person in no group goes by their mail domain as
[organisations.domains] lists it (a subdomain goes by its domain), else to the default
organisation. A project is owned by the organisation its `owner` names, else the default.
The default is the mapping file's [organisations] default, else Sanmai's first city
organisation (the instance's own, as set up first), else none.

An organisation is found by name, or created (of the kind [organisations.kinds] gives, else
a city) when a person or project being created first needs it: a run that creates no one
creates no organisation.
"""

from __future__ import annotations

import sqlalchemy as sa

from accounts import services as accounts
from accounts.models import Organisation
from core.extensions import db
from redmine.importing import source as redmine


def of_users(imp) -> dict[int, str]:
    """{Redmine user id: organisation name} for the users their groups place."""
    users, members = redmine.users, redmine.groups_users
    rows = imp.source.rows(
        sa.select(members.c.user_id, users.c.lastname)
        .join(users, users.c.id == members.c.group_id)
        .where(users.c.type == "Group")
        .order_by(members.c.group_id)
    )
    placed: dict[int, str] = {}
    for row in rows:
        group = (row.lastname or "").strip()
        name = imp.mapfile.groups.get(group, group)
        if name and row.user_id not in placed:  # the first group counts
            placed[row.user_id] = name
    return placed


def by_domain(imp, address: str | None) -> str | None:
    """The organisation [organisations.domains] gives the mail address's domain, if any."""
    domain = (address or "").rpartition("@")[2].lower()
    while domain:
        if domain in imp.mapfile.domains:
            return imp.mapfile.domains[domain]
        domain = domain.partition(".")[2]
    return None


def organisation_id(imp, name: str | None) -> int | None:
    """The id of the organisation called `name` (the default one for None), created if
    missing; in a dry run an organisation it would create has a placeholder id."""
    if name is None:
        name = imp.mapfile.default_organisation
        if name is None:
            return db.session.scalar(
                sa.select(Organisation.id)
                .where(Organisation.kind == "city")
                .order_by(Organisation.id)
                .limit(1)
            )
    if name in imp.organisations:
        return imp.organisations[name]
    count = imp.counts["organisations"]
    count.read += 1
    found = db.session.scalar(sa.select(Organisation.id).where(Organisation.name == name))
    if found is None and imp.dry_run:
        found = imp.placeholder()
        count.created += 1
    elif found is None:
        kind = imp.mapfile.kinds.get(name, "city")
        try:
            found = accounts.save_organisation(None, {"name": name, "kind": kind}).id
        except accounts.AccountError as error:
            count.skip(f"not valid in Sanmai: {error}", error=True)
        else:
            count.created += 1
    imp.organisations[name] = found
    return found
