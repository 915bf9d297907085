"""The REST staging of issues (redmine/importing/rest.py) against a Redmine of canned answers:
what it asks for an issue, in what order, and what a run that Redmine stopped half-way
leaves."""

from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from redmine.importing import rest
from redmine.importing import source as redmine
from redmine.importing.source import SourceError

UPDATED = "2026-11-20T01:00:00Z"


def listed_issue(number: int, project: int, relations=()) -> dict:
    return {
        "id": number,
        "project": {"id": project, "name": f"課{project}"},
        "tracker": {"id": 1, "name": "バグ"},
        "status": {"id": 1, "name": "新規"},
        "priority": {"id": 2, "name": "通常"},
        "author": {"id": 5, "name": "山田 太郎"},
        "subject": f"住民票の写しの交付 {number}",
        "description": None,
        "done_ratio": 0,
        "is_private": False,
        "created_on": "2026-11-01T00:00:00Z",
        "updated_on": UPDATED,
        "closed_on": None,
        "relations": list(relations),
    }


RELATION = {"id": 9, "issue_id": 1, "issue_to_id": 2, "relation_type": "relates", "delay": None}


class FakeRedmine:
    """Redmine's answers to the staging's requests; `asked` records each issue asked for,
    `listed` each page of the list, and `failing` is the issue whose request fails as an
    unreachable Redmine's does."""

    url = "http://redmine.example.jp"

    def __init__(self, issues: list[dict]):
        self.issues = issues
        self.asked: list[tuple[int, str]] = []
        self.listed: list[int] = []  # the offsets of the list's pages asked for
        self.failing: int | None = None

    def response(self, path, **params):
        return SimpleNamespace(status_code=200, json=lambda: {"custom_fields": []})

    def pages(self, path, name, **params):
        if path == "/projects.json":
            self.projects_asked = params
            return iter([{"id": 1, "name": "課1", "identifier": "ka1"}])
        return iter([])

    def get(self, path, **params):
        if path == "/issues.json":
            self.listed.append(params["offset"])
            page = self.issues[params["offset"] : params["offset"] + params["limit"]]
            return {"issues": page, "total_count": len(self.issues)}
        if path.startswith("/issues/"):
            number = int(path.removeprefix("/issues/").removesuffix(".json"))
            if number == self.failing:
                raise SourceError("cannot reach Redmine at http://redmine.example.jp")
            self.asked.append((number, params["include"]))
            shown = next(i for i in reversed(self.issues) if i["id"] == number)  # as it is now
            journal = {
                "id": 100 + number,
                "user": {"id": 5},
                "notes": "受付しました。",
                "created_on": UPDATED,
                "details": [],
            }
            # the issue alone shows no relations here: the staging takes the listed ones
            return {
                "issue": shown | {"relations": [], "journals": [journal], "watchers": [{"id": 5}]}
            }
        return {}


def staged(path, table, *columns):
    engine = sa.create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        rows = conn.execute(sa.select(*(table.c[c] for c in columns))).all()
    engine.dispose()
    return sorted(tuple(row) for row in rows)


@pytest.fixture
def staging(tmp_path):
    return tmp_path / "redmine-rest-redmine-example-jp.sqlite3"


def stage(client, path):
    rest.stage(client, path).engine.dispose()


def test_an_issue_is_asked_for_its_journals_files_and_watchers_with_the_listed_relations(
    staging,
):
    client = FakeRedmine([listed_issue(1, 1, [RELATION]), listed_issue(2, 1, [RELATION])])
    stage(client, staging)
    assert sorted(client.asked) == [
        (1, "journals,attachments,watchers"),
        (2, "journals,attachments,watchers"),
    ]
    # listed by both of its issues, staged once
    assert staged(staging, redmine.issue_relations, "id", "issue_from_id", "issue_to_id") == [
        (9, 1, 2)
    ]
    assert staged(staging, redmine.journals, "id", "journalized_id") == [(101, 1), (102, 2)]
    assert staged(staging, redmine.watchers, "watchable_id", "user_id") == [(1, 5), (2, 5)]


def test_issues_are_asked_for_project_by_project(staging):
    projects = [3, 1, 2, 1, 3, 2, 1]  # as the list sorted by update time gives them
    client = FakeRedmine([listed_issue(n, p) for n, p in enumerate(projects, 1)])
    stage(client, staging)
    asked_projects = [projects[number - 1] for number, _ in client.asked]
    assert asked_projects == sorted(projects)


def test_a_run_redmine_stopped_keeps_what_it_fetched_and_the_next_fetches_the_rest(
    staging, monkeypatch
):
    monkeypatch.setattr(rest, "PAGE", 2)  # staged two at a time
    monkeypatch.setattr(rest, "PARALLEL", 1)
    monkeypatch.setattr(rest, "AHEAD", 1)
    client = FakeRedmine([listed_issue(n, 1) for n in range(1, 7)])
    client.failing = 4
    with pytest.raises(SourceError):
        stage(client, staging)
    assert sorted(client.listed) == [0, 2, 4]  # every page of the list
    assert staged(staging, redmine.issues, "id") == [(1,), (2,), (3,)]
    assert staged(staging, redmine.journals, "journalized_id") == [(1,), (2,), (3,)]
    client.failing, client.asked = None, []
    stage(client, staging)
    assert [number for number, _ in client.asked] == [4, 5, 6]
    assert staged(staging, redmine.issues, "id") == [(n,) for n in range(1, 7)]


def test_an_issue_changed_while_listed_shows_twice_and_is_staged_once_as_it_is_now(
    staging, monkeypatch
):
    monkeypatch.setattr(rest, "PAGE", 2)
    changed = listed_issue(1, 1) | {"updated_on": "2026-11-21T01:00:00Z", "subject": "変更後"}
    client = FakeRedmine([listed_issue(1, 1), listed_issue(2, 1), changed])
    stage(client, staging)
    assert [number for number, _ in client.asked] == [1, 2]
    assert staged(staging, redmine.issues, "id", "subject") == [
        (1, "変更後"),
        (2, "住民票の写しの交付 2"),
    ]


def test_projects_are_asked_for_whatever_their_status(staging):
    # Redmine 5 lists only active projects by default: a closed one's issues would be lost.
    client = FakeRedmine([listed_issue(1, 1)])
    stage(client, staging)
    assert client.projects_asked == {"set_filter": 1, "f[]": "status", "op[status]": "*"}
