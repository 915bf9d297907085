"""What the REST staging (rest.py) keeps of an issue beside its row and journals: its
attachments (their bytes downloaded into the staging files directory), relations, watchers
and custom values; and the issue custom fields' definitions.

The staging rows are shaped as Redmine's own tables (source.py), so the importer reads them
as it reads Redmine's database, and an attachment's bytes as it reads Redmine's files/
directory: each file is `<files directory>/<attachment id>` (no disk_directory).

The REST API gives no ids for watchers and custom values: a staged row keeps its id while
the issue keeps that watcher or value, so that a second import sees it unchanged; a new one
takes the next free id.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa

from redmine.importing import source as redmine
from redmine.importing.source import SourceError

CHUNK = 1 << 20


def files_directory(staging: Path) -> Path:
    """The attachments' bytes of the staging database at `staging`, beside it."""
    return staging.with_name(f"{staging.stem}-files")


def _time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text).replace(tzinfo=None) if text else None


# --- custom field definitions ---------------------------------------------------------------


def stage_custom_fields(client, conn) -> bool:
    """Stage the issue custom fields as /custom_fields.json lists them (and the names of
    key/value lists' values); False where Redmine does not list them (before Redmine 2.4,
    or a key it refuses), when they are derived from the issues instead."""
    response = client.response("/custom_fields.json")
    try:
        listed = response.json().get("custom_fields") if response.status_code == 200 else None
    except ValueError:
        listed = None
    if not isinstance(listed, list):
        return False
    fields, values = [], []
    issue_fields = [f for f in listed if f.get("customized_type") == "issue"]
    # The list has no positions: the order Redmine lists them in.
    for position, field in enumerate(issue_fields, 1):
        fields.append(
            {
                "id": field["id"],
                "type": "IssueCustomField",
                "name": field.get("name") or "",
                "field_format": field.get("field_format") or "string",
                "position": position,
                "multiple": bool(field.get("multiple")),
            }
        )
        if field.get("field_format") == "enumeration":
            values.extend(
                {"id": int(v["value"]), "custom_field_id": field["id"], "name": v.get("label")}
                for v in field.get("possible_values") or []
                if str(v.get("value", "")).isdigit()
            )
    for table, rows in (
        (redmine.custom_fields, fields),
        (redmine.custom_field_enumerations, values),
    ):
        conn.execute(sa.delete(table))
        if rows:
            conn.execute(sa.insert(table), rows)
    return True


def _derive_custom_fields(conn, issues: list[dict]) -> None:
    """Custom fields known only by the issues that show them: id, name and whether
    multiple; their format is taken as text."""
    table = redmine.custom_fields
    known = set(conn.execute(sa.select(table.c.id)).scalars())
    new = {}
    for issue in issues:
        for field in issue.get("custom_fields") or []:
            if field["id"] not in known:
                new.setdefault(field["id"], {
                    "id": field["id"],
                    "type": "IssueCustomField",
                    "name": field.get("name") or "",
                    "field_format": "string",
                    "position": field["id"],
                    "multiple": bool(field.get("multiple")),
                })  # fmt: skip
    if new:
        conn.execute(sa.insert(table), list(new.values()))


# --- attachments' bytes ---------------------------------------------------------------------


def download_attachments(client, issue: dict, directory: Path) -> None:
    """The bytes of the issue's attachments not yet in `directory`. A file Redmine cannot
    send (missing from its disk) is left out: the import counts it as missing, and a later
    run tries again."""
    directory.mkdir(parents=True, exist_ok=True)
    base = urlsplit(client.url)
    for attachment in issue.get("attachments") or []:
        path = directory / str(attachment["id"])
        if path.exists() or not attachment.get("content_url"):
            continue
        # Redmine's own address with the file's path: the key goes to no other host, and a
        # Redmine behind a proxy that names itself otherwise is still reached.
        url = base._replace(path=urlsplit(attachment["content_url"]).path).geturl()
        partial = path.with_name(f"{path.name}.part")
        try:
            with client.session.get(url, stream=True, timeout=client.timeout) as response:
                if response.status_code != 200:
                    continue
                with partial.open("wb") as out:
                    for chunk in response.iter_content(CHUNK):
                        out.write(chunk)
        except requests.RequestException as error:
            partial.unlink(missing_ok=True)
            reason = str(error).splitlines()[0][:200]
            raise SourceError(
                f"cannot download attachment {attachment['id']} from Redmine at {client.url} "
                f"({reason}): run the import again"
            ) from None
        if partial.stat().st_size != attachment.get("filesize", partial.stat().st_size):
            partial.unlink()  # cut short: a later run fetches it again
            continue
        os.replace(partial, path)


# --- an issue's rows ------------------------------------------------------------------------


