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

import ssl
from dataclasses import dataclass, field

import ldap3
import sqlalchemy as sa
from flask import current_app
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

import secretbox
from accounts.models import DIRECTORY_ENCRYPTIONS, DIRECTORY_KINDS, DirectorySource, User
from extensions import db

# Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: group membership through nested groups.
IN_CHAIN = "1.2.840.113556.1.4.1941"

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


class DirectoryUnavailable(Exception):
    """The directory could not answer; str() is the reason, for the log. `stage` names the
    step that failed (connect, StartTLS, bind, search, password), for `check_source`."""

    def __init__(self, stage: str, reason: str):
        super().__init__(reason)
        self.stage = stage


class SourceError(ValueError):
    """A source's settings break a rule; the message is for the administrator."""


@dataclass
class Person:
    """A directory entry, mapped to Sanmai's fields by the source's attribute names."""

    dn: str
    login: str
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    display_name: str = ""

    @property
    def name(self) -> str:
        # Japanese order: family name first.
        return self.display_name or " ".join(p for p in (self.last_name, self.first_name) if p)


@dataclass
class Step:
    """One stage of `check_source`, for the administrator: what was tried and how it went."""

    label: str
    ok: bool
    detail: str = ""


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
    """Create or change a source. Empty attribute names and port take the kind's defaults;
    an empty bind password keeps the stored one (forms never show it again)."""
    kind = data.get("kind") or (source.kind if source else "ad")
    encryption = data.get("encryption") or (source.encryption if source else "none")
    if kind not in DIRECTORY_KINDS:
        raise SourceError(f"unknown kind {kind!r}")
    if encryption not in DIRECTORY_ENCRYPTIONS:
        raise SourceError(f"unknown encryption {encryption!r}")
    other = source_by_name(data["name"])
    if other is not None and other is not source:
        raise SourceError(f"a source named {data['name']!r} exists")
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
    defaults = DEFAULT_ATTRIBUTES[kind]
    for name in ("attr_login", "attr_firstname", "attr_lastname", "attr_mail"):
        setattr(source, name, data.get(name) or defaults[name])
    source.attr_display_name = data.get("attr_display_name") or defaults["attr_display_name"]
    source.user_filter = data.get("user_filter") or None
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


# --- talking to the directory ---------------------------------------------------------------


def _server(source: DirectorySource) -> ldap3.Server:
    tls = None
    if source.encryption != "none":
        tls = ldap3.Tls(
            validate=ssl.CERT_REQUIRED if source.check_certificate else ssl.CERT_NONE,
            ca_certs_file=source.ca_file or None,
            sni=source.host,
        )
    return ldap3.Server(
        source.host,
        port=source.port,
        use_ssl=source.encryption == "ldaps",
        tls=tls,
        get_info=ldap3.NONE,
        connect_timeout=current_app.config["SANMAI_DIRECTORY_TIMEOUT"],
    )


def _connection(source: DirectorySource, user: str | None, password: str | None):
    # No referral chasing: Active Directory answers a domain-wide search with referrals to
    # its DNS partitions, which would mean more servers and more waiting.
    return ldap3.Connection(
        _server(source),
        user=user,
        password=password,
        read_only=True,
        auto_referrals=False,
        receive_timeout=current_app.config["SANMAI_DIRECTORY_TIMEOUT"],
        raise_exceptions=False,
    )


def _open(source: DirectorySource, conn: ldap3.Connection, steps: list[Step] | None) -> None:
    """Connect, and start TLS where the source asks for it; DirectoryUnavailable otherwise."""
    where = f"{source.host}:{source.port}"
    try:
        conn.open()
    except (LDAPException, OSError) as error:
        raise DirectoryUnavailable("connect", f"cannot connect to {where}: {error}") from error
    _note(steps, "connect", where + (" (LDAPS)" if source.encryption == "ldaps" else ""))
    if source.encryption == "starttls":
        try:
            conn.start_tls()
        except (LDAPException, OSError) as error:
            raise DirectoryUnavailable(
                "StartTLS", f"StartTLS with {where} failed: {error}"
            ) from error
        _note(steps, "StartTLS", _certificate_note(source))
    elif source.encryption == "ldaps":
        _note(steps, "TLS", _certificate_note(source))


def _certificate_note(source: DirectorySource) -> str:
    if not source.check_certificate:
        return "certificate NOT checked"
    return f"certificate checked against {source.ca_file or 'the system CAs'}"


def _note(steps: list[Step] | None, label: str, detail: str = "") -> None:
    if steps is not None:
        steps.append(Step(label, True, detail))


