"""The projector view in real Chromium: a meeting run by keyboard only, followed live by
another user's page; screenshots for a person to look at; the room-size type; nothing lost
when the login expires mid-meeting."""

import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from core.timeutil import utcnow
from minutes import items

pytestmark = pytest.mark.browser

PW = "pw-for-tests"


@pytest.fixture
def people(make_user, make_org):
    city = make_org(name="前橋市")
    return {
        "suzuki": make_user(login="suzuki", name="鈴木 一郎", password=PW, organisation=city),
        "sato": make_user(login="sato", name="佐藤 花子", password=PW, organisation=city),
    }


@pytest.fixture
def meeting(make_meeting, make_unit, people):
    unit = make_unit(members={people["suzuki"]: "facilitator", people["sato"]: "member"})
    return make_meeting(
        unit=unit,
        title="住民記録 定例会",
        starts_at=utcnow() - timedelta(minutes=5),
        facilitator=people["suzuki"],
        attendees=[people["suzuki"], people["sato"], ("山本 翔", "上州システムサービス")],
    )


@pytest.fixture
def follower(browser, browser_context_args, live_server, browser_login, people, meeting):
    """A second user's own meeting page, in a browser context of its own."""
    context = browser.new_context(**browser_context_args)
    page = context.new_page()
    browser_login(page, people["sato"])
    page.goto(f"{live_server}/meetings/{meeting.id}")
    yield page
    context.close()


def open_projector(page, live_server, browser_login, user, meeting):
    page.set_viewport_size({"width": 1920, "height": 1080})
    browser_login(page, user)
    page.goto(f"{live_server}/meetings/{meeting.id}/present")
    expect(page.locator("#entry")).to_be_focused()
    return page


def enter(page, text, shift=False):
    page.keyboard.type(text)
    page.keyboard.press("Shift+Enter" if shift else "Enter")


def seen(follower, selector, text, delays):
    """Wait for `text` in `selector` on the follower's page; record how long it took."""
    start = time.monotonic()
    expect(follower.locator(selector).filter(has_text=text).first).to_be_visible(timeout=3000)
    delays.append(time.monotonic() - start)


def test_run_a_meeting_by_keyboard_while_another_user_follows(
    page, live_server, browser_login, people, meeting, follower, artifacts
):
    open_projector(page, live_server, browser_login, people["suzuki"], meeting)
    delays = []

    enter(page, "転出証明書の様式を決める")  # no goal yet: the line adds a goal
    seen(follower, "#sheet-1 .goal", "転出証明書の様式を決める", delays)
    expect(page.locator("#entry")).to_be_focused()
    expect(page.locator("#entry")).to_have_value("")

    enter(page, "様式Bで合意")  # then a result under goal 1
    seen(follower, "#sheet-1 .goal .result", "様式Bで合意", delays)

    page.keyboard.press("Alt+2")
    page.keyboard.type("@suz")
    expect(page.locator("#complete li.active")).to_contain_text("鈴木 一郎")
    page.keyboard.press("Tab")
    expect(page.locator("#entry")).to_have_value("@suzuki ")
    enter(page, "仕様を確認 12/5")
    seen(follower, "#sheet-2 .homework", "仕様を確認", delays)
    enter(page, "@sato 帳票レイアウトを確認 来週金曜")
    seen(follower, "#sheet-2 .homework", "帳票レイアウトを確認", delays)
    enter(page, "@山本 見積を提出 next fri")
    seen(follower, "#sheet-2 .homework", "見積を提出", delays)
    expect(page.locator("#psheet-2 .phw")).to_have_count(3)

    page.keyboard.press("Alt+3")
    enter(page, "マイナンバー連携の検討", shift=True)  # Shift+Enter on sheet ③: a preview
    seen(follower, "#sheet-3 .preview", "マイナンバー連携の検討", delays)

    page.keyboard.press("Escape")  # choose items: the last one (the preview) is selected
    expect(page.locator(".pitem.selected")).to_contain_text("マイナンバー連携の検討")
    page.keyboard.press("m")
    page.keyboard.press("r")  # move to a result (under the current goal)
    seen(follower, "#sheet-1 .goal .result", "マイナンバー連携の検討", delays)
    expect(follower.locator("#sheet-3 .preview")).to_have_count(0)

    sheets = items.sheets(meeting)
    assert [r.text for r in sheets["results"]] == ["様式Bで合意", "マイナンバー連携の検討"]
    assert {h.ticket.who for h in sheets["homework"]} == {"鈴木 一郎", "佐藤 花子", "山本 翔"}
    # Every change reached the other user's page without a reload, well within a second.
    assert max(delays) < 1.5, delays

    page.keyboard.press("1")
    page.screenshot(path=str(artifacts / "present-1920x1080-sheet1.png"))
    page.keyboard.press("2")
    page.screenshot(path=str(artifacts / "present-1920x1080-sheet2.png"))
    follower.screenshot(path=str(artifacts / "meeting-page-follower.png"), full_page=True)


