"""Browser tests: real Chromium (Debian's) through Playwright, against a live server.

The live server (tests/conftest.py) runs the test session's app in a thread, on the same
database, so data made by the builders (and committed) is what the browser sees.
"""

import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    exe = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    args = {**browser_type_launch_args}
    if exe:
        args["executable_path"] = exe
    args["args"] = [
        *args.get("args", []),
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--disable-sync",
    ]
    return args


@pytest.fixture
def context(context):
    """The test's browser context (its `page` too): a Content-Security-Policy violation on
    any of its pages fails the test, since a refused script or style breaks a page without
    an error anywhere else."""
    refused = []
    context.on(
        "console",
        lambda message: (
            refused.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    yield context
    assert refused == []


@pytest.fixture
def artifacts() -> Path:
    """Where screenshots for a person to look at are written (see README)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def browser_login(live_server):
    """Log `user` (made with password='pw-for-tests') in on a Playwright page."""

    def do(page, user, password="pw-for-tests"):
        page.goto(f"{live_server}/login")
        page.fill("input[name=login]", user.login)
        page.fill("input[name=password]", password)
        page.click("button.primary")
        page.wait_for_url(lambda url: "/login" not in url)
        return page

    return do


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # Our users' browsers ask for Japanese; Chromium's default would be en-US.
    return {**browser_context_args, "locale": "ja-JP", "timezone_id": "Asia/Tokyo"}
