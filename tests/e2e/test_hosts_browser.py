"""shortener.hosts against the parser it imitates: Chromium's own `new URL()`
reads every host of tests/test_hosts.py's tables as normalise_host does."""

import os
from pathlib import Path

import pytest
from test_hosts import NOT_HOSTS, SPELLINGS

from shortener.hosts import normalise_host

CHROMIUM = os.environ.get("CLICKTRAIL_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium; .ci/run does)",
)
PARSE = """hosts => hosts.map(h => {
    try { return new URL("http://" + h + ":8080/x").hostname } catch (e) { return null }
})"""


def browser_hosts(written: list[str]) -> list[str | None]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        try:
            return browser.new_page().evaluate(PARSE, written)
        finally:
            browser.close()


def test_chromium_reads_every_host_as_normalise_host_does():
    # a zone id's "%" is written "%25" in a URL
    written = [w for w, _ in SPELLINGS.values()] + [
        w.replace("%", "%25") for w in NOT_HOSTS.values()
    ]
    seen = dict(zip(written, browser_hosts(written), strict=True))
    for host, _ in SPELLINGS.values():
        assert seen[host] is not None, host
        assert seen[host].strip("[]").removesuffix(".") == normalise_host(host), host
    for host in NOT_HOSTS.values():
        assert seen[host.replace("%", "%25")] is None, host
