"""Goals, API keys and the install page."""

import re

from conftest import AUTH, WEBHOOK_SECRET, browser
from dashboard_support import signed_in
from shortener.auth import key_digest
from shortener.db import connect


def test_goals_are_added_and_changed_with_exact_money(app):
    client, token = signed_in(app)
    response = client.post(
        "/dashboard/goals",
        data={"csrf_token": token, "name": "webinar", "value": "40.10", "currency": "eur",
              "description": "Webinar seat"},
    )  # fmt: skip
    assert response.status_code == 303
    api = {g["name"]: g for g in client.get("/api/goals", headers=AUTH).get_json()["goals"]}
    assert api["webinar"] == {
        "name": "webinar", "value": "40.10", "currency": "EUR", "description": "Webinar seat",
    }  # fmt: skip
    page = client.get("/dashboard/goals").get_data(as_text=True)
    assert 'data-col="value">40.10 EUR</td>' in page
    # the value box takes what the table shows: 1,250.00
    client.post("/dashboard/goals", data={"csrf_token": token, "name": "webinar",
                                          "value": "1,250.00", "currency": "EUR"})  # fmt: skip
    page = client.get("/dashboard/goals").get_data(as_text=True)
    assert 'data-col="value">1,250.00 EUR</td>' in page


def test_a_bad_goal_is_refused_and_nothing_changes(app):
    client, token = signed_in(app)
    for form, message in [
        ({"name": "Bad Name", "value": "1"}, "goal names are lower-case"),
        ({"name": "lead", "value": "1.234", "currency": "USD"}, "more decimal places than USD"),
        ({"name": "lead", "value": "-5"}, "from 0 to 10^12"),
        ({"name": "lead", "value": "1", "currency": "dollars"}, "three-letter ISO 4217"),
    ]:
        response = client.post("/dashboard/goals", data={"csrf_token": token, **form})
        assert response.status_code == 400
        assert message in response.get_data(as_text=True)
    db = connect(app.config["DATABASE"])
    try:
        lead = next(db.query("SELECT value_minor, currency FROM goals WHERE name = 'lead'"))
    finally:
        db.close()
    assert lead == {"value_minor": 0, "currency": None}