def stage_issue_links(conn, issues: list[dict], directory: Path, fields_listed: bool) -> None:
    """Replace the staged attachments, relations, watchers and custom values of `issues`
    with those they show now: a few statements for them all, whatever their number."""
    numbers = [issue["id"] for issue in issues]
    if not fields_listed:
        _derive_custom_fields(conn, issues)
    watcher_ids = _ids_by(conn, redmine.watchers, numbers, "user_id")
    value_ids = _ids_by(conn, redmine.custom_values, numbers, "custom_field_id", "value")
    attachments = [
        {
            "id": a["id"],
            "container_id": issue["id"],
            "container_type": "Issue",
            "filename": a.get("filename") or "",
            "disk_filename": str(a["id"]),
            "disk_directory": None,
            "filesize": a.get("filesize"),
            "content_type": a.get("content_type"),
            "digest": None,  # not shown by the REST API; the download checked the size
            "author_id": (a.get("author") or {}).get("id"),
            "created_on": _time(a.get("created_on")),
            "description": a.get("description"),
        }
        for issue in issues
        for a in issue.get("attachments") or []
    ]
    # Every relation touching the issues goes first, and one listed by both of its issues
    # is staged once (Redmine's relation ids are global).
    forget(numbers, conn, directory, keep={a["id"] for a in attachments})
    relations = {
        r["id"]: {
            "id": r["id"],
            "issue_from_id": r.get("issue_id"),
            "issue_to_id": r.get("issue_to_id"),
            "relation_type": r.get("relation_type"),
            "delay": r.get("delay"),
        }
        for issue in issues
        for r in issue.get("relations") or []
    }
    watchers = [
        {
            "id": watcher_ids.pop((issue["id"], w["id"]), None),
            "watchable_type": "Issue",
            "watchable_id": issue["id"],
            "user_id": w["id"],
        }
        for issue in issues
        for w in issue.get("watchers") or []
    ]
    values = [
        {
            "id": value_ids.pop((issue["id"], field["id"], value), None),
            "customized_type": "Issue",
            "customized_id": issue["id"],
            "custom_field_id": field["id"],
            "value": value,
        }
        for issue in issues
        for field in issue.get("custom_fields") or []
        for value in _values(field)
    ]
    for table, rows in (
        (redmine.attachments, attachments),
        (redmine.issue_relations, list(relations.values())),
        (redmine.watchers, _numbered(conn, redmine.watchers, watchers)),
        (redmine.custom_values, _numbered(conn, redmine.custom_values, values)),
    ):
        if rows:
            conn.execute(sa.insert(table), rows)


def staged_relations(conn) -> dict[int, set[int]]:
    """{issue id: the ids of the staged relations it is at either end of}."""
    table = redmine.issue_relations
    held: dict[int, set[int]] = {}
    for id, first, second in conn.execute(
        sa.select(table.c.id, table.c.issue_from_id, table.c.issue_to_id)
    ):
        held.setdefault(first, set()).add(id)
        held.setdefault(second, set()).add(id)
    return held


def _values(field: dict) -> list[str | None]:
    """A custom field's values as Redmine stores them: a row per value of a multiple one
    (one NULL row where none is chosen, as an issue saved without it has), else its one
    value."""
    value = field.get("value")
    if isinstance(value, list):
        return [str(v) for v in value] or [None]
    return [value]


def _ids_by(conn, table: sa.Table, numbers: list[int], *keys: str) -> dict[tuple, int]:
    """{(issue id, *key columns): id} of the rows staged for issues `numbers` (watchers,
    custom values)."""
    owner = table.c.watchable_id if table is redmine.watchers else table.c.customized_id
    held = {}
    for start in range(0, len(numbers), 500):
        rows = conn.execute(
            sa.select(table.c.id, owner, *(table.c[k] for k in keys)).where(
                owner.in_(numbers[start : start + 500])
            )
        )
        held.update({tuple(row[1:]): row[0] for row in rows})
    return held


def _numbered(conn, table: sa.Table, rows: list[dict]) -> list[dict]:
    """`rows` with the next free ids where they have none (the ones kept keep theirs)."""
    last = conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
    taken = {row["id"] for row in rows if row["id"] is not None}
    for row in rows:
        if row["id"] is None:
            last += 1
            while last in taken:
                last += 1
            row["id"] = last
    return rows


def forget(numbers: list[int], conn, directory: Path, keep: set[int] = frozenset()) -> None:
    """Remove the staged attachments (and their files, but those in `keep`), relations,
    watchers and custom values of issues `numbers`."""
    attachments, relations = redmine.attachments, redmine.issue_relations
    watchers, values = redmine.watchers, redmine.custom_values
    for start in range(0, len(numbers), 500):
        chunk = numbers[start : start + 500]
        issue_attachments = sa.and_(
            attachments.c.container_type == "Issue", attachments.c.container_id.in_(chunk)
        )
        for (attachment_id,) in conn.execute(sa.select(attachments.c.id).where(issue_attachments)):
            if attachment_id not in keep:
                (directory / str(attachment_id)).unlink(missing_ok=True)
        conn.execute(sa.delete(attachments).where(issue_attachments))
        conn.execute(
            sa.delete(relations).where(
                relations.c.issue_from_id.in_(chunk) | relations.c.issue_to_id.in_(chunk)
            )
        )
        conn.execute(
            sa.delete(watchers).where(
                watchers.c.watchable_type == "Issue", watchers.c.watchable_id.in_(chunk)
            )
        )
        conn.execute(
            sa.delete(values).where(
                values.c.customized_type == "Issue", values.c.customized_id.in_(chunk)
            )
        )
