"""Signing in with the city's directory, against a real OpenLDAP server (tests/fixtures/directory.py)."""

import logging

import pytest
import sqlalchemy as sa

from accounts import directory, directory_server, services
from accounts.models import DirectorySource, User
from core.extensions import db
from projects.models import Membership
from tests.fixtures.directory import GROUP_DN, PEOPLE, SERVICE_PASSWORD, STAFF

INVALID = "ログインIDまたはパスワードが正しくありません"
UNAVAILABLE = "ディレクトリによるログインは現在ご利用いただけません"


def _password(uid: str) -> str:
    return STAFF[uid][4]


def _sign_in(client, login: str, password: str):
    return client.post("/login", data={"login": login, "password": password})


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: nothing listens


# --- sign-in ----------------------------------------------------------------------------------


def test_a_user_bound_to_a_source_signs_in_with_the_directory_password(
    client, make_user, make_source
):
    source = make_source(create_users=False)
    user = make_user(login="yamada.taro", password="local-password")
    directory.bind_user(user, source)
    db.session.commit()

    assert _sign_in(client, "yamada.taro", "local-password").status_code == 401
    response = _sign_in(client, "yamada.taro", _password("yamada.taro"))
    assert response.status_code == 302
    assert "山田 太郎（情報政策課）" in client.get("/projects").get_data(as_text=True)


def test_first_sign_in_creates_the_person_in_the_sources_organisation_without_roles(
    client, make_source, make_org
):
    maebashi = make_org(name="前橋市")
    source = make_source(organisation=maebashi)

    response = _sign_in(client, "Yamada.Taro", _password("yamada.taro"))

    assert response.status_code == 302
    user = services.find_user("yamada.taro")
    assert user.login == "yamada.taro"
    assert user.name == "山田 太郎（情報政策課）"
    assert user.email == "yamada@maebashi.example"
    assert user.organisation == maebashi
    assert user.directory_source == source
    assert user.password_hash == ""
    assert db.session.scalar(sa.select(Membership).where(Membership.user_id == user.id)) is None


def test_each_city_has_its_source_and_a_new_person_joins_the_city_that_knows_them(
    client, make_source, make_org
):
    # 高崎市's source searches where no 前橋市 staff are; 前橋市's finds them.
    make_source(name="高崎市", base_dn=GROUP_DN.split(",", 1)[1], organisation=make_org("高崎市"))
    maebashi = make_source(name="前橋市", organisation=make_org("前橋市"))
    assert _sign_in(client, "yamada.taro", _password("yamada.taro")).status_code == 302
    user = services.find_user("yamada.taro")
    assert user.directory_source == maebashi
    assert user.organisation.name == "前橋市"


def test_without_create_users_a_person_unknown_to_sanmai_is_refused(client, make_source):
    make_source(create_users=False)
    response = _sign_in(client, "yamada.taro", _password("yamada.taro"))
    assert response.status_code == 401
    assert services.find_user("yamada.taro") is None


def test_a_wrong_directory_password_gets_the_same_answer_as_a_local_one(
    client, make_user, make_source
):
    make_source()
    make_user(login="suzuki", password="secret-pass")
    answers = [
        _sign_in(client, "yamada.taro", "wrong-password"),  # in the directory
        _sign_in(client, "suzuki", "wrong-password"),  # local
        _sign_in(client, "nobody", "wrong-password"),  # nowhere
    ]
    assert {response.status_code for response in answers} == {401}
    assert all(INVALID in response.get_data(as_text=True) for response in answers)
    assert services.find_user("yamada.taro") is None


def test_a_locked_directory_account_can_no_longer_sign_in(client, ldap_server, make_source):
    make_source()
    dn = f"uid=kobayashi.jun,{PEOPLE}"
    assert _sign_in(client, "kobayashi.jun", _password("kobayashi.jun")).status_code == 302
    client.post("/logout")
    ldap_server.lock(dn)
    try:
        response = _sign_in(client, "kobayashi.jun", _password("kobayashi.jun"))
    finally:
        ldap_server.unlock(dn)
    assert response.status_code == 401
    assert INVALID in response.get_data(as_text=True)


def test_a_person_deleted_from_the_directory_can_no_longer_sign_in(
    client, ldap_server, make_source
):
    make_source()
    dn = ldap_server.add_person("takahashi.ken", "高橋", "健", "Taka-2026")
    try:
        assert _sign_in(client, "takahashi.ken", "Taka-2026").status_code == 302
        client.post("/logout")
    finally:
        ldap_server.delete(dn)
    response = _sign_in(client, "takahashi.ken", "Taka-2026")
    assert response.status_code == 401
    assert services.find_user("takahashi.ken").directory_source is not None


