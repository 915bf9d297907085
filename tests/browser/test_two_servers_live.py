"""The projector on one app server, a follower's page on the other (PostgreSQL, nginx's two
servers of tests/fixtures/servers.py): a homework line typed on one is seen on the other
within a second, with no reload."""

import time

import pytest
from playwright.sync_api import expect

PW = "pw-for-tests"


@pytest.fixture
def people(make_org, make_user):
    city = make_org("前橋市")
    return {
        "suzuki": make_user(login="suzuki", name="鈴木 一郎", password=PW, organisation=city),
        "sato": make_user(login="sato", name="佐藤 花子", password=PW, organisation=city),
    }


def sign_in(page, base, user):
    page.goto(f"{base}/login")
    page.fill("input[name=login]", user.login)
    page.fill("input[name=password]", PW)
    page.click("button.primary")
    page.wait_for_url(lambda url: "/login" not in url)


def test_a_homework_line_typed_on_one_server_is_seen_on_the_other_within_a_second(
    cluster, browser, browser_context_args, page, people, make_unit, make_meeting
):
    unit = make_unit(members={people["suzuki"]: "facilitator", people["sato"]: "member"})
    meeting = make_meeting(
        unit=unit, facilitator=people["suzuki"], attendees=[people["suzuki"], people["sato"]]
    )
    first, second = (server.url for server in cluster["servers"])
    page.set_viewport_size({"width": 1920, "height": 1080})
    sign_in(page, first, people["suzuki"])
    page.goto(f"{first}/meetings/{meeting.id}/present")
    expect(page.locator("#entry")).to_be_focused()
    other = browser.new_context(**browser_context_args)
    follower = other.new_page()
    try:
        sign_in(follower, second, people["sato"])
        follower.goto(f"{second}/meetings/{meeting.id}")
        page.keyboard.press("Alt+2")
        page.keyboard.type("@sato 帳票レイアウトを確認 12/5")
        page.keyboard.press("Enter")
        start = time.monotonic()
        expect(follower.locator("#sheet-2 .homework").filter(has_text="帳票レイアウトを確認").first
               ).to_be_visible(timeout=3000)  # fmt: skip
        assert time.monotonic() - start < 1.0
    finally:
        other.close()
