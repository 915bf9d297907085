"""GET /issues.json (filters, sort, paging, envelope), /search.json, and uploads with
hand-made requests, compared with real Redmine 5.0 answers."""

from datetime import date

import pytest

from core.extensions import db
from tests.fixtures.redmine import assert_same_shape, reference
from tickets import services
from tickets.models import CustomField, CustomValue


@pytest.fixture
def listed(rm_world, make_ticket, status_named, tracker_named):
    """Four tickets as in the reference: a parent, a closed child, an open assigned child,
    and one in the second unit."""
    member, unit = rm_world["member"], rm_world["unit"]
    parent = make_ticket(unit, member, subject="予算会議の議事録を作成する", assignee=member)
    closed = make_ticket(
        unit, member, subject="会議室を予約する", parent=parent, due_date=date(2026, 4, 10)
    )
    services.update_ticket(member, closed, {"status": status_named("完了")})
    child = make_ticket(
        unit,
        member,
        subject="配布資料を印刷する",
        parent=parent,
        assignee=member,
        tracker=tracker_named("変更管理"),
    )
    other = make_ticket(rm_world["unit2"], member, subject="第1回定例会議の宿題")
    db.session.commit()
    return {"parent": parent, "closed": closed, "child": child, "other": other}


def ids(response):
    return [i["id"] for i in response.json["issues"]]


def test_default_lists_open_issues_newest_first_in_redmines_envelope(api, rm_world, listed):
    response = api.get("/issues.json", rm_world["viewer"])
    assert response.status_code == 200
    assert_same_shape(response.json, reference("get_issues_all"))
    assert ids(response) == [listed[k].id for k in ("other", "child", "parent")]
    assert (response.json["total_count"], response.json["offset"], response.json["limit"]) == (
        3,
        0,
        25,
    )


@pytest.mark.parametrize(
    "status_id, expected",
    [
        ("open", ["other", "child", "parent"]),
        ("closed", ["closed"]),
        ("*", ["other", "child", "closed", "parent"]),
        ("9", ["closed"]),
        ("1|9", ["other", "child", "closed", "parent"]),
        ("bogus", []),  # Redmine answers an empty list, not an error
    ],
)
def test_status_filter(api, rm_world, listed, status_id, expected):
    response = api.get(f"/issues.json?status_id={status_id}", rm_world["viewer"])
    assert response.status_code == 200
    assert ids(response) == [listed[k].id for k in expected]


def test_project_filter_takes_a_years_units_unless_told_not_to(api, rm_world, listed):
    year, unit2 = rm_world["project"], rm_world["unit2"]
    viewer = rm_world["viewer"]
    assert len(ids(api.get(f"/issues.json?project_id={year.identifier}&status_id=*", viewer))) == 4
    only_unit = api.get(f"/issues.json?project_id={unit2.id}", viewer)
    assert ids(only_unit) == [listed["other"].id]
    own = api.get(f"/issues.json?project_id={year.id}&subproject_id=!*", viewer)
    assert ids(own) == []
    nested = api.get(f"/projects/{unit2.identifier}/issues.json", viewer)
    assert ids(nested) == [listed["other"].id]


def test_tracker_assignee_me_and_parent_filters(api, rm_world, listed):
    member = rm_world["member"]
    child = listed["child"]
    by_tracker = api.get(f"/issues.json?tracker_id={child.tracker_id}", member)
    assert ids(by_tracker) == [child.id]
    assert ids(api.get("/issues.json?assigned_to_id=me", member)) == [
        child.id,
        listed["parent"].id,
    ]
    assert ids(api.get("/issues.json?assigned_to_id=me", rm_world["viewer"])) == []
    children = api.get(f"/issues.json?parent_id={listed['parent'].id}&status_id=*", member)
    assert ids(children) == [child.id, listed["closed"].id]


def test_sort_offset_and_limit(api, rm_world, listed):
    viewer = rm_world["viewer"]
    response = api.get("/issues.json?status_id=*&sort=due_date:desc,id", viewer)
    assert ids(response)[0] == listed["closed"].id  # the only one with a due date
    assert ids(response)[1:] == sorted(ids(response)[1:])
    page = api.get("/issues.json?status_id=*&limit=1&offset=1", viewer).json
    assert [i["id"] for i in page["issues"]] == [listed["child"].id]
    assert (page["total_count"], page["offset"], page["limit"]) == (4, 1, 1)


def test_limit_is_capped_at_100_and_nonsense_falls_back_to_25(api, rm_world, listed):
    viewer = rm_world["viewer"]
    assert api.get("/issues.json?limit=500", viewer).json["limit"] == 100
    assert api.get("/issues.json?limit=abc&offset=-3", viewer).json["limit"] == 25
    assert api.get("/issues.json?limit=0", viewer).json["offset"] == 0


def test_unknown_sort_columns_are_skipped_as_redmine_does(api, rm_world, listed):
    response = api.get("/issues.json?sort=nonsense,id", rm_world["viewer"])
    assert response.status_code == 200
    assert ids(response) == sorted(ids(response))


