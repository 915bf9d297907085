"""The manager's dashboard in real Chromium: numbers, the chart, and the list behind a count."""

from datetime import datetime, time, timedelta

import pytest

from core.timeutil import local_today

pytestmark = pytest.mark.browser


@pytest.fixture
def manager_world(make_user, make_org, make_project, make_meeting, make_homework):
    manager = make_user(login="okada", name="岡田 寿史", password="pw-for-tests")
    vendor = make_user(
        name="山本 翔", organisation=make_org(name="上州システムサービス", kind="vendor")
    )
    project = make_project(
        name="前橋市 令和8年度",
        units=("住民記録", "個人住民税"),
        members={manager: "manager", vendor: "member"},
    )
    today = local_today()
    met = {
        unit.id: make_meeting(
            unit=unit,
            title=f"{unit.name} 定例会",
            starts_at=datetime.combine(today, time(1)) - timedelta(days=30),
        )
        for unit in project.units
    }
    make_homework(
        project.units[0],
        meeting=met[project.units[0].id],
        who=vendor,
        due_date=today - timedelta(days=12),
        what="外字が「〓」で印字される原因を報告する",
    )
    make_homework(
        project.units[1],
        meeting=met[project.units[1].id],
        who=vendor,
        due_date=today - timedelta(days=3),
        what="特別徴収税額通知の送付先を確認する",
    )
    make_homework(
        project.units[1],
        meeting=met[project.units[1].id],
        who="高崎市 田中",
        due_date=today + timedelta(days=20),
        what="来月の作業計画を共有する",
    )
    return manager


def test_manager_follows_the_overdue_count_to_its_list(
    page, live_server, browser_login, manager_world, artifacts
):
    browser_login(page, manager_world)
    page.goto(f"{live_server}/dashboard")

    overdue = page.locator("a.number[data-state=overdue]")
    assert overdue.locator(".value").inner_text() == "2"
    assert page.locator("svg.chart polyline.open").count() == 1
    assert "週ごとの未完了・完了の宿題" in page.locator(".chart-card h2").inner_text()
    page.screenshot(path=str(artifacts / "dashboard.png"), full_page=True)

    overdue.click()
    page.wait_for_url("**/dashboard/homework?state=overdue")

    assert page.locator("h1").inner_text().startswith("期限超過の宿題")
    rows = page.locator("table.homework-list tbody tr")
    assert rows.count() == 2
    assert "外字が「〓」で印字される原因を報告する" in rows.nth(0).inner_text()
    assert "12日超過" in rows.nth(0).inner_text()
    assert "来月の作業計画" not in page.content()
    page.screenshot(path=str(artifacts / "dashboard-overdue.png"), full_page=True)


def test_the_dashboard_prints_without_the_filters(
    page, live_server, browser_login, manager_world, artifacts
):
    browser_login(page, manager_world)
    page.goto(f"{live_server}/dashboard")
    page.emulate_media(media="print")

    assert not page.locator("form.filters").is_visible()
    assert page.locator("svg.chart").is_visible()
    page.pdf(path=str(artifacts / "dashboard.pdf"), format="A4")
    assert (artifacts / "dashboard.pdf").stat().st_size > 10_000
