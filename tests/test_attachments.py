"""Attachments: size limit, content-addressed storage, safe downloads, journals, meetings."""

import hashlib
import io
from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage

from attachments import files as attachments
from attachments.models import Attachment
from core import storage
from core.extensions import db
from tickets import services
from tickets.models import Ticket

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


@pytest.fixture
def member_unit(make_user, make_unit):
    member, viewer = make_user(), make_user()
    return member, viewer, make_unit(members={member: "member", viewer: "viewer"})


@pytest.fixture
def small_limit(app):
    before = app.config["SANMAI_MAX_ATTACHMENT_MB"]
    app.config["SANMAI_MAX_ATTACHMENT_MB"] = 0.01  # about 10 KB
    yield
    app.config["SANMAI_MAX_ATTACHMENT_MB"] = before


def upload(data: bytes, name: str, mimetype="application/octet-stream") -> FileStorage:
    return FileStorage(io.BytesIO(data), filename=name, content_type=mimetype)


def test_files_are_stored_once_by_content_hash_outside_the_web_root(app, member_unit):
    member, _viewer, _unit = member_unit
    first = attachments.store_upload(member, upload(PNG, "画面.png"))
    second = attachments.store_upload(member, upload(PNG, "別名.png"))
    digest = hashlib.sha256(PNG).hexdigest()
    path = storage.backend().path(first.digest)
    assert first.digest == second.digest == digest
    assert path == Path(app.config["SANMAI_UPLOAD_DIR"]) / digest[:2] / digest[2:4] / digest
    assert path.read_bytes() == PNG
    assert "static" not in path.parts
    assert first.token.startswith(f"{first.id}.") and first.content_type == "image/png"


@pytest.mark.parametrize(
    "given, kept",
    [
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\Desktop\\画面.png", "画面.png"),
        ("..", "file"),
        ("a\x00b\nc.txt", "abc.txt"),
    ],
)
def test_path_like_names_are_harmless(member_unit, given, kept):
    member, _viewer, _unit = member_unit
    attachment = attachments.store_upload(member, upload(b"x", given))
    assert attachment.filename == kept
    assert storage.backend().path(attachment.digest).name == attachment.digest


def test_oversized_file_is_refused_clearly(member_unit, small_limit):
    member, _viewer, _unit = member_unit
    with pytest.raises(attachments.AttachmentError, match="0.01 MB"):
        attachments.store_upload(member, upload(b"x" * 20_000, "大きい.pdf"))
    assert db.session.scalar(db.select(db.func.count(Attachment.id))) == 0


