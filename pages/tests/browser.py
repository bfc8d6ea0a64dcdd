"""What the browser tests share: Debian's Chromium and how it is started, the screen sizes, where
screenshots go. The fixtures that use them (`browser`, `page`) are in pages/tests/conftest.py."""

from pathlib import Path

from django.conf import settings
from playwright.sync_api import Page

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
ARTIFACTS = Path(settings.BASE_DIR) / "artifacts"
PHONE_SCREEN = {"width": 390, "height": 844}
DESKTOP_SCREEN = {"width": 1280, "height": 800}


def assert_fits_the_phone(page: Page) -> None:
    """Nothing sticks out sideways on a phone-sized screen (wide parts scroll inside themselves)."""
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE_SCREEN["width"]
