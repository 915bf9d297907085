"""Confirmation pages: access, freeze, revisions and diff, sign-off, guest links, projector."""

import hashlib
import re
from datetime import date

import pytest
import sqlalchemy as sa

from core.extensions import db
from minutes import confirmations, items, meetings, revisions
from minutes import homework as minutes_homework
from minutes.models import Confirmation

EXPORT_AND_CONFIRM_URLS = [
    "/meetings/{m}.pdf",
    "/meetings/{m}/revisions/1.pdf",
    "/meetings/{m}/revisions",
    "/meetings/{m}/revisions/1",
    "/meetings/{m}/revisions/1.json",
    "/meetings/{m}/revisions/diff",
    "/meetings/{m}/confirm",
    "/meetings/{m}/confirmations.json",
    "/meetings/{m}/freeze",
    "/meetings/{m}/homework.csv",
    "/meetings/{m}/results.csv",
    "/projects/{unit}/homework.csv",
    "/projects/{unit}/results.csv",
    "/projects/{unit}/issues.csv",
]


@pytest.fixture
def frozen(ready_meeting, freeze_meeting):
    meeting = ready_meeting()
    return meeting, freeze_meeting(meeting)


def person(meeting, name):
    return next(a for a in meeting.attendees if a.name == name)


def answer_form(revision, **extra):
    return {"revision": revision.number, "fingerprint": revision.fingerprint, **extra}


@pytest.mark.parametrize("url", EXPORT_AND_CONFIRM_URLS)
def test_nothing_of_a_meeting_is_visible_to_a_non_member(client, login, make_user, frozen, url):
    meeting, _ = frozen
    login(make_user())
    assert client.get(url.format(m=meeting.id, unit=meeting.unit.identifier)).status_code == 404


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", "/meetings/{m}/freeze"),
        ("post", "/meetings/{m}/freeze"),
        ("post", "/meetings/{m}/reopen"),
        ("post", "/meetings/{m}/attendees/{a}/confirm"),
        ("post", "/meetings/{m}/attendees/{a}/link"),
        ("post", "/meetings/{m}/items/{goal}/not-discussed"),
    ],
)
def test_only_who_runs_the_meeting_freezes_records_and_makes_links(
    client, login, frozen, method, url
):
    meeting, revision = frozen
    sato = person(meeting, "佐藤 花子")
    goal = next(i for i in meeting.items if i.kind == "goal")
    login(sato.user)
    target = url.format(m=meeting.id, a=person(meeting, "佐々木 健").id, goal=goal.id)
    response = getattr(client, method)(target, data=answer_form(revision))
    assert response.status_code == 403


def test_freeze_refused_lists_what_is_missing_then_freezes(client, login, ready_meeting, make_item):
    meeting = ready_meeting()
    goal = make_item(meeting, "goal", "窓口の受付時間を決める")
    login(meeting.facilitator)
    page = client.get(f"/meetings/{meeting.id}/freeze").data.decode()
    assert "窓口の受付時間を決める" in page and "協議しなかったことを明示" in page
    refused = client.post(f"/meetings/{meeting.id}/freeze")
    assert refused.status_code == 422 and revisions.latest_revision(meeting) is None
    assert "窓口の受付時間を決める" in refused.get_data(as_text=True)  # the check page again
    client.post(f"/meetings/{meeting.id}/items/{goal.id}/not-discussed", data={"value": "1"})
    done = client.post(f"/meetings/{meeting.id}/freeze")
    assert done.status_code == 302 and done.headers["Location"].endswith("#confirmation")
    assert revisions.latest_revision(meeting).number == 1


def test_the_canonical_json_hashes_to_the_fingerprint(client, login, frozen):
    meeting, revision = frozen
    login(meeting.facilitator)
    body = client.get(f"/meetings/{meeting.id}/revisions/1.json").data
    assert hashlib.sha256(body).hexdigest() == revision.fingerprint
    page = client.get(f"/meetings/{meeting.id}/revisions/1").data.decode()
    assert revision.fingerprint in page and "窓口とコンビニ交付の両方で対応する" in page


def test_the_diff_shows_what_changed_between_revisions(client, login, frozen, freeze_meeting):
    meeting, _ = frozen
    actor = meeting.facilitator
    result = next(i for i in meeting.items if i.kind == "result")
    items.edit_item(actor, result, "窓口とコンビニ交付とオンライン申請で対応する")
    items.add_item(actor, meeting, "preview", "電子申請の手数料を検討する")
    homework = next(i for i in meeting.items if i.kind == "homework")
    minutes_homework.edit_homework(actor, homework, due_date=date(2026, 12, 25))
    db.session.commit()
    freeze_meeting(meeting)
    login(actor)
    page = client.get(f"/meetings/{meeting.id}/revisions/diff?from=1&to=2").data.decode()
    assert "<ins>電子申請の手数料を検討する</ins>" in page
    assert "<ins>とオンライン申請</ins>" in page or "<ins>とオンライン申請で</ins>" in page
    assert "<del>2026-12-11</del> → <ins>2026-12-25</ins>" in page
    # Revision 1 stays readable, as it was.
    old = client.get(f"/meetings/{meeting.id}/revisions/1").data.decode()
    assert "窓口とコンビニ交付の両方で対応する" in old and "電子申請" not in old


