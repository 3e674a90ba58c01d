"""Stripe and Shopify webhooks under a real gunicorn: a visitor follows a
short link, then the shops report the sale, a retry and a refund over HTTP."""

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from conftest import BROWSER_UA, app_config
from servers import gunicorn
from shop_payloads import (
    SHOPIFY_SECRET,
    STRIPE_SECRET,
    checkout_session,
    refund,
    shopify_order,
    shopify_request,
    stripe_event,
    stripe_request,
)
from shortener.app import init_db
from shortener.db import connect


@pytest.fixture
def server(tmp_path):
    config = app_config(
        tmp_path,
        BASE_URL="http://127.0.0.1",
        DEFAULT_CURRENCY="EUR",
        STRIPE_WEBHOOK_SECRET=[STRIPE_SECRET],
        SHOPIFY_WEBHOOK_SECRET=SHOPIFY_SECRET,
    )
    init_db(config["DATABASE"])
    with gunicorn(config) as base:
        yield base, config


def test_shop_sales_and_a_refund_over_http(server):
    base, config = server
    auth = {"Authorization": f"Bearer {config['ADMIN_API_KEY']}"}
    created = requests.post(f"{base}/api/links", headers=auth, timeout=5,
                            json={"url": "https://shop.example.com/", "channel": "twitter",
                                  "campaign": "spring"})  # fmt: skip
    assert created.status_code == 201
    visitor = requests.Session()
    visitor.headers["User-Agent"] = BROWSER_UA
    hop = visitor.get(f"{base}/{created.json()['code']}", allow_redirects=False, timeout=5)
    click = parse_qs(urlsplit(hop.headers["Location"]).query)["ct_click"][0]
    # whole seconds, rounded up: the sale is not before the click (clicktrail
    # takes the moment Stripe gives, never later than its own clock)
    now = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    today = now.date().isoformat()
    moment = now.isoformat().replace("+00:00", "Z")

    # Stripe: a Payment Link tagged by ct.js (client_reference_id), then Stripe's retry
    sale = stripe_event("checkout.session.completed",
                        checkout_session(client_reference_id=click, payment_intent="pi_e2e",
                                         created=moment), "evt_e2e", moment)  # fmt: skip
    raw, headers = stripe_request(sale)
    first = requests.post(f"{base}/t/stripe", data=raw, headers=headers, timeout=10)
    assert first.status_code == 201, first.text
    assert first.json()["detail"] == "purchase 49.90 EUR, order pi_e2e, credited to twitter/spring"
    retry = requests.post(f"{base}/t/stripe", data=raw, headers=headers, timeout=10)
    assert (retry.status_code, retry.json()["outcome"]) == (200, "duplicate")

    # Shopify: an order whose cart ct.js tagged
    order = shopify_order(order_id=4001, total_price="30.00", processed_at=moment,
                          note_attributes=[{"name": "ct_click", "value": click}])  # fmt: skip
    raw, headers = shopify_request("orders/paid", order, "e2e-order-4001")
    shop = requests.post(f"{base}/t/shopify", data=raw, headers=headers, timeout=10)
    assert shop.status_code == 201, shop.text

    # refused: a wrong key, a body that is not JSON -- nothing stored
    raw, headers = shopify_request("orders/paid", shopify_order(order_id=4002), "x", "wrong")
    refused = requests.post(f"{base}/t/shopify", data=raw, headers=headers, timeout=10)
    assert refused.status_code == 401 and "error" in refused.json()
    raw, headers = stripe_request(None, body=b"{not json")
    broken = requests.post(f"{base}/t/stripe", data=raw, headers=headers, timeout=10)
    assert (broken.status_code, broken.json()) == (400, {"error": "body is not valid JSON"})

    # a partial refund of the Stripe sale
    part = stripe_event("refund.created", refund(amount=990, payment_intent="pi_e2e",
                                                 created=moment), "evt_e2e_re", moment)  # fmt: skip
    raw, headers = stripe_request(part)
    refunded = requests.post(f"{base}/t/stripe", data=raw, headers=headers, timeout=10)
    assert refunded.json()["detail"].endswith("9.90 of 49.90 refunded")

    # 49.90 + 30.00, both on the visitor's only touch
    report = requests.get(f"{base}/api/reports/channels", headers=auth, timeout=10,
                          params={"from": today, "to": today}).json()  # fmt: skip
    [row] = [r for r in report["rows"] if r["conversions"]]
    assert (row["channel"], row["currency"], row["conversions"], row["revenue"]) == (
        "twitter", "EUR", 2, "79.90")  # fmt: skip
    db = connect(config["DATABASE"])
    try:
        rows = db.execute(
            "SELECT order_id, value_minor, verified, webhook_id FROM conversions ORDER BY id"
        ).fetchall()
        assert rows == [("pi_e2e", 4990, 1, "stripe:evt_e2e"),
                        ("4001", 3000, 1, "shopify:e2e-order-4001")]  # fmt: skip
        events = db.execute("SELECT shop, outcome FROM shop_events ORDER BY id").fetchall()
        assert events == [("stripe", "purchase"), ("stripe", "duplicate"),
                          ("shopify", "purchase"), ("stripe", "refund")]  # fmt: skip
    finally:
        db.close()
