"""Tickets in real Chromium: a pasted screenshot, the workflow, a parent closing by itself."""

import base64

import pytest

from attachments import files as attachments
from core.extensions import db
from demo.tickets import demo_png
from tickets import services
from tickets.models import Ticket

pytestmark = pytest.mark.browser


@pytest.fixture
def member_unit(make_user, make_unit):
    member = make_user(name="佐藤 花子", password="pw-for-tests")
    return member, make_unit(members={member: "member"})


def test_create_a_ticket_with_a_pasted_screenshot(
    page, live_server, browser_login, member_unit, artifacts
):
    member, unit = member_unit
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    browser_login(page, member)
    page.goto(f"{live_server}/projects/{unit.identifier}/issues/new")
    assert "どの画面・帳票・データが" in page.input_value("textarea[name=description]")
    page.fill("input[name=subject]", "住民票の写しで外字が崩れる")

    # The toolbar wraps the selection; the preview renders it through the server.
    description = page.locator("textarea[name=description]")
    description.fill("外字が崩れる")
    description.evaluate("ta => ta.setSelectionRange(0, 2)")
    page.click("[data-md=bold] >> nth=0")
    assert description.input_value() == "**外字**が崩れる"
    page.click("[data-md-tab=preview] >> nth=0")
    page.wait_for_selector(".md-preview strong")
    assert page.inner_text(".md-preview strong") == "外字"
    page.click("[data-md-tab=edit] >> nth=0")

    # A screen hard copy on the clipboard, pasted with Ctrl+V into the paste zone.
    png = base64.b64encode(demo_png()).decode()
    page.evaluate(
        """async (b64) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const blob = new Blob([bytes], {type: "image/png"});
            await navigator.clipboard.write([new ClipboardItem({"image/png": blob})]);
        }""",
        png,
    )
    page.click(".paste-zone")
    page.keyboard.press("Control+V")
    page.wait_for_selector(".attachment-list li img")
    assert "screenshot-" in page.inner_text(".attachment-list")
    page.screenshot(path=str(artifacts / "ticket-new-pasted-screenshot.png"), full_page=True)
    page.click("form.ticket-form button.primary")
    page.wait_for_url(f"{live_server}/issues/*")

    db.session.expire_all()
    ticket = db.session.scalar(
        db.select(Ticket).where(Ticket.subject == "住民票の写しで外字が崩れる")
    )
    [shot] = attachments.attachments_of(ticket)
    assert shot.filename.startswith("screenshot-") and shot.content_type == "image/png"
    stored = attachments.read_bytes(shot)  # the clipboard re-encodes the image
    assert stored[:8] == b"\x89PNG\r\n\x1a\n" and stored[16:24] == demo_png()[16:24]  # 160×90
    assert page.locator("#files a").inner_text() == shot.filename
    assert page.locator(".description strong").inner_text() == "外字"


def test_move_through_the_workflow_and_see_the_parent_close(
    page, live_server, browser_login, member_unit, make_ticket, status_named, artifacts
):
    member, unit = member_unit
    parent = make_ticket(unit, member, subject="転出証明書の様式変更")
    first = make_ticket(unit, member, subject="帳票レイアウトの変更", parent=parent)
    last = make_ticket(unit, member, subject="新様式の本番適用", parent=parent)
    services.update_ticket(member, first, {"status": status_named("完了")})
    services.update_ticket(member, last, {"status": status_named("対応中")})
    db.session.commit()

    browser_login(page, member)
    page.goto(f"{live_server}/issues/{parent.id}")
    assert page.inner_text(".done-count") == "2件中1件完了"

    page.goto(f"{live_server}/issues/{last.id}")
    page.click("details.edit summary")
    page.select_option("select[name=status_id]", label="確認依頼")
    page.fill("textarea[name=notes]", "本番に適用しました。確認をお願いします。")
    page.click("details.edit button.primary")
    page.wait_for_selector(".flash-success")
    assert "対応中 → 確認依頼" in page.inner_text("#history")
    assert "市" in page.inner_text(".ticket-status")  # the ball is now with the city

    page.click("details.edit summary")
    page.select_option("select[name=status_id]", label="完了")
    page.click("details.edit button.primary")
    page.wait_for_selector(".flash-success")

    page.click(".parent-link a")
    page.wait_for_url(f"{live_server}/issues/{parent.id}")
    assert page.inner_text(".ticket-status .status") == "完了"
    assert page.inner_text(".done-count") == "2件中2件完了"
    history = page.inner_text("#history")
    assert "システム" in history and "自動的に完了" in history
    page.screenshot(path=str(artifacts / "ticket-parent-closed.png"), full_page=True)
