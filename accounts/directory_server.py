"""Talking to one directory server through ldap3: connect, TLS, bind, search.

Everything that can go wrong before the directory has judged a password raises
`DirectoryUnavailable`, naming the stage (connect, StartTLS, bind, search, password) and the
reason; what the directory answers (no entry, not in the group, password refused) is a value.
Filters are built here, with every value from outside escaped (ldap3's escape_filter_chars).
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

import ldap3
from flask import current_app
from ldap3.core.exceptions import LDAPException
from ldap3.utils.conv import escape_filter_chars

from accounts.models import DirectorySource
from core import secretbox

# Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: group membership through nested groups.
IN_CHAIN = "1.2.840.113556.1.4.1941"


class DirectoryUnavailable(Exception):
    """The directory could not answer; str() is the reason, for the log. `stage` names the
    step that failed (connect, StartTLS, bind, search, password), for `directory.check_source`."""

    def __init__(self, stage: str, reason: str):
        super().__init__(reason)
        self.stage = stage


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
    """One stage of `directory.check_source`, for the administrator: what was tried, how it went."""

    label: str
    ok: bool
    detail: str = ""


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


def service_connection(source: DirectorySource, steps: list[Step] | None = None):
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


def look_up(source: DirectorySource, login: str) -> tuple[Person | None, bool]:
    """The person for `login` and whether they are in the source's group."""
    conn = service_connection(source)
    try:
        person = find_person(source, conn, login)
        return person, person is not None and is_member(source, conn, person)
    finally:
        conn.unbind()
