"""A service refusing a page form's input: the form comes back (422) with the message under
the field it names and what was typed still in it, and nothing is kept. The views do not
catch the error; they name their form page beforehand (errors.form_page)."""

import sqlalchemy as sa

from accounts.models import DirectorySource, User
from core.extensions import db
from projects.models import Project


def field_html(html: str, name: str) -> str:
    """The markup of one form field's block (its input and its messages)."""
    start = html.index(f'name="{name}"')
    block_start = html.rfind('<div class="field', 0, start)
    return html[block_start : html.index("</div>", start)]


def test_a_taken_login_is_answered_under_the_login_field_with_the_typed_values(
    client, login, make_user
):
    login(make_user(is_admin=True))
    make_user(login="tanaka")
    response = client.post(
        "/admin/users/new",
        data={
            "login": "tanaka",
            "name": "田中 美咲（新）",
            "language": "ja",
            "organisation_id": 0,
            "password": "long-password",
            "is_active_account": "y",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "このログインIDは既に使われています。" in field_html(html, "login")
    assert 'value="田中 美咲（新）"' in html
    assert db.session.scalar(sa.select(sa.func.count()).where(User.login == "tanaka")) == 1


def test_renaming_a_user_to_a_taken_login_keeps_the_user_as_he_was(client, login, make_user):
    login(make_user(is_admin=True))
    make_user(login="tanaka")
    sato = make_user(login="sato", name="佐藤 健")
    response = client.post(
        f"/admin/users/{sato.id}/edit",
        data={"login": "tanaka", "name": "佐藤 健二", "language": "ja", "organisation_id": 0},
    )
    assert response.status_code == 422
    assert "このログインIDは既に使われています。" in field_html(
        response.get_data(as_text=True), "login"
    )
    db.session.expire_all()
    assert (sato.login, sato.name) == ("sato", "佐藤 健")


def test_a_taken_project_identifier_is_answered_under_its_field(client, login, make_user):
    login(make_user(is_admin=True))
    data = {"name": "前橋市 令和8年度", "identifier": "maebashi-r8", "fiscal_year": 2026}
    assert (
        client.post("/projects/new", data={**data, "owner_organisation_id": 0}).status_code == 302
    )
    again = client.post(
        "/projects/new",
        data={**data, "name": "前橋市 令和8年度（重複）", "owner_organisation_id": 0},
    )
    html = again.get_data(as_text=True)
    assert again.status_code == 422
    assert "この識別子は既に使われています。" in field_html(html, "identifier")
    assert 'value="前橋市 令和8年度（重複）"' in html
    count = sa.select(sa.func.count()).where(Project.identifier == "maebashi-r8")
    assert db.session.scalar(count) == 1


def test_a_units_taken_identifier_comes_back_on_the_settings_page(
    client, login, make_user, make_project
):
    manager = make_user()
    project = make_project(members={manager: "manager"})
    login(manager)
    response = client.post(
        f"/projects/{project.identifier}/units",
        data={"unit-name": "税務", "unit-identifier": project.units[0].identifier},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "この識別子は既に使われています。" in field_html(html, "unit-identifier")
    assert 'value="税務"' in html
    db.session.expire_all()
    assert [unit.name for unit in project.units] == ["住民記録"]


def test_a_wrong_current_password_in_english(client, login, make_user):
    login(make_user(password="old-password", language="en"))
    response = client.post(
        "/my/account",
        data={
            "pw-current_password": "bad-password",
            "pw-new_password": "new-password",
            "pw-confirm": "new-password",
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "The current password is wrong." in field_html(html, "pw-current_password")


def test_a_directory_source_name_taken_is_answered_under_the_name(client, login, make_user):
    login(make_user(is_admin=True))
    data = {
        "name": "高崎市 AD",
        "kind": "ad",
        "host": "ad.example.jp",
        "port": 389,
        "encryption": "starttls",
        "check_certificate": "y",
        "base_dn": "DC=example,DC=jp",
        "organisation_id": 0,
    }
    first = client.post("/admin/directories/new", data=data)
    assert first.status_code == 302, first.get_data(as_text=True)[:2000]
    again = client.post("/admin/directories/new", data={**data, "host": "ad2.example.jp"})
    assert again.status_code == 422
    html = again.get_data(as_text=True)
    assert "この名称は既に使われています。" in field_html(html, "name")
    assert 'value="ad2.example.jp"' in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DirectorySource)) == 1


def test_a_filter_that_cannot_be_understood_shows_the_unfiltered_list_with_the_reason(
    client, login, make_user, make_unit, make_ticket
):
    user = make_user()
    unit = make_unit(members={user: "member"})
    make_ticket(unit=unit, subject="帳票の修正")
    login(user)
    for url in ("/issues?due_date=2026-13-45", f"/projects/{unit.identifier}/issues?sort=zzz"):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 422, url
        assert 'class="flash flash-error"' in html and "帳票の修正" in html, url


def test_the_csv_and_the_redmine_api_refuse_a_bad_filter_with_422(client, login, api, make_user):
    user = login(make_user())
    response = client.get("/issues.csv?due_date=2026-13-45")
    assert response.status_code == 422 and "due_date" in response.get_data(as_text=True)
    response = api.get("/issues.json?due_date=2026-13-45", user=user)
    assert response.status_code == 422 and "due_date" in response.json["errors"][0]
    assert api.get("/projects/no-such-unit/issues.json", user=user).status_code == 404


def test_a_meeting_saved_meanwhile_keeps_both_the_saved_and_the_typed_title(
    client, login, make_user, make_unit, make_meeting
):
    facilitator = make_user()
    meeting = make_meeting(unit=make_unit(members={facilitator: "facilitator"}), actor=facilitator)
    login(facilitator)
    stale_version = meeting.version
    form = {"title": "第2回 定例会", "day": "2026-12-10", "start_time": "10:00"}
    saved = client.post(f"/meetings/{meeting.id}/edit", data={**form, "version": stale_version})
    assert saved.status_code == 302
    late = client.post(
        f"/meetings/{meeting.id}/edit",
        data={**form, "title": "第2回 定例会（遅れた編集）", "version": stale_version},
    )
    html = late.get_data(as_text=True)
    assert late.status_code == 422
    assert 'class="flash flash-error"' in html and 'value="第2回 定例会（遅れた編集）"' in html
    db.session.expire_all()
    assert meeting.title == "第2回 定例会"


def test_a_meeting_that_ends_before_it_starts_is_refused_with_the_reason(
    client, login, make_user, make_unit, make_meeting
):
    facilitator = make_user()
    meeting = make_meeting(unit=make_unit(members={facilitator: "facilitator"}), actor=facilitator)
    title = meeting.title
    login(facilitator)
    response = client.post(
        f"/meetings/{meeting.id}/edit",
        data={
            "title": "新しい件名",
            "day": "2026-12-10",
            "start_time": "10:00",
            "end_time": "09:00",
        },
    )
    assert response.status_code == 422
    assert "終了時刻が開始時刻より前です。" in response.get_data(as_text=True)
    db.session.expire_all()
    assert meeting.title == title
