"""My page: my open homework and tickets by due date, my next meetings, what awaits my
confirmation — only from projects I may see."""

from datetime import date, datetime, timedelta

from core.extensions import db
from core.timeutil import local_today, utcnow
from minutes import confirmations
from reports import mypage
from reports.queries import Clock


def test_my_open_tickets_come_soonest_due_first_homework_marked(
    make_user, make_unit, make_homework, make_ticket
):
    me = make_user()
    unit = make_unit(members={me: "member"})
    later = make_homework(unit, who=me, due_date=date(2026, 12, 20))
    sooner = make_homework(unit, who=me, due_date=date(2026, 12, 1))
    undated = make_ticket(unit=unit, assignee=me)
    make_homework(unit, who=me, due_date=date(2026, 11, 1), status="完了")
    make_homework(unit, who=make_user(), due_date=date(2026, 11, 1))

    lines = mypage.my_open_tickets(me, date(2026, 12, 5)).lines

    assert [line.id for line in lines] == [sooner.ticket_id, later.ticket_id, undated.id]
    assert lines[0].meeting.id == sooner.meeting_id and lines[2].meeting is None
    assert [line.overdue for line in lines] == [True, False, False]


def test_tickets_of_a_project_i_left_are_not_on_my_page(make_user, make_unit, make_homework):
    me = make_user()
    mine = make_unit(members={me: "member"})
    foreign = make_unit(members={make_user(): "manager"})
    make_homework(mine, who=me)
    make_homework(foreign, who=me)

    assert mypage.my_open_tickets(me, date(2026, 12, 5)).total == 1


def test_next_meetings_are_mine_from_today_on(make_user, make_unit, make_meeting):
    me = make_user()
    unit = make_unit(members={me: "member"})
    clock = Clock(datetime(2026, 11, 25, 3, 0))
    today_early = make_meeting(unit=unit, attendees=[me], starts_at=datetime(2026, 11, 24, 23, 0))
    next_week = make_meeting(unit=unit, attendees=[me], starts_at=datetime(2026, 12, 2, 1, 0))
    make_meeting(unit=unit, attendees=[me], starts_at=datetime(2026, 11, 24, 14, 0))  # yesterday
    make_meeting(unit=unit, starts_at=datetime(2026, 12, 3, 1, 0))  # not an attendee

    assert mypage.next_meetings(me, clock) == [today_early, next_week]


def test_minutes_awaiting_my_confirmation_until_i_confirm(ready_meeting, freeze_meeting):
    meeting = ready_meeting()
    me = meeting.attendees[1].user
    revision = freeze_meeting(meeting)

    waiting = mypage.awaiting_my_confirmation(me)

    assert [(a.meeting.id, a.revision.number) for a in waiting] == [(meeting.id, 1)]
    confirmations.confirm(me, revision, meeting.attendees[1])
    db.session.commit()
    assert mypage.awaiting_my_confirmation(me) == []


def test_my_page_renders_with_links_to_last_year(client, login, make_user, make_project):
    me = make_user()
    this_year = Clock(utcnow()).fiscal_year
    project = make_project(
        fiscal_year=this_year, units=("住民記録", "個人住民税"), members={me: "member"}
    )
    login(me)

    html = client.get("/my/page").get_data(as_text=True)

    assert "マイページ" in html
    for unit in project.units:
        assert f'href="/projects/{unit.id}/last-year"' in html


def test_next_meetings_start_from_today_in_japan(make_user, make_unit, make_meeting):
    me = make_user()
    unit = make_unit(members={me: "member"})
    # 00:30 on 26 November in Japan is still the 25th in UTC; 23:00 on the 25th is past.
    clock = Clock(datetime(2026, 11, 25, 15, 30))
    make_meeting(unit=unit, attendees=[me], starts_at=datetime(2026, 11, 25, 14, 0))

    assert clock.today == date(2026, 11, 26)
    assert mypage.next_meetings(me, clock) == []


def test_my_page_links_to_the_confirmation_page(client, login, ready_meeting, freeze_meeting):
    meeting = ready_meeting()
    freeze_meeting(meeting)
    login(meeting.attendees[1].user)

    html = client.get("/my/page").get_data(as_text=True)

    assert "私の確認待ち" in html and f'href="/meetings/{meeting.id}/confirm"' in html


def test_my_page_shows_the_soonest_rows_and_links_to_all_of_them(
    client, login, make_user, make_unit, make_ticket
):
    me = make_user()
    unit = make_unit(members={me: "member"})
    held = mypage.MY_PAGE_ROWS + 3
    for day in range(held):
        make_ticket(
            unit=unit, assignee=me, subject=f"宿題{day:02d}", due_date=date(2026, 12, 1 + day)
        )
    login(me)

    html = client.get("/my/page").get_data(as_text=True)

    shown = [f"宿題{day:02d}" for day in range(held) if f"宿題{day:02d}" in html]
    assert shown == [f"宿題{day:02d}" for day in range(mypage.MY_PAGE_ROWS)]
    assert f"{held}件" in html and "ほか3件：すべて表示" in html
    full = "/issues?assigned_to_id=me&amp;status_id=o&amp;sort=due_date,id"
    assert f'href="{full}"' in html
    listed = client.get(full.replace("&amp;", "&")).get_data(as_text=True)
    assert all(f"宿題{day:02d}" in listed for day in range(held))


def test_a_row_of_my_page_shows_its_homework_meeting_unit_and_lateness(
    client, login, make_user, make_unit, make_homework
):
    me = make_user()
    unit = make_unit(members={me: "member"})
    late = make_homework(unit, who=me, due_date=local_today() - timedelta(days=1))
    login(me)

    html = client.get("/my/page").get_data(as_text=True)

    row = html[html.index(f'href="/issues/{late.ticket_id}"') :]
    row = row[: row.index("</tr>")]
    assert '<span class="badge">宿題</span>' in row and 'class="overdue"' in row
    assert f'href="/meetings/{late.meeting_id}"' in row
    assert unit.name in row and unit.parent.name in row


def test_my_private_tickets_are_mine_and_an_administrator_sees_every_project(
    make_user, make_unit, make_ticket
):
    me, admin = make_user(), make_user(is_admin=True)
    unit = make_unit(members={me: "member"})
    private = make_ticket(unit, assignee=me, subject="非公開の宿題")
    private.is_private = True
    make_ticket(unit, assignee=admin, subject="管理者の宿題")  # admin is not a member
    db.session.commit()
    today = date(2026, 12, 5)

    assert [line.subject for line in mypage.my_open_tickets(me, today).lines] == ["非公開の宿題"]
    assert [line.subject for line in mypage.my_open_tickets(admin, today).lines] == ["管理者の宿題"]