def test_too_large_on_the_form_keeps_everything_else(
    client, login, member_unit, small_limit, status_named
):
    member, _viewer, unit = member_unit
    login(member)
    page = client.post(
        f"/projects/{unit.identifier}/issues/new",
        data={
            "project_id": unit.id,
            "tracker_id": 1,
            "subject": "件名は残る",
            "description": "説明も残る",
            "status_id": status_named("起票").id,
            "priority_id": 2,
            "assignee_id": 0,
            "done_ratio": 0,
            "attachments": [(io.BytesIO(b"x" * 20_000), "大きい.pdf")],
        },
        content_type="multipart/form-data",
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "大きすぎます" in html and "大きい.pdf" in html
    assert 'value="件名は残る"' in html and "説明も残る" in html
    assert db.session.scalar(db.select(db.func.count(Ticket.id))) == 0


def test_ticket_with_a_screenshot_and_a_journaled_later_file(
    client, login, member_unit, status_named
):
    member, _viewer, unit = member_unit
    login(member)
    client.post(
        f"/projects/{unit.identifier}/issues/new",
        data={
            "project_id": unit.id,
            "tracker_id": 1,
            "subject": "画面が崩れる",
            "status_id": status_named("起票").id,
            "priority_id": 2,
            "assignee_id": 0,
            "done_ratio": 0,
            "attachments": [(io.BytesIO(PNG), "screenshot.png")],
        },
        content_type="multipart/form-data",
    )
    ticket = db.session.scalar(db.select(Ticket))
    assert [a.filename for a in attachments.attachments_of(ticket)] == ["screenshot.png"]
    later = attachments.store_upload(member, upload(b"%PDF-1.4", "帳票.pdf"))
    journal = attachments.attach(member, later, ticket, notes="帳票を添付します")
    db.session.commit()
    detail = journal.details[0]
    assert (detail.property, detail.name, detail.new_value) == (
        "attachment",
        str(later.id),
        "帳票.pdf",
    )
    html = client.get(f"/issues/{ticket.id}").get_data(as_text=True)
    assert "帳票.pdf" in html and "帳票を添付します" in html


def test_download_is_an_attachment_with_the_japanese_name_and_nosniff(
    client, login, member_unit, make_ticket
):
    member, _viewer, unit = member_unit
    ticket = make_ticket(unit, member)
    attachment = attachments.store_upload(
        member, upload(b"<script>alert(1)</script>", "住基の画面.html", "text/html")
    )
    attachments.attach(member, attachment, ticket)
    db.session.commit()
    login(member)
    response = client.get(f"/attachments/download/{attachment.id}/住基の画面.html")
    assert response.status_code == 200
    assert response.data == b"<script>alert(1)</script>"
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert "filename*=UTF-8''%E4%BD%8F%E5%9F%BA%E3%81%AE%E7%94%BB%E9%9D%A2.html" in disposition
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Content-Type"].startswith("text/html")
    assert "sandbox" in response.headers["Content-Security-Policy"]


def test_upload_token_finds_only_the_authors_unattached_upload(member_unit, make_user):
    member, _viewer, _unit = member_unit
    attachment = attachments.store_upload(member, upload(b"abc", "a.txt"))
    assert attachments.upload_by_token(member, attachment.token) is attachment
    assert attachments.upload_by_token(make_user(), attachment.token) is None
    assert attachments.upload_by_token(member, "1.nope") is None


def test_meeting_files_upload_and_download(client, login, member_unit, make_meeting):
    member, viewer, unit = member_unit
    meeting = make_meeting(unit=unit)
    login(member)
    page = client.post(
        f"/meetings/{meeting.id}/attachments",
        data={"attachments": [(io.BytesIO(PNG), "配布資料.png")]},
        content_type="multipart/form-data",
    )
    assert page.status_code == 302
    [attachment] = attachments.attachments_of(meeting)
    assert attachment.filename == "配布資料.png"
    assert client.get(f"/attachments/download/{attachment.id}").data == PNG
    login(viewer)
    page = client.post(
        f"/meetings/{meeting.id}/attachments",
        data={"attachments": [(io.BytesIO(PNG), "x.png")]},
        content_type="multipart/form-data",
    )
    assert page.status_code == 403


def test_journal_entries_are_never_lost_when_a_file_comes_with_a_change(
    member_unit, make_ticket, status_named
):
    member, _viewer, unit = member_unit
    ticket = make_ticket(unit, member)
    file = attachments.store_upload(member, upload(PNG, "a.png"))
    journal = services.update_ticket(
        member, ticket, {"status": status_named("受付")}, notes="添付します", attachments=[file]
    )
    assert {d.property for d in journal.details} == {"attr", "attachment"}


def test_meeting_files_partial_lists_files_and_offers_the_upload(app, member_unit, make_meeting):
    from flask import render_template_string
    from flask_login import login_user

    member, viewer, unit = member_unit
    meeting = make_meeting(unit=unit)
    attachments.attach(member, attachments.store_upload(member, upload(PNG, "資料.png")), meeting)
    db.session.commit()
    page = '{% include "attachments/_meeting.html" %}'
    with app.test_request_context():
        login_user(member)
        html = render_template_string(page, meeting=meeting)
    assert "資料.png" in html and 'name="attachments"' in html
    with app.test_request_context():
        login_user(viewer)
        html = render_template_string(page, meeting=meeting)
    assert "資料.png" in html and 'name="attachments"' not in html
