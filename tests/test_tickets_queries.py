"""The ticket list query: Redmine's filter parameters, access, sorting, paging."""

from datetime import date, timedelta

import pytest

from core.errors import NotFound
from core.extensions import db
from core.timeutil import local_today
from tickets import queries, services


@pytest.fixture
def setting(make_user, make_project):
    member, other = make_user(name="あおき"), make_user(name="さとう")
    project = make_project(units=("住民記録", "税務"), members={member: "member", other: "member"})
    return member, other, project


def subjects(user, **params):
    rows, total = queries.ticket_query(user, params).page()
    assert total >= len(rows)
    return [t.subject for t in rows]


def test_open_by_default_closed_and_all_on_request(setting, make_ticket, status_named):
    member, _other, project = setting
    make_ticket(project.units[0], member, subject="開いている")
    make_ticket(project.units[0], member, subject="閉じた", status=status_named("完了"))
    assert subjects(member) == ["開いている"]
    assert subjects(member, status_id="closed") == ["閉じた"]
    assert sorted(subjects(member, status_id="*")) == ["閉じた", "開いている"]
    done, new = status_named("完了").id, status_named("起票").id
    assert sorted(subjects(member, status_id=f"{done}|{new}")) == ["閉じた", "開いている"]


def test_project_includes_its_units_unless_asked_not_to(setting, make_ticket):
    member, _other, project = setting
    make_ticket(project.units[0], member, subject="住民記録の件")
    make_ticket(project.units[1], member, subject="税務の件")
    assert sorted(subjects(member, project_id=project.identifier)) == ["住民記録の件", "税務の件"]
    assert subjects(member, project_id=str(project.id), subproject_id="!*") == []
    assert subjects(member, project_id=project.units[1].identifier) == ["税務の件"]


def test_a_project_the_user_cannot_see_is_not_found(setting, make_user):
    _member, _other, project = setting
    with pytest.raises(NotFound):
        queries.ticket_query(make_user(), {"project_id": project.identifier})


def test_assignee_me_nobody_and_author(setting, make_ticket):
    member, other, project = setting
    unit = project.units[0]
    make_ticket(unit, member, subject="自分の", assignee=member)
    make_ticket(unit, other, subject="佐藤さんの", assignee=other)
    make_ticket(unit, other, subject="誰でもない")
    assert subjects(member, assigned_to_id="me") == ["自分の"]
    assert subjects(member, assigned_to_id="!*") == ["誰でもない"]
    assert sorted(subjects(member, assigned_to_id="*")) == ["佐藤さんの", "自分の"]
    assert sorted(subjects(member, author_id=str(other.id))) == ["佐藤さんの", "誰でもない"]


def test_tracker_and_parent(setting, make_ticket, tracker_named):
    member, _other, project = setting
    unit = project.units[0]
    parent = make_ticket(unit, member, subject="親", tracker=tracker_named("問い合わせ管理"))
    make_ticket(unit, member, subject="子", parent=parent, tracker=tracker_named("変更管理"))
    assert subjects(member, tracker_id=str(tracker_named("変更管理").id)) == ["子"]
    assert subjects(member, parent_id=str(parent.id)) == ["子"]
    assert subjects(member, parent_id="!*") == ["親"]


def test_due_date_range_and_overdue(setting, make_ticket):
    member, _other, project = setting
    unit = project.units[0]
    today = local_today()
    make_ticket(unit, member, subject="遅れ", due_date=today - timedelta(days=1))
    make_ticket(unit, member, subject="来週", due_date=today + timedelta(days=7))
    assert subjects(member, overdue="1") == ["遅れ"]
    later = (today + timedelta(days=1)).isoformat()
    assert subjects(member, due_date=f">={later}") == ["来週"]
    assert subjects(member, due_date_to=today.isoformat()) == ["遅れ"]
    window = f"><{today.isoformat()}|{(today + timedelta(days=7)).isoformat()}"
    assert subjects(member, due_date=window) == ["来週"]


def test_created_on_range_is_by_japan_date(setting, make_ticket):
    member, _other, project = setting
    ticket = make_ticket(project.units[0], member, subject="昨日の")
    from datetime import datetime

    ticket.created_at = datetime(2026, 5, 1, 16, 0)  # 2026-05-02 01:00 in Japan
    db.session.commit()
    assert subjects(member, created_on="2026-05-02") == ["昨日の"]
    assert subjects(member, created_on="2026-05-01") == []
    assert subjects(member, created_on_from="2026-05-02", created_on_to="2026-05-02") == ["昨日の"]


def test_bad_values_are_refused_clearly(setting):
    member, _other, _project = setting
    with pytest.raises(queries.QueryError, match="due_date"):
        queries.ticket_query(member, {"due_date": ">=tomorrow"})
    with pytest.raises(queries.QueryError):
        queries.ticket_query(member, {"sort": "password"})
    with pytest.raises(queries.QueryError):
        queries.ticket_query(member, {"tracker_id": "x"})


