"""A login session ends for good: after logout, a new password or a lock, every session of
the account made before is refused (users.session_generation, part of the session's id)."""

import pytest
import sqlalchemy as sa
from flask_login.utils import encode_cookie

from accounts import services
from core.extensions import db

PW = "secret-pass"


@pytest.fixture
def user(make_user):
    return make_user(login="sato", name="佐藤 花子", password=PW)


@pytest.fixture
def device(app, user):
    """device() -> a new test client logged in as `user` through the login form."""

    def login():
        client = app.test_client()
        assert client.post("/login", data={"login": "sato", "password": PW}).status_code == 302
        return client

    return login


def logged_in(client) -> bool:
    return client.get("/my/account").status_code == 200


def replay(app, client):
    """A fresh client holding a copy of `client`'s session cookie, as a thief would."""
    copy = app.test_client()
    copy.set_cookie("session", client.get_cookie("session").value)
    return copy


def test_a_session_cookie_saved_before_logout_is_refused_after_it(app, device):
    client = device()
    saved = replay(app, client)
    assert logged_in(saved)
    client.post("/logout")
    assert not logged_in(client)
    response = saved.get("/my/account")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_logout_ends_the_sessions_on_other_devices_too(device):
    laptop, phone = device(), device()
    laptop.post("/logout")
    assert not logged_in(phone)


def test_logout_leaves_other_accounts_logged_in(device, login, client, make_user):
    other = login(make_user())
    device().post("/logout")
    assert client.get("/my/account").status_code == 200
    assert other.session_generation == 0


def test_a_password_change_ends_the_other_sessions_and_keeps_this_one(device):
    stolen, own = device(), device()
    response = own.post(
        "/my/account",
        data={
            "pw-current_password": PW,
            "pw-new_password": "new-pass-1",
            "pw-confirm": "new-pass-1",
        },
    )
    assert response.status_code == 302
    assert logged_in(own)
    assert not logged_in(stolen)


def test_an_administrator_setting_a_new_password_ends_the_sessions(
    device, login, client, user, make_user
):
    stolen = device()
    login(make_user(is_admin=True))
    response = client.post(
        f"/admin/users/{user.id}/edit",
        data={"login": "sato", "name": user.name, "language": "ja", "organisation_id": 0,
              "password": "reset-by-admin", "is_active_account": "y"},
    )  # fmt: skip
    assert response.status_code == 302
    assert not logged_in(stolen)


def test_an_administrator_resetting_their_own_password_stays_logged_in(app, make_user):
    admin = make_user(login="admin1", password=PW, is_admin=True)
    client = app.test_client()
    client.post("/login", data={"login": "admin1", "password": PW})
    response = client.post(
        f"/admin/users/{admin.id}/edit",
        data={"login": "admin1", "name": admin.name, "language": "ja", "organisation_id": 0,
              "password": "new-admin-pass", "is_active_account": "y", "is_admin": "y"},
    )  # fmt: skip
    assert response.status_code == 302
    assert logged_in(client)


def test_a_session_made_before_a_lock_stays_refused_after_the_unlock(device, user):
    before = device()
    services.update_user(user, {"is_active_account": False})
    db.session.commit()
    assert not logged_in(before)
    services.update_user(user, {"is_active_account": True})
    db.session.commit()
    assert not logged_in(before)
    assert logged_in(device())


def test_editing_a_user_without_a_password_or_a_lock_keeps_their_sessions(device, user):
    client = device()
    services.update_user(user, {"name": "佐藤 花子（税務課）", "is_active_account": True})
    db.session.commit()
    assert logged_in(client)


def test_a_remember_me_cookie_dies_with_the_sessions(app, user):
    client = app.test_client()
    client.set_cookie("remember_token", encode_cookie(user.get_id()))
    assert logged_in(client)
    services.end_sessions(user)
    db.session.commit()
    forgetful = app.test_client()  # a browser that has lost its session, not the cookie
    forgetful.set_cookie("remember_token", encode_cookie(f"{user.id}:0"))
    assert not logged_in(forgetful)


def test_a_session_of_the_old_form_holding_only_the_user_id_is_refused(client, user):
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
    assert not logged_in(client)


def test_an_api_key_still_works_after_logout(app, device, user, make_project):
    project = make_project(members={user: "member"})
    token = services.api_token(user)
    db.session.commit()
    device().post("/logout")
    response = app.test_client().get(
        f"/projects/{project.identifier}", headers={"X-API-Key": token}
    )
    assert response.status_code == 200


def test_the_migration_goes_down_and_up_again_keeping_the_users(user):
    from flask_migrate import downgrade, upgrade

    def columns():
        return {c["name"] for c in sa.inspect(db.engine).get_columns("users")}

    user_id = user.id
    db.session.remove()  # the migration runs on a connection of its own
    downgrade(revision="0013")
    assert "session_generation" not in columns()
    upgrade()
    assert "session_generation" in columns()
    assert services.find_user("sato").get_id() == f"{user_id}:0"
