from accounts import services


def test_user_create_and_token(app):
    runner = app.test_cli_runner()
    result = runner.invoke(
        args=[
            "user",
            "create",
            "okada",
            "--password",
            "pw-123456",
            "--admin",
            "--name",
            "岡田 寿史",
            "--email",
            "okada@example.jp",
        ]
    )
    assert result.exit_code == 0, result.output
    user = services.find_user("okada")
    assert user.is_admin and user.name == "岡田 寿史" and user.check_password("pw-123456")

    first = app.test_cli_runner().invoke(args=["user", "token", "okada"])
    second = app.test_cli_runner().invoke(args=["user", "token", "okada"])
    assert first.exit_code == 0
    assert first.output.strip() == second.output.strip() == services.find_user("okada").api_token


def test_user_create_refuses_a_taken_login(app, make_user):
    make_user(login="okada")
    result = app.test_cli_runner().invoke(args=["user", "create", "okada", "--password", "x"])
    assert result.exit_code != 0
    assert "このログインIDは既に使われています" in result.output  # the default language


def test_user_token_of_unknown_user_fails(app):
    result = app.test_cli_runner().invoke(args=["user", "token", "ghost"])
    assert result.exit_code != 0
