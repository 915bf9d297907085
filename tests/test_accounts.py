import hashlib

import pytest
import sqlalchemy as sa

from accounts import services
from accounts.models import User
from core.extensions import db


def test_password_is_hashed_with_scrypt(make_user):
    user = make_user(password="secret-pass")
    assert user.password_hash.startswith("scrypt:")
    assert user.check_password("secret-pass")
    assert not user.check_password("wrong")


def test_a_redmine_password_hash_is_replaced_at_the_first_sign_in(client, make_user):
    user = make_user(login="yamada")
    salt = "0123456789abcdef0123456789abcdef"
    inner = hashlib.sha1(b"redmine-pass").hexdigest()
    user.set_redmine_password(hashlib.sha1((salt + inner).encode()).hexdigest(), salt)
    db.session.commit()
    assert client.post("/login", data={"login": "yamada", "password": "nope"}).status_code == 401
    response = client.post("/login", data={"login": "yamada", "password": "redmine-pass"})
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.password_hash.startswith("scrypt:") and user.check_password("redmine-pass")


def test_login_and_logout(client, make_user):
    make_user(login="suzuki", name="鈴木 一郎", password="secret-pass")
    response = client.post("/login", data={"login": "suzuki", "password": "secret-pass"})
    assert response.status_code == 302
    page = client.get("/projects")
    assert "鈴木 一郎" in page.get_data(as_text=True)
    client.post("/logout")
    assert client.get("/projects").status_code == 302


def test_wrong_password_and_unknown_user_get_the_same_generic_error(client, make_user):
    make_user(login="suzuki", password="secret-pass")
    wrong = client.post("/login", data={"login": "suzuki", "password": "nope"})
    unknown = client.post("/login", data={"login": "nobody", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert "ログインIDまたはパスワードが正しくありません" in wrong.get_data(as_text=True)
    assert "ログインIDまたはパスワードが正しくありません" in unknown.get_data(as_text=True)


@pytest.mark.parametrize("login", ["suzuki", "nobody"])
def test_repeated_failures_are_slowed_down(app, client, make_user, login):
    make_user(login="suzuki", password="secret-pass")
    limit = app.config["SANMAI_LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert client.post("/login", data={"login": login, "password": "x"}).status_code == 401
    locked = client.post("/login", data={"login": login, "password": "secret-pass"})
    assert locked.status_code == 429
    assert "秒後" in locked.get_data(as_text=True)


def test_login_form_keeps_values_and_marks_empty_field(client):
    response = client.post("/login", data={"login": "suzuki", "password": ""})
    html = response.get_data(as_text=True)
    assert 'value="suzuki"' in html
    assert "必須" in html or "required" in html.lower()


def test_post_without_csrf_token_is_refused_with_a_clear_page(client, csrf_enabled, make_user):
    make_user(login="suzuki", password="secret-pass")
    response = client.post("/login", data={"login": "suzuki", "password": "secret-pass"})
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)


def test_change_password(client, login, make_user):
    user = login(make_user(password="old-password"))
    response = client.post(
        "/my/account",
        data={
            "pw-current_password": "old-password",
            "pw-new_password": "new-password",
            "pw-confirm": "new-password",
        },
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.check_password("new-password")


def test_change_password_refuses_wrong_current_password(client, login, make_user):
    login(make_user(password="old-password"))
    response = client.post(
        "/my/account",
        data={
            "pw-current_password": "bad",
            "pw-new_password": "new-password",
            "pw-confirm": "new-password",
        },
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "現在のパスワードが正しくありません" in page
    assert 'id="pw-current_password"' in page and 'aria-invalid="true"' in page


def test_api_token_authenticates_json_clients(make_user):
    user = make_user()
    token = services.api_token(user)
    assert services.user_by_api_token(token) == user
    assert services.user_by_api_token("nope") is None


def test_admin_creates_user_from_ui(client, login, make_user, make_org):
    login(make_user(is_admin=True))
    org = make_org(name="高崎市")
    response = client.post(
        "/admin/users/new",
        data={
            "login": "tanaka",
            "name": "田中 美咲",
            "email": "t@example.jp",
            "organisation_id": org.id,
            "language": "ja",
            "password": "long-password",
            "is_active_account": "y",
        },
    )
    assert response.status_code == 302
    user = services.find_user("tanaka")
    assert user.name == "田中 美咲" and user.organisation.name == "高崎市"


def test_admin_user_form_keeps_values_on_error(client, login, make_user):
    login(make_user(is_admin=True))
    response = client.post(
        "/admin/users/new",
        data={"login": "tanaka", "name": "", "language": "ja", "organisation_id": 0},
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'value="tanaka"' in html
    assert db.session.scalar(sa.select(User).where(User.login == "tanaka")) is None


def test_too_long_field_is_refused_next_to_the_field(client, login, make_user):
    login(make_user(is_admin=True))
    response = client.post("/admin/organisations/new", data={"name": "市" * 101, "kind": "city"})
    assert response.status_code == 200
    assert "field has-error" in response.get_data(as_text=True)


def test_admin_manages_organisations(client, login, make_user):
    login(make_user(is_admin=True))
    response = client.post("/admin/organisations/new", data={"name": "伊勢崎市", "kind": "city"})
    assert response.status_code == 302
    assert services.organisation_by_name("伊勢崎市").kind == "city"


def test_non_admin_cannot_reach_administration(client, login, make_user):
    login(make_user())
    assert client.get("/admin/users").status_code == 403
    assert (
        client.post("/admin/organisations/new", data={"name": "x", "kind": "city"}).status_code
        == 403
    )


def test_x_api_key_header_authenticates_a_request(client, make_user, make_project):
    user = make_user()
    project = make_project(members={user: "member"})
    token = services.api_token(user)
    db.session.commit()
    assert client.get(f"/projects/{project.identifier}").status_code == 302
    ok = client.get(f"/projects/{project.identifier}", headers={"X-API-Key": token})
    assert ok.status_code == 200
    bad = client.get(f"/projects/{project.identifier}", headers={"X-API-Key": "forged"})
    assert bad.status_code == 302
