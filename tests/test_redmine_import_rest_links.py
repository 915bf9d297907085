"""The REST staging of an issue's links (redmine/importing/rest_links.py) on its own: what a
Redmine that does not list its custom fields leaves, and the made-up ids of watchers and
custom values staying put while the issue keeps them."""

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from redmine.importing import rest_links
from redmine.importing import source as redmine


class Refusing:
    """A client whose Redmine refuses /custom_fields.json (as one before 2.4 does)."""

    def response(self, path):
        return SimpleNamespace(status_code=404, json=lambda: {})


@pytest.fixture
def staging(tmp_path):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'staging.sqlite3'}")
    redmine.metadata.create_all(engine)
    yield engine
    engine.dispose()


def issue(**changes) -> dict:
    return {
        "id": 7,
        "custom_fields": [
            {"id": 3, "name": "受付窓口", "multiple": True, "value": ["本庁", "支所"]},
            {"id": 4, "name": "受付番号", "value": "R8-0012"},
        ],
        "watchers": [{"id": 5, "name": "山田 太郎"}, {"id": 6, "name": "鈴木 花子"}],
        "attachments": [{"id": 11, "filename": "a.txt", "filesize": 1}],
        "relations": [
            {"id": 2, "issue_id": 7, "issue_to_id": 8, "relation_type": "relates", "delay": None}
        ],
    } | changes


def rows(engine, table, *columns):
    with engine.connect() as conn:
        found = conn.execute(sa.select(*(table.c[c] for c in columns)))
        return sorted((tuple(row) for row in found), key=repr)


def test_custom_fields_not_listed_are_known_by_the_issues_that_show_them(staging, tmp_path):
    with staging.begin() as conn:
        listed = rest_links.stage_custom_fields(Refusing(), conn)
        rest_links.stage_issue_links(conn, [issue()], tmp_path, listed)
    assert not listed
    assert rows(staging, redmine.custom_fields, "id", "name", "field_format", "multiple") == [
        (3, "受付窓口", "string", True),
        (4, "受付番号", "string", False),
    ]
    assert rows(staging, redmine.custom_values, "custom_field_id", "value") == [
        (3, "支所"),
        (3, "本庁"),
        (4, "R8-0012"),
    ]


def test_an_issue_staged_again_keeps_the_ids_of_what_it_keeps(staging, tmp_path):
    (tmp_path / "11").write_bytes(b"x")
    with staging.begin() as conn:
        rest_links.stage_issue_links(conn, [issue()], tmp_path, True)
    watchers = rows(staging, redmine.watchers, "user_id", "id")
    values = rows(staging, redmine.custom_values, "value", "id")
    changed = issue(
        custom_fields=[
            {"id": 3, "name": "受付窓口", "multiple": True, "value": []},
            {"id": 4, "name": "受付番号", "value": "R8-0012"},
        ],
        watchers=[{"id": 6, "name": "鈴木 花子"}],
        attachments=[],
    )
    with staging.begin() as conn:
        rest_links.stage_issue_links(conn, [changed], tmp_path, True)
    assert rows(staging, redmine.watchers, "user_id", "id") == [w for w in watchers if w[0] == 6]
    kept = dict(values)["R8-0012"]
    after = dict(rows(staging, redmine.custom_values, "value", "id"))
    assert after["R8-0012"] == kept and set(after) == {"R8-0012", None}
    assert rows(staging, redmine.attachments, "id") == []
    assert not (tmp_path / "11").exists()  # the file of an attachment gone from the issue
    assert rows(staging, redmine.issue_relations, "id") == [(2,)]  # once, staged again
