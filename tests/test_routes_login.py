"""Every route needs a login unless it is deliberately public (and listed here)."""

import re

import pytest

PUBLIC_PREFIXES = (
    "accounts.login",
    "accounts.logout",
    "accounts.switch_language",
    "redmine.",  # token-authenticated Redmine API: answers 401 itself
    "minutes_api.openapi",  # the API's description, no data
    "minutes.guest_confirm",  # a signed one-time link is the credential
    "exports.my_homework_ics",  # calendar feeds: the secret token in the URL is the credential
    "exports.project_homework_ics",
)


def _routes(app):
    for rule in app.url_map.iter_rules():
        method = next(m for m in ("GET", "POST", "PUT", "PATCH", "DELETE") if m in rule.methods)
        url = re.sub(r"<(?:id:)?(\w+)>", lambda m: "1", rule.rule)
        url = re.sub(r"<\w+:(\w+)>", "x", url)
        yield rule.endpoint, method, url


def test_anonymous_requests_are_sent_to_login(app, client):
    checked = 0
    for endpoint, method, url in _routes(app):
        view = app.view_functions[endpoint]
        if endpoint == "static":
            continue
        if getattr(view, "is_public", False):
            assert endpoint.startswith(PUBLIC_PREFIXES) or "public" in (view.__doc__ or ""), (
                f"{endpoint} is public: list it in PUBLIC_PREFIXES or say why in its docstring"
            )
            continue
        response = client.open(url, method=method)
        assert response.status_code in (302, 401), f"{method} {url} ({endpoint})"
        if response.status_code == 302:
            assert "/login" in response.headers["Location"]
        checked += 1
    assert checked > 10


@pytest.mark.parametrize("path", ["/projects", "/my/account", "/admin/users"])
def test_login_redirect_keeps_the_target(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert "next=" in response.headers["Location"]
