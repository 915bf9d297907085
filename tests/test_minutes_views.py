"""The meeting pages: lists, create, the meeting page, no-JS forms, conflicts, lock, live."""

from datetime import date, datetime

import pytest

from core.extensions import db
from minutes import items, meetings
from minutes.models import Meeting


@pytest.fixture
def facilitator(make_user):
    return make_user(login="suzuki", name="鈴木 一郎")


@pytest.fixture
def viewer(make_user):
    return make_user(login="kobayashi", name="小林 誠")


@pytest.fixture
def unit(make_unit, facilitator, viewer):
    return make_unit(members={facilitator: "facilitator", viewer: "viewer"})


@pytest.fixture
def meeting(make_meeting, unit, facilitator):
    return make_meeting(unit=unit, actor=facilitator, attendees=[facilitator])


def test_create_a_meeting_with_attendees_and_guests(client, login, unit, facilitator):
    login(facilitator)
    response = client.post(
        f"/projects/{unit.identifier}/meetings/new",
        data={
            "title": "住民記録 定例会",
            "day": "2026-12-01",
            "start_time": "10:00",
            "end_time": "11:30",
            "place": "本庁舎 会議室A",
            "facilitator_id": facilitator.id,
            "attendee_ids": [facilitator.id],
            "guests": "山本 翔, 上州システムサービス\n加藤 由美、赤城データ",
        },
    )
    assert response.status_code == 302
    meeting = db.session.scalar(db.select(Meeting))
    assert meeting.starts_at == datetime(2026, 12, 1, 1, 0)  # 10:00 in Japan, stored as UTC
    assert [(a.name, a.organisation_name) for a in meeting.attendees][1:] == [
        ("山本 翔", "上州システムサービス"),
        ("加藤 由美", "赤城データ"),
    ]


def test_lists_show_upcoming_first(client, login, make_meeting, unit, facilitator):
    make_meeting(unit=unit, title="過去の会議", starts_at=datetime(2020, 1, 1, 1))
    make_meeting(unit=unit, title="次の会議", starts_at=datetime(2099, 1, 1, 1))
    login(facilitator)
    for url in (
        "/meetings",
        f"/projects/{unit.identifier}/meetings",
        f"/projects/{unit.identifier}",
    ):
        html = client.get(url).get_data(as_text=True)
        assert html.index("次の会議") < html.index("過去の会議"), url
    html = client.get(f"/projects/{unit.parent.identifier}").get_data(as_text=True)
    assert "次の会議" in html and unit.name in html


def test_meeting_page_shows_the_three_sheets(client, login, meeting, make_item, viewer):
    goal = make_item(meeting, "goal", "転出証明書の様式を決める")
    make_item(meeting, "result", "様式Bで**合意**", parent=goal)
    make_item(meeting, "homework", who="山本", what="見積を出す", due_date=date(2020, 12, 5))
    make_item(meeting, "preview", "<script>alert(1)</script>次期更改")
    login(viewer)
    html = client.get(f"/meetings/{meeting.id}").get_data(as_text=True)
    assert "転出証明書の様式を決める" in html
    assert "<strong>合意</strong>" in html
    assert "見積を出す" in html and "overdue" in html
    assert "<script>alert(1)</script>" not in html and "次期更改" in html
    assert 'action="/meetings/' not in html.split('id="live"')[1]  # a viewer gets no forms


def test_add_items_through_the_forms(client, login, meeting, facilitator):
    login(facilitator)
    client.post(f"/meetings/{meeting.id}/items", data={"item-kind": "goal", "item-text": "目標A"})
    client.post(
        f"/meetings/{meeting.id}/homework",
        data={"hw-who_id": facilitator.id, "hw-what": "確認する", "hw-due": "2026-12-05"},
    )
    sheets = items.sheets(meeting)
    assert [g.text for g, _ in sheets["goals"]] == ["目標A"]
    assert sheets["homework"][0].ticket.due_date == date(2026, 12, 5)


def test_homework_without_a_date_is_refused_with_a_message(client, login, meeting, facilitator):
    login(facilitator)
    response = client.post(
        f"/meetings/{meeting.id}/homework",
        data={"hw-guest_name": "山本", "hw-what": "確認する", "hw-due": ""},
        follow_redirects=True,
    )
    assert "12/5" in response.get_data(as_text=True)
    assert items.sheets(meeting)["homework"] == []