def test_a_bad_date_filter_is_422(api, rm_world, listed):
    response = api.get("/issues.json?created_on=>=yesterday", rm_world["viewer"])
    assert response.status_code == 422
    assert "created_on" in response.json["errors"][0]


def test_list_shows_only_what_the_caller_may_see(api, rm_world, listed):
    outsider = rm_world["outsider"]
    assert api.get("/issues.json?status_id=*", outsider).json["total_count"] == 0
    identifier = rm_world["project"].identifier
    assert api.get(f"/issues.json?project_id={identifier}", outsider).status_code == 404
    assert api.get(f"/issues.json?project_id={identifier}").status_code == 401


def test_closed_issue_in_a_list_has_closed_on(api, rm_world, listed):
    (issue,) = api.get("/issues.json?status_id=closed", rm_world["viewer"]).json["issues"]
    assert issue["closed_on"].endswith("Z") and issue["status"]["is_closed"] is True
    assert issue["due_date"] == "2026-04-10" and issue["parent"] == {"id": listed["parent"].id}


@pytest.mark.parametrize("language", ["ja", "en"])
def test_a_listed_issue_is_the_issue_itself(api, rm_world, listed, language):
    """The list reads plain columns, not tickets: each entry must still be what the issue's
    own answer is, the names in the caller's language, the System as author, custom fields."""
    viewer = rm_world["viewer"]
    viewer.language = language
    child = listed["child"]
    child.description, child.start_date, child.done_ratio = "印刷は50部", date(2026, 4, 1), 30
    listed["other"].author_id = None  # made by the system
    kinds = CustomField(name="影響範囲", is_multiple=True, position=1)
    owner = CustomField(name="担当課", position=2)
    db.session.add_all([kinds, owner])
    db.session.flush()
    for field, value in ((owner, "市民課"), (kinds, "窓口"), (kinds, "証明書")):
        db.session.add(CustomValue(ticket_id=child.id, custom_field_id=field.id, value=value))
    db.session.commit()
    listed_issues = api.get("/issues.json?status_id=*", viewer).json["issues"]
    assert len(listed_issues) == 4
    for entry in listed_issues:
        issue = api.get(f"/issues/{entry['id']}.json", viewer).json["issue"]
        assert list(entry.items()) == list(issue.items())
    by_id = {i["id"]: i for i in listed_issues}
    assert by_id[listed["other"].id]["author"]["id"] == 0
    assert [f["name"] for f in by_id[child.id]["custom_fields"]] == ["影響範囲", "担当課"]
    if language == "en":
        assert by_id[child.id]["status"]["name"] == "New"


# --- search ----------------------------------------------------------------------------------


def test_search_has_redmines_result_shape(api, rm_world, listed):
    data = api.get("/search.json?q=会議", rm_world["viewer"]).json
    assert_same_shape(data, reference("get_search_kaigi"))
    by_type = {(r["type"], r["id"]) for r in data["results"]}
    assert ("issue", listed["parent"].id) in by_type
    assert ("issue-closed", listed["closed"].id) in by_type
    closed = next(r for r in data["results"] if r["type"] == "issue-closed")
    assert closed["title"] == f"問い合わせ管理 #{listed['closed'].id} (完了): 会議室を予約する"
    assert closed["url"] == f"http://localhost/issues/{listed['closed'].id}"


@pytest.mark.parametrize("q, n", [("会", 3), ("会議", 3), ("定例会議", 1), ("議事録 予算", 1)])
def test_search_finds_japanese_of_any_length_all_words_matching(api, rm_world, listed, q, n):
    data = api.get(f"/search.json?q={q}&issues=1", rm_world["viewer"]).json
    assert data["total_count"] == n
    assert all(r["type"].startswith("issue") for r in data["results"])


def test_search_finds_projects_too(api, rm_world, listed):
    data = api.get("/search.json?q=住民記録", rm_world["viewer"]).json
    assert [r["type"] for r in data["results"]] == ["project"]
    assert data["results"][0]["title"] == "プロジェクト: 住民記録"
    assert data["results"][0]["url"].endswith(f"/projects/{rm_world['unit'].identifier}")


def test_search_pages_and_options(api, rm_world, listed):
    viewer = rm_world["viewer"]
    page = api.get("/search.json?q=会&offset=1&limit=1", viewer).json
    assert (page["total_count"], page["offset"], page["limit"]) == (3, 1, 1)
    assert len(page["results"]) == 1
    open_only = api.get("/search.json?q=会&open_issues=1", viewer).json
    assert {r["type"] for r in open_only["results"]} == {"issue"}
    titles = api.get("/search.json?q=印刷&titles_only=1", viewer).json
    assert [r["id"] for r in titles["results"]] == [listed["child"].id]
    either = api.get("/search.json?q=印刷 予約&all_words=0", viewer).json
    assert either["total_count"] == 2


