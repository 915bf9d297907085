"""This time last year: the same weeks of the previous fiscal year's unit."""

from datetime import UTC, date, datetime, time

import pytest

from core.extensions import db
from core.timeutil import local_today
from projects import services as projects
from projects.models import Project
from reports import lastyear
from reports.queries import Clock

# Wednesday 20 May 2026 in Japan; a year before: Tuesday 20 May 2025 (week of 19 May).
CLOCK = Clock(datetime(2026, 5, 20, 3, 0))


@pytest.fixture
def years(make_user, make_org, make_project):
    newcomer = make_user(login="newcomer")
    city = make_org(name="前橋市")
    old = make_project(
        fiscal_year=2025, owner=city, units=("住民記録", "個人住民税"), members={newcomer: "viewer"}
    )
    new = make_project(
        fiscal_year=2026, owner=city, units=("個人住民税", "住民記録"), members={newcomer: "member"}
    )
    return newcomer, old, new


def test_the_counterpart_is_the_unit_of_the_same_name_a_year_earlier(years):
    newcomer, old, new = years

    assert lastyear.counterpart(newcomer, new.units[1]) == old.units[0]
    assert lastyear.counterpart(newcomer, new) == old


def test_same_weeks_last_year_show_meetings_results_homework_and_tickets(
    years, make_meeting, make_item, make_homework, make_ticket
):
    newcomer, old, new = years
    unit = old.units[0]
    meeting = make_meeting(
        unit=unit, title="住民記録 定例会（5月）", starts_at=datetime(2025, 5, 21, 1, 0)
    )
    make_item(meeting, "result", "年次更新の作業手順を確定した")
    make_homework(
        unit, meeting=meeting, what="住基ネット年次切替の日程を調整する", due_date=date(2025, 6, 6)
    )
    ticket = make_ticket(unit=unit, subject="定期異動に伴う権限変更")
    ticket.created_at = datetime(2025, 6, 2, 1, 0)
    make_meeting(unit=unit, title="遠い会議", starts_at=datetime(2025, 9, 1, 1, 0))
    db.session.commit()

    report = lastyear.last_year(newcomer, new.units[1], CLOCK)

    assert report.previous == unit
    assert [w.start for w in report.weeks][:2] == [date(2025, 5, 12), date(2025, 5, 19)]
    week = report.weeks[1]
    assert week.this_year == date(2026, 5, 18)
    (digest,) = week.meetings
    assert digest.meeting.title == "住民記録 定例会（5月）"
    assert [r.text for r in digest.results] == ["年次更新の作業手順を確定した"]
    assert [h.ticket.subject for h in digest.homework] == ["住基ネット年次切替の日程を調整する"]
    assert [t.subject for t in report.weeks[3].tickets] == ["定期異動に伴う権限変更"]
    titles = [m.meeting.title for w in report.weeks for m in w.meetings]
    assert "遠い会議" not in titles


def test_last_years_unit_is_shown_only_to_those_who_may_open_it(
    client, login, time_machine, make_user, make_org, make_project, make_meeting
):
    time_machine.move_to(CLOCK.now.replace(tzinfo=UTC))
    newcomer = make_user()
    city = make_org(name="高崎市")
    old = make_project(fiscal_year=2025, owner=city, members={make_user(): "manager"})
    make_meeting(unit=old.units[0], title="昨年度の定例会", starts_at=datetime(2025, 5, 21, 1, 0))
    new = make_project(fiscal_year=2026, owner=city, members={newcomer: "member"})
    login(newcomer)
    page = f"/projects/{new.units[0].id}/last-year"

    before = client.get(page).get_data(as_text=True)
    projects.set_membership(old, newcomer, "viewer")
    db.session.commit()
    after = client.get(page).get_data(as_text=True)

    assert "昨年度の定例会" not in before and "前年度" in before
    assert "昨年度の定例会" in after


def test_a_renamed_project_is_not_offered_another_organisations_last_year(
    client,
    login,
    time_machine,
    make_user,
    make_org,
    make_project,
    make_meeting,
    make_homework,
    make_ticket,
):
    time_machine.move_to(CLOCK.now.replace(tzinfo=UTC))
    manager, newcomer = make_user(), make_user()
    other_city = make_org(name="伊勢崎市")
    theirs = make_project(fiscal_year=2025, owner=other_city, members={make_user(): "manager"})
    meeting = make_meeting(
        unit=theirs.units[0], title="伊勢崎市の定例会", starts_at=datetime(2025, 5, 21, 1, 0)
    )
    make_homework(meeting=meeting, what="伊勢崎市の宿題", due_date=date(2025, 6, 6))
    make_ticket(unit=theirs.units[0], subject="伊勢崎市のチケット", due_date=date(2025, 6, 2))
    ours = make_project(
        fiscal_year=2026,
        owner=make_org(name="高崎市"),
        members={manager: "manager", newcomer: "member"},
    )
    login(manager)
    saved = client.post(
        f"/projects/{ours.identifier}/settings",
        data={
            "name": ours.name,
            "identifier": theirs.identifier.replace("2025", "2026"),
            "fiscal_year": 2026,
            "owner_organisation_id": other_city.id,
        },
    )
    login(newcomer)

    html = client.get(f"/projects/{ours.units[0].id}/last-year").get_data(as_text=True)

    assert saved.status_code == 302
    assert lastyear.counterpart(newcomer, db.session.get(Project, ours.id)) is None
    for foreign in ("伊勢崎市の定例会", "伊勢崎市の宿題", "伊勢崎市のチケット"):
        assert foreign not in html


def test_another_owners_last_year_stays_hidden(
    client, login, make_user, make_org, make_project, make_meeting
):
    newcomer = make_user()
    old = make_project(fiscal_year=2025, owner=make_org(name="伊勢崎市"))
    make_meeting(unit=old.units[0], title="よその会議", starts_at=datetime(2025, 5, 21, 1, 0))
    new = make_project(
        fiscal_year=2026, owner=make_org(name="高崎市"), members={newcomer: "member"}
    )
    login(newcomer)

    html = client.get(f"/projects/{new.units[0].id}/last-year").get_data(as_text=True)

    assert "よその会議" not in html and "前年度" in html


def test_the_page_shows_last_years_meeting_of_this_week(
    client, login, years, make_meeting, make_item
):
    newcomer, old, new = years
    today = local_today()
    noon = datetime.combine(lastyear.one_year_before(today), time(3, 0))
    meeting = make_meeting(unit=old.units[0], title="昨年の定例会", starts_at=noon)
    make_item(meeting, "result", "**年度末処理**の順番を決めた")
    login(newcomer)

    html = client.get(f"/projects/{new.units[1].id}/last-year").get_data(as_text=True)

    assert "昨年の今頃" in html and "昨年の定例会" in html
    assert "<strong>年度末処理</strong>" in html


def test_last_year_of_a_foreign_unit_is_not_found(client, login, make_user, make_unit):
    me = make_user()
    foreign = make_unit(members={make_user(): "manager"})
    login(me)

    assert client.get(f"/projects/{foreign.id}/last-year").status_code == 404


def test_29_february_maps_to_28_february():
    assert lastyear.one_year_before(date(2028, 2, 29)) == date(2027, 2, 28)


def test_the_unit_page_links_to_last_year(client, login, years):
    newcomer, _old, new = years
    login(newcomer)
    unit = new.units[0]

    html = client.get(f"/projects/{unit.identifier}").get_data(as_text=True)

    assert f'href="/projects/{unit.id}/last-year"' in html and "昨年の今頃" in html
