"""shortener.hosts against the parser it imitates: Chromium's own `new URL()`
reads every host of tests/test_hosts.py's tables as normalise_host does;
and Chromium following a loop an old installation may hold is stopped at
the first hop."""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from test_hosts import NOT_HOSTS, SPELLINGS

from conftest import BROWSER_UA, app_config
from servers import gunicorn
from shortener import links
from shortener.app import init_db
from shortener.db import connect
from shortener.hosts import normalise_host
from shortener.journal import replay_all

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


# the loops of the report, stored as an old installation may hold them
LOOPS = {
    "decimal integer": "http://2130706433:{port}/{code}",
    "hex integer": "http://0x7f000001:{port}/{code}",
    "shortened": "http://127.1:{port}/{code}",
    "octal": "http://0177.0.0.1:{port}/{code}",
    "LOCALHOST": "http://LOCALHOST:{port}/{code}",
    "IPv6 loopback": "http://[::1]:{port}/{code}",
    "IPv4-mapped IPv6": "http://[::ffff:127.0.0.1]:{port}/{code}",
}


def test_chromium_following_a_stored_loop_gets_the_unavailable_page_and_no_click(tmp_path):
    from playwright.sync_api import sync_playwright

    config = app_config(tmp_path)
    init_db(config["DATABASE"])
    db = connect(config["DATABASE"])
    try:
        with gunicorn(config) as base:
            port = urlsplit(base).port
            stored = {
                f"loop-{n}": template.format(port=port, code=f"loop-{n}")
                for n, template in enumerate(LOOPS.values())
            }
            stored["ring-a"] = f"http://localhost:{port}/ring-b"
            stored["ring-b"] = f"http://127.0.0.1:{port}/ring-a"
            for code, url in stored.items():
                fields = {"url": "https://shop.example.com/", "channel": "x", "campaign": "c"}
                links.create_link(db, {**fields, "code": code})
                # then changed behind the checks' back
                db.execute("UPDATE links SET url = ? WHERE code = ?", [url, code])
            db.conn.commit()
            with sync_playwright() as p:
                browser = p.chromium.launch(
                    executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
                )
                try:
                    page = browser.new_page(user_agent=BROWSER_UA)
                    for code in stored:
                        response = page.goto(f"{base}/{code}")
                        assert response.status == 410, (code, stored[code])
                        assert page.url == f"{base}/{code}"
                        assert "no longer available" in page.content()
                finally:
                    browser.close()
            replay_all(db)
            assert db.execute("SELECT count(*) FROM clicks").fetchone()[0] == 0
    finally:
        db.close()
