"""One search over meetings, goals, results, homework, break/preview items and tickets:
Japanese substrings of any length, English in any case, grouped by kind, access rules."""

from datetime import date, datetime

import pytest

from reports import search
from reports.search import SearchFilters


@pytest.fixture
def me(make_user):
    return make_user(login="sato")


@pytest.fixture
def filled(make_meeting, make_item, make_ticket):
    """fill(unit, word, when) -> one thing of every kind in `unit` that contains `word`."""

    def fill(unit, word, when=datetime(2026, 6, 1, 1, 0)):
        meeting = make_meeting(unit=unit, title=f"{word}定例会", starts_at=when)
        goal = make_item(meeting, "goal", f"{word}の方針を決める")
        make_item(meeting, "result", f"{word}は来月切替", parent=goal)
        make_item(meeting, "homework", what=f"{word}の手順書を作る", due_date=date(2026, 6, 30))
        make_item(meeting, "preview", f"来年度の{word}更新")
        make_item(meeting, "break", f"{word}とは別の雑談")
        make_ticket(
            unit=unit, subject=f"{word}の帳票が出ない", description="印刷ボタンを押すと固まる"
        )
        return meeting

    return fill


def _hits(user, q, **kw):
    return {g.kind: g.total for g in search.search(user, SearchFilters(q=q, **kw))}


def test_one_word_finds_every_kind(me, make_unit, filled):
    filled(make_unit(members={me: "member"}), "住基")

    assert _hits(me, "住基") == {
        "meeting": 1,
        "result": 1,
        "goal": 1,
        "homework": 1,
        "sheet3": 2,
        "ticket": 1,
    }


@pytest.mark.parametrize("kind", list(search.KINDS))
def test_a_non_member_never_sees_a_hit_from_a_foreign_project(
    me, make_unit, make_user, filled, kind
):
    filled(make_unit(members={me: "member"}), "自分")
    filled(make_unit(members={make_user(): "manager"}), "住基")

    groups = search.search(me, SearchFilters(q="住基"), kind=kind)

    assert [g.total for g in groups] == [0]


def test_english_words_match_in_any_case(me, make_unit, make_item, make_meeting):
    unit = make_unit(members={me: "member"})
    make_item(make_meeting(unit=unit), "result", "LGWAN 接続を更新する")

    assert _hits(me, "lgwan")["result"] == 1
    assert _hits(me, "Lgwan 接続")["result"] == 1
    assert _hits(me, "lgwan 存在しない")["result"] == 0


def test_filters_by_unit_and_meeting_day(me, make_project, filled):
    project = make_project(units=("住民記録", "税務"), members={me: "member"})
    filled(project.units[0], "住基", when=datetime(2026, 5, 31, 15, 30))  # 1 June, Japan
    filled(project.units[1], "住基", when=datetime(2026, 5, 1, 1, 0))

    assert _hits(me, "住基", project=project)["result"] == 2
    assert _hits(me, "住基", project=project.units[1])["result"] == 1
    assert _hits(me, "住基", date_from=date(2026, 6, 1))["result"] == 1
    assert _hits(me, "住基", date_to=date(2026, 5, 31))["meeting"] == 1


def test_deleted_items_are_not_found(me, make_unit, make_meeting, make_item):
    from minutes import items

    item = make_item(make_meeting(unit=make_unit(members={me: "member"})), "result", "取り消し")
    items.delete_item(None, item)

    assert _hits(me, "取り消し")["result"] == 0


def test_the_page_groups_hits_by_kind_and_marks_the_words(client, login, me, make_unit, filled):
    filled(make_unit(members={me: "member"}), "住基")
    login(me)

    html = client.get("/search?q=住基").get_data(as_text=True)

    for kind in search.KINDS:
        assert f'data-kind="{kind}"' in html
    assert "<mark>住基</mark>の帳票が出ない" in html
    assert "<mark>住基</mark>は来月切替" in html


def test_one_kind_at_a_time(client, login, me, make_unit, filled):
    filled(make_unit(members={me: "member"}), "住基")
    login(me)

    html = client.get("/search?q=住基&kind=homework").get_data(as_text=True)

    assert 'data-kind="homework"' in html and 'data-kind="ticket"' not in html


def test_an_empty_query_shows_the_form_only(client, login, me):
    login(me)

    response = client.get("/search")

    assert response.status_code == 200 and "data-kind" not in response.get_data(as_text=True)


def test_search_within_a_foreign_project_is_not_found(client, login, me, make_unit, make_user):
    foreign = make_unit(members={make_user(): "manager"})
    login(me)

    assert client.get(f"/search?q=住基&project={foreign.id}").status_code == 404


def test_the_tickets_found_are_looked_up_in_an_index_not_the_table(me, make_unit, make_ticket):
    """A two-character word finds tens of thousands of tickets at city scale: each is read
    for its project and newest change from the index (id, updated_at, project_id), whose
    entries are a fraction of a ticket row (SQLite's plan; PostgreSQL finds them through its
    gram documents)."""
    import sqlalchemy as sa

    from core.extensions import db

    unit = make_unit(members={me: "member"})
    for n in range(20):
        make_ticket(unit=unit, subject=f"住基の照会 {n}", description="長い説明 " * 50)
    db.session.execute(sa.text("ANALYZE"))
    stmt = search.ticket_matches(me, SearchFilters(q="住基"), "ticket")
    assert len(db.session.execute(stmt).all()) == 20
    homework = search.ticket_matches(me, SearchFilters(q="住基"), "homework")
    assert db.session.execute(homework).all() == []
    if db.session.get_bind().dialect.name != "sqlite":
        return
    sql = stmt.compile(db.engine, compile_kwargs={"literal_binds": True})
    plan = [row[3] for row in db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {sql}"))]
    tickets = [step for step in plan if "tickets" in step and "fts_" not in step]
    # The private tickets' sub-select (permissions.visible_ticket) reads only their own index.
    assert tickets == [
        "SEARCH tickets USING COVERING INDEX ix_tickets_id_updated_project (id=?)",
        "SEARCH tickets_1 USING COVERING INDEX ix_tickets_private (is_private=?)",
    ]


def test_items_are_matched_on_their_own_rows(app):
    """PostgreSQL: a word in items is a condition on the items asked for, not a sub-select of
    the items table joined back by id (every match looked up twice). SQLite asks its FTS5
    tables for the ids."""
    from core import textsearch
    from core.extensions import db
    from minutes.models import Item

    sql = str(
        textsearch.matches_all("住基 納付書", Item.id, search.ITEM_SOURCES).compile(db.engine)
    )
    if db.engine.dialect.name == "sqlite":
        assert sql.count(" MATCH ") == 2
        return
    assert "SELECT" not in sql
    assert sql.count("search_grams(items.text)") == 1  # the 2-character word's index