def test_search_inside_a_project_takes_that_project_alone(api, rm_world, listed):
    viewer, unit2 = rm_world["viewer"], rm_world["unit2"]
    data = api.get(f"/projects/{unit2.identifier}/search.json?q=会議", viewer).json
    assert [r["id"] for r in data["results"]] == [listed["other"].id]
    year = rm_world["project"].identifier
    assert api.get(f"/projects/{year}/search.json?q=会議", viewer).json["total_count"] == 0
    wide = api.get(f"/projects/{year}/search.json?q=会議&scope=subprojects", viewer).json
    assert wide["total_count"] == 3


def test_search_sees_only_what_the_caller_may_see(api, rm_world, listed):
    assert api.get("/search.json?q=会議", rm_world["outsider"]).json["total_count"] == 0
    assert api.get("/search.json?q=会議").json["results"] == []


# --- uploads and attachments -----------------------------------------------------------------


DRAFT = "議事録ドラフトです\n".encode()


def upload(api, user, data=DRAFT, filename="議事録.txt"):
    return api.post(
        f"/uploads.json?filename={filename}",
        user,
        data=data,
        headers={"Content-Type": "application/octet-stream"},
    )


def test_upload_answers_a_token_as_redmine(api, rm_world):
    response = upload(api, rm_world["member"])
    assert response.status_code == 201
    assert_same_shape(response.json, reference("post_upload"))
    token = response.json["upload"]["token"]
    assert token.startswith(f"{response.json['upload']['id']}.")


def test_upload_takes_only_octet_stream(api, rm_world):
    response = api.post(
        "/uploads.json", rm_world["member"], data=b"x", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 406


def test_an_upload_over_the_limit_is_422(api, rm_world, app):
    big = b"x" * (2 * 1024 * 1024 + 1)
    response = upload(api, rm_world["member"], data=big)
    assert response.status_code == 422
    assert "2 MB" in response.json["errors"][0]


def test_create_with_an_upload_attaches_it(api, rm_world):
    member = rm_world["member"]
    token = upload(api, member).json["upload"]["token"]
    body = {
        "issue": {
            "project_id": rm_world["unit"].id,
            "subject": "議事録を作成する",
            "uploads": [
                {
                    "token": token,
                    "filename": "gijiroku.txt",
                    "content_type": "text/plain",
                    "description": "議事録ドラフト",
                }
            ],
        }
    }
    issue_id = api.post("/issues.json", member, json=body).json["issue"]["id"]
    issue = api.get(f"/issues/{issue_id}.json?include=attachments", member).json["issue"]
    (attachment,) = issue["attachments"]
    assert_same_shape({"attachment": attachment}, reference("get_attachment"))
    assert attachment["filename"] == "gijiroku.txt"
    assert attachment["description"] == "議事録ドラフト"
    assert attachment["content_type"] == "text/plain"
    assert attachment["content_url"].endswith(
        f"/attachments/download/{attachment['id']}/gijiroku.txt"
    )
    shown = api.get(f"/attachments/{attachment['id']}.json", member).json
    assert shown == {"attachment": attachment}


def test_update_with_an_upload_journals_it_with_the_notes(api, rm_world, make_ticket):
    member = rm_world["member"]
    ticket = make_ticket(rm_world["unit"], member)
    token = upload(api, member).json["upload"]["token"]
    body = {"issue": {"notes": "画面コピーを添付します", "uploads": [{"token": token}]}}
    assert api.put(f"/issues/{ticket.id}.json", member, json=body).status_code == 204
    journal = api.get(f"/issues/{ticket.id}.json?include=journals", member).json["issue"][
        "journals"
    ][-1]
    assert journal["notes"] == "画面コピーを添付します"
    (detail,) = journal["details"]
    assert (detail["property"], detail["new_value"]) == ("attachment", "議事録.txt")


def test_a_token_works_once_and_only_for_its_uploader(api, rm_world, make_ticket):
    member, other = rm_world["member"], rm_world["facilitator"]
    ticket = make_ticket(rm_world["unit"], member)
    token = upload(api, member).json["upload"]["token"]
    body = {"issue": {"uploads": [{"token": token}]}}
    response = api.put(f"/issues/{ticket.id}.json", other, json=body)
    assert response.status_code == 422
    assert api.put(f"/issues/{ticket.id}.json", member, json=body).status_code == 204
    assert api.put(f"/issues/{ticket.id}.json", member, json=body).status_code == 422


def test_attachment_of_an_issue_one_may_not_see_is_404(api, rm_world):
    member = rm_world["member"]
    token = upload(api, member).json["upload"]["token"]
    body = {
        "issue": {"project_id": rm_world["unit"].id, "subject": "x", "uploads": [{"token": token}]}
    }
    issue_id = api.post("/issues.json", member, json=body).json["issue"]["id"]
    attachment_id = api.get(f"/issues/{issue_id}.json?include=attachments", member).json["issue"][
        "attachments"
    ][0]["id"]
    assert api.get(f"/attachments/{attachment_id}.json", rm_world["outsider"]).status_code == 404
    assert api.get(f"/attachments/{attachment_id}.json", rm_world["viewer"]).status_code == 200
