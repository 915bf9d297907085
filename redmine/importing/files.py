"""Attachments of issues: each Redmine file's bytes read from Redmine's files/ directory
(`--files DIR`, where Redmine keeps a file at <disk_directory>/<disk_filename>) and stored
through core.storage as Sanmai's own uploads are, once per SHA-256; the row keeps the name,
description, author and time.

What happens when:
- no `--files` given: every attachment is skipped, counted as such (the rest comes over);
- the directory given is not one, or cannot be read: SourceError before anything is read
  or written (the command says so in one line and exits 2);
- one file is missing, unreadable, outside the directory, or its bytes do not match
  Redmine's digest (SHA-256, or MD5 in old Redmines): that attachment is skipped with the
  reason, the rest comes over; a later run with the file in place brings it.
Bytes never change in Redmine; a later run updates only the name and description.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import sqlalchemy as sa

from attachments import files as attachment_files
from attachments.models import Attachment
from core import storage, textfields
from core.extensions import db
from redmine.importing import links
from redmine.importing import source as redmine
from redmine.importing.source import SourceError
from tickets.models import JournalDetail

NO_FILES = "no --files directory given"


def files_directory(text: str) -> Path:
    """The files directory named on the command line, checked to be a readable directory."""
    path = Path(text).expanduser()
    if not text.strip() or not path.is_dir():
        raise SourceError(
            f"the files directory {text} does not exist or is not a directory: give "
            "Redmine's files/ directory (e.g. /var/lib/redmine/files), or leave out --files "
            "to import without attachments"
        )
    if not os.access(path, os.R_OK | os.X_OK):
        raise SourceError(f"the files directory {text} cannot be read by this user")
    return path.resolve()


def import_attachments(imp) -> None:
    count = imp.counts["attachments"]
    table = redmine.attachments
    present = links.tickets_present(imp)
    for batch in imp.source.batches(
        table, where=table.c.container_type == "Issue", size=imp.batch_size
    ):
        new, changed = [], []
        known_ids = [imp.ids["attachment"][r.id] for r in batch if r.id in imp.ids["attachment"]]
        current = _current(known_ids)
        for row in batch:
            count.read += 1
            ticket_id = imp.ids["issue"].get(row.container_id)
            if ticket_id is None or ticket_id not in present:
                count.skip("its issue was not imported")
                continue
            filename = attachment_files.safe_filename(row.filename)
            description = textfields.clean(row.description).strip()[:255]
            known = imp.ids["attachment"].get(row.id)
            if known is not None:
                if known in current and current[known] != (filename, description):
                    changed.append({"b_id": known, "b_filename": filename, "b_desc": description})
                    count.updated += 1
                continue
            if imp.files is None:
                count.skip(NO_FILES)
                continue
            stored, why = _store(imp, row)
            if why:
                count.skip(why, error=True)
                continue
            digest, size = stored
            new.append(
                (
                    row,
                    {
                        "container_type": "ticket",
                        "container_id": ticket_id,
                        "filename": filename,
                        "content_type": attachment_files.content_type_for(
                            filename, row.content_type
                        ),
                        "filesize": size,
                        "digest": digest,
                        "description": description,
                        "author_id": imp.ids["user"].get(row.author_id),
                        "created_at": row.created_on,
                    },
                )
            )
            count.created += 1
        _write(imp, new, changed)
        imp.commit()


def _current(ids: list[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(Attachment.id, Attachment.filename, Attachment.description).where(
            Attachment.id.in_(ids)
        )
    )
    return {id: (filename, description) for id, filename, description in rows}


def _store(imp, row) -> tuple[tuple[str, int] | None, str | None]:
    """Redmine's file of attachment `row` in Sanmai's storage (in a dry run only checked):
    ((SHA-256, size), None), or (None, why not)."""
    folder = imp.files / (row.disk_directory or "")
    path = (folder / (row.disk_filename or "")).resolve()
    if not path.is_relative_to(imp.files) or not row.disk_filename:
        return None, "its file's name points outside the files directory"
    try:
        with path.open("rb") as stream:
            sha256 = storage.sha256_of(stream)
            if not _matches(stream, row.digest, sha256):
                return None, "its file's bytes differ from Redmine's digest"
            if imp.dry_run:
                return (sha256, path.stat().st_size), None
            stream.seek(0)
            return storage.backend().save(stream), None
    except FileNotFoundError:
        return None, "its file is missing from the files directory"
    except IsADirectoryError:
        return None, "its file is missing from the files directory"
    except PermissionError:
        return None, "its file cannot be read"


def _matches(stream, digest: str | None, sha256: str) -> bool:
    """The bytes are those Redmine recorded: its digest is SHA-256 since Redmine 4, MD5 in
    files of older ones; a file without one is taken as it is."""
    digest = (digest or "").strip().lower()
    if len(digest) == 64:
        return digest == sha256
    if len(digest) == 32:
        stream.seek(0)
        md5 = hashlib.md5(usedforsecurity=False)
        while chunk := stream.read(storage.CHUNK):
            md5.update(chunk)
        return digest == md5.hexdigest()
    return True


def _write(imp, new: list, changed: list) -> None:
    if imp.dry_run:
        for row, _values in new:
            imp.remember("attachment", row.id, imp.placeholder(), row.created_on)
        return
    table = Attachment.__table__
    if new:
        ids = db.session.scalars(
            sa.insert(table).returning(table.c.id, sort_by_parameter_order=True),
            [values for _row, values in new],
        ).all()
        for attachment_id, (row, _values) in zip(ids, new, strict=True):
            imp.remember("attachment", row.id, attachment_id, row.created_on)
        made = {row.id: attachment_id for attachment_id, (row, _v) in zip(ids, new, strict=True)}
        _link_history(imp, made)
    if changed:
        db.session.execute(
            sa.update(table)
            .where(table.c.id == sa.bindparam("b_id"))
            .values(filename=sa.bindparam("b_filename"), description=sa.bindparam("b_desc")),
            changed,
        )


def _link_history(imp, made: dict[int, int]) -> None:
    """Journals brought by an earlier run without the files name them without a link: point
    their details at the files that came now."""
    table = redmine.journal_details
    rows = imp.source.rows(
        sa.select(table).where(
            table.c.property == "attachment", table.c.prop_key.in_([str(i) for i in made])
        )
    )
    pointers = [
        {
            "b_journal": imp.ids["journal"][row.journal_id],
            "b_name": str(made[int(row.prop_key)]),
            "b_old": row.old_value,
            "b_new": row.value,
        }
        for row in rows
        if row.journal_id in imp.ids["journal"]
    ]
    if pointers:
        details = JournalDetail.__table__
        db.session.execute(
            sa.update(details)
            .where(
                details.c.journal_id == sa.bindparam("b_journal"),
                details.c.property == "attachment",
                details.c.name == "",
                # the same file's line, when a journal names several
                details.c.old_value.is_not_distinct_from(sa.bindparam("b_old")),
                details.c.new_value.is_not_distinct_from(sa.bindparam("b_new")),
            )
            .values(name=sa.bindparam("b_name")),
            pointers,
        )