def _service_connection(source: DirectorySource, steps: list[Step] | None = None):
    """An open connection bound as the source's service account (anonymous without one)."""
    password = None
    if source.bind_password_sealed:
        try:
            password = secretbox.open_sealed(source.bind_password_sealed)
        except secretbox.SecretBoxError as error:
            raise DirectoryUnavailable(
                "bind", f"bind password of {source.name!r}: {error}"
            ) from error
    conn = _connection(source, source.bind_dn, password)
    _open(source, conn, steps)
    try:
        bound = conn.bind()
    except (LDAPException, OSError) as error:
        conn.unbind()
        raise DirectoryUnavailable(
            "bind", f"bind as {source.bind_dn or 'anonymous'}: {error}"
        ) from error
    if not bound:
        conn.unbind()
        raise DirectoryUnavailable(
            "bind",
            f"bind as {source.bind_dn or 'anonymous'} refused: {conn.result.get('description')}"
            f" {conn.result.get('message') or ''}".rstrip(),
        )
    _note(steps, "bind", source.bind_dn or "anonymous")
    return conn


def user_search_filter(source: DirectorySource, login: str) -> str:
    """The filter that finds `login`: the login attribute equal to it, escaped so that
    `*`, `(`, `)`, `\\` and NUL in a login are matched as characters, never as filter syntax."""
    match = f"({source.attr_login}={escape_filter_chars(login)})"
    if not source.user_filter:
        return match
    extra = source.user_filter.strip()
    if not extra.startswith("("):
        extra = f"({extra})"
    return f"(&{match}{extra})"


def group_filter(source: DirectorySource, person: Person) -> str:
    """The filter a member of the source's group matches, read at the person's own entry
    (Active Directory: through nested groups) or at the group's entry (OpenLDAP)."""
    if source.kind == "ad":
        return f"(memberOf:{IN_CHAIN}:={escape_filter_chars(source.group_dn)})"
    dn = escape_filter_chars(person.dn)
    login = escape_filter_chars(person.login)
    return f"(|(member={dn})(uniqueMember={dn})(memberUid={login}))"


def _search(conn, base: str, search_filter: str, scope, attributes) -> list[dict]:
    try:
        conn.search(base, search_filter, search_scope=scope, attributes=attributes)
    except (LDAPException, OSError) as error:
        raise DirectoryUnavailable("search", f"search under {base}: {error}") from error
    if conn.result.get("description") not in ("success", "noSuchObject"):
        raise DirectoryUnavailable(
            "search",
            f"search under {base}: {conn.result.get('description')} {conn.result.get('message')}",
        )
    return [entry for entry in conn.response or () if entry.get("type") == "searchResEntry"]


def _first(entry: dict, attribute: str) -> str:
    values = entry["attributes"].get(attribute)
    if isinstance(values, list):
        values = values[0] if values else ""
    if isinstance(values, bytes):
        values = values.decode("utf-8", "replace")
    return str(values or "").strip()


def find_person(source: DirectorySource, conn, login: str) -> Person | None:
    """The one entry for `login` under the base DN; None if there is none or several."""
    attributes = [
        source.attr_login,
        source.attr_firstname,
        source.attr_lastname,
        source.attr_mail,
        source.attr_display_name,
    ]
    entries = _search(
        conn, source.base_dn, user_search_filter(source, login), ldap3.SUBTREE, attributes
    )
    if len(entries) != 1:
        return None
    entry = entries[0]
    return Person(
        dn=entry["dn"],
        login=_first(entry, source.attr_login) or login,
        first_name=_first(entry, source.attr_firstname),
        last_name=_first(entry, source.attr_lastname),
        email=_first(entry, source.attr_mail),
        display_name=_first(entry, source.attr_display_name),
    )


def is_member(source: DirectorySource, conn, person: Person) -> bool:
    if not source.group_dn:
        return True
    base = person.dn if source.kind == "ad" else source.group_dn
    return bool(_search(conn, base, group_filter(source, person), ldap3.BASE, ["1.1"]))


def password_accepted(source: DirectorySource, person: Person, password: str) -> bool:
    """A bind as the person: the directory alone judges the password (and refuses locked
    or disabled accounts)."""
    if not password:
        return False
    conn = _connection(source, person.dn, password)
    _open(source, conn, None)
    try:
        return bool(conn.bind())
    except (LDAPException, OSError) as error:
        raise DirectoryUnavailable("password", f"bind as {person.dn}: {error}") from error
    finally:
        conn.unbind()


def _look_up(source: DirectorySource, login: str) -> tuple[Person | None, bool]:
    """The person for `login` and whether they are in the source's group."""
    conn = _service_connection(source)
    try:
        person = find_person(source, conn, login)
        return person, person is not None and is_member(source, conn, person)
    finally:
        conn.unbind()


def _verify(source: DirectorySource, login: str, password: str) -> Person | None:
    """The person, if `login` is in the directory, in the group, and the password is right."""
    if not password:
        return None
    person, member = _look_up(source, login)
    if person is None or not member:
        return None
    return person if password_accepted(source, person, password) else None


# --- sign-in ----------------------------------------------------------------------------------


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
            person, member = _look_up(source, login)
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
        conn = _service_connection(source, report.steps)
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