def test_second_save_of_the_same_item_is_refused_showing_the_current_text(
    client, login, meeting, make_item, facilitator
):
    item = make_item(meeting, "break", "元の文")
    login(facilitator)
    url = f"/meetings/{meeting.id}/items/{item.id}"
    first = client.post(url, data={"edit-text": "Aさんの文", "edit-version": "1"})
    second = client.post(url, data={"edit-text": "Bさんの文", "edit-version": "1"})
    assert first.status_code == 302 and second.status_code == 409
    html = second.get_data(as_text=True)
    assert "Aさんの文" in html  # the current text is shown
    assert "Bさんの文" in html  # and what B typed is kept in the form
    db.session.refresh(item)
    assert item.text == "Aさんの文"


def test_confirmed_minutes_refuse_edits_with_a_message(
    client, login, meeting, make_item, facilitator
):
    item = make_item(meeting, "goal", "目標")
    meetings.set_status(None, meeting, "confirmed")
    db.session.commit()
    login(facilitator)
    response = client.post(f"/meetings/{meeting.id}/items/{item.id}", data={"edit-text": "x"})
    assert response.status_code == 409
    assert "確定" in response.get_data(as_text=True)


def test_move_preview_to_homework_through_the_form(client, login, meeting, make_item, facilitator):
    item = make_item(meeting, "preview", "帳票の文字化け")
    login(facilitator)
    client.post(
        f"/meetings/{meeting.id}/items/{item.id}/move",
        data={"move-kind": "homework", "move-who_id": facilitator.id, "move-due": "12/5"},
    )
    db.session.refresh(item)
    assert item.kind == "homework" and item.ticket.subject == "帳票の文字化け"


def test_carry_over_from_the_meeting_page(
    client, login, make_meeting, make_item, unit, facilitator
):
    first = make_meeting(unit=unit, starts_at=datetime(2026, 11, 1, 1))
    hw = make_item(first, "homework", what="見積の確認")
    second = make_meeting(unit=unit, starts_at=datetime(2026, 11, 8, 1))
    login(facilitator)
    html = client.get(f"/meetings/{second.id}").get_data(as_text=True)
    assert "見積の確認" in html.split('id="carry"')[1]
    client.post(
        f"/meetings/{second.id}/carry/{hw.id}", data={"action": "result", "decision": "承認"}
    )
    assert [r.text for r in items.sheets(second)["results"]] == ["承認"]


def test_live_answers_304_until_something_changes(client, login, meeting, make_item, viewer):
    login(viewer)
    first = client.get(f"/meetings/{meeting.id}/live")
    etag = first.headers["ETag"]
    assert first.status_code == 200
    assert (
        client.get(f"/meetings/{meeting.id}/live", headers={"If-None-Match": etag}).status_code
        == 304
    )
    make_item(meeting, "goal", "新しい目標")
    changed = client.get(f"/meetings/{meeting.id}/live", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "新しい目標" in changed.json["html"]


def test_live_follows_changes_made_on_the_ticket(client, login, meeting, make_item, viewer):
    from tickets import services as tickets

    hw = make_item(meeting, "homework", what="旧い件名")
    login(viewer)
    etag = client.get(f"/meetings/{meeting.id}/live").headers["ETag"]
    tickets.update_ticket(None, hw.ticket, {"subject": "新しい件名"})
    db.session.commit()
    changed = client.get(f"/meetings/{meeting.id}/live", headers={"If-None-Match": etag})
    assert changed.status_code == 200 and "新しい件名" in changed.json["html"]


def test_copy_as_next_meeting(client, login, meeting, facilitator):
    login(facilitator)
    response = client.post(
        f"/meetings/{meeting.id}/copy", data={"day": "2026-12-24", "start_time": "10:00"}
    )
    assert response.status_code == 302
    nxt = db.session.scalar(db.select(Meeting).where(Meeting.previous_id == meeting.id))
    assert nxt.attendees[0].user_id == facilitator.id


def test_present_view_renders(client, login, meeting, make_item, facilitator):
    make_item(meeting, "goal", "目標X")
    login(facilitator)
    html = client.get(f"/meetings/{meeting.id}/present").get_data(as_text=True)
    assert "目標X" in html and "present.css" in html