def test_an_api_key_is_shown_once_stored_hashed_and_revocable(app):
    client, token = signed_in(app)
    response = client.post("/dashboard/keys", data={"csrf_token": token, "name": "Zapier"})
    assert response.status_code == 201
    key = re.search(r'id="new-key-value" value="([^"]+)"', response.get_data(as_text=True))[1]
    assert key.startswith("ctk_") and len(key) > 40
    db = connect(app.config["DATABASE"])
    try:
        row = next(db.query("SELECT * FROM api_keys"))
    finally:
        db.close()
    assert row["key_hash"] == key_digest(key)
    assert key not in str(row.values())
    assert row["name"] == "Zapier" and key.startswith(row["prefix"])
    # the list never shows it again
    assert key not in client.get("/dashboard/keys").get_data(as_text=True)
    api = browser(app)
    bearer = {"Authorization": f"Bearer {key}"}
    assert api.get("/api/links", headers=bearer).status_code == 200
    assert api.get("/api/links", headers={"Authorization": f"Bearer {key}x"}).status_code == 401
    # the admin key works alongside
    assert api.get("/api/links", headers=AUTH).status_code == 200
    revoked = client.post(f"/dashboard/keys/{row['id']}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    assert api.get("/api/links", headers=bearer).status_code == 401
    assert client.post("/dashboard/keys/999/revoke", data={"csrf_token": token}).status_code == 404


def test_a_key_needs_a_name(app):
    client, token = signed_in(app)
    response = client.post("/dashboard/keys", data={"csrf_token": token, "name": "  "})
    assert response.status_code == 400
    assert "give the key a name" in response.get_data(as_text=True)


def test_keys_work_without_an_admin_key(app):
    app.config["ADMIN_API_KEY"] = None
    client, token = signed_in(app)
    page = client.post("/dashboard/keys", data={"csrf_token": token, "name": "only"})
    key = re.search(r'id="new-key-value" value="([^"]+)"', page.get_data(as_text=True))[1]
    api = browser(app)
    assert api.get("/api/links", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert api.get("/api/links", headers={"Authorization": "Bearer "}).status_code == 401


def test_the_install_page_fills_in_this_installation(app):
    client, _ = signed_in(app)
    page = client.get("/dashboard/install").get_data(as_text=True)
    assert "&lt;script src=&#34;http://go.example.test/t/ct.js&#34;&gt;&lt;/script&gt;" in page
    assert "http://go.example.test/t/pixel.gif?goal=purchase&amp;amp;value=49.90" in page
    assert f"SECRET = &#34;{WEBHOOK_SECRET}&#34;" in page
    assert "No clicks yet." in page and "No conversions yet." in page


def test_the_install_page_shows_the_last_hits(app, client):
    from conftest import make_link, post_webhook

    link = make_link(client, code="hits")
    hop = client.get("/hits")
    click_id = hop.headers["Location"].rsplit("ct_click=", 1)[1]
    client.get("/t/visit.gif?url=https%3A%2F%2Fshop.example.com%2Fpricing")
    assert post_webhook(client, {"goal": "signup", "click_id": click_id}).status_code == 201
    dashboard, _ = signed_in(app)
    page = dashboard.get("/dashboard/install").get_data(as_text=True)
    hits = page[page.index('id="hits-clicks"') :]
    assert f"{link['code']} · twitter" in hits
    assert "https://shop.example.com/pricing" in hits
    # a signup carries no value: not "0.00 USD"
    assert "signup — <span" in hits and '<span class="badge good">webhook</span>' in hits


def test_the_install_page_without_a_webhook_secret(app):
    app.config["WEBHOOK_SECRETS"] = []
    client, _ = signed_in(app)
    page = client.get("/dashboard/install").get_data(as_text=True)
    assert "No <code>WEBHOOK_SECRET</code> is configured" in page


def test_the_install_page_sets_up_stripe_and_shopify(app):
    client, _ = signed_in(app)
    page = client.get("/dashboard/install").get_data(as_text=True)
    stripe = page[page.index('id="shop-stripe"') : page.index('id="shop-shopify"')]
    shopify = page[page.index('id="shop-shopify"') : page.index('id="test-title"')]
    assert '<code class="endpoint" id="stripe-url">http://go.example.test/t/stripe</code>' in stripe
    for event in ("checkout.session.completed", "invoice.paid", "charge.refunded",
                  "invoice_payment.paid"):  # fmt: skip
        assert f"<code>{event}</code>" in stripe
    assert "No <code>STRIPE_WEBHOOK_SECRET</code> is configured" in stripe
    assert "clicktrail.stripeLinks();" in stripe
    assert (
        '<code class="endpoint" id="shopify-url">http://go.example.test/t/shopify</code>' in shopify
    )
    assert "<code>Order payment (orders/paid)</code>" in shopify
    assert "<code>Refund create (refunds/create)</code>" in shopify
    assert "No <code>SHOPIFY_WEBHOOK_SECRET</code> is configured" in shopify
    assert "clicktrail.shopifyCart();" in shopify
    assert page.count("Nothing received yet.") == 2


def test_the_install_page_lists_the_last_shop_events_with_their_outcome(app, client):
    from shop_payloads import (
        SHOPIFY_SECRET,
        STRIPE_SECRET,
        checkout_session,
        post_shopify,
        post_stripe,
        shopify_order,
        stripe_event,
    )

    app.config["STRIPE_WEBHOOK_SECRETS"] = [STRIPE_SECRET]
    app.config["SHOPIFY_WEBHOOK_SECRETS"] = [SHOPIFY_SECRET]
    sale = stripe_event("checkout.session.completed", checkout_session(currency="usd"), "evt_1",
                        "2025-03-10T12:00:00Z")  # fmt: skip
    assert post_stripe(client, sale).status_code == 201
    assert post_stripe(client, sale).status_code == 200
    other = stripe_event("customer.created", {"id": "cus_1"}, "evt_2", "2025-03-10T12:00:00Z")
    assert post_stripe(client, other).status_code == 200
    order = shopify_order(currency="USD", test=True)
    assert post_shopify(client, "orders/paid", order, "wh-1").status_code == 200
    dashboard, _ = signed_in(app)
    page = dashboard.get("/dashboard/install").get_data(as_text=True)
    assert "is configured" not in page[page.index('id="shop-stripe"') :]
    stripe = page[page.index('id="stripe-events"') : page.index('id="shop-shopify"')]
    event = r'<td class="mono small"[^>]*>([^<]+)</td>\s*<td[^>]*><span class="badge[^"]*">(\w+)<'
    rows = re.findall(event, stripe)
    # newest first
    assert rows == [("customer.created", "ignored"), ("checkout.session.completed", "duplicate"),
                    ("checkout.session.completed", "purchase")]  # fmt: skip
    assert "purchase 49.90 USD, order pi_3PqR5sT6uV7wX8yZ, credited to (direct)" in stripe
    shopify = page[page.index('id="shopify-events"') : page.index('id="test-title"')]
    assert "test order, not stored: purchase 49.90 USD, order 5512345678901, no click" in shopify


def test_the_shop_event_log_keeps_the_last_hundred_per_shop(app):
    from conversions import shops
    from shortener.clock import parse_moment
    from shortener.db import get_db

    now = parse_moment("2025-03-10T12:00:00Z")
    with app.test_request_context():
        db = get_db()
        for n in range(105):
            shops.log_event(db, "stripe", f"evt_{n}", "customer.updated",
                            shops.Outcome("ignored", f"event {n}"), now)  # fmt: skip
        shops.log_event(db, "shopify", "w1", "orders/paid", shops.Outcome("test", "t"), now)
        kept = [r["event_id"] for r in db.query("SELECT event_id FROM shop_events WHERE shop = ?"
                                                " ORDER BY id", ["stripe"])]  # fmt: skip
        assert kept == [f"evt_{n}" for n in range(5, 105)]
        assert [e["event_id"] for e in shops.recent_events(db, "stripe", 3)] == [
            "evt_104", "evt_103", "evt_102"]  # fmt: skip
        assert len(shops.recent_events(db, "shopify")) == 1
