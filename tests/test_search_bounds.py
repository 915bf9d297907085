"""A search counts its hits up to a bound (textsearch.COUNT_BOUND): below it the count is
exact; past it the page says "more than N" and /search.json's total_count is a lower bound
that still leads a paging client to every hit. The hits shown, their order and who sees
them are those of sorting every hit. The bound and the pages are made small here, so that a
few tickets pass the bound."""

import pytest

from core import textsearch
from core.extensions import db
from reports import search
from reports.search import SearchFilters
from tickets import services

BOUND = 3


@pytest.fixture
def bound(monkeypatch):
    monkeypatch.setattr(textsearch, "COUNT_BOUND", BOUND)
    monkeypatch.setattr(search, "GROUP_SIZE", 2)
    monkeypatch.setattr(search, "PAGE_SIZE", 2)
    return BOUND


@pytest.fixture
def people(make_user, make_unit):
    author, reader = make_user(login="kato"), make_user(login="mori")
    unit = make_unit(members={author: "member", reader: "member"})
    return {"author": author, "reader": reader, "unit": unit}


@pytest.fixture
def tickets(people, make_ticket):
    """tickets(n) → n tickets about 住基 in the unit, oldest first."""

    def make(n):
        return [
            make_ticket(people["unit"], people["author"], subject=f"住基の照会 {i}")
            for i in range(n)
        ]

    return make


def _ticket_group(user, q="住基", page=1):
    (group,) = search.search(user, SearchFilters(q=q), "ticket", page)
    return group


def _ranked_by_sorting(user, q="住基"):
    """The ticket hits' ids as sorting every hit ranks them (newest change, then id)."""
    rows = db.session.execute(search.ticket_matches(user, SearchFilters(q=q), "ticket")).all()
    return [i for i, _at in sorted(rows, key=lambda r: (r[1], r[0]), reverse=True)]


def test_below_the_bound_the_count_is_exact(bound, people, tickets):
    tickets(BOUND)
    group = _ticket_group(people["reader"])
    assert (group.total, group.more) == (BOUND, False)


def test_past_the_bound_the_count_is_the_bound_and_says_more(bound, people, tickets):
    tickets(BOUND + 2)
    group = _ticket_group(people["reader"])
    assert (group.total, group.more) == (BOUND, True)


def _paged(user, pages=4):
    return [t.id for page in range(1, pages + 1) for t in _ticket_group(user, page=page).hits]


def test_past_the_bound_the_hits_are_those_of_sorting_every_hit(bound, people, tickets):
    tickets(BOUND + 4)
    everything = _ranked_by_sorting(people["reader"])
    assert len(everything) == BOUND + 4
    (*_rest, group) = search.search(people["reader"], SearchFilters(q="住基"))
    assert (group.more, [t.id for t in group.hits]) == (True, everything[:2])
    assert _paged(people["reader"]) == everything


def test_a_private_ticket_is_neither_counted_nor_shown_past_the_bound(bound, people, tickets):
    made = tickets(BOUND + 2)
    hidden = made[-1]  # the newest: the walk meets it first
    services.update_ticket(people["author"], hidden, {"is_private": True})
    db.session.commit()
    assert _ticket_group(people["author"]).hits[0].id == hidden.id
    theirs = _paged(people["reader"])
    assert hidden.id not in theirs
    assert theirs == _ranked_by_sorting(people["reader"]) and len(theirs) == BOUND + 1


def test_the_page_says_more_than_the_bound(bound, client, login, people, tickets):
    tickets(BOUND + 1)
    login(people["reader"])
    html = client.get("/search?q=住基").get_data(as_text=True)
    assert f"{BOUND}件以上" in html and f"チケット ({BOUND}+)" in html
    paged = client.get("/search?q=住基&kind=ticket").get_data(as_text=True)
    assert f"{BOUND}件以上" in paged and "page=2" in paged


def test_below_the_bound_the_page_gives_the_count(bound, client, login, people, tickets):
    tickets(BOUND)
    login(people["reader"])
    html = client.get("/search?q=住基").get_data(as_text=True)
    assert f"{BOUND}件" in html and f"{BOUND}件以上" not in html and f"({BOUND}+)" not in html


def test_json_below_the_bound_is_redmines_exact_count(bound, api, people, tickets):
    tickets(BOUND)
    data = api.get("/search.json?q=住基&issues=1", people["reader"]).json
    assert data["total_count"] == BOUND
    assert list(data) == ["results", "total_count", "offset", "limit"]


def test_json_past_the_bound_is_a_lower_bound_marked_so(bound, api, people, tickets):
    made = tickets(BOUND + 3)
    data = api.get("/search.json?q=住基&issues=1&limit=2", people["reader"]).json
    assert (data["total_count"], data["total_count_exact"]) == (BOUND + 1, False)
    assert [r["id"] for r in data["results"]] == [made[-1].id, made[-2].id]


def test_a_client_paging_by_total_count_gets_every_hit_once(bound, api, people, tickets):
    made = tickets(BOUND + 4)
    seen, offset, total = [], 0, 1
    while offset < total:  # python-redmine's and scripts' loop
        page = api.get(f"/search.json?q=住基&issues=1&offset={offset}&limit=2", people["reader"])
        seen += [r["id"] for r in page.json["results"]]
        total, offset = page.json["total_count"], offset + 2
    assert seen == [t.id for t in reversed(made)]
    assert page.json["total_count"] == len(made) and "total_count_exact" not in page.json
