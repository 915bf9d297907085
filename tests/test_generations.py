"""Caches keyed by data generations (core/generations.py): the dashboard's numbers are reused
while nothing they count changes, and never served after something did."""

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from core import generations
from core.extensions import db
from minutes import items as minutes_items
from projects import services as projects
from reports.queries import Clock, OpenHomework
from reports.trend_queries import cached_weekly_trend
from tickets import services as tickets
from tickets.models import Ticket

NOON_25_NOV = Clock.at(datetime(2026, 11, 25, 3, 0))


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


def open_count(user) -> int:
    return OpenHomework.cached(user, clock=NOON_25_NOV).headline()["open"]


def test_unchanged_data_is_answered_from_the_cache_with_one_query(
    make_homework, unit, manager, count_queries
):
    make_homework(unit)
    assert open_count(manager) == 1
    # An edit the dashboard does not count: a goal's text typed in the projector.
    goal = minutes_items.add_item(manager, make_homework(unit).meeting, "goal", "帳票の確認")
    db.session.commit()
    first = open_count(manager)
    minutes_items.edit_item(manager, goal, "帳票レイアウトの確認")
    db.session.commit()
    manager.id  # noqa: B018 (reloaded after the commit, outside the count)

    with count_queries() as counter:
        again = open_count(manager)

    assert first == again == 2
    assert counter.count == 1 and "data_generations" in counter.statements[0]


def test_a_closed_ticket_changes_the_numbers_at_once(make_homework, unit, manager, status_named):
    item = make_homework(unit)
    make_homework(unit)
    assert open_count(manager) == 2

    tickets.update_ticket(manager, item.ticket, {"status_id": status_named("完了").id})
    db.session.commit()

    assert open_count(manager) == 1


def test_a_bulk_update_statement_changes_the_numbers_too(make_homework, unit, manager):
    item = make_homework(unit, due_date=date(2026, 12, 20))
    assert OpenHomework.cached(manager, clock=NOON_25_NOV).headline()["overdue"] == 0

    db.session.execute(
        sa.update(Ticket).where(Ticket.id == item.ticket_id).values(due_date=date(2026, 11, 1))
    )
    db.session.commit()

    assert OpenHomework.cached(manager, clock=NOON_25_NOV).headline()["overdue"] == 1


def test_a_removed_member_no_longer_sees_the_numbers(make_homework, unit, make_user):
    clerk = make_user()
    membership = projects.set_membership(unit.parent, clerk, "member")
    db.session.commit()
    make_homework(unit)
    assert open_count(clerk) == 1

    projects.remove_membership(membership)
    db.session.commit()

    assert open_count(clerk) == 0


def test_a_rolled_back_change_keeps_the_token_and_the_numbers(make_homework, unit, manager):
    item = make_homework(unit)
    assert open_count(manager) == 1
    before = generations.token("homework")

    item.ticket.due_date = date(2026, 1, 1)
    db.session.flush()  # bumps inside the transaction …
    db.session.rollback()  # … and the rollback undoes it

    assert generations.token("homework") == before
    assert open_count(manager) == 1


def test_the_trend_is_cached_per_year_and_follows_new_homework(make_homework, unit, manager):
    assert cached_weekly_trend(manager, year=2026, clock=NOON_25_NOV)[-1].open == 0

    make_homework(unit)

    assert cached_weekly_trend(manager, year=2026, clock=NOON_25_NOV)[-1].open == 1
    assert cached_weekly_trend(manager, year=2025, clock=NOON_25_NOV) != (
        cached_weekly_trend(manager, year=2026, clock=NOON_25_NOV)
    )


def test_the_dashboard_page_shows_a_change_made_after_it_was_cached(
    client, login, make_homework, unit, manager, status_named
):
    items = [make_homework(unit, what=f"宿題{n}") for n in range(3)]
    login(manager)
    assert 'data-state="open"' in client.get("/dashboard").get_data(as_text=True)

    tickets.update_ticket(manager, items[0].ticket, {"status_id": status_named("完了").id})
    db.session.commit()
    html = client.get("/dashboard").get_data(as_text=True)

    number = html[html.index('data-state="open"') :]
    assert '<span class="value">2</span>' in number[: number.index("</a>")]


def test_ticket_filter_choices_follow_new_members_and_renamed_units(
    client, login, make_homework, unit, manager, make_user
):
    login(manager)
    assert "新しい担当者" not in client.get("/issues").get_data(as_text=True)

    projects.set_membership(unit.parent, make_user(name="新しい担当者"), "member")
    unit.name = "住民記録（改）"
    db.session.commit()
    html = client.get(f"/issues?project_id={unit.identifier}").get_data(as_text=True)

    assert "新しい担当者" in html
    assert f'<option value="{unit.identifier}" selected>\u3000住民記録（改）</option>' in html


def test_a_ticket_edit_leaves_the_directory_token_alone(make_homework, unit, manager):
    item = make_homework(unit)
    directory, homework = generations.token("directory"), generations.token("homework")

    tickets.update_ticket(manager, item.ticket, {"due_date": date(2027, 1, 8)})
    db.session.commit()

    assert generations.token("directory") == directory
    assert generations.token("homework") != homework


def test_get_many_computes_only_what_is_not_kept_in_one_call_and_forgets_the_oldest():
    cache = generations.Cache(size=3)
    calls = []

    def compute(keys):
        calls.append(list(keys))
        return {key: key[0] * 10 for key in keys}

    assert cache.get_many([(1,), (2,)], compute) == {(1,): 10, (2,): 20}
    assert cache.get_many([(2,), (3,), (4,)], compute) == {(2,): 20, (3,): 30, (4,): 40}
    assert calls == [[(1,), (2,)], [(3,), (4,)]]
    assert cache.get_many([(1,)], compute) == {(1,): 10}  # the oldest was let go
    assert calls[-1] == [(1,)]