def test_sort_by_any_column_and_page(setting, make_ticket, status_named):
    member, other, project = setting
    unit = project.units[0]
    for name, who in (("ア", other), ("イ", member), ("ウ", None)):
        make_ticket(unit, member, subject=name, assignee=who)
    assert subjects(member, sort="subject") == ["ア", "イ", "ウ"]
    assert subjects(member, sort="subject:desc") == ["ウ", "イ", "ア"]
    assert subjects(member, sort="assigned_to,id") == [
        "イ",
        "ア",
        "ウ",
    ]  # あおき < さとう, none last
    for column in queries.SORTABLE:
        assert len(subjects(member, sort=f"{column}:desc")) == 3
    query = queries.ticket_query(member, {"sort": "id", "limit": "2", "page": "2"})
    rows, total = query.page()
    assert total == 3 and [t.subject for t in rows] == ["ウ"] and query.offset == 2
    rows, _total = queries.ticket_query(member, {"sort": "id", "offset": "1", "limit": "1"}).page()
    assert [t.subject for t in rows] == ["イ"]


def test_only_visible_projects_are_listed(setting, make_ticket, make_user, make_unit):
    member, _other, project = setting
    make_ticket(project.units[0], member, subject="見える")
    stranger = make_user()
    make_ticket(make_unit(members={stranger: "member"}), stranger, subject="見えない")
    assert subjects(member) == ["見える"]


def test_listing_loads_what_the_list_shows_in_constant_queries(setting, make_ticket, app):
    member, other, project = setting
    for i in range(12):
        make_ticket(project.units[i % 2], member, assignee=other if i % 3 else None)
    user_class, member_id = type(member), member.id
    db.session.expunge_all()
    member = db.session.get(user_class, member_id)
    queries.ticket_query(member, {}).page()  # fills the per-process cache of open statuses
    statements = []
    from sqlalchemy import event

    def count(*_args):
        statements.append(1)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        rows, total = queries.ticket_query(member, {"sort": "priority,status"}).page()
        shown = [
            (t.project.name, t.tracker.name, t.status.name, t.priority.name, t.who, t.author.name)
            for t in rows
        ]
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    # The data generation's token (for the cached open statuses), count, ids, rows.
    assert total == 12 and len(shown) == 12 and len(statements) <= 4


def test_keyword_filter_combines_with_others(setting, make_ticket):
    member, _other, project = setting
    make_ticket(project.units[0], member, subject="住基の宿題", due_date=date(2026, 4, 1))
    make_ticket(project.units[1], member, subject="税の宿題")
    params = {"q": "宿題", "project_id": project.units[0].identifier}
    assert subjects(member, **params) == ["住基の宿題"]


def test_the_total_is_kept_until_a_ticket_or_who_sees_what_changes(
    setting, make_ticket, status_named, count_queries, make_user
):
    """The total of a list is kept per data generation ("tickets"): asked again, it is not
    counted anew; a ticket made, one closed, a membership gone: each is counted anew."""
    from projects import services as projects
    from tickets import services as tickets

    member, other, project = setting
    unit = project.units[0]
    first = make_ticket(unit, member, subject="一件目")
    make_ticket(unit, member, subject="二件目")

    def total(**params):
        return queries.ticket_query(member, params).count()

    assert total() == 2
    with count_queries() as counter:
        assert total() == 2
    assert not [s for s in counter.statements if "count(*)" in s]  # served from the cache

    make_ticket(unit, other, subject="三件目")
    assert total() == 3
    tickets.update_ticket(None, first, {"status_id": status_named("完了").id})
    db.session.commit()
    assert total() == 2 and total(status_id="closed") == 1

    # Conditions a caller adds after the parameters (the Redmine search does) are counted.
    query = queries.ticket_query(member, {})
    query.where.append(queries.Ticket.subject == "二件目")
    assert query.count() == 1

    membership = next(m for m in project.memberships if m.user_id == member.id)
    projects.remove_membership(membership)
    db.session.commit()
    assert total() == 0


def test_a_page_in_id_order_is_the_same_walked_by_id_or_read_from_an_index(
    setting, make_ticket, make_user, make_unit, status_named, monkeypatch
):
    """With many matches SQLite walks the tickets by id (queries._unindexed) instead of
    sorting every match from an index: the same rows either way, private ones included."""
    member, other, project = setting
    stranger = make_user()
    foreign = make_unit(members={stranger: "member"})
    done = status_named("完了")
    for i in range(30):
        unit = project.units[i % 2] if i % 5 else foreign
        ticket = make_ticket(unit, None, assignee=other if i % 3 else None)
        if i % 4 == 0:
            services.update_ticket(None, ticket, {"status_id": done.id})
        ticket.is_private = i % 7 == 0
    db.session.commit()
    cases = [
        {"status_id": "*"},
        {},
        {"status_id": "*", "sort": "id", "limit": "5", "offset": "3"},
        {"status_id": "*", "limit": "4", "page": "3"},
        {"assigned_to_id": str(other.id), "status_id": "c"},
    ]
    for params in cases:
        walked, read = [], []
        for walks, found in ((True, walked), (False, read)):
            monkeypatch.setattr(queries.TicketQuery, "_walks_ids", lambda self, total, w=walks: w)
            found.extend(queries.ticket_query(member, params).page_ids()[0])
        assert walked == read and walked, params
    monkeypatch.undo()
    many = queries.ticket_query(member, {"status_id": "*", "limit": "5"})
    few = queries.ticket_query(member, {"assigned_to_id": str(other.id), "status_id": "c"})
    assert not few._walks_ids(few.count())
    # PostgreSQL's planner chooses between the two by itself.
    assert many._walks_ids(many.count()) is (db.session.get_bind().dialect.name == "sqlite")
