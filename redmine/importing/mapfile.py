"""The mapping file (`flask redmine import --map FILE`, TOML): what to do instead where a
Redmine does not fit the import's defaults. Every table and key is optional
(docs/redmine-map.example.toml shows them all):

    [organisations]          default = "<organisation>"
    [organisations.groups]   "<Redmine group>" = "<organisation>" | false
    [organisations.domains]  "<mail domain>" = "<organisation>"
    [organisations.kinds]    "<organisation>" = "city" | "vendor" | "council"
    [projects.<Redmine identifier>]  key, owner, fiscal_year, skip, unit_of
    [statuses."<Redmine status>"]    name, ball
    [trackers."<Redmine tracker>"]   name

The whole file is checked before anything is written: `load` checks the file itself (TOML,
known tables and keys, types, ranges), `check_against` what it names in Redmine (projects,
statuses, trackers, groups) and the project tree it makes. A fault is a `MapFileError`: one
line naming the file, the table and the key.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass, field

import sqlalchemy as sa

from accounts.models import ORGANISATION_KINDS, Organisation
from core import textfields
from core.extensions import db
from projects.services import IDENTIFIER_RE
from redmine.importing import source as redmine
from redmine.importing.source import SourceError
from tickets.models import SIDES

FISCAL_YEARS = range(2000, 2101)  # as the project form allows
_DOMAIN = re.compile(r"[a-z0-9-]+(\.[a-z0-9-]+)+")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class MapFileError(SourceError):
    """The mapping file is wrong; str(error) says where and how."""


@dataclass(frozen=True)
class ProjectRule:
    key: str | None = None  # Sanmai's identifier
    owner: str | None = None  # an organisation's name
    fiscal_year: int | None = None
    skip: bool = False
    unit_of: str | None = None  # the Redmine project (identifier) it goes under instead


@dataclass(frozen=True)
class StatusRule:
    name: str | None = None  # Sanmai's status to match, or to create under this name
    ball: str | None = None  # who holds the ball: one of SIDES


@dataclass(frozen=True)
class TrackerRule:
    name: str | None = None


@dataclass
class MapFile:
    path: str = ""
    default_organisation: str | None = None
    groups: dict[str, str | None] = field(default_factory=dict)  # None: not an organisation
    domains: dict[str, str] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    projects: dict[str, ProjectRule] = field(default_factory=dict)
    statuses: dict[str, StatusRule] = field(default_factory=dict)
    trackers: dict[str, TrackerRule] = field(default_factory=dict)

    def fail(self, table: tuple[str, ...], key: str | None, problem: str):
        where = "[" + ".".join(_quoted(part) for part in table) + "]" if table else "top level"
        raise MapFileError(f"{self.path}: {where}{' ' + _quoted(key) if key else ''}: {problem}")


def _quoted(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


# Value checks: (what a value must be, in words; the test).
TEXT = ("text", lambda v: isinstance(v, str) and bool(v.strip()))
WHOLE = ("a whole number", lambda v: isinstance(v, int) and not isinstance(v, bool))
FLAG = ("true or false", lambda v: isinstance(v, bool))
TABLE = ("a table", lambda v: isinstance(v, dict))
TEXT_OR_FALSE = ("text, or false", lambda v: v is False or TEXT[1](v))

_TOP = {"organisations": TABLE, "projects": TABLE, "statuses": TABLE, "trackers": TABLE}
_ORGANISATIONS = {"default": TEXT, "groups": TABLE, "domains": TABLE, "kinds": TABLE}
_PROJECT = {"key": TEXT, "owner": TEXT, "fiscal_year": WHOLE, "skip": FLAG, "unit_of": TEXT}
_STATUS = {"name": TEXT, "ball": TEXT}
_TRACKER = {"name": TEXT}


def _checked(mf: MapFile, table: tuple[str, ...], data: dict, known: dict | None, value=None):
    """`data` after checking its keys (`known`: key → check) or, with `value`, every value."""
    for key, item in data.items():
        check = value if known is None else known.get(key)
        if check is None:
            mf.fail(table, key, f"unknown key (known: {', '.join(known)})")
        if not check[1](item):
            shown = json.dumps(item, ensure_ascii=False, default=str)  # dates are TOML's too
            mf.fail(table, key, f"must be {check[0]}, not {shown}")
    return data


def _name(mf: MapFile, table, key, value: str, limit: int = textfields.NAME) -> str:
    value = value.strip()
    if len(value) > limit:
        mf.fail(table, key, f"longer than {limit} characters")
    return value


def load(path: str) -> MapFile:
    """The mapping file at `path`, its own shape checked (not yet against Redmine)."""
    mf = MapFile(path=path)
    try:
        with open(path, "rb") as file:
            data = tomllib.load(file)
    except OSError as error:
        raise MapFileError(f"{path}: cannot be read: {error.strerror}") from None
    except UnicodeDecodeError:
        raise MapFileError(f"{path}: not UTF-8 text (TOML is UTF-8)") from None
    except tomllib.TOMLDecodeError as error:
        raise MapFileError(f"{path}: not valid TOML: {error}") from None
    _checked(mf, (), data, _TOP)
    _organisations(
        mf, _checked(mf, ("organisations",), data.get("organisations", {}), _ORGANISATIONS)
    )
    for identifier, rule in _tables(mf, data, "projects"):
        mf.projects[identifier] = _project(mf, identifier, rule)
    for name, rule in _tables(mf, data, "statuses"):
        table = ("statuses", name)
        _checked(mf, table, rule, _STATUS)
        if "ball" in rule and rule["ball"] not in SIDES:
            mf.fail(table, "ball", f"must be one of {', '.join(SIDES)}, not {rule['ball']!r}")
        mf.statuses[name.strip()] = StatusRule(
            name=_reference_name(mf, table, rule), ball=rule.get("ball")
        )
    for name, rule in _tables(mf, data, "trackers"):
        table = ("trackers", name)
        _checked(mf, table, rule, _TRACKER)
        mf.trackers[name.strip()] = TrackerRule(name=_reference_name(mf, table, rule))
    return mf


def _tables(mf: MapFile, data: dict, name: str):
    """The (key, table) pairs of the top-level table `name`, each checked to be a table."""
    return _checked(mf, (name,), data.get(name, {}), None, TABLE).items()


def _reference_name(mf: MapFile, table, rule: dict) -> str | None:
    if "name" not in rule:
        return None
    return _name(mf, table, "name", rule["name"], textfields.REFERENCE_NAME)


def _organisations(mf: MapFile, data: dict) -> None:
    if "default" in data:
        mf.default_organisation = _name(mf, ("organisations",), "default", data["default"])
    table = ("organisations", "groups")
    for group, name in _checked(mf, table, data.get("groups", {}), None, TEXT_OR_FALSE).items():
        mf.groups[group.strip()] = None if name is False else _name(mf, table, group, name)
    table = ("organisations", "domains")
    for domain, name in _checked(mf, table, data.get("domains", {}), None, TEXT).items():
        if not _DOMAIN.fullmatch(domain.lower()):
            mf.fail(table, domain, "not a mail domain (such as city.example.lg.jp)")
        mf.domains[domain.lower()] = _name(mf, table, domain, name)
    table = ("organisations", "kinds")
    for name, kind in _checked(mf, table, data.get("kinds", {}), None, TEXT).items():
        if kind not in ORGANISATION_KINDS:
            mf.fail(table, name, f"must be one of {', '.join(ORGANISATION_KINDS)}, not {kind!r}")
        mf.kinds[name.strip()] = kind


def _project(mf: MapFile, identifier: str, rule: dict) -> ProjectRule:
    table = ("projects", identifier)
    _checked(mf, table, rule, _PROJECT)
    if "key" in rule and not IDENTIFIER_RE.match(rule["key"]):
        mf.fail(table, "key", "lower-case letters, digits, - and _, starting with a letter")
    if "fiscal_year" in rule and rule["fiscal_year"] not in FISCAL_YEARS:
        mf.fail(
            table,
            "fiscal_year",
            f"{rule['fiscal_year']} is out of range ({FISCAL_YEARS[0]}–{FISCAL_YEARS[-1]})",
        )
    if rule.get("unit_of") == identifier:
        mf.fail(table, "unit_of", "a project cannot go under itself")
    owner = _name(mf, table, "owner", rule["owner"]) if "owner" in rule else None
    return ProjectRule(
        key=rule.get("key"),
        owner=owner,
        fiscal_year=rule.get("fiscal_year"),
        skip=rule.get("skip", False),
        unit_of=rule.get("unit_of"),
    )


def lineages(mf: MapFile, rows) -> tuple[dict[int, list], set[int]]:
    """{Redmine project id: its chain of projects, top-level first}, with the mapping file's
    `unit_of` in place of Redmine's parent; and the ids whose chain comes back to them (cut
    there: the check names them)."""
    by_id = {row.id: row for row in rows}
    by_identifier = {row.identifier: row for row in rows}

    def parent(row):
        rule = mf.projects.get(row.identifier)
        if rule is not None and rule.unit_of is not None:
            return by_identifier.get(rule.unit_of)
        return by_id.get(row.parent_id)

    chains, loops = {}, set()
    for row in rows:
        chain, seen = [row], {row.id}
        while (up := parent(chain[-1])) is not None and up.id not in seen:
            chain.append(up)
            seen.add(up.id)
        if up is not None and up.id == row.id:
            loops.add(row.id)
        chains[row.id] = chain[::-1]
    return chains, loops


def check_against(mf: MapFile, source) -> None:
    """Everything the mapping file names exists in Redmine, and the projects it moves make a
    tree Sanmai can hold."""
    users, statuses, trackers = redmine.users, redmine.issue_statuses, redmine.trackers
    known = {
        "statuses": {r.name.strip() for r in source.rows(sa.select(statuses.c.name))},
        "trackers": {r.name.strip() for r in source.rows(sa.select(trackers.c.name))},
    }
    for kind, noun, rules in (
        ("statuses", "status", mf.statuses),
        ("trackers", "tracker", mf.trackers),
    ):
        for name in rules:
            if name not in known[kind]:
                mf.fail((kind, name), None, f"Redmine has no such {noun}")
    groups = {
        r.lastname.strip()
        for r in source.rows(sa.select(users.c.lastname).where(users.c.type == "Group"))
    }
    for group in mf.groups:
        if group not in groups:
            mf.fail(("organisations", "groups"), group, "Redmine has no such group")
    table = redmine.projects
    rows = source.rows(sa.select(table.c.id, table.c.identifier, table.c.parent_id, table.c.name))
    identifiers = {row.identifier for row in rows}
    for identifier, rule in mf.projects.items():
        if identifier not in identifiers:
            mf.fail(("projects", identifier), None, "Redmine has no project of this identifier")
        if rule.unit_of is not None and rule.unit_of not in identifiers:
            mf.fail(("projects", identifier), "unit_of", f"Redmine has no project {rule.unit_of!r}")
    _check_tree(mf, rows)
    _check_owners(mf)


def _check_tree(mf: MapFile, rows) -> None:
    chains, loops = lineages(mf, rows)
    by_identifier = {row.identifier: row for row in rows}
    keys = {row.identifier: row.identifier for row in rows}
    for identifier, rule in mf.projects.items():
        table = ("projects", identifier)
        row = by_identifier[identifier]
        chain = chains[row.id]
        if rule.unit_of is not None and row.id in loops:
            mf.fail(table, "unit_of", f"goes under {rule.unit_of!r}, which is under it: a loop")
        if rule.fiscal_year is not None and len(chain) > 1:
            mf.fail(table, "fiscal_year", "only a top-level project (a fiscal year) has one")
        if len(chain) > 2 and (rule.key is not None or rule.owner is not None):
            unit = chain[1].identifier
            mf.fail(
                table,
                "key" if rule.key is not None else "owner",
                f"it folds into the business unit {unit!r}: not a Sanmai project of its own",
            )
        if rule.key is not None:
            keys[identifier] = rule.key
    seen: dict[str, str] = {}
    for identifier, key in sorted(keys.items(), key=lambda item: item[0] in mf.projects):
        if key in seen:
            mf.fail(
                ("projects", identifier),
                "key",
                f"{key!r} would also be the Sanmai key of {seen[key]!r}",
            )
        seen[key] = identifier


def _check_owners(mf: MapFile) -> None:
    for identifier, rule in mf.projects.items():
        if rule.owner is None:
            continue
        kind = mf.kinds.get(rule.owner) or db.session.scalar(
            sa.select(Organisation.kind).where(Organisation.name == rule.owner)
        )
        if kind == "vendor":
            mf.fail(
                ("projects", identifier),
                "owner",
                f"{rule.owner} is a vendor: a project is owned by a city or the council",
            )
