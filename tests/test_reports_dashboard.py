"""The homework dashboard: counts (Japan time, the April fiscal-year boundary), breakdowns,
the weekly trend, and access rules."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from core.extensions import db
from minutes import items
from reports import list_queries, queries, trend_queries
from reports.queries import Clock

# Wednesday 25 November 2026, 12:00 in Japan (03:00 UTC): week Mon 23 – Sun 29 November.
NOON_25_NOV = Clock(datetime(2026, 11, 25, 3, 0))


@pytest.fixture(autouse=True)
def _at_noon_25_nov(time_machine):
    """The homework these tests make is made at the clock they count with, on any day."""
    time_machine.move_to(NOON_25_NOV.now.replace(tzinfo=UTC))


@pytest.fixture
def manager(make_user):
    return make_user(login="kacho", password="pw-for-tests")


@pytest.fixture
def unit(make_unit, manager):
    return make_unit(members={manager: "manager"})


def test_headline_counts_open_overdue_due_this_week_and_done_this_month(
    make_homework, unit, manager
):
    make_homework(unit, due_date=date(2026, 11, 20))  # overdue
    make_homework(unit, due_date=date(2026, 11, 24))  # overdue (earlier this week)
    make_homework(unit, due_date=date(2026, 11, 25))  # due today: this week
    make_homework(unit, due_date=date(2026, 11, 29))  # due Sunday: this week
    make_homework(unit, due_date=date(2026, 11, 30))  # next week
    make_homework(unit, due_date=date(2026, 11, 1), closed_at=datetime(2026, 11, 10, 2, 0))
    make_homework(unit, due_date=date(2026, 10, 1), closed_at=datetime(2026, 10, 20, 2, 0))

    counts = queries.headline(manager, clock=NOON_25_NOV)

    assert counts == {"open": 5, "overdue": 2, "week": 2, "done_month": 1}


def test_today_is_japan_time_not_utc(make_homework, unit, manager):
    make_homework(unit, due_date=date(2026, 11, 29))
    # 15:30 UTC on Sunday the 29th is already Monday the 30th, 00:30, in Japan.
    clock = Clock(datetime(2026, 11, 29, 15, 30))

    counts = queries.headline(manager, clock=clock)

    assert clock.today == date(2026, 11, 30)
    assert counts["overdue"] == 1 and counts["week"] == 0


def test_done_this_month_starts_at_midnight_in_japan_on_1_april(make_homework, unit, manager):
    # 14:59 UTC on 31 March is 23:59 in Japan: still March and the old fiscal year.
    make_homework(unit, closed_at=datetime(2026, 3, 31, 14, 59))
    make_homework(unit, closed_at=datetime(2026, 3, 31, 15, 0))  # 00:00 on 1 April in Japan
    make_homework(unit, closed_at=datetime(2026, 4, 30, 15, 0))  # 00:00 on 1 May in Japan

    counts = queries.headline(manager, clock=Clock(datetime(2026, 4, 10, 3, 0)))

    assert counts["done_month"] == 1


def test_weekly_trend_starts_the_fiscal_year_in_april_japan_time(make_homework, unit, manager):
    # Still open from the old fiscal year: counted as open from the first week.
    make_homework(unit, created_at=datetime(2026, 3, 20, 1, 0))
    # Raised and closed in the old fiscal year: not in this year's chart at all.
    make_homework(
        unit, created_at=datetime(2026, 3, 2, 1, 0), closed_at=datetime(2026, 3, 25, 1, 0)
    )
    # Raised at 00:30 on 1 April in Japan (still 31 March in UTC), closed in the third week.
    make_homework(
        unit, created_at=datetime(2026, 3, 31, 15, 30), closed_at=datetime(2026, 4, 14, 1, 0)
    )
    clock = Clock(datetime(2026, 4, 22, 3, 0))  # Wednesday of the fourth week

    weeks = trend_queries.weekly_trend(manager, year=2026, clock=clock)

    assert [w.start for w in weeks] == [
        date(2026, 3, 30),
        date(2026, 4, 6),
        date(2026, 4, 13),
        date(2026, 4, 20),
    ]
    assert [w.new for w in weeks] == [1, 0, 0, 0]
    assert [w.closed for w in weeks] == [0, 0, 1, 0]
    assert [w.open for w in weeks] == [2, 2, 1, 1]


def test_previous_fiscal_year_chart_covers_all_its_weeks(manager):
    weeks = trend_queries.weekly_trend(manager, year=2025, clock=Clock(datetime(2026, 5, 1)))

    assert weeks[0].start == date(2025, 3, 31) and weeks[-1].start == date(2026, 3, 30)
    assert len(weeks) == 53


def test_counts_only_what_the_user_may_see(make_homework, make_unit, make_user, unit, manager):
    foreign = make_unit(members={make_user(): "manager"})
    make_homework(unit, due_date=date(2026, 11, 1))
    make_homework(foreign, due_date=date(2026, 11, 1))
    make_homework(foreign, due_date=date(2026, 11, 1))

    assert queries.headline(manager, clock=NOON_25_NOV)["overdue"] == 1
    assert [r.subject.id for r in queries.by_unit(manager, clock=NOON_25_NOV)] == [unit.id]
    assert trend_queries.weekly_trend(manager, clock=NOON_25_NOV)[-1].open == 1


def test_deleted_homework_and_plain_tickets_are_not_homework(
    make_homework, make_ticket, unit, manager
):
    make_homework(unit)
    gone = make_homework(unit)
    items.delete_item(None, gone)
    make_ticket(unit=unit, due_date=date(2026, 11, 1))

    assert queries.headline(manager, clock=NOON_25_NOV)["open"] == 1


def test_breakdowns_by_person_side_and_organisation(
    make_homework, make_user, make_org, unit, manager
):
    vendor = make_org(name="上州システムサービス株式会社", kind="vendor")
    se = make_user(name="山本 翔", organisation=vendor)
    make_homework(unit, who=se, due_date=date(2026, 11, 1))
    make_homework(unit, who=se, due_date=date(2026, 12, 1), status="情報")  # ball: city
    make_homework(unit, who="高崎市 田中", due_date=date(2026, 11, 26))

    people = {
        r.label: (r.open, r.overdue, r.week) for r in queries.by_person(manager, clock=NOON_25_NOV)
    }
    sides = {r.label: r.open for r in queries.by_side(manager, clock=NOON_25_NOV)}
    orgs = {r.label: r.open for r in queries.by_organisation(manager, clock=NOON_25_NOV)}

    assert people == {"山本 翔": (2, 1, 0), "高崎市 田中": (1, 0, 1)}
    assert sides == {"city": 1, "vendor": 2}
    assert orgs == {"上州システムサービス株式会社": 2, "": 1}


def test_homework_list_filters_by_state_person_and_side(make_homework, make_user, unit, manager):
    se = make_user()
    late = make_homework(unit, who=se, due_date=date(2026, 11, 2))
    make_homework(unit, who=se, due_date=date(2026, 12, 2))
    make_homework(unit, due_date=date(2026, 11, 3))

    lines, total = list_queries.homework_list(
        manager,
        filters=list_queries.HomeworkFilters(state="overdue", assignee=se.id, side="vendor"),
        clock=NOON_25_NOV,
    )

    assert total == 1 and [line.ticket.id for line in lines] == [late.ticket_id]
    assert lines[0].item.meeting_id == late.meeting_id


def test_oldest_open_homework_comes_first(make_homework, unit, manager):
    newer = make_homework(unit, created_at=datetime(2026, 9, 1))
    older = make_homework(unit, created_at=datetime(2026, 5, 1))
    make_homework(unit, created_at=datetime(2026, 4, 1), closed_at=datetime(2026, 4, 2))

    assert [line.ticket.id for line in list_queries.oldest_open(manager)] == [
        older.ticket_id,
        newer.ticket_id,
    ]


def test_dashboard_page_shows_numbers_chart_and_links(client, login, make_homework, unit, manager):
    make_homework(unit, due_date=date(2020, 1, 6), what="住基ネット接続試験の日程を決める")
    login(manager)

    page = client.get("/dashboard")

    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "<svg" in html and "宿題" in html
    assert 'href="/dashboard/homework?state=overdue"' in html
    listing = client.get("/dashboard/homework?state=overdue").get_data(as_text=True)
    assert "住基ネット接続試験の日程を決める" in listing


def test_dashboard_of_a_foreign_project_is_not_found(client, login, make_unit, make_user, manager):
    foreign = make_unit(members={make_user(): "manager"})
    login(manager)

    assert client.get(f"/dashboard?project={foreign.id}").status_code == 404
    assert client.get(f"/dashboard/homework?project={foreign.id}").status_code == 404


def test_breakdowns_and_lists_take_a_fixed_number_of_queries(
    make_homework, make_user, unit, manager
):
    for _ in range(6):
        make_homework(unit, who=make_user(), due_date=date(2026, 11, 1))
    statements = []

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        db.session.expire_all()
        people = queries.by_person(manager, clock=NOON_25_NOV)
        lines, _ = list_queries.homework_list(manager, clock=NOON_25_NOV)
        [(line.ticket.who, line.ticket.project.name, line.item.meeting.title) for line in lines]
        [(row.label, row.subject.organisation) for row in people]
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)

    assert len(lines) == 6
    # The manager reloaded after the commit; the breakdowns (all at once): statuses, the open
    # homework, the people (with organisations), the units, done this month; the list:
    # count, page, items — whatever the rows.
    assert len(statements) <= 9, statements


def test_the_chart_is_svg_with_japanese_month_labels_from_april():
    from reports.charts import weekly_chart
    from reports.trend_queries import Week

    weeks = [Week(date(2026, 3, 30) + timedelta(days=7 * k), k, k % 2, 1) for k in range(10)]

    svg = str(weekly_chart(weeks, title="宿題 <週>", open_label="未完了", closed_label="完了"))

    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert ">4月<" in svg and ">5月<" in svg and ">3月<" not in svg
    assert "宿題 &lt;週&gt;" in svg  # text is escaped
    assert svg.count('class="closed"') == 5 and 'class="open"' in svg


def test_scope_chooser_lists_my_years_newest_first_with_their_live_units(
    client, login, make_project, make_user, manager
):
    old = make_project(fiscal_year=2025, units=("住民記録", "税務"), members={manager: "manager"})
    new = make_project(fiscal_year=2026, units=("住民記録", "福祉"), members={manager: "manager"})
    old.units[1].is_archived = True
    new.name_en = "Test City FY2026"
    foreign = make_project(fiscal_year=2026, units=("秘密",), members={make_user(): "manager"})
    db.session.commit()
    login(manager)

    html = client.get(f"/decisions?project={new.units[1].id}").get_data(as_text=True)
    chooser = html[
        html.index('<select name="project"') : html.index(
            "</select>", html.index('<select name="project"')
        )
    ]

    assert chooser.index(new.name) < chooser.index(old.name)  # the newest year first
    assert f'<option value="{new.units[1].id}" selected>福祉</option>' in chooser
    assert "税務" not in chooser  # archived
    assert foreign.name not in chooser and "秘密" not in chooser
    client.post("/lang", data={"lang": "en"})
    english = client.get("/decisions").get_data(as_text=True)
    assert "Test City FY2026 — all units" in english


@pytest.mark.parametrize(
    "filters",
    [{"guest": "山本 太郎 (上州)/a+b&c"}, {"assignee": 12}, {"org": "none"}, {"side": "city"}],
)
def test_breakdown_links_are_the_urls_url_for_builds(app, filters):
    from flask import url_for

    from reports.views import homework_href

    with app.test_request_context():
        expected = url_for("reports.homework", state="week", project=3, **filters)
        assert homework_href("week", {"project": 3}, filters) == expected


def test_object_links_are_the_urls_url_for_builds(app):
    from flask import url_for

    from core.urls import object_url

    with app.test_request_context():
        for object_id in (7, 12345):
            assert object_url("tickets.show", object_id) == url_for(
                "tickets.show", ticket_id=object_id
            )
            assert object_url("minutes.show", object_id) == url_for(
                "minutes.show", meeting_id=object_id
            )
        assert object_url("minutes.show", 7, external=True).startswith("http")
        assert object_url("no.such_page", 7) is None
