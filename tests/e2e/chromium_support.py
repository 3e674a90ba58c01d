"""What every browser test needs: Debian's Chromium under Playwright, the
seeded marketer's account, and signing in through the real form."""

import os
import re
from contextlib import contextmanager
from pathlib import Path

import pytest

from shortener.clock import utcnow
from shortener.db import connect

CHROMIUM = os.environ.get("CLICKTRAIL_CHROMIUM", "/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium; .ci/run does)",
)
USER, PASSWORD = "marketer@example.com", "spring-is-coming-2026"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@contextmanager
def launched():
    """A headless Chromium, closed afterwards also when a test fails."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def add_marketer(database: str) -> None:
    from dashboard import accounts

    db = connect(database)
    try:
        accounts.create_user(db, USER, PASSWORD, utcnow())
    finally:
        db.close()


def sign_in(page, base: str, path: str = "/dashboard/") -> None:
    page.goto(base + path)
    page.fill("#username", USER)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/dashboard/(?!login).*"))
