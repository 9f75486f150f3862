"""Browser tests: real Chromium (Debian's binary) driven by Playwright against Django's live server.

Every test that uses ``page`` fails on an uncaught JavaScript error or a console error;
a CSP violation is reported as a console error, so a stray inline script or style
breaks the build here rather than silently in production.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django's ORM refuses to
# run beside one unless told that the test owns the thread.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT_DIR = REPO_ROOT / ".run" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
DEFAULT_PASSWORD = "correct-horse-battery-staple"  # tests.accounts.factories.UserFactory's password


def pytest_collection_modifyitems(items):
    here = Path(__file__).parent
    for item in items:
        if Path(str(item.fspath)).is_relative_to(here):
            item.add_marker(pytest.mark.e2e)
            # The live server needs committed rows, so each test flushes every table
            # afterwards; the flush re-runs post_migrate, where every app puts its
            # reference rows back (role groups, harm categories), so later tests and the
            # next --reuse-db run find the database as migrations left it.
            item.add_marker(pytest.mark.django_db(transaction=True))


@pytest.fixture(scope="session")
def browser() -> Browser:
    executable = shutil.which("chromium")
    if not executable:
        pytest.fail("chromium is not installed: apt-get install -y chromium chromium-driver")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, live_server, request) -> Page:
    """A fresh browser context per test. Any page error or console error fails the test."""
    context = browser.new_context(base_url=live_server.url, locale="en-GB", timezone_id="Europe/Dublin")
    context.set_default_timeout(10_000)
    # Chromium asks for /favicon.ico on its own; the app ships no icon, and that request is
    # not something a page did, so it must not count as a page's console error.
    context.route("**/favicon.ico", lambda route: route.fulfill(status=204, body=""))
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(f"page error: {exc}"))
    page.on("console", lambda msg: _console_error(msg, problems))
    yield page
    failed = getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed
    if failed:
        _save_screenshot(page, f"FAILED-{request.node.name}")
    # Leave the page first: htmx polling must not reach the server while it is being torn down.
    page.goto("about:blank")
    context.close()
    if problems:
        pytest.fail("the browser reported errors:\n  " + "\n  ".join(problems), pytrace=False)


def _console_error(msg, problems: list[str]) -> None:
    if msg.type == "error":
        where = (msg.location or {}).get("url", "")
        problems.append(f"console error: {msg.text}" + (f" ({where})" if where else ""))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.rep_call = report
    return report


@pytest.fixture
def login(live_server):
    """login(page, username, password=...) — also accepts login(page, live_server, username, password=...).

    Signs in through the real form and waits until the browser has left the login page.
    """

    def do_login(page: Page, *args, password: str = DEFAULT_PASSWORD) -> Page:
        if args and hasattr(args[0], "url"):
            server, args = args[0], args[1:]
        else:
            server = live_server
        if len(args) != 1:
            raise TypeError("login(page, [live_server,] username, password=...)")
        (username,) = args
        page.goto(f"{server.url}/accounts/login/")
        page.get_by_label("Username").fill(username)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
        return page

    return do_login


def _save_screenshot(page: Page, name: str) -> Path:
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOT_DIR / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") + ".png")
    # Playwright hides the caret with an injected inline style, which the CSP refuses and
    # the page guard would then report; leave the caret as it is.
    page.screenshot(path=str(path), full_page=True, caret="initial")
    return path


def screenshot(page: Page, name: str) -> Path:
    """Save a full-page PNG under .run/screenshots/ (git-ignored) and return its path."""
    return _save_screenshot(page, name)


@pytest.fixture(name="screenshot")
def screenshot_fixture():
    return screenshot