def test_only_members_of_the_sources_group_sign_in(client, make_source):
    make_source(group_dn=GROUP_DN)
    refused = _sign_in(client, "sato.hanako", _password("sato.hanako"))
    assert refused.status_code == 401
    assert services.find_user("sato.hanako") is None
    assert _sign_in(client, "yamada.taro", _password("yamada.taro")).status_code == 302


def test_active_directory_group_check_follows_nested_groups_in_an_escaped_filter():
    source = DirectorySource(kind="ad", group_dn="CN=三枚(利用者),OU=Groups,DC=city,DC=example")
    person = directory_server.Person(dn="CN=山田 太郎,OU=Staff,DC=city,DC=example", login="yamada")
    assert directory_server.group_filter(source, person) == (
        "(memberOf:1.2.840.113556.1.4.1941:=CN=三枚\\28利用者\\29,OU=Groups,DC=city,DC=example)"
    )


@pytest.mark.parametrize(
    "login",
    ["yamada*", "*", "yamada.taro)(uid=*", "*)(|(uid=*", "yamada.taro\\", "y*a*m*a*d*a*"],
)
def test_ldap_filter_characters_in_a_login_are_matched_literally(client, make_source, login):
    make_source()
    response = _sign_in(client, login, _password("yamada.taro"))
    assert response.status_code == 401
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def test_the_user_filter_escapes_the_login_and_keeps_the_sources_filter(make_source):
    source = make_source(user_filter="(objectClass=inetOrgPerson)")
    assert directory_server.user_search_filter(source, "a*(b)\\") == (
        "(&(uid=a\\2a\\28b\\29\\5c)(objectClass=inetOrgPerson))"
    )


def test_the_login_slow_down_applies_to_directory_logins(app, client, make_source):
    make_source()
    for _ in range(app.config["SANMAI_LOGIN_MAX_FAILURES"]):
        assert _sign_in(client, "yamada.taro", "wrong-password").status_code == 401
    locked = _sign_in(client, "yamada.taro", _password("yamada.taro"))
    assert locked.status_code == 429
    assert services.find_user("yamada.taro") is None


def test_an_empty_password_is_refused_without_asking_the_directory(make_source):
    source = make_source()
    person = directory_server.Person(dn=f"uid=yamada.taro,{PEOPLE}", login="yamada.taro")
    assert directory_server.password_accepted(source, person, "") is False
    assert directory.sign_in("yamada.taro", "", None) is None


# --- TLS ---------------------------------------------------------------------------------------


def test_starttls_checks_the_certificate_by_default(client, make_source, caplog):
    make_source(encryption="starttls")
    with caplog.at_level(logging.WARNING):
        response = _sign_in(client, "yamada.taro", _password("yamada.taro"))
    assert response.status_code == 503
    assert UNAVAILABLE in response.get_data(as_text=True)
    assert "CERTIFICATE_VERIFY_FAILED" in caplog.text


def test_starttls_signs_in_with_the_sources_ca_file(client, ldap_server, make_source):
    make_source(encryption="starttls", ca_file=ldap_server.ca_file)
    assert _sign_in(client, "yamada.taro", _password("yamada.taro")).status_code == 302


def test_ldaps_signs_in_with_the_sources_ca_file(client, ldap_server, make_source):
    make_source(encryption="ldaps", port=ldap_server.ldaps_port, ca_file=ldap_server.ca_file)
    assert _sign_in(client, "yamada.taro", _password("yamada.taro")).status_code == 302


def test_the_certificate_must_name_the_host(client, ldap_server, make_source):
    # The server also listens on 127.0.0.2, which its certificate does not name.
    source = make_source(host="127.0.0.2", encryption="starttls", ca_file=ldap_server.ca_file)
    steps = directory.check_source(source, "yamada.taro").steps
    assert [(step.label, step.ok) for step in steps] == [("connect", True), ("StartTLS", False)]
    assert "doesn't match" in steps[-1].detail
    assert _sign_in(client, "yamada.taro", _password("yamada.taro")).status_code == 503


# --- failures ------------------------------------------------------------------------------------