def test_an_attendee_confirms_on_their_own_device(client, login, frozen):
    meeting, revision = frozen
    sato = person(meeting, "佐藤 花子")
    login(sato.user)
    page = client.get(f"/meetings/{meeting.id}/confirm").data.decode()
    assert "第1版を確認する" in page and revision.fingerprint in page
    response = client.post(f"/meetings/{meeting.id}/confirm", data=answer_form(revision))
    assert response.status_code == 302
    (c,) = db.session.scalars(sa.select(Confirmation)).all()
    assert (c.attendee_id, c.method) == (sato.id, "own_device")


def test_confirming_twice_answers_already_confirmed_not_an_error(client, login, frozen):
    meeting, revision = frozen
    login(person(meeting, "佐藤 花子").user)
    url = f"/meetings/{meeting.id}/confirm"
    headers = {"Accept": "application/json"}
    first = client.post(url, data=answer_form(revision), headers=headers)
    second = client.post(url, data=answer_form(revision), headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.json["ok"] and "回答済み" in second.json["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Confirmation)) == 1


def test_a_sign_off_recorded_twice_in_the_room_is_recorded_once(client, login, frozen):
    meeting, revision = frozen
    login(meeting.facilitator)
    guest = person(meeting, "佐々木 健")
    url = f"/meetings/{meeting.id}/attendees/{guest.id}/confirm"
    headers = {"Accept": "application/json"}
    first = client.post(url, data=answer_form(revision), headers=headers)
    second = client.post(url, data=answer_form(revision), headers=headers)
    assert first.status_code == second.status_code == 200
    assert first.json["ok"] and second.json["ok"] and "回答済み" in second.json["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Confirmation)) == 1


def test_a_confirmation_of_a_revision_not_read_is_refused(client, login, frozen, freeze_meeting):
    meeting, first = frozen
    items.add_item(meeting.facilitator, meeting, "break", "追記")
    db.session.commit()
    freeze_meeting(meeting)
    login(person(meeting, "佐藤 花子").user)
    response = client.post(
        f"/meetings/{meeting.id}/confirm",
        data=answer_form(first),
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 409
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Confirmation)) == 0


def test_an_objection_is_shown_to_the_facilitator(client, login, frozen):
    meeting, revision = frozen
    login(person(meeting, "山本 翔").user)
    client.post(
        f"/meetings/{meeting.id}/object",
        data=answer_form(revision, comment="宿題の期限は12月18日で合意しました"),
    )
    login(meeting.facilitator)
    page = client.get(f"/meetings/{meeting.id}").data.decode()
    assert "宿題の期限は12月18日で合意しました" in page


def test_the_facilitator_records_a_confirmation_given_in_the_room(client, login, frozen):
    meeting, revision = frozen
    guest = person(meeting, "佐々木 健")
    login(meeting.facilitator)
    client.post(f"/meetings/{meeting.id}/attendees/{guest.id}/confirm", data=answer_form(revision))
    (c,) = db.session.scalars(sa.select(Confirmation)).all()
    assert (c.name, c.method, c.recorded_by_id) == ("佐々木 健", "in_room", meeting.facilitator.id)


def test_everyone_confirming_through_the_pages_confirms_and_locks(client, login, frozen):
    meeting, revision = frozen
    for a in meeting.attendees:
        if a.user is not None:
            login(a.user)
            client.post(f"/meetings/{meeting.id}/confirm", data=answer_form(revision))
    login(meeting.facilitator)
    guest = person(meeting, "佐々木 健")
    client.post(f"/meetings/{meeting.id}/attendees/{guest.id}/confirm", data=answer_form(revision))
    db.session.refresh(meeting)
    assert meeting.status == "confirmed"
    page = client.get(f"/meetings/{meeting.id}").data.decode()
    assert "確定" in page or "Confirmed" in page
    refused = client.post(f"/meetings/{meeting.id}/items", data={"kind": "break", "text": "追記"})
    assert refused.status_code in (403, 409)


def test_a_guest_confirms_once_through_the_link(client, login, frozen, app):
    meeting, revision = frozen
    guest = person(meeting, "佐々木 健")
    login(meeting.facilitator)
    page = client.post(f"/meetings/{meeting.id}/attendees/{guest.id}/link").data.decode()
    path = re.search(r'value="https?://[^/"]+(/confirm/[^"]+)"', page).group(1)
    assert "<svg" in page
    anonymous = app.test_client()
    shown = anonymous.get(path)
    assert shown.status_code == 200 and "佐々木 健" in shown.data.decode()
    done = anonymous.post(path, data=answer_form(revision, answer="confirm"))
    assert "このリンクは使用済み" in done.data.decode()
    again = anonymous.post(path, data=answer_form(revision, answer="confirm"))
    assert again.status_code == 200
    (c,) = db.session.scalars(sa.select(Confirmation)).all()
    assert (c.name, c.organisation, c.method) == ("佐々木 健", "赤城データ株式会社", "link")


def test_an_expired_link_says_so(client, frozen, app, monkeypatch):
    meeting, revision = frozen
    token = confirmations.make_link_token(
        meeting.facilitator, revision, person(meeting, "佐々木 健")
    )
    monkeypatch.setitem(app.config, "SANMAI_CONFIRM_LINK_HOURS", -1)
    response = client.get(f"/confirm/{token}")
    assert response.status_code == 410 and "有効期限" in response.data.decode()


def test_the_projector_shows_the_count_and_a_qr_code_to_the_confirm_page(client, login, frozen):
    meeting, revision = frozen
    confirmations.confirm(meeting.facilitator, revision, person(meeting, "鈴木 一郎"))
    db.session.commit()
    login(meeting.facilitator)
    page = client.get(f"/meetings/{meeting.id}/present").data.decode()
    assert re.search(r'id="confirm-count">1</strong>\s*/\s*<span id="confirm-required">4<', page)
    assert "<svg" in page
    state = client.get(f"/meetings/{meeting.id}/confirmations.json").json
    assert (state["confirmed"], state["required"], state["revision"]) == (1, 4, 1)


def test_confirming_needs_a_csrf_token(client, login, frozen, csrf_enabled):
    meeting, revision = frozen
    login(person(meeting, "佐藤 花子").user)
    response = client.post(f"/meetings/{meeting.id}/confirm", data=answer_form(revision))
    assert response.status_code == 400
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Confirmation)) == 0


