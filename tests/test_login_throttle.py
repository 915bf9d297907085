"""The login slow-down: counted per login and client address, per address, and per login
from all addresses, so a guesser is slowed and a stranger cannot lock the owner out."""

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from accounts.models import LoginThrottle
from core.extensions import db

OWNER, STRANGER, ELSEWHERE = "203.0.113.7", "198.51.100.9", "192.0.2.44"
PW = "secret-pass"


@pytest.fixture(autouse=True)
def policy(app, monkeypatch, time_machine, make_user):
    """Small numbers, a still clock, and the account 'suzuki' with password PW."""
    time_machine.move_to(datetime(2026, 11, 25, 0, 30, tzinfo=UTC), tick=False)
    for name, value in {
        "SANMAI_LOGIN_MAX_FAILURES": 3,
        "SANMAI_LOGIN_LOCK_SECONDS": 30,
        "SANMAI_LOGIN_MAX_FAILURES_PER_ADDRESS": 6,
        "SANMAI_LOGIN_MAX_FAILURES_PER_LOGIN": 10,
        "SANMAI_LOGIN_WINDOW_SECONDS": 900,
    }.items():
        monkeypatch.setitem(app.config, name, value)
    make_user(login="suzuki", password=PW)


@pytest.fixture
def attempt(app):
    """attempt(login, password, address) -> the status of a login from a new browser."""

    def post(login, password, address):
        client = app.test_client()
        data = {"login": login, "password": password}
        return client.post("/login", data=data, environ_base={"REMOTE_ADDR": address}).status_code

    return post


def fail(attempt, login, address, times):
    return [attempt(login, "wrong-guess", address) for _ in range(times)]


def test_failures_lock_the_login_at_that_address(attempt):
    assert fail(attempt, "suzuki", STRANGER, 3) == [401, 401, 401]
    assert attempt("suzuki", PW, STRANGER) == 429


def test_a_stranger_failing_on_purpose_does_not_lock_the_owner_out(attempt):
    assert fail(attempt, "suzuki", STRANGER, 5)[-1] == 429
    assert attempt("suzuki", PW, OWNER) == 302


def test_the_lock_ends_after_the_lock_seconds_and_one_more_failure_renews_it(attempt, time_machine):
    fail(attempt, "suzuki", STRANGER, 3)
    time_machine.shift(29)
    assert attempt("suzuki", PW, STRANGER) == 429
    time_machine.shift(2)
    assert fail(attempt, "suzuki", STRANGER, 2) == [401, 429]
    time_machine.shift(31)
    assert attempt("suzuki", PW, STRANGER) == 302


def test_one_password_sprayed_over_many_logins_locks_the_address(attempt, make_user):
    for n in range(5):
        make_user(login=f"staff{n}", password=PW)
    sprayed = [attempt(login, "Password1", STRANGER) for login in ("staff0", "staff1", "staff2",
               "staff3", "staff4", "nobody")]  # fmt: skip
    assert sprayed == [401] * 6
    assert attempt("suzuki", PW, STRANGER) == 429  # even with the right password
    assert attempt("suzuki", PW, OWNER) == 302  # another address is not concerned


def test_a_guesser_logging_into_an_account_of_their_own_does_not_clear_the_address(
    attempt, make_user
):
    make_user(login="guesser", password=PW)
    for n in range(5):
        assert attempt(f"staff{n}", "Password1", STRANGER) == 401
    assert attempt("guesser", PW, STRANGER) == 302
    assert attempt("staff5", "Password1", STRANGER) == 401
    assert attempt("staff6", "Password1", STRANGER) == 429


def test_a_success_clears_the_count_of_that_login_at_that_address(attempt):
    fail(attempt, "suzuki", OWNER, 2)
    assert attempt("suzuki", PW, OWNER) == 302
    assert fail(attempt, "suzuki", OWNER, 3) == [401, 401, 401]
    assert attempt("suzuki", PW, OWNER) == 429


