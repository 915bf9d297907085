"""Signing in with the city's directory (LDAP, Active Directory), as Redmine's auth sources.

A user bound to a source (`User.directory_source`) signs in with the directory password only:
the service account finds the person (search under the base DN, login attribute equal to the
login, escaped), then a bind as that person checks the password; Sanmai never stores it.
Sources with "create users" on also sign in people Sanmai does not know yet, creating them
from the directory's names and mail in the source's organisation.

What happens when something fails:
- the server cannot be reached, TLS or the certificate check fails, the service account's
  bind is refused, a search errs: `DirectoryUnavailable` with the reason (for the log and
  for `flask directory test`); the login page says directory sign-in is unavailable now.
- no entry, several entries, not a member of the source's group, wrong password, a locked
  or disabled account (the directory refuses the bind): None, which the login service
  answers as any wrong password, and counts for its slow-down.
- an empty password: None without asking the directory (an LDAP bind with a DN and no
  password is an unauthenticated bind, which many servers accept).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from accounts.directory_server import (
    DirectoryUnavailable,
    Person,
    Step,
    find_person,
    group_filter,
    is_member,
    look_up,
    password_accepted,
    service_connection,
    user_search_filter,
)
from accounts.models import DIRECTORY_ENCRYPTIONS, DIRECTORY_KINDS, DirectorySource, User
from core import errors, secretbox
from core.extensions import db

DEFAULT_ATTRIBUTES = {
    "ad": {
        "attr_login": "sAMAccountName",
        "attr_firstname": "givenName",
        "attr_lastname": "sn",
        "attr_mail": "mail",
        "attr_display_name": "displayName",
        "user_filter": "(&(objectCategory=person)(objectClass=user))",
    },
    "openldap": {
        "attr_login": "uid",
        "attr_firstname": "givenName",
        "attr_lastname": "sn",
        "attr_mail": "mail",
        "attr_display_name": "displayName",
        "user_filter": "(objectClass=inetOrgPerson)",
    },
}
DEFAULT_PORTS = {"none": 389, "starttls": 389, "ldaps": 636}


class SourceError(errors.Invalid):
    """A source's settings break a rule; the message is for the administrator, `field` the
    setting it is about."""


@dataclass
class CheckReport:
    steps: list[Step] = field(default_factory=list)
    person: Person | None = None

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps)


# --- sources --------------------------------------------------------------------------------


def sources() -> list[DirectorySource]:
    return list(db.session.scalars(sa.select(DirectorySource).order_by(DirectorySource.name)))


def source_by_name(name: str) -> DirectorySource | None:
    return db.session.scalar(sa.select(DirectorySource).where(DirectorySource.name == name))


def save_source(source: DirectorySource | None, data: dict) -> DirectorySource:
    """Create or change a source. An empty port, attribute name or user filter takes the
    kind's default; an empty bind password keeps the stored one (forms never show it again)."""
    kind = data.get("kind") or (source.kind if source else "ad")
    encryption = data.get("encryption") or (source.encryption if source else "none")
    if kind not in DIRECTORY_KINDS:
        raise SourceError(_("There is no directory kind %(kind)s.", kind=kind), "kind")
    if encryption not in DIRECTORY_ENCRYPTIONS:
        raise SourceError(_("There is no encryption %(name)s.", name=encryption), "encryption")
    other = source_by_name(data["name"])
    if other is not None and other is not source:
        raise SourceError(_("This name is already taken."), "name")
    if source is None:
        source = DirectorySource()
        db.session.add(source)
    source.name = data["name"]
    source.kind = kind
    source.host = data["host"]
    source.encryption = encryption
    source.port = data.get("port") or DEFAULT_PORTS[encryption]
    source.ca_file = data.get("ca_file") or None
    source.check_certificate = data.get("check_certificate", True)
    source.bind_dn = data.get("bind_dn") or None
    if data.get("bind_password"):
        source.bind_password_sealed = secretbox.seal(data["bind_password"])
    elif not source.bind_dn:
        source.bind_password_sealed = None
    source.base_dn = data["base_dn"]
    for name, default in DEFAULT_ATTRIBUTES[kind].items():
        setattr(source, name, data.get(name) or default)
    if "organisation" in data:
        source.organisation = data["organisation"]
    source.create_users = bool(data.get("create_users"))
    source.group_dn = data.get("group_dn") or None
    db.session.flush()
    return source