def test_a_status_set_back_by_hand_after_an_edit_cannot_be_confirmed(frozen):
    meeting, revision = frozen
    meetings.set_status(meeting.facilitator, meeting, "in_session")
    items.add_item(meeting.facilitator, meeting, "break", "凍結後の追記")
    meetings.set_status(meeting.facilitator, meeting, "awaiting_confirmation")
    sato = person(meeting, "佐藤 花子")
    with pytest.raises(revisions.ConfirmationError):
        confirmations.confirm(sato.user, revision, sato)
    assert revisions.can_be_frozen(meeting)


@pytest.fixture
def inbox(app, monkeypatch):
    """A real SMTP server (aiosmtpd) on a loopback port; the messages it received."""
    import email
    import email.policy
    import socket

    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            message = email.message_from_bytes(envelope.content, policy=email.policy.default)
            received.append((envelope.rcpt_tos, message))
            return "250 OK"

    with socket.socket() as sock:  # Controller(port=0) cannot check its own readiness
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    for key, value in {
        "SANMAI_SMTP_HOST": "127.0.0.1",
        "SANMAI_SMTP_PORT": port,
        "SANMAI_SMTP_TLS": "off",
        "SANMAI_SMTP_USER": "",
        "SANMAI_MAIL_FROM": "sanmai@city.example.jp",
    }.items():
        monkeypatch.setitem(app.config, key, value)
    yield received
    controller.stop()


def test_a_guest_link_is_emailed_and_works_once(client, login, frozen, inbox, app):
    meeting, revision = frozen
    guest = person(meeting, "佐々木 健")
    login(meeting.facilitator)
    page = client.post(f"/meetings/{meeting.id}/attendees/{guest.id}/link").data.decode()
    assert 'name="email"' in page
    client.post(
        f"/meetings/{meeting.id}/attendees/{guest.id}/link/send",
        data={"email": "sasaki@akagi-data.example.jp"},
    )
    ((to, message),) = inbox
    assert to == ["sasaki@akagi-data.example.jp"] and meeting.title in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    path = re.search(r"https?://[^/\s]+(/confirm/\S+)", body).group(1)
    anonymous = app.test_client()
    anonymous.post(path, data=answer_form(revision, answer="confirm"))
    (c,) = db.session.scalars(sa.select(Confirmation)).all()
    assert (c.name, c.method) == ("佐々木 健", "link")
