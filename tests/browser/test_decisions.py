"""The decision register in real Chromium: undoing "superseded" from a row's button, which
submits the page's one shared form (the rows' HTML is kept by content, without a token)."""

from datetime import datetime

import pytest

from core.extensions import db
from minutes.models import Item
from reports import services

pytestmark = pytest.mark.browser


def test_undo_superseded_from_the_register(
    page, browser_login, live_server, make_user, make_unit, make_meeting, make_item, csrf_enabled
):
    facilitator = make_user(login="suzuki", password="pw-for-tests")
    unit = make_unit(members={facilitator: "facilitator"})
    old = make_item(
        make_meeting(unit=unit, starts_at=datetime(2026, 5, 1, 1)), "result", "手数料は300円"
    )
    new = make_item(
        make_meeting(unit=unit, starts_at=datetime(2026, 7, 1, 1)), "result", "手数料は無料"
    )
    services.mark_superseded(facilitator, old, new)
    db.session.commit()
    browser_login(page, facilitator)

    page.goto(f"{live_server}/decisions")
    row = page.locator(f"#decision-{old.id}")
    assert "superseded" in row.get_attribute("class")
    row.get_by_role("button", name="置き換えを取り消す").click()

    page.wait_for_url(f"**/decisions#decision-{old.id}")
    assert "再び有効" in page.locator(".flash, [role=status], main").first.inner_text()
    assert "superseded" not in page.locator(f"#decision-{old.id}").get_attribute("class")
    db.session.expire_all()
    assert db.session.get(Item, old.id).superseded_by_id is None
