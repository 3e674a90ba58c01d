"""A password-protected link in Chromium: the marketer sets the password on
the dashboard's link form, a visitor types a wrong one and then the right
one into the page served by a real gunicorn, and lands on the shop with
the campaign's tags, one click stored."""

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from chromium_support import add_marketer, launched, needs_chromium, sign_in
from conftest import BROWSER_UA, app_config
from servers import gunicorn
from shopsite import shop
from shortener.app import init_db
from shortener.db import connect
from shortener.journal import replay_all

pytestmark = needs_chromium
PASSWORD = "spring-secret-99"


@pytest.fixture
def server(tmp_path):
    config = app_config(tmp_path)
    del config["BASE_URL"]  # short links use the address gunicorn really serves
    init_db(config["DATABASE"])
    add_marketer(config["DATABASE"])
    with gunicorn(config) as base:
        yield base, config


def test_a_visitor_types_the_password_and_lands_on_the_destination(server):
    base, config = server
    with shop(base) as site, launched() as chromium:
        marketer = chromium.new_context()
        page = marketer.new_page()
        sign_in(page, base)
        page.goto(base + "/dashboard/links/new")
        page.fill("#url", f"{site}/landing.html")
        page.fill("#channel", "newsletter")
        page.fill("#campaign", "spring-sale")
        page.fill("#code", "members")
        page.fill("#password", PASSWORD)
        page.click("text=Create link")
        page.wait_for_url(re.compile(r".*/dashboard/links/members$"))
        assert "asks visitors for a password" in page.inner_text("#protected-note")
        page.goto(base + "/dashboard/links")
        assert page.locator("tr[data-code=members] .protected-badge").count() == 1
        marketer.close()

        visitor = chromium.new_context(user_agent=BROWSER_UA)
        tab = visitor.new_page()
        first = tab.goto(f"{base}/members")
        assert first.status == 200 and tab.title() == "Protected link"
        assert site not in tab.content() and visitor.cookies() == []

        tab.fill("#password", "not the password")
        with tab.expect_navigation():
            tab.click("button[type=submit]")
        assert "Wrong password" in tab.inner_text("[role=alert]")
        assert visitor.cookies() == []

        tab.fill("#password", PASSWORD)
        with tab.expect_navigation(url=re.compile(re.escape(site) + r"/landing\.html\?.*")):
            tab.click("button[type=submit]")
        assert tab.inner_text("h1") == "Spring sale"
        landed = urlsplit(tab.url)
        query = parse_qs(landed.query)
        assert query["utm_source"] == ["newsletter"] and query["utm_campaign"] == ["spring-sale"]
        assert [c["name"] for c in visitor.cookies() if c["name"] == "ct_vid"] == ["ct_vid"]
        visitor.close()

    db = connect(config["DATABASE"])
    try:
        replay_all(db)
        rows = db.execute("SELECT click_id FROM clicks").fetchall()
        assert [r[0] for r in rows] == query["ct_click"]
        assert db.execute("SELECT sum(count) FROM wrong_passwords").fetchone()[0] == 1
    finally:
        db.close()
