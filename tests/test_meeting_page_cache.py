"""The meeting page's cached live region and confirmation panel: an unchanged meeting is
neither recomputed nor re-rendered, and the cache never serves a stale page, another
language's, an editor's forms to a viewer, or another person's CSRF token or confirmation
state."""

import re
from datetime import date, datetime, timedelta

import pytest

from core.extensions import db
from minutes import carry_over, confirmations, items, live, meetings
from minutes.models import Item
from projects import services as projects
from tickets import services as tickets

TOKEN = re.compile(r'name="(?:\w+-)?csrf_token" (?:type="hidden" )?value="([^"]+)"')


@pytest.fixture
def facilitator(make_user):
    return make_user(name="鈴木 一郎")


@pytest.fixture
def scribe(make_user):
    return make_user(name="高橋 花子")


@pytest.fixture
def viewer(make_user):
    return make_user(name="小林 誠")


@pytest.fixture
def unit(make_unit, facilitator, scribe, viewer):
    return make_unit(members={facilitator: "facilitator", scribe: "facilitator", viewer: "viewer"})


@pytest.fixture
def earlier(make_meeting, unit, facilitator):
    return make_meeting(unit=unit, actor=facilitator, starts_at=datetime(2026, 10, 1, 1, 0))


@pytest.fixture
def meeting(make_meeting, unit, facilitator, earlier):
    return make_meeting(unit=unit, actor=facilitator, attendees=[facilitator])


