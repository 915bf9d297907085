from datetime import date

from flask_babel import force_locale

from core import formatting


def test_japanese_is_the_default(client):
    html = client.get("/login").get_data(as_text=True)
    assert "ログイン" in html


def test_english_from_accept_language(client):
    html = client.get("/login", headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(
        as_text=True
    )
    assert "Log in" in html


def test_language_switch_for_visitors(client):
    client.post("/lang", data={"lang": "en", "next": "/login"})
    assert "Log in" in client.get("/login").get_data(as_text=True)


def test_user_setting_beats_the_browser(client, login, make_user):
    login(make_user(language="en"))
    html = client.get("/projects", headers={"Accept-Language": "ja"}).get_data(as_text=True)
    assert "Projects" in html


def test_switching_language_is_saved_for_the_user(client, login, make_user):
    user = login(make_user(language="ja"))
    client.post("/lang", data={"lang": "en", "next": "/projects"})
    assert user.language == "en"


def test_japanese_dates(app):
    with app.test_request_context(), force_locale("ja"):
        assert formatting.format_date(date(2026, 11, 24)) == "2026年11月24日(火)"
        assert formatting.format_date(date(2026, 11, 24), wareki=True) == "令和8年11月24日(火)"
    with app.test_request_context(), force_locale("en"):
        assert formatting.format_date(date(2026, 11, 24)) == "Tue, Nov 24, 2026"


def test_error_pages_in_both_languages(client, login, make_user):
    login(make_user())
    ja = client.get("/projects/none-such").get_data(as_text=True)
    assert "存在しない" in ja
    client.post("/lang", data={"lang": "en"})
    en = client.get("/projects/none-such").get_data(as_text=True)
    assert "does not exist" in en


def test_templates_translate_in_a_forced_locale_and_back(app):
    from flask import render_template_string

    template = "{{ _('Decision register') }}"
    with app.test_request_context(headers={"Accept-Language": "ja"}):
        assert render_template_string(template) == "決定事項台帳"
        with force_locale("en"):  # an e-mail in the recipient's language, mid-request
            assert render_template_string(template) == "Decision register"
        assert render_template_string(template) == "決定事項台帳"
