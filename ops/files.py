"""`flask files migrate --to database|local`: move the stored files from the other backend to
this one, checking every hash, for a change of SANMAI_FILE_STORAGE (core/storage.py)."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from attachments.models import Attachment
from core import storage
from core.extensions import db

files_cli = AppGroup("files", help="Stored files (attachments): move them between backends.")


@files_cli.command("migrate")
@click.option("--to", "target_kind", type=click.Choice(storage.KINDS), required=True)
def migrate_command(target_kind: str):
    """Copy every file to the --to backend, check each copy's SHA-256, then remove the
    originals. One file per transaction, so the app keeps serving meanwhile; run it again
    after a failure: files already there are checked, not copied twice."""
    source_kind = next(k for k in storage.KINDS if k != target_kind)
    source, target = storage.backend(source_kind), storage.backend(target_kind)
    copied = present = size = 0
    digests = list(source.digests())
    for digest in digests:
        if target.exists(digest):
            present += 1
        else:
            with source.open(digest) as stream:
                _stored, length = target.save(stream)
            size += length
            copied += 1
        with target.open(digest) as stream:
            if storage.sha256_of(stream) != digest:
                db.session.rollback()
                raise click.ClickException(f"{digest}: the copy's SHA-256 differs; nothing removed")
        db.session.commit()
    needed = set(db.session.scalars(sa.select(Attachment.digest).distinct()))
    missing = sorted(d for d in needed if not target.exists(d))
    if missing:
        raise click.ClickException(
            f"{len(missing)} attachments have no bytes in {target_kind} storage "
            f"(first: {missing[0]}); originals kept"
        )
    for digest in digests:
        source.delete(digest)
        db.session.commit()
    click.echo(
        f"files: {copied} copied to {target_kind} ({size} bytes), {present} already there, "
        f"every hash checked; {len(digests)} removed from {source_kind}. "
        f"Set SANMAI_FILE_STORAGE={target_kind}."
    )
