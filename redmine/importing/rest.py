"""A running Redmine read through its REST API (`--url URL --key KEY`) into a staging SQLite
database with the same tables and columns as source.py's `metadata`, so that the one
importer serves both sources.

The staging file lives in the instance folder, named after the URL, and is kept: a second
run lists the issues again (`/issues.json?status_id=*&sort=updated_on&include=relations`,
100 a page, a few pages at a time, which carries every column of an issue and its
relations) and asks for an issue with its journals, attachments and watchers
(`/issues/N.json?include=...`, a few requests at a time over keep-alive connections,
project by project) only where the issue is new, its updated_on changed or its relations
did (adding a relation changes no updated_on); its relations are the listed ones. The
attachments' bytes are downloaded into the files directory beside the staging file
(rest_links.py), each once. Users, groups and their members, projects (whatever their
status), memberships, roles, trackers, statuses, priorities and issue custom fields are read
afresh every run (hundreds of rows). Issues are staged a hundred at a time, each hundred
with all it brings in one transaction of a few statements, so a run that stops half-way
resumes after the last issues it staged.

What the REST API does not give, and what the staging rows hold instead:
- users' password hashes and salts: none, so people brought in this way have no password
  in Sanmai and set one with "forgot password" (or sign in through the directory);
- users' language: none (the import makes them Japanese-speaking);
- users' directory (auth source): none;
- projects' nested-set `lft`: none (the importer orders projects by their parents anyway);
  archived projects and their issues are not listed by Redmine at all (closed ones are,
  when asked for every status);
- journals' `updated_on` (when notes were edited): none, so an edited note comes over again
  only when its issue changes;
- positions of trackers, statuses, priorities and custom fields: the order Redmine lists
  them in;
- workflows: Redmine's REST API has no such endpoint, so none are staged;
- watchers: listed only issue by issue, and adding one changes no updated_on, so a watcher
  added or removed comes over when its issue next changes;
- ids of watchers and custom values: made up, kept while the row stays (rest_links.py);
- attachments' digests: none (the download is checked against the size Redmine gives);
- custom field definitions where /custom_fields.json is refused (a Redmine before 2.4): only
  id, name and whether multiple, from the issues that show them, taken as text fields.

Failures (`SourceError`, one line, checked by rest_client.connect before anything is
written): an address that cannot be reached, one that is not a Redmine, a key Redmine does
not accept (401), the REST API switched off (403 on /users/current.json, whatever the key),
a key that is not an administrator's (403 on /users.json). Redmine gone midway (an issue or
a file that cannot be fetched) stops the run there; the next resumes.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from itertools import islice
from pathlib import Path

import sqlalchemy as sa

from redmine.importing import rest_links
from redmine.importing import source as redmine
from redmine.importing.rest_client import PAGE, Client
from redmine.importing.source import Source, SourceError

# Issues asked for at once: a Redmine behind several workers answers them side by side; a
# single-process one answers in turn, while this side stages the previous answers.
PARALLEL = 4
AHEAD = 2 * PARALLEL  # fetched ahead of the batch being staged
# The list already shows the relations; children are the issues whose parent is listed.
INCLUDE = "journals,attachments,watchers"
# Redmine 5 lists only active projects unless asked for any status (closed ones too; an
# archived one is listed by none); an older Redmine ignores the filter and lists them all.
EVERY_STATUS = {"set_filter": 1, "f[]": "status", "op[status]": "*"}


def staging_path(folder: Path, url: str) -> Path:
    """The staging file for the Redmine at `url`: one per address, kept between runs."""
    name = re.sub(r"[^A-Za-z0-9]+", "-", re.sub(r"^https?://", "", url)).strip("-")
    return Path(folder) / f"redmine-rest-{name}.sqlite3"


def stage(client: Client, path: Path, progress: Callable[[int, int], None] | None = None):
    """Bring the staging database at `path` (and its files directory,
    rest_links.files_directory) up to date with Redmine; a Source reading it.
    `progress(done, total)` is called as issues are fetched."""
    path.parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(f"sqlite:///{path}")
    sa.event.listen(engine, "connect", _fast_sqlite)
    try:
        redmine.metadata.create_all(engine)
        with engine.begin() as conn:
            _stage_people(client, conn)
            _stage_reference(client, conn)
            fields_listed = rest_links.stage_custom_fields(client, conn)
        _stage_issues(client, engine, progress, rest_links.files_directory(path), fields_listed)
    except BaseException:
        engine.dispose()
        raise
    return Source(engine)


def _fast_sqlite(connection, _record) -> None:
    # A copy that can be fetched again: no wait for the disk after each issue.
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")


def _time(text: str | None) -> datetime | None:
    # Redmine answers in UTC ("2026-11-26T12:23:03Z") and stores UTC without a zone.
    return datetime.fromisoformat(text).replace(tzinfo=None) if text else None


def _date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def _id(item: dict, name: str) -> int | None:
    return (item.get(name) or {}).get("id")


def _replace(conn, table: sa.Table, rows: list[dict]) -> None:
    conn.execute(sa.delete(table))
    if rows:
        conn.execute(sa.insert(table), rows)


def _stage_people(client: Client, conn) -> None:
    users, mails = [], []
    for status in (1, 2, 3):  # active, registered, locked: the list shows one at a time
        for user in client.pages("/users.json", "users", status=status):
            users.append(
                {
                    "id": user["id"],
                    "login": user.get("login") or "",
                    "hashed_password": None,
                    "salt": None,
                    "firstname": user.get("firstname") or "",
                    "lastname": user.get("lastname") or "",
                    "admin": bool(user.get("admin")),
                    "status": status,
                    "language": None,
                    "auth_source_id": None,
                    "type": "User",
                    "created_on": _time(user.get("created_on")),
                    "updated_on": _time(user.get("updated_on")),
                }
            )
            if user.get("mail"):
                mails.append(
                    {
                        "id": user["id"],
                        "user_id": user["id"],
                        "address": user["mail"],
                        "is_default": True,
                    }
                )
    group_users = []
    for group in client.get("/groups.json").get("groups", []):
        shown = client.get(f"/groups/{group['id']}.json", include="users")["group"]
        group_users.extend(
            {"group_id": group["id"], "user_id": user["id"]} for user in shown.get("users", [])
        )
        users.append(
            dict.fromkeys(c.name for c in redmine.users.columns)
            | {
                "id": group["id"],
                "login": "",
                "firstname": "",
                "lastname": group["name"],
                "admin": False,
                "status": 1,
                "type": "Group",
            }
        )
    _replace(conn, redmine.users, users)
    _replace(conn, redmine.email_addresses, mails)
    _replace(conn, redmine.groups_users, group_users)
    projects = [
        {
            "id": project["id"],
            "name": project["name"],
            "identifier": project["identifier"],
            "description": project.get("description"),
            "parent_id": _id(project, "parent"),
            "status": project.get("status", 1),
            "lft": None,
            "created_on": _time(project.get("created_on")),
            "updated_on": _time(project.get("updated_on")),
        }
        for project in client.pages("/projects.json", "projects", **EVERY_STATUS)
    ]
    _replace(conn, redmine.projects, projects)
    members, member_roles = [], []
    for project in projects:
        for membership in client.pages(
            f"/projects/{project['id']}/memberships.json", "memberships"
        ):
            principal = _id(membership, "user") or _id(membership, "group")
            members.append(
                {"id": membership["id"], "user_id": principal, "project_id": project["id"]}
            )
            member_roles.extend(
                {"member_id": membership["id"], "role_id": role["id"]}
                for role in membership.get("roles", [])
            )
    _replace(conn, redmine.members, members)
    _replace(conn, redmine.member_roles, member_roles)


def _stage_reference(client: Client, conn) -> None:
    roles = []
    for role in client.get("/roles.json").get("roles", []):
        permissions = client.get(f"/roles/{role['id']}.json")["role"].get("permissions", [])
        roles.append(
            {
                "id": role["id"],
                "name": role["name"],
                "builtin": 0,
                # as Redmine stores it: a YAML list of symbols
                "permissions": "---\n" + "".join(f"- :{name}\n" for name in permissions),
            }
        )
    _replace(conn, redmine.roles, roles)
    trackers = client.get("/trackers.json").get("trackers", [])
    _replace(
        conn,
        redmine.trackers,
        [{"id": t["id"], "name": t["name"], "position": n} for n, t in enumerate(trackers, 1)],
    )
    statuses = client.get("/issue_statuses.json").get("issue_statuses", [])
    _replace(
        conn,
        redmine.issue_statuses,
        [
            {"id": s["id"], "name": s["name"], "is_closed": bool(s.get("is_closed")), "position": n}
            for n, s in enumerate(statuses, 1)
        ],
    )
    priorities = client.get("/enumerations/issue_priorities.json").get("issue_priorities", [])
    _replace(
        conn,
        redmine.enumerations,
        [
            {
                "id": p["id"],
                "name": p["name"],
                "position": n,
                "is_default": bool(p.get("is_default")),
                "type": "IssuePriority",
                "project_id": None,
                "parent_id": None,
            }
            for n, p in enumerate(priorities, 1)
        ],
    )


def _issue_row(issue: dict) -> dict:
    return {
        "id": issue["id"],
        "tracker_id": _id(issue, "tracker"),
        "project_id": _id(issue, "project"),
        "subject": issue.get("subject") or "",
        "description": issue.get("description"),
        "due_date": _date(issue.get("due_date")),
        "status_id": _id(issue, "status"),
        "assigned_to_id": _id(issue, "assigned_to"),
        "priority_id": _id(issue, "priority"),
        "author_id": _id(issue, "author"),
        "created_on": _time(issue.get("created_on")),
        "updated_on": _time(issue.get("updated_on")),
        "start_date": _date(issue.get("start_date")),
        "done_ratio": issue.get("done_ratio") or 0,
        "parent_id": _id(issue, "parent"),
        "is_private": bool(issue.get("is_private")),
        "closed_on": _time(issue.get("closed_on")),
    }


def _stage_issues(client: Client, engine, progress, files: Path, fields_listed: bool) -> None:
    with ThreadPoolExecutor(PARALLEL) as pool:
        _stage_issues_with(pool, client, engine, progress, files, fields_listed)


def _listed_issues(pool: ThreadPoolExecutor, client: Client) -> list[dict]:
    """Every issue as the list shows it: the first page says how many there are, and the
    other pages are asked for side by side."""
    params = {"status_id": "*", "sort": "updated_on", "include": "relations", "limit": PAGE}
    first = client.get("/issues.json", offset=0, **params)
    offsets = range(PAGE, first.get("total_count", 0), PAGE)
    pages = pool.map(lambda offset: client.get("/issues.json", offset=offset, **params), offsets)
    return [issue for answer in (first, *pages) for issue in answer.get("issues", [])]


def _stage_issues_with(pool, client: Client, engine, progress, files: Path, fields_listed):
    issues = redmine.issues
    with engine.connect() as conn:
        staged = dict(conn.execute(sa.select(issues.c.id, issues.c.updated_on)).all())
        relations = rest_links.staged_relations(conn)
    # An issue changed while the pages were read may show twice: as it is now counts.
    rows, shown = {}, {}
    for issue in _listed_issues(pool, client):
        rows[issue["id"]] = _issue_row(issue)
        shown[issue["id"]] = issue.get("relations") or []
    listed = list(rows.values())
    # A relation added or removed changes no issue's updated_on (only a journal is added):
    # the list shows each issue's relations, and an issue whose differ is fetched again.
    # Asked for project by project: Redmine writes the key's user's "recently used projects"
    # whenever an issue of another project than the last is shown, which costs it more than
    # the issue itself.
    wanted = sorted(
        (
            row
            for row in listed
            if staged.get(row["id"]) != row["updated_on"]
            or {r["id"] for r in shown[row["id"]]} != relations.get(row["id"], set())
        ),
        key=lambda row: row["project_id"] or 0,
    )
    gone = set(staged) - {row["id"] for row in listed}
    if gone:
        with engine.begin() as conn:
            _forget_issues(conn, list(gone), files)
            conn.execute(sa.delete(issues).where(issues.c.id.in_(gone)))
    if progress:
        progress(0, len(wanted))

    def fetch(row: dict) -> dict:
        issue = client.get(f"/issues/{row['id']}.json", include=INCLUDE)["issue"]
        # the relations as listed, which the comparison above goes by
        issue["relations"] = shown[row["id"]]
        rest_links.download_attachments(client, issue, files)
        return issue

    done = 0
    for batch in _fetched(pool, fetch, wanted):
        _stage_batch(engine, batch, files, fields_listed)
        done += len(batch)
        if progress:
            progress(done, len(wanted))


def _fetched(pool: ThreadPoolExecutor, fetch, rows: list[dict]):
    """The issues of `rows` fetched by `pool`, `PAGE` at a time, in order. `AHEAD` requests
    stay in flight while a batch is staged, so Redmine never waits for this side; a failed
    one stops the run after the batch fetched before it is staged (the rest are dropped)."""
    queue = iter(rows)
    pending = deque((row, pool.submit(fetch, row)) for row in islice(queue, AHEAD))
    batch: list[tuple[dict, dict]] = []
    try:
        while pending:
            row, future = pending.popleft()
            try:
                issue = future.result()
            except SourceError:
                if batch:
                    yield batch
                raise
            following = next(queue, None)
            if following is not None:
                pending.append((following, pool.submit(fetch, following)))
            batch.append((row, issue))
            if len(batch) == PAGE or not pending:
                yield batch
                batch = []
    finally:
        for _, future in pending:
            future.cancel()


def _stage_batch(engine, batch: list[tuple[dict, dict]], files: Path, fields_listed: bool):
    """The issues of `batch` (listed row, issue as fetched) with their journals,
    attachments, relations, watchers and custom values, in one transaction."""
    issues = redmine.issues
    journals, details = [], []
    for row, issue in batch:
        for journal in issue.get("journals", []):
            journals.append(
                {
                    "id": journal["id"],
                    "journalized_id": row["id"],
                    "journalized_type": "Issue",
                    "user_id": _id(journal, "user"),
                    "notes": journal.get("notes") or "",
                    "created_on": _time(journal.get("created_on")),
                    "private_notes": bool(journal.get("private_notes")),
                    "updated_on": None,
                }
            )
            details.extend(
                {
                    "journal_id": journal["id"],
                    "property": detail.get("property"),
                    "prop_key": detail.get("name"),
                    "old_value": detail.get("old_value"),
                    "value": detail.get("new_value"),
                }
                for detail in journal.get("details", [])
            )
    numbers = [row["id"] for row, _ in batch]
    with engine.begin() as conn:  # the issues and all they bring, or none of it
        _forget_issues(conn, numbers, files, staged_again=True)
        conn.execute(sa.delete(issues).where(issues.c.id.in_(numbers)))
        conn.execute(sa.insert(issues), [_issue_row(issue) for _, issue in batch])
        if journals:
            conn.execute(sa.insert(redmine.journals), journals)
        if details:
            conn.execute(sa.insert(redmine.journal_details), details)
        rest_links.stage_issue_links(conn, [issue for _, issue in batch], files, fields_listed)


def _forget_issues(conn, ids: list[int], files: Path, staged_again: bool = False) -> None:
    """Remove the staged journals of issues `ids` (they are staged again whole), and for
    gone issues (not `staged_again`) their attachments, relations, watchers and custom
    values too."""
    if not staged_again:
        rest_links.forget(ids, conn, files)
    journals, details = redmine.journals, redmine.journal_details
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        journal_ids = sa.select(journals.c.id).where(journals.c.journalized_id.in_(chunk))
        conn.execute(sa.delete(details).where(details.c.journal_id.in_(journal_ids)))
        conn.execute(sa.delete(journals).where(journals.c.journalized_id.in_(chunk)))