def page(client, meeting) -> str:
    response = client.get(f"/meetings/{meeting.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def region(html: str) -> str:
    return html.split('id="live"', 1)[1]


def carry(html: str) -> str:
    return (
        html.split('id="carry"', 1)[1].split('class="sheets"', 1)[0] if 'id="carry"' in html else ""
    )


def test_an_unchanged_meeting_is_neither_recomputed_nor_rerendered(
    client, login, meeting, earlier, make_item, facilitator, monkeypatch
):
    make_item(meeting, "goal", "転出証明書の様式を決める")
    make_item(earlier, "homework", who=facilitator, what="見積を依頼する")
    login(facilitator)
    first = page(client, meeting)

    def recomputed(*args, **kwargs):
        raise AssertionError("recomputed although nothing changed")

    monkeypatch.setattr(items, "sheets", recomputed)
    for name in ("earlier_open_homework", "earlier_previews"):
        monkeypatch.setattr(carry_over, name, recomputed)
    monkeypatch.setattr(confirmations, "confirmation_state", recomputed)
    second = page(client, meeting)
    assert TOKEN.sub("", region(second)) == TOKEN.sub("", region(first))
    assert "転出証明書の様式を決める" in second and "見積を依頼する" in carry(second)


def test_a_change_by_another_editor_shows_at_once(
    client, login, meeting, make_item, facilitator, scribe
):
    login(facilitator)
    page(client, meeting)
    make_item(meeting, "goal", "高橋さんが足した目標", actor=scribe)
    assert "高橋さんが足した目標" in page(client, meeting)


def test_an_edit_of_a_homework_ticket_on_its_own_page_shows(
    client, login, meeting, make_item, facilitator
):
    homework = make_item(meeting, "homework", who=facilitator, due_date=date(2026, 12, 5))
    login(facilitator)
    assert "2026年12月5日" in page(client, meeting)
    tickets.update_ticket(None, homework.ticket, {"due_date": date(2027, 1, 15)})
    db.session.commit()
    html = page(client, meeting)
    assert "2027年1月15日" in html and "2026年12月5日" not in html


def test_an_edit_of_an_earlier_homework_ticket_shows_in_the_carry_over_list(
    client, login, meeting, earlier, make_item, facilitator
):
    open_one = make_item(earlier, "homework", who=facilitator, what="仕様書を確認する")
    closing = make_item(earlier, "homework", who=facilitator, what="見積を依頼する")
    login(facilitator)
    html = carry(page(client, meeting))
    assert "仕様書を確認する" in html and "見積を依頼する" in html
    tickets.update_ticket(None, closing.ticket, {"status": tickets.done_status()})
    tickets.update_ticket(None, open_one.ticket, {"due_date": date(2027, 2, 3)})
    db.session.commit()
    html = carry(page(client, meeting))
    assert "見積を依頼する" not in html
    assert "仕様書を確認する" in html and "2027年2月3日" in html


def test_homework_carried_over_in_a_later_meeting_leaves_the_list(
    client, login, make_meeting, unit, meeting, earlier, make_item, facilitator
):
    homework = make_item(earlier, "homework", who=facilitator, what="見積を依頼する")
    tickets.update_ticket(
        None, homework.ticket, {"status": tickets.done_status(), "decision": "A社に依頼"}
    )
    db.session.commit()
    later = make_meeting(unit=unit, actor=facilitator, starts_at=datetime(2027, 3, 1, 1, 0))
    login(facilitator)
    assert "見積を依頼する" in carry(page(client, meeting))  # decided: offered as a result
    carry_over.carry_over(facilitator, later, db.session.get(Item, homework.id))
    db.session.commit()
    assert "見積を依頼する" not in carry(page(client, meeting))


def test_a_preview_taken_up_in_another_unit_leaves_the_previews(
    client, login, make_project, make_meeting, facilitator
):
    project = make_project(members={facilitator: "facilitator"}, units=("住民記録", "税務"))
    first, other = project.units
    earlier = make_meeting(unit=first, actor=facilitator, starts_at=datetime(2026, 10, 1, 1))
    meeting = make_meeting(unit=first, actor=facilitator)
    preview = items.add_item(facilitator, earlier, "preview", "マイナンバーカード更新の準備")
    elsewhere = make_meeting(unit=other, actor=facilitator)
    db.session.commit()
    login(facilitator)
    assert "マイナンバーカード更新の準備" in carry(page(client, meeting))
    carry_over.pull_as_goal(facilitator, elsewhere, preview)
    db.session.commit()
    assert "マイナンバーカード更新の準備" not in carry(page(client, meeting))


def test_a_new_member_is_offered_in_the_homework_form(
    client, login, unit, meeting, facilitator, make_user
):
    login(facilitator)
    assert "新人 太郎" not in page(client, meeting)
    projects.set_membership(unit.parent, make_user(name="新人 太郎"), "member")
    db.session.commit()
    assert "新人 太郎" in page(client, meeting)


def test_each_language_gets_its_own_rendering(client, login, meeting, make_item, facilitator):
    make_item(meeting, "homework", who=facilitator)
    login(facilitator)
    assert "宿題" in region(page(client, meeting))
    facilitator.language = "en"
    db.session.commit()
    html = region(page(client, meeting))
    assert "Homework" in html and "宿題" not in html


def test_a_viewer_never_gets_the_editors_forms_and_back(
    client, app, login, meeting, earlier, make_item, facilitator, viewer
):
    make_item(meeting, "goal", "目標A")
    make_item(earlier, "homework", who=facilitator, what="見積を依頼する")
    login(facilitator)
    assert 'action="/meetings/' in region(page(client, meeting))
    other = app.test_client()
    login(viewer, other)
    html = region(page(other, meeting))
    assert "目標A" in html and "見積を依頼する" in html
    assert 'action="/meetings/' not in html and "csrf_token" not in html
    assert 'action="/meetings/' in region(page(client, meeting))  # the editor's, still


def test_each_editor_gets_their_own_csrf_token_and_it_works(
    client, app, login, csrf_enabled, meeting, facilitator, scribe
):
    login(facilitator)
    mine = page(client, meeting)
    other = app.test_client()
    login(scribe, other)
    theirs = page(other, meeting)
    assert live._CSRF_PLACEHOLDER not in mine + theirs
    my_tokens, their_tokens = set(TOKEN.findall(region(mine))), set(TOKEN.findall(region(theirs)))
    assert len(my_tokens) == 1 and len(their_tokens) == 1  # forms, carry-over, item actions
    assert TOKEN.findall(mine)[0] in my_tokens  # the same as the status form outside the region

    data = {"item-kind": "goal", "item-text": "目標B"}
    stolen = other.post(
        f"/meetings/{meeting.id}/items", data={**data, "item-csrf_token": my_tokens.pop()}
    )
    assert stolen.status_code == 400  # my token is not the scribe's
    own = other.post(
        f"/meetings/{meeting.id}/items", data={**data, "item-csrf_token": their_tokens.pop()}
    )
    assert own.status_code == 302
    assert [g.text for g, _ in items.sheets(meeting)["goals"]] == ["目標B"]


def test_a_live_answer_carries_the_editors_own_token(
    client, login, csrf_enabled, meeting, make_item, facilitator
):
    login(facilitator)
    page(client, meeting)
    make_item(meeting, "goal", "目標C")
    answer = client.get(f"/meetings/{meeting.id}/live").get_json()
    assert "目標C" in answer["html"]
    assert set(TOKEN.findall(answer["html"])) == {answer["csrf_token"]}


def test_the_confirmation_panel_is_each_persons_own(
    client, app, login, ready_meeting, freeze_meeting
):
    meeting = ready_meeting()
    facilitator, sato = meeting.facilitator, meeting.attendees[1].user
    revision = freeze_meeting(meeting)
    confirmations.confirm(facilitator, revision, meeting.attendees[0])
    db.session.commit()
    login(facilitator)
    assert "この版は確認済みです。" in page(client, meeting)
    other = app.test_client()
    login(sato, other)
    html = page(other, meeting)
    assert "この版は確認済みです。" not in html and 'id="confirm-button"' in html
    confirmations.confirm(sato, revision, meeting.attendees[1])
    db.session.commit()
    assert "この版は確認済みです。" in page(other, meeting)


def test_a_page_rendered_afresh_issues_no_query_per_row(
    client, login, unit, meeting, make_meeting, make_item, make_user, assert_constant_queries
):
    """The cache's miss: what an editor's page costs after every change. Each row from another
    meeting, person and organisation: previews, carry-over, results taken over, attendees."""
    editor = login(make_user())
    projects.set_membership(unit.parent, editor, "facilitator")
    db.session.commit()
    days = iter(range(1, 200))

    def grow(k):
        for _ in range(k):
            day = next(days)
            person = make_user()  # a new organisation each (make_user's default)
            projects.set_membership(unit.parent, person, "member")
            meetings.add_attendee(None, meeting, person)
            db.session.commit()
            starts = datetime(2025, 1, 1, 1) + timedelta(days=2 * day)
            make_item(make_meeting(unit=unit, starts_at=starts), "preview")
            before = make_meeting(unit=unit, starts_at=starts + timedelta(days=1))
            homework = make_item(before, "homework", who=person)
            make_item(meeting, "goal", origin=homework)

    def get():
        live._FRAGMENTS.clear()
        live._PANELS.clear()
        return client.get(f"/meetings/{meeting.id}")

    assert_constant_queries(get, grow)


def test_a_person_renamed_elsewhere_shows_at_once(
    client, login, meeting, make_item, facilitator, scribe
):
    make_item(meeting, "homework", who=scribe, what="見積を依頼する")
    login(facilitator)
    assert "高橋 花子" in region(page(client, meeting))
    scribe.name = "田中 花子"
    db.session.commit()
    html = region(page(client, meeting))
    assert "田中 花子" in html and "高橋 花子" not in html
