import pytest

pytestmark = pytest.mark.browser


def test_log_in_in_japanese_and_switch_to_english(page, live_server, make_user, make_project):
    user = make_user(login="okada", name="岡田 寿史", password="pw-for-tests")
    make_project(name="前橋市 令和8年度", members={user: "manager"})
    page.goto(f"{live_server}/login")
    assert page.locator("h1").inner_text() == "ログイン"
    page.fill("input[name=login]", "okada")
    page.fill("input[name=password]", "pw-for-tests")
    page.click("button.primary")
    page.wait_for_url(f"{live_server}/projects")
    assert "前橋市 令和8年度" in page.content()
    assert page.locator("h1").first.inner_text().startswith("プロジェクト")
    page.click("button[name=lang][value=en]")
    page.wait_for_load_state()
    assert page.locator("h1").first.inner_text().startswith("Projects")


def test_phone_width_has_no_horizontal_scroll(
    page, live_server, browser_login, make_user, make_project, artifacts
):
    user = make_user(password="pw-for-tests")
    make_project(members={user: "manager"})
    page.set_viewport_size({"width": 375, "height": 740})
    browser_login(page, user)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
    page.screenshot(path=str(artifacts / "projects-phone.png"))