def test_an_unreachable_directory_is_reported_and_local_accounts_still_work(
    client, make_user, make_source, caplog
):
    make_source(port=_closed_port())
    make_user(login="suzuki", password="secret-pass")
    with caplog.at_level(logging.WARNING):
        response = _sign_in(client, "yamada.taro", _password("yamada.taro"))
    assert response.status_code == 503
    assert UNAVAILABLE in response.get_data(as_text=True)
    assert "Connection refused" in caplog.text or "cannot connect" in caplog.text
    assert _sign_in(client, "suzuki", "secret-pass").status_code == 302


def test_an_unreachable_directory_counts_no_failure_for_the_slow_down(app, client, make_source):
    make_source(port=_closed_port())
    for _ in range(app.config["SANMAI_LOGIN_MAX_FAILURES"] + 1):
        assert _sign_in(client, "yamada.taro", "whatever").status_code == 503


def test_the_bind_password_is_stored_encrypted(app, make_source):
    source = make_source()
    stored = db.session.scalar(
        sa.text("SELECT bind_password_sealed FROM directory_sources WHERE id = :id"),
        {"id": source.id},
    )
    assert SERVICE_PASSWORD not in stored
    assert directory.check_source(source, "yamada.taro").ok


def test_a_changed_key_makes_the_directory_unavailable_not_an_error(
    app, client, make_source, monkeypatch
):
    make_source()
    from cryptography.fernet import Fernet

    monkeypatch.setitem(app.config, "SANMAI_SECRET_BOX_KEY", Fernet.generate_key().decode())
    response = _sign_in(client, "yamada.taro", _password("yamada.taro"))
    assert response.status_code == 503


def test_a_directory_user_has_no_local_password_to_change(make_user, make_source):
    user = make_user(password="local-password")
    directory.bind_user(user, make_source())
    assert not user.check_password("local-password")
    with pytest.raises(services.AccountError):
        services.change_password(user, "local-password", "new-password-1")


# --- the command line ----------------------------------------------------------------------------