def test_counts_start_over_after_the_window(attempt, time_machine):
    fail(attempt, "suzuki", OWNER, 2)
    time_machine.shift(900)
    assert fail(attempt, "suzuki", OWNER, 2) == [401, 401]
    assert attempt("suzuki", PW, OWNER) == 302  # 2 in this window, not 4


def test_a_login_attacked_from_many_addresses_allows_each_address_one_failure(attempt):
    for n in range(10):
        assert attempt("suzuki", "wrong-guess", f"10.0.0.{n}") == 401
    assert fail(attempt, "suzuki", "10.0.1.1", 2) == [401, 429]
    # The owner, at an address of their own, is not locked by the attack...
    assert attempt("suzuki", PW, OWNER) == 302
    # ...and a mistake of theirs costs one lock, which only their own failures renew.
    assert fail(attempt, "suzuki", ELSEWHERE, 2) == [401, 429]


def test_the_wait_is_told_in_seconds(attempt, client):
    fail(attempt, "suzuki", "127.0.0.1", 3)
    page = client.post("/login", data={"login": "suzuki", "password": PW})
    assert page.status_code == 429
    assert "30 秒後" in page.get_data(as_text=True)


def test_unknown_and_known_logins_are_counted_alike(attempt):
    assert fail(attempt, "nobody", STRANGER, 4) == fail(attempt, "suzuki", ELSEWHERE, 4)


def test_the_redmine_api_counts_basic_auth_failures_per_address_too(client):
    wrong = ("suzuki", "wrong-guess")
    for _ in range(3):
        response = client.get(
            "/users/current.json", auth=wrong, environ_base={"REMOTE_ADDR": STRANGER}
        )
        assert response.status_code == 401
    locked = client.get(
        "/users/current.json", auth=("suzuki", PW), environ_base={"REMOTE_ADDR": STRANGER}
    )
    assert locked.status_code == 429 and locked.headers["Retry-After"] == "30"
    owner = client.get(
        "/users/current.json", auth=("suzuki", PW), environ_base={"REMOTE_ADDR": OWNER}
    )
    assert owner.status_code == 200


def test_a_count_is_one_row_per_login_and_address(attempt):
    from accounts.models import LoginThrottle

    fail(attempt, "Suzuki ", STRANGER, 2)
    rows = {(r.login, r.address): r.failures for r in db.session.scalars(
        db.select(LoginThrottle))}  # fmt: skip
    assert rows == {("suzuki", STRANGER): 2, ("", STRANGER): 2, ("suzuki", ""): 2}


def test_the_migration_goes_down_and_up_again():
    from flask_migrate import downgrade, upgrade

    def columns():
        return [c["name"] for c in sa.inspect(db.engine).get_columns("login_throttles")]

    db.session.remove()  # the migration runs on a connection of its own
    downgrade(revision="0014")
    assert columns() == ["key", "failures", "last_failed_at"]
    upgrade()
    assert columns() == ["login", "address", "failures", "first_failed_at", "last_failed_at"]


def test_behind_a_trusted_proxy_each_client_is_counted_by_its_own_address(app, make_user):
    from app import create_app
    from core.extensions import db as database

    make_user(login="tanaka", password="the-right-one")
    database.session.commit()
    behind = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
            "INSTANCE_DIR": app.config["INSTANCE_DIR"],
            "WTF_CSRF_ENABLED": False,
            "SANMAI_TRUSTED_PROXIES": 1,
        }
    )
    client = behind.test_client()
    for address in ("10.0.0.7", "10.0.0.8"):
        client.post(
            "/login",
            data={"login": "tanaka", "password": "wrong"},
            headers={"X-Forwarded-For": f"203.0.113.9, {address}"},
        )
    # Without the setting, a forged header changes nothing: the peer's address counts.
    app.test_client().post(
        "/login", data={"login": "tanaka", "password": "wrong"},
        headers={"X-Forwarded-For": "10.9.9.9"},
    )  # fmt: skip
    addresses = set(
        database.session.scalars(
            sa.select(LoginThrottle.address).where(LoginThrottle.address != "")
        )
    )
    assert addresses == {"10.0.0.7", "10.0.0.8", "127.0.0.1"}
