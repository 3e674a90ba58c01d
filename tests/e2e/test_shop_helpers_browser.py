"""ct.js's shop helpers in a real browser (Debian's Chromium, headless,
driven by Playwright) against clicktrail under gunicorn and the small shop
site: the click and visitor ids, a Shopify cart tagged with them, Stripe
Payment Links tagged with the click -- and the sales the shops then report
carry them back to the short link's channel.

Same-site: the shortener on go.shop.localhost, the shop on
www.shop.localhost, COOKIE_DOMAIN .shop.localhost (Chromium resolves every
*.localhost name to the loopback address). Cross-site: the shop on
shop.localhost, the shortener on 127.0.0.1.
"""

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from conftest import API_KEY, BROWSER_UA, app_config
from servers import gunicorn
from shop_payloads import (
    SHOPIFY_SECRET,
    STRIPE_SECRET,
    checkout_session,
    shopify_order,
    shopify_request,
    stripe_event,
    stripe_request,
)
from shortener.app import init_db
from shortener.db import connect

CHROMIUM = os.environ.get("CLICKTRAIL_CHROMIUM", "/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists(),
    reason=f"Chromium is not installed at {CHROMIUM} (apt-get install chromium; .ci/run does)",
)

from shopsite import shop  # noqa: E402

AUTH = {"Authorization": f"Bearer {API_KEY}"}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
IDS = (
    "async () => { await clicktrail.ready; return [clicktrail.clickId(), clicktrail.visitorId()]; }"
)


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def serve(tmp_path, **settings):
    config = app_config(tmp_path, DEFAULT_CURRENCY="EUR", STRIPE_WEBHOOK_SECRET=STRIPE_SECRET,
                        SHOPIFY_WEBHOOK_SECRET=SHOPIFY_SECRET, **settings)  # fmt: skip
    del config["BASE_URL"]  # short links use the host the browser asked for
    init_db(config["DATABASE"])
    return config, gunicorn(config)


def make_link(base: str, url: str) -> str:
    body = {"url": url, "channel": "instagram", "campaign": "spring"}
    created = requests.post(f"{base}/api/links", json=body, headers=AUTH, timeout=5)
    assert created.status_code == 201, created.text
    return created.json()["code"]


def stored_click(config, click_id):
    db = connect(config["DATABASE"])
    try:
        return db.execute("SELECT visitor_id FROM clicks WHERE click_id = ?", [click_id]).fetchone()
    finally:
        db.close()


def test_same_site_ids_tag_the_cart_and_payment_links_and_come_back_as_sales(chromium, tmp_path):
    config, server = serve(tmp_path, COOKIE_DOMAIN=".shop.localhost")
    posted = []
    with server as base:
        port = urlsplit(base).port
        go = f"http://go.shop.localhost:{port}"
        with shop(go, hostname="www.shop.localhost", posted=posted) as site:
            code = make_link(base, f"{site}/product.html")
            context = chromium.new_context(user_agent=BROWSER_UA)
            try:
                page = context.new_page()
                page.goto(f"{go}/{code}")
                page.wait_for_url(f"{site}/product.html?*")
                click, visitor = page.evaluate(IDS)
                # the ids clicktrail stored for this click
                assert click == parse_qs(urlsplit(page.url).query)["ct_click"][0]
                assert visitor and stored_click(config, click) == (visitor,)
                # the theme's line put both on the cart
                assert page.evaluate("() => window.cartTagged.then((r) => r.status)") == 200
                assert posted == [{"attributes": {"ct_click": click, "ct_vid": visitor}}]

                page.goto(f"{site}/pricing.html")  # a later page: the ids are remembered
                assert page.evaluate(IDS) == [click, visitor]
                monthly = page.get_attribute("#monthly", "href")
                assert parse_qs(urlsplit(monthly).query) == {
                    "prefilled_email": ["a@b.example"], "client_reference_id": [click]}  # fmt: skip
                yearly = page.get_attribute("#yearly", "href")
                assert (
                    yearly == f"https://buy.stripe.com/test_3cs8yB9Xw?client_reference_id={click}"
                )
                assert (
                    page.get_attribute("#docs", "href") == "https://docs.stripe.com/payment-links"
                )
                assert page.get_attribute("#button", "client-reference-id") == click
            finally:
                context.close()

        # Shopify's order carries the cart's attributes; Stripe's session the link's reference
        attributes = [{"name": k, "value": v} for k, v in posted[0]["attributes"].items()]
        raw, headers = shopify_request("orders/paid", shopify_order(
            order_id=7001, total_price="30.00", note_attributes=attributes,
            processed_at=None), "browser-order")  # fmt: skip
        assert requests.post(f"{base}/t/shopify", data=raw, headers=headers,
                             timeout=10).status_code == 201  # fmt: skip
        reference = parse_qs(urlsplit(yearly).query)["client_reference_id"][0]
        session = checkout_session(client_reference_id=reference, payment_intent="pi_browser")
        sale = stripe_event("checkout.session.completed", session, "evt_browser",
                            "2030-01-01T00:00:00Z")  # fmt: skip
        raw, headers = stripe_request(sale)
        assert requests.post(f"{base}/t/stripe", data=raw, headers=headers,
                             timeout=10).status_code == 201  # fmt: skip
        db = connect(config["DATABASE"])
        try:
            rows = db.execute("SELECT order_id, click_id, visitor_id, value_minor FROM conversions"
                              " ORDER BY id").fetchall()  # fmt: skip
        finally:
            db.close()
        assert rows == [("7001", click, visitor, 3000), ("pi_browser", click, visitor, 4990)]
        report = requests.get(f"{base}/api/reports/channels", headers=AUTH, timeout=10).json()
        [row] = [r for r in report["rows"] if r["conversions"]]
        assert (row["channel"], row["conversions"], row["revenue"]) == ("instagram", 2, "79.90")


def test_another_site_gets_the_click_but_never_asks_for_the_visitor(chromium, tmp_path):
    config, server = serve(tmp_path)
    posted = []
    with server as base, shop(base, posted=posted) as site:
        code = make_link(base, f"{site}/product.html")
        context = chromium.new_context(user_agent=BROWSER_UA)
        try:
            page = context.new_page()
            asked = []
            page.on("request", lambda r: asked.append(r.url) if "/t/visitor" in r.url else None)
            page.goto(f"{base}/{code}")
            page.wait_for_url(f"{site}/product.html?*")
            click, visitor = page.evaluate(IDS)
            assert stored_click(config, click) is not None
            assert (visitor, asked) == (None, [])
            assert page.evaluate("() => window.cartTagged.then((r) => r.status)") == 200
            assert posted == [{"attributes": {"ct_click": click}}]
            # a page without a click to keep leaves the cart alone
            fresh = chromium.new_context(user_agent=BROWSER_UA)
            try:
                other = fresh.new_page()
                other.goto(f"{site}/product.html")
                assert other.evaluate("() => window.cartTagged") is None
                assert other.evaluate(IDS) == [None, None]
                other.goto(f"{site}/pricing.html")
                assert (
                    other.get_attribute("#yearly", "href")
                    == "https://buy.stripe.com/test_3cs8yB9Xw"
                )
            finally:
                fresh.close()
            assert len(posted) == 1
        finally:
            context.close()
