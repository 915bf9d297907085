"""Pages work under the Content-Security-Policy (the `context` fixture fails a test on any
violation): scripts come from files, none from inline code."""

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_the_main_pages_run_under_the_policy(
    page, live_server, browser_login, ready_meeting, make_ticket
):
    meeting = ready_meeting(password="pw-for-tests")
    unit = meeting.unit
    make_ticket(unit, subject="帳票の印字位置がずれる")
    browser_login(page, meeting.facilitator)
    for path in (
        "/projects",
        f"/projects/{unit.identifier}",
        f"/meetings/{meeting.id}",
        f"/meetings/{meeting.id}/present",
        f"/projects/{unit.identifier}/issues/new",
        "/issues",
        "/dashboard",
        "/decisions",
        "/feeds",
        "/my/account",
    ):
        response = page.goto(f"{live_server}{path}")
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("networkidle")


def test_a_feed_address_selects_itself_on_a_click(page, live_server, browser_login, make_user):
    user = make_user(password="pw-for-tests")
    browser_login(page, user)
    page.goto(f"{live_server}/feeds")
    field = page.locator("input.feed-url").first
    field.click()
    expect(field).to_be_focused()
    selected = field.evaluate("f => f.value.substring(f.selectionStart, f.selectionEnd)")
    assert selected == field.input_value() and "/homework.ics" in selected