def test_directory_add_with_active_directory_defaults_and_list(app, make_org):
    make_org(name="前橋市")
    runner = app.test_cli_runner()
    added = runner.invoke(
        args=[
            "directory", "add", "前橋市AD",
            "--host", "dc01.maebashi.example",
            "--bind-dn", "CN=sanmai,OU=Services,DC=maebashi,DC=example",
            "--bind-password", "service-secret",
            "--base-dn", "DC=maebashi,DC=example",
            "--organisation", "前橋市",
            "--create-users",
        ]
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    source = directory.source_by_name("前橋市AD")
    assert (source.kind, source.encryption, source.port) == ("ad", "starttls", 389)
    assert (source.attr_login, source.attr_firstname, source.attr_lastname) == (
        "sAMAccountName",
        "givenName",
        "sn",
    )
    assert (source.attr_mail, source.attr_display_name) == ("mail", "displayName")
    assert source.check_certificate and source.create_users
    assert source.organisation.name == "前橋市"
    assert "service-secret" not in source.bind_password_sealed

    listed = runner.invoke(args=["directory", "list"])
    assert "前橋市AD\tad\tdc01.maebashi.example:389\tstarttls" in listed.output


def test_directory_test_walks_the_source_end_to_end(app, ldap_server):
    added = app.test_cli_runner().invoke(
        args=[
            "directory", "add", "前橋市",
            "--kind", "openldap",
            "--host", ldap_server.host, "--port", str(ldap_server.port),
            "--ca-file", ldap_server.ca_file,
            "--bind-dn", f"cn=sanmai,ou=services,{PEOPLE.split(',', 1)[1]}",
            "--bind-password", SERVICE_PASSWORD,
            "--base-dn", PEOPLE,
            "--group-dn", GROUP_DN,
        ]
    )  # fmt: skip
    assert added.exit_code == 0, added.output
    result = app.test_cli_runner().invoke(
        args=["directory", "test", "前橋市", "yamada.taro", "--password", "Yama-2026"]
    )
    assert result.exit_code == 0, result.output
    for line in (
        f"ok   connect: 127.0.0.1:{ldap_server.port}",
        f"ok   StartTLS: certificate checked against {ldap_server.ca_file}",
        "ok   bind: cn=sanmai,ou=services,dc=maebashi,dc=example",
        f"ok   find: uid=yamada.taro,{PEOPLE}",
        "ok   group:",
        "ok   password: accepted",
        "name: 山田 太郎（情報政策課）",
        "last name: 山田",
        "first name: 太郎",
        "mail: yamada@maebashi.example",
    ):
        assert line in result.output


def test_directory_test_says_where_it_fails(app, make_source):
    make_source(name="前橋市", group_dn=GROUP_DN)
    runner = app.test_cli_runner()
    unknown = runner.invoke(args=["directory", "test", "前橋市", "nobody"])
    assert unknown.exit_code == 1
    assert "FAIL find: no single entry" in unknown.output
    outsider = runner.invoke(args=["directory", "test", "前橋市", "sato.hanako"])
    assert outsider.exit_code == 1
    assert "FAIL group:" in outsider.output


def test_directory_test_reports_an_unreachable_server(app, make_source):
    make_source(name="前橋市", port=_closed_port())
    result = app.test_cli_runner().invoke(args=["directory", "test", "前橋市", "yamada.taro"])
    assert result.exit_code == 1
    assert "FAIL connect: cannot connect to 127.0.0.1" in result.output


def test_directory_test_names_a_certificate_it_cannot_check(app, make_source):
    make_source(name="前橋市", encryption="starttls")
    result = app.test_cli_runner().invoke(args=["directory", "test", "前橋市", "yamada.taro"])
    assert result.exit_code == 1
    assert "ok   connect:" in result.output
    assert "FAIL StartTLS:" in result.output and "CERTIFICATE_VERIFY_FAILED" in result.output


# --- the admin pages ---------------------------------------------------------------------------


def test_an_administrator_adds_a_source_and_tests_it(
    client, login, make_user, make_org, ldap_server
):
    login(make_user(is_admin=True))
    maebashi = make_org(name="前橋市")
    response = client.post(
        "/admin/directories/new",
        data={
            "name": "前橋市 LDAP",
            "kind": "openldap",
            "host": ldap_server.host,
            "port": ldap_server.port,
            "encryption": "starttls",
            "ca_file": ldap_server.ca_file,
            "check_certificate": "y",
            "bind_dn": f"cn=sanmai,ou=services,{PEOPLE.split(',', 1)[1]}",
            "bind_password": SERVICE_PASSWORD,
            "base_dn": PEOPLE,
            "organisation_id": maebashi.id,
            "create_users": "y",
        },
    )
    assert response.status_code == 302
    source = directory.source_by_name("前橋市 LDAP")
    assert source.attr_login == "uid" and source.organisation == maebashi
    assert SERVICE_PASSWORD not in source.bind_password_sealed
    assert response.headers["Location"].endswith(f"/admin/directories/{source.id}/check")

    page = client.post(
        f"/admin/directories/{source.id}/check",
        data={"login": "yamada.taro", "password": _password("yamada.taro")},
    ).get_data(as_text=True)
    assert "利用者の検索" in page
    assert f"uid=yamada.taro,{PEOPLE}" in page
    assert "山田 太郎（情報政策課）" in page
    assert "✘" not in page


def test_editing_a_source_keeps_the_bind_password_when_left_empty(
    client, login, make_user, make_source
):
    login(make_user(is_admin=True))
    source = make_source(create_users=False)
    sealed = source.bind_password_sealed
    form = {
        "name": source.name,
        "kind": "openldap",
        "host": source.host,
        "port": source.port,
        "encryption": "none",
        "check_certificate": "y",
        "bind_dn": source.bind_dn,
        "base_dn": source.base_dn,
        "organisation_id": 0,
        "create_users": "y",
    }
    assert client.post(f"/admin/directories/{source.id}/edit", data=form).status_code == 302
    db.session.refresh(source)
    assert source.create_users and source.bind_password_sealed == sealed


def test_an_administrator_switches_a_local_user_to_a_source(client, login, make_user, make_source):
    login(make_user(is_admin=True))
    source = make_source(create_users=False)
    user = make_user(login="sato.hanako", name="佐藤 花子", password="local-password")
    response = client.post(
        f"/admin/users/{user.id}/edit",
        data={
            "login": "sato.hanako",
            "name": "佐藤 花子",
            "organisation_id": user.organisation_id,
            "language": "ja",
            "directory_source_id": source.id,
            "is_active_account": "y",
        },
    )
    assert response.status_code == 302
    db.session.refresh(user)
    assert user.directory_source == source and user.password_hash == ""
    client.post("/logout")
    assert _sign_in(client, "sato.hanako", "local-password").status_code == 401
    assert _sign_in(client, "sato.hanako", _password("sato.hanako")).status_code == 302


@pytest.mark.parametrize(
    "path", ["/admin/directories", "/admin/directories/new", "/admin/directories/1/check"]
)
def test_directory_pages_are_for_administrators_only(client, login, make_user, make_source, path):
    make_source()
    login(make_user())
    assert client.get(path).status_code == 403