def bind_user(user: User, source: DirectorySource | None) -> None:
    """Switch a user to a source (the local password is dropped) or back to local (None:
    the user needs a new password from an administrator)."""
    user.directory_source = source
    if source is not None:
        user.password_hash = ""
    db.session.flush()


# --- sign-in ----------------------------------------------------------------------------------


def _verify(source: DirectorySource, login: str, password: str) -> Person | None:
    """The person, if `login` is in the directory, in the group, and the password is right."""
    if not password:
        return None
    person, member = look_up(source, login)
    if person is None or not member:
        return None
    return person if password_accepted(source, person, password) else None


def sign_in(login: str, password: str, user: User | None) -> User | None:
    """The user these credentials sign in, checked by the directory; None if refused.

    `user` is Sanmai's user of that login, if any: one bound to a source is checked by that
    source only. An unknown login is tried on the sources that create users; the first one
    that knows the login decides. Raises DirectoryUnavailable (and logs the reason) when the
    answer depends on a directory that could not be asked.
    """
    try:
        return _sign_in(login, password, user)
    except DirectoryUnavailable as error:
        current_app.logger.warning("directory sign-in of %r unavailable: %s", login, error)
        raise


def _sign_in(login: str, password: str, user: User | None) -> User | None:
    if user is not None:
        if not user.is_active or user.directory_source is None:
            return None
        person = _verify(user.directory_source, login, password)
        if person is None:
            return None
        _refresh(user, person)
        return user
    if not password:
        return None
    unavailable: list[str] = []
    creating = db.session.scalars(
        sa.select(DirectorySource).where(DirectorySource.create_users).order_by(DirectorySource.id)
    )
    for source in creating:
        try:
            person, member = look_up(source, login)
        except DirectoryUnavailable as error:
            unavailable.append(f"{source.name}: {error}")
            continue
        if person is None:
            continue
        if not member or not password_accepted(source, person, password):
            return None
        return _create_user(source, person)
    if unavailable:
        raise DirectoryUnavailable("connect", "; ".join(unavailable))
    return None


def _refresh(user: User, person: Person) -> None:
    """The directory is the reference for names and mail: keep them in step at each sign-in."""
    if person.name:
        user.name = person.name[:100]
    if person.email:
        user.email = person.email[:200]


def _create_user(source: DirectorySource, person: Person) -> User:
    """A first sign-in: the person becomes a user of the source's organisation, with no
    project roles until a manager adds them."""
    user = User(
        login=person.login[:60],
        name=(person.name or person.login)[:100],
        email=person.email[:200] or None,
        organisation=source.organisation,
        directory_source=source,
    )
    db.session.add(user)
    db.session.flush()
    current_app.logger.info("created user %s at first sign-in through %s", user.login, source.name)
    return user


# --- checking a source end to end -------------------------------------------------------------


def check_source(source: DirectorySource, login: str, password: str | None = None) -> CheckReport:
    """Walk the way a sign-in goes (connect, TLS, bind, find, group, and with a password the
    person's own bind) and report each step, so a source can be set up without guessing."""
    report = CheckReport()
    try:
        conn = service_connection(source, report.steps)
    except DirectoryUnavailable as error:
        report.steps.append(Step(error.stage, False, str(error)))
        return report
    try:
        search_filter = user_search_filter(source, login)
        person = find_person(source, conn, login)
        if person is None:
            report.steps.append(
                Step("find", False, f"no single entry under {source.base_dn} for {search_filter}")
            )
            return report
        report.person = person
        report.steps.append(Step("find", True, person.dn))
        if source.group_dn:
            member = is_member(source, conn, person)
            report.steps.append(Step("group", member, group_filter(source, person)))
            if not member:
                return report
    except DirectoryUnavailable as error:
        report.steps.append(Step(error.stage, False, str(error)))
        return report
    finally:
        conn.unbind()
    if password:
        try:
            accepted = password_accepted(source, person, password)
        except DirectoryUnavailable as error:
            accepted, reason = False, str(error)
        else:
            reason = "accepted" if accepted else "refused"
        report.steps.append(Step("password", accepted, reason))
    return report