def test_edit_reorder_and_delete_by_keyboard(
    page, live_server, browser_login, people, meeting, make_item
):
    make_item(meeting, "goal", "一つ目の目標")
    make_item(meeting, "goal", "二つ目の目標")
    open_projector(page, live_server, browser_login, people["suzuki"], meeting)
    page.keyboard.press("Escape")
    expect(page.locator(".pitem.selected")).to_contain_text("二つ目の目標")
    page.keyboard.press("e")
    page.keyboard.press("End")
    page.keyboard.type("（修正）")
    page.keyboard.press("Enter")
    expect(page.locator(".pgoal").nth(1)).to_contain_text("二つ目の目標（修正）")
    page.keyboard.press("Shift+ArrowUp")
    expect(page.locator(".pgoal").first).to_contain_text("二つ目の目標（修正）")
    page.keyboard.press("x")
    page.keyboard.press("y")
    expect(page.locator(".pgoal")).to_have_count(1)
    assert [g.text for g, _ in items.sheets(meeting)["goals"]] == ["一つ目の目標"]


def test_room_size_type_and_no_sideways_scrolling(
    page, live_server, browser_login, people, meeting, make_item, artifacts
):
    goal = make_item(meeting, "goal", "住民票の写し等の交付に係る帳票の様式変更について合意する")
    make_item(meeting, "result", "様式案Bで合意。帳票IDは JK-0012 とする。" * 3, parent=goal)
    for who, what in (
        ("鈴木", "仕様書の改訂版を作成して共有"),
        ("山本（上州）", "改修の見積を提出"),
    ):
        make_item(meeting, "homework", who=who, what=what)
    open_projector(page, live_server, browser_login, people["suzuki"], meeting)
    size = page.evaluate(
        "parseFloat(getComputedStyle(document.querySelector('.presult')).fontSize)"
    )
    assert size >= 28
    page.screenshot(path=str(artifacts / "present-1920x1080.png"))
    page.set_viewport_size({"width": 1280, "height": 720})
    for sheet in ("1", "2", "3"):
        page.keyboard.press(f"Alt+{sheet}")  # from the entry line
        expect(page.locator(f"#psheet-{sheet}")).to_be_visible()
        width = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], (sheet, width)
    page.keyboard.press("Alt+1")
    page.screenshot(path=str(artifacts / "present-1280x720.png"))
    page.keyboard.press("Alt+2")
    page.screenshot(path=str(artifacts / "present-1280x720-sheet2.png"))
    expect(page.locator("#entry")).to_have_value("")


def test_text_typed_when_the_login_expired_is_saved_after_logging_in_again(
    page, live_server, browser_login, people, meeting
):
    open_projector(page, live_server, browser_login, people["suzuki"], meeting)
    page.context.clear_cookies()  # the session expires mid-meeting
    enter(page, "ログイン切れでも消えない目標")
    page.wait_for_url("**/login**")
    page.fill("input[name=login]", "suzuki")
    page.fill("input[name=password]", PW)
    page.click("button.primary")
    page.wait_for_url(f"**/meetings/{meeting.id}/present")
    expect(page.locator(".pgoal")).to_contain_text("ログイン切れでも消えない目標")
    assert [g.text for g, _ in items.sheets(meeting)["goals"]] == ["ログイン切れでも消えない目標"]


def test_a_second_projector_view_follows_without_reload(
    page, live_server, browser_login, people, meeting, follower, make_item
):
    follower.goto(f"{live_server}/meetings/{meeting.id}/present")  # another user's projector
    follower.keyboard.press("3")
    open_projector(page, live_server, browser_login, people["suzuki"], meeting)
    page.keyboard.press("Alt+3")
    enter(page, "第二画面にも出るさきどり", shift=True)
    expect(follower.locator("#psheet-3 .ppreview")).to_contain_text(
        "第二画面にも出るさきどり", timeout=3000
    )
    assert follower.locator("#entry").count() == 0  # a member follows; only editors type
