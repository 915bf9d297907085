"""Sign-off in real Chromium: the facilitator freezes, three attendees confirm from three
browser contexts of their own while the projector shows the count rise, then the PDF downloads."""

import subprocess

import pytest
from playwright.sync_api import expect

from minutes import revisions

pytestmark = pytest.mark.browser

PW = "pw-for-tests"


@pytest.fixture
def meeting(ready_meeting):
    """Three attendees with accounts (鈴木 facilitates), no guests."""
    return ready_meeting(guests=(), password=PW)


def own_device(browser, browser_context_args, browser_login, user):
    context = browser.new_context(**browser_context_args, viewport={"width": 390, "height": 844})
    page = context.new_page()
    browser_login(page, user)
    return context, page


def test_three_attendees_confirm_while_the_projector_counts_then_the_pdf_downloads(
    page, browser, browser_context_args, live_server, browser_login, meeting, artifacts, tmp_path
):
    suzuki = meeting.facilitator
    browser_login(page, suzuki)
    page.goto(f"{live_server}/meetings/{meeting.id}")
    page.click("text=確認のために点検して凍結")
    page.click("button:has-text('第1版として凍結')")
    expect(page.locator("#confirmation")).to_contain_text("第1版の確認")
    page.screenshot(path=str(artifacts / "confirm-meeting-page.png"))

    projector = page  # the facilitator's laptop on the projector
    projector.set_viewport_size({"width": 1920, "height": 1080})
    projector.goto(f"{live_server}/meetings/{meeting.id}/present")
    count = projector.locator("#confirm-count")
    expect(count).to_have_text("0")
    expect(projector.locator("#confirm-required")).to_have_text("3")
    expect(projector.locator(".confirm-qr svg")).to_be_visible()
    projector.screenshot(path=str(artifacts / "confirm-projector-0.png"))

    attendees = [a.user for a in meeting.attendees]
    contexts = []
    try:
        for n, user in enumerate(attendees, start=1):
            context, phone = own_device(browser, browser_context_args, browser_login, user)
            contexts.append(context)
            phone.goto(f"{live_server}/meetings/{meeting.id}/confirm")  # where the QR code leads
            expect(phone.locator(".sheet-1")).to_contain_text("住民票の写しの交付方法を決める")
            phone.click("#confirm-button")
            expect(phone.locator("#answer-state")).to_contain_text("第1版を確認しました")
            if n == 1:
                phone.screenshot(path=str(artifacts / "confirm-phone.png"), full_page=True)
            expect(count).to_have_text(str(n), timeout=5000)  # live, without reloading
    finally:
        for context in contexts:
            context.close()
    expect(projector.locator(".confirmed-badge")).to_be_visible()
    projector.screenshot(path=str(artifacts / "confirm-projector-3.png"))

    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server}/meetings/{meeting.id}")
    with page.expect_download() as download:
        page.click("#minutes-pdf")
    path = tmp_path / "minutes.pdf"
    download.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True).stdout.decode()
    revision = revisions.latest_revision(meeting)
    assert revision.fingerprint in text.replace(" ", "").replace("\n", "")
    assert "案" not in text and "確認記録" in text
    for user in attendees:
        assert user.name in text
