"""iCalendar feeds of homework due dates: per user and per project, secret renewable token,
a VALARM the configured number of days before; parsed back with the icalendar package."""

from datetime import date, timedelta

import pytest
from icalendar import Calendar

from core.extensions import db
from exports import ical as icals
from minutes import homework as minutes_homework
from tickets import services as tickets


def parse(response) -> Calendar:
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "text/calendar"
    return Calendar.from_ical(response.data)


def events(cal: Calendar) -> dict[str, object]:
    return {str(e["summary"]): e for e in cal.walk("VEVENT")}


@pytest.fixture
def token_of():
    def get(user):
        token = icals.ensure_feed_token(user)
        db.session.commit()
        return token

    return get


def test_my_feed_has_my_open_homework_on_its_due_date_with_an_alarm(
    app, client, ready_meeting, token_of, monkeypatch
):
    monkeypatch.setitem(app.config, "SANMAI_ICAL_ALARM_DAYS", 2)
    meeting = ready_meeting()
    sato = next(a.user for a in meeting.attendees if a.name == "佐藤 花子")
    cal = parse(client.get(f"/feeds/{token_of(sato)}/homework.ics"))  # no login: the token
    found = events(cal)
    assert list(found) == ["宿題の期日：帳票レイアウトの見本を作って共有する"]
    event = found["宿題の期日：帳票レイアウトの見本を作って共有する"]
    assert event.decoded("dtstart") == date(2026, 12, 11)
    assert "佐藤 花子" in str(event["description"]) and meeting.title in str(event["description"])
    (alarm,) = event.walk("VALARM")
    assert alarm.decoded("trigger") == timedelta(days=-2, hours=9)
    assert str(alarm["action"]) == "DISPLAY"


def test_a_project_feed_has_everyones_homework_of_that_project(
    client, ready_meeting, make_item, token_of
):
    meeting = ready_meeting()
    make_item(meeting, "homework", who="上州システムサービス 山本", what="見積を再提出する",
              due_date=date(2026, 12, 18))  # fmt: skip
    other = ready_meeting(title="別の会議")  # another project: not in this feed
    make_item(other, "homework", who="田中", what="別プロジェクトの宿題", due_date=date(2027, 1, 8))
    project = meeting.unit.parent
    url = f"/feeds/{token_of(meeting.facilitator)}/projects/{project.identifier}/homework.ics"
    found = events(parse(client.get(url)))
    assert sorted(found) == [
        "宿題の期日：帳票レイアウトの見本を作って共有する",
        "宿題の期日：見積を再提出する",
    ]


def test_closed_homework_leaves_the_feed(client, ready_meeting, token_of, status_named):
    meeting = ready_meeting()
    homework = next(i for i in meeting.items if i.kind == "homework")
    tickets.update_ticket(None, homework.ticket, {"status_id": status_named("完了").id})
    db.session.commit()
    sato = homework.ticket.assignee
    assert events(parse(client.get(f"/feeds/{token_of(sato)}/homework.ics"))) == {}


def test_a_renewed_token_kills_the_old_address(client, login, make_user, token_of):
    user = make_user()
    old = token_of(user)
    assert client.get(f"/feeds/{old}/homework.ics").status_code == 200
    login(user)
    assert client.post("/feeds/renew").status_code == 302
    db.session.refresh(user)
    assert user.feed_token != old
    assert client.get(f"/feeds/{old}/homework.ics").status_code == 404
    assert client.get(f"/feeds/{user.feed_token}/homework.ics").status_code == 200


def test_a_project_feed_is_404_for_someone_who_is_not_a_member(
    client, make_user, ready_meeting, token_of
):
    meeting = ready_meeting()
    stranger = make_user()
    url = f"/feeds/{token_of(stranger)}/projects/{meeting.unit.identifier}/homework.ics"
    assert client.get(url).status_code == 404
    assert client.get("/feeds/not-a-token/homework.ics").status_code == 404


def test_the_feeds_page_shows_my_addresses(client, login, ready_meeting):
    meeting = ready_meeting()
    login(meeting.facilitator)
    page = client.get("/feeds").data.decode()
    db.session.refresh(meeting.facilitator)
    token = meeting.facilitator.feed_token
    assert token and f"/feeds/{token}/homework.ics" in page
    assert f"/feeds/{token}/projects/{meeting.unit.identifier}/homework.ics" in page


def test_a_homework_due_date_moved_moves_the_event(client, ready_meeting, token_of):
    meeting = ready_meeting()
    homework = next(i for i in meeting.items if i.kind == "homework")
    sato = homework.ticket.assignee
    url = f"/feeds/{token_of(sato)}/homework.ics"
    (before,) = parse(client.get(url)).walk("VEVENT")
    minutes_homework.edit_homework(meeting.facilitator, homework, due_date=date(2026, 12, 25))
    db.session.commit()
    (after,) = parse(client.get(url)).walk("VEVENT")
    assert str(before["uid"]) == str(after["uid"])
    assert after.decoded("dtstart") == date(2026, 12, 25)
