"""Fixtures of the browser tests: headless Chromium against the live server."""

import pytest
from django.db import connections
from playwright.sync_api import sync_playwright

from pages.tests.browser import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, PHONE_SCREEN


@pytest.fixture
def browser(live_server, monkeypatch):
    """Debian's Chromium, headless (playwright's own browser download is not used)."""
    # Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
    # plain synchronous code between browser steps.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            # The test's ORM calls made while playwright's loop runs have their own connection
            # (Django keys connections by context): close it here, or the test database cannot
            # be dropped at the end of the run.
            connections.close_all()
            chromium.close()


@pytest.fixture
def page(browser, live_server):
    """A phone-sized Korean tab on the live server; the test fails on anything the
    Content-Security-Policy blocked (Chromium reports it on the console)."""
    context = browser.new_context(
        base_url=live_server.url, locale="ko-KR", timezone_id="Asia/Seoul", viewport=PHONE_SCREEN
    )
    context.set_default_timeout(10_000)
    tab = context.new_page()
    violations = []
    tab.on("console", lambda message: "Content Security Policy" in message.text and violations.append(message.text))
    try:
        yield tab
        assert violations == [], "blocked by the Content-Security-Policy"
    finally:
        context.close()
