"""The minutes as a PDF (WeasyPrint, A4) for people who file them.

The PDF is made from a revision's canonical content (or the working draft's), so what is
printed is exactly what was fingerprinted. A confirmed revision never changes: its PDF is made
once and kept under SANMAI_CACHE_DIR by fingerprint, and later downloads are that file.
The HTML is built here, in the web worker; the HTML → PDF step runs in a renderer process of
its own (exports/renderer.py), so WeasyPrint is never imported into the worker.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

from flask import current_app, render_template
from flask_babel import get_locale
from flask_babel import gettext as _

from exports import renderer
from minutes import confirmations as minutes_confirmations
from minutes import revisions
from minutes.models import Meeting, Revision


def _lang() -> str:
    locale = get_locale()
    return locale.language if locale is not None else "ja"


def render_html(meeting: Meeting, revision: Revision | None) -> str:
    """The PDF's HTML: the revision as frozen, or the working draft when `revision` is None."""
    if revision is not None:
        text = revision.content
        confirmations = list(revision.confirmations)
        draft = not minutes_confirmations.is_confirmed(revision)
        answered = {c.attendee_id for c in confirmations}
        content = revisions.content_of(revision)
        pending = [
            a["name"] for a in content["attendees"] if a["present"] and a["id"] not in answered
        ]
        label = _("Revision %(n)s", n=revision.number)
    else:
        text = revisions.canonical_json(revisions.snapshot(meeting))
        content, confirmations, draft, pending = json.loads(text), [], True, []
        label = _("working draft, not frozen")
    return render_template(
        "exports/minutes_pdf.html",
        doc=revisions.readable(content),
        revision=revision,
        revision_label=label,
        fingerprint=revisions.fingerprint_of(text),
        confirmations=confirmations,
        pending=pending,
        draft=draft,
        method_label=minutes_confirmations.method_label,
        lang=_lang(),
    )


def html_to_pdf(html: str) -> bytes:
    """The PDF of `html`, made by the server's renderer process (exports/renderer.py): WeasyPrint
    and the CJK fonts never load into the web worker. Raises
    renderer.RendererUnavailable when it cannot be made now (the view answers 503)."""
    config = current_app.config
    return renderer.render(
        html,
        base_url=current_app.root_path,
        timeout=float(config["SANMAI_PDF_TIMEOUT"]),
        max_renders=int(config["SANMAI_PDF_MAX_RENDERS"]),
    )


def cache_path(revision: Revision) -> Path:
    """Where a confirmed revision's PDF is kept: by fingerprint, then a digest of its (final)
    confirmation record, the language and the date style.

    The record is printed but is not part of the fingerprint; its digest keeps a database
    rebuilt with the same ids (same fingerprints) from being served an older file.
    """
    record = hashlib.sha256()
    for c in sorted(revision.confirmations, key=lambda c: c.attendee_id):
        fields = (c.attendee_id, c.name, c.organisation, c.method, c.at.isoformat(), c.objection)
        record.update(json.dumps(fields, ensure_ascii=False).encode("utf-8"))
    wareki = "-wareki" if current_app.config.get("SANMAI_WAREKI") else ""
    name = f"{revision.fingerprint}-{record.hexdigest()[:12]}-{_lang()}{wareki}.pdf"
    return Path(current_app.config["SANMAI_CACHE_DIR"]) / "pdf" / name


def revision_pdf(meeting: Meeting, revision: Revision) -> tuple[bytes | None, Path | None]:
    """(bytes, None) for a revision still being confirmed; (None, path) for a confirmed one,
    rendered into the cache the first time and served from it ever after."""
    if not minutes_confirmations.is_confirmed(revision):
        return html_to_pdf(render_html(meeting, revision)), None
    path = cache_path(revision)
    if not path.exists():
        data = html_to_pdf(render_html(meeting, revision))
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: a concurrent download sees no file or the whole file, never half.
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        if path.exists():  # another worker finished first: keep its bytes, drop ours
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    return None, path


def draft_pdf(meeting: Meeting) -> bytes:
    return html_to_pdf(render_html(meeting, None))


def filename(meeting: Meeting, revision: Revision | None) -> str:
    day = meeting.starts_at.strftime("%Y%m%d")
    suffix = f"-r{revision.number}" if revision is not None else "-draft"
    return f"minutes-{meeting.id}-{day}{suffix}.pdf"
