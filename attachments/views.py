"""Attachments at Redmine's URLs (files themselves: attachments/files.py).

GET       /attachments/download/<id>[/<filename>]   download
POST      /meetings/<id>/attachments     attach_to_meeting
"""

from __future__ import annotations

from flask import (
    abort,
    flash,
    redirect,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user

import permissions
from attachments import bp, files
from attachments.models import Attachment
from core import errors, storage
from core.extensions import db


@bp.route("/attachments/download/<id:attachment_id>")
@bp.route("/attachments/download/<id:attachment_id>/<path:filename>")
def download(attachment_id, filename=None):
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None or not _may_see(attachment):
        abort(404)
    store = storage.backend()
    if not store.exists(attachment.digest):
        abort(404)
    local = isinstance(store, storage.LocalStorage)
    response = send_file(
        store.path(attachment.digest) if local else store.open(attachment.digest),
        mimetype=attachment.content_type,
        etag=attachment.digest,
        as_attachment=True,  # never rendered inline: an uploaded HTML file cannot run here
        download_name=attachment.filename,
        conditional=True,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["Cache-Control"] = "private, max-age=0"
    return response


def _may_see(attachment: Attachment) -> bool:
    if attachment.container_id is None:  # an upload not yet attached: its author only
        return attachment.author_id == getattr(current_user, "id", None)
    container = files.visible_container(
        attachment.container_type, attachment.container_id, current_user
    )
    return container is not None


@bp.route("/meetings/<id:meeting_id>/attachments", methods=["POST"])
def attach_to_meeting(meeting_id):
    # Meetings are minutes' (a higher layer): found through the container minutes registers.
    meeting = files.visible_container("meeting", meeting_id, current_user)
    if meeting is None:
        abort(404)
    if not permissions.can_attach_to_meeting(current_user, meeting):
        abort(403)
    uploads = [f for f in request.files.getlist("attachments") if f and f.filename]
    back = url_for("minutes.show", meeting_id=meeting.id) + "#attachments"
    if not uploads:
        flash(_("Choose a file to attach."), "error")
        return redirect(back)
    errors.return_to(back)
    for upload in uploads:
        files.check_upload(upload)
    for upload in uploads:
        files.attach(current_user, files.store_upload(current_user, upload), meeting)
    db.session.commit()
    flash(_("%(n)s file(s) attached.", n=len(uploads)), "success")
    return redirect(back)


@bp.app_template_global()
def attachments_of(container) -> list[Attachment]:
    """For other packages' templates (the minutes page lists a meeting's files)."""
    return files.attachments_of(container)


@bp.app_template_global()
def max_attachment_size() -> str:
    return files.max_label()


@bp.app_template_global()
def max_attachment_bytes() -> int:
    return files.max_bytes()
