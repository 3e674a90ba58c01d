"""POST /t/shopify: Shopify's own webhooks as verified conversions.

The store is shop_store's (links L1 twitter/spring and L2 linkedin/spring;
clicks ada L1 03-01 (A1), ada L2 03-05 (A2), bo L2 03-08 (B), 2025). Order
and refund bodies come from shop_payloads (shaped as Shopify's Admin REST
reference gives them) and are signed there with hmac, as Shopify signs them.
"""

import json

import pytest

from shop_payloads import (
    SHOPIFY_OLD_SECRET,
    SHOPIFY_SECRET,
    post_shopify,
    shopify_hmac,
    shopify_order,
    shopify_refund,
)
from shop_store import MARCH, assert_nothing_stored, build_store

ORDER_ID = "5512345678901"


@pytest.fixture
def store(tmp_path):
    made = build_store(tmp_path)
    yield made
    made.db.close()


def cart(click=None, visitor=None) -> list[dict]:
    """note_attributes as ct.js's shopifyCart() leaves them on the order."""
    pairs = [("ct_click", click), ("ct_vid", visitor)]
    return [{"name": name, "value": value} for name, value in pairs if value]


def paid(store, webhook_id="b54557e4-bdd9-4b37-8a5f-bf7d70bcd043", topic="orders/paid", **order):
    return post_shopify(store.client, topic, shopify_order(**order), webhook_id)


def test_a_paid_order_is_a_verified_purchase(store):
    response = paid(store, note_attributes=cart(store.clicks["B"], "v-bo"))
    assert response.status_code == 201, response.get_json()
    [row] = store.conversions()
    assert (row["goal"], row["value_minor"], row["currency"]) == ("purchase", 4990, "EUR")
    assert (row["order_id"], row["customer_id"]) == (ORDER_ID, "7301234567890")
    assert (row["click_id"], row["visitor_id"]) == (store.clicks["B"], "v-bo")
    assert (row["source"], row["verified"]) == ("webhook", 1)
    assert row["webhook_id"] == "shopify:b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    assert row["occurred_at"] == "2025-03-10T12:00:00.000000Z"  # 13:00 at +01:00
    assert response.get_json()["outcome"] == "purchase"
    assert response.get_json()["detail"] == (
        f"purchase 49.90 EUR, order {ORDER_ID}, credited to linkedin/spring"
    )
    assert store.channels(**MARCH) == {("linkedin", "EUR"): (1, "49.90")}
    assert store.events() == [("shopify", "orders/paid", "purchase")]


@pytest.mark.parametrize(
    "landing",
    [
        "/products/linen-shirt?utm_source=twitter&ct_click={click}",
        "https://shop.example.com/?ct_click={click}&utm_medium=social",
    ],
)
def test_the_click_in_the_landing_url(store, landing):
    response = paid(
        store, landing_site=landing.format(click=store.clicks["A1"]), total_price="100.00"
    )
    assert response.status_code == 201
    [row] = store.conversions()
    assert (row["click_id"], row["visitor_id"]) == (store.clicks["A1"], "v-ada")
    # ada's touches: A1 twitter 03-01, A2 linkedin 03-05 (worked out in test_shop_stripe)
    assert store.channels(**MARCH) == {("linkedin", "EUR"): (1, "100.00")}
    assert store.channels(**MARCH, model="linear") == {
        ("twitter", "EUR"): (0.5, "50.00"),
        ("linkedin", "EUR"): (0.5, "50.00"),
    }


def test_a_visitor_alone_and_a_guest_without_customer(store):
    response = paid(store, note_attributes=cart(visitor="v-bo"), customer_id=None)
    assert response.status_code == 201
    [row] = store.conversions()
    assert (row["click_id"], row["visitor_id"], row["customer_id"]) == (None, "v-bo", None)
    assert store.channels(**MARCH) == {("linkedin", "EUR"): (1, "49.90")}


def test_an_unknown_click_is_still_a_verified_purchase_under_direct(store):
    response = paid(store, note_attributes=cart("zzzzzzzzzzzzzzzz"))
    assert response.status_code == 201
    assert response.get_json()["detail"].endswith(
        "credited to (direct); click zzzzzzzzzzzzzzzz not found"
    )
    assert store.channels(**MARCH) == {("(direct)", "EUR"): (1, "49.90")}


def test_retries_and_the_orders_other_topics_are_duplicates(store):
    first = paid(store, note_attributes=cart(store.clicks["B"]))
    assert first.status_code == 201
    retried = paid(store, note_attributes=cart(store.clicks["B"]))  # same X-Shopify-Webhook-Id
    assert (retried.status_code, retried.get_json()["outcome"]) == (200, "duplicate")
    # orders/create for the same (already paid) order: another delivery, same order id
    created = paid(store, webhook_id="0d6a3a5e-7f0e-4a43-9a39-0b8f7c1e2d11", topic="orders/create")
    assert (created.status_code, created.get_json()["outcome"]) == (200, "duplicate")
    assert len(store.conversions()) == 1
    assert store.channels(**MARCH) == {("linkedin", "EUR"): (1, "49.90")}
    assert [e[2] for e in store.events()] == ["purchase", "duplicate", "duplicate"]


def test_orders_created_before_payment_count_when_paid(store):
    pending = paid(store, topic="orders/create", financial_status="pending")
    assert pending.get_json() == {
        "outcome": "ignored",
        "detail": "not paid yet (financial_status pending): orders/paid will count it",
    }
    assert store.conversions() == []
    assert paid(store, webhook_id="second-delivery").status_code == 201
    assert len(store.conversions()) == 1


def test_an_order_authorized_now_and_captured_later_counts_on_create(store):
    created = paid(store, topic="orders/create", financial_status="authorized",
                   note_attributes=cart(store.clicks["B"]))  # fmt: skip
    assert created.status_code == 201
    captured = paid(store, webhook_id="capture-delivery")
    assert captured.get_json()["outcome"] == "duplicate"
    [row] = store.conversions()
    assert row["click_id"] == store.clicks["B"]


@pytest.mark.parametrize(
    ("price", "currency", "minor", "value"),
    [
        ("1500", "JPY", 1500, "1500"),
        ("49.90", "USD", 4990, "49.90"),
        ("12.345", "KWD", 12345, "12.345"),
    ],
)
def test_prices_in_the_shop_currency_become_exact_minor_units(store, price, currency, minor, value):
    response = paid(
        store, total_price=price, currency=currency, note_attributes=cart(store.clicks["B"])
    )
    assert response.status_code == 201, response.get_json()
    [row] = store.conversions()
    assert (row["value_minor"], row["currency"]) == (minor, currency)
    assert store.channels(**MARCH) == {("linkedin", currency): (1, value)}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"total_price": "49.999"}, "total_price"),  # more decimals than EUR has
        ({"total_price": "-5.00"}, "total_price"),
        ({"total_price": None}, "total_price"),
        ({"currency": "Euro"}, "currency"),
        ({"order_id": None}, "id"),
    ],
)
def test_a_signed_order_with_broken_fields_is_refused(store, change, field):
    response = paid(store, **change)
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert_nothing_stored(store)


def test_a_pixel_purchase_confirmed_by_shopify_becomes_verified_once(store):
    pixel = store.client.get(
        "/t/pixel.gif",
        query_string={"goal": "purchase", "value": "49.90", "currency": "EUR",
                      "order_id": "#1001", "click": store.clicks["B"]},
    )  # fmt: skip
    assert pixel.status_code == 200
    response = paid(store)
    assert response.status_code == 201
    [row] = store.conversions()
    assert (row["verified"], row["order_id"], row["click_id"]) == (1, "#1001", store.clicks["B"])
    created = paid(store, webhook_id="another-delivery", topic="orders/create")
    assert created.get_json()["outcome"] == "duplicate"
    assert len(store.conversions()) == 1
    assert store.channels(**MARCH, verified="true") == {("linkedin", "EUR"): (1, "49.90")}


# -- refunds --------------------------------------------------------------------


def refund_of(store, refund_id, amounts, webhook_id=None, **fields):
    body = shopify_refund(refund_id=refund_id, amounts=amounts, **fields)
    return post_shopify(store.client, "refunds/create", body, webhook_id or f"refund-{refund_id}")


def test_partial_and_full_refunds(store):
    conversion_id = paid(store, note_attributes=cart(store.clicks["B"])).get_json()["conversion"][
        "id"
    ]
    part = refund_of(store, 9301, ("5.00", "5.00"))  # one refund, two transactions
    assert part.status_code == 200
    assert part.get_json()["detail"] == (
        f"refund 10.00 EUR of conversion {conversion_id} (order {ORDER_ID}):"
        " 10.00 of 49.90 refunded"
    )
    assert refund_of(store, 9301, ("5.00", "5.00"), webhook_id="retry").get_json()["outcome"] == (
        "duplicate"
    )
    rest = refund_of(store, 9302, ("39.90",), created_at="2025-03-21T10:00:00+01:00")
    assert rest.get_json()["detail"].endswith(
        "49.90 of 49.90 refunded, in full; 0 pending reward(s) voided"
    )
    amounts = store.db.execute(
        "SELECT source, ref, amount_minor, cumulative FROM refund_amounts ORDER BY id"
    ).fetchall()
    assert amounts == [("shopify", "9301", 1000, 0), ("shopify", "9302", 3990, 0)]
    assert store.db.execute(
        "SELECT conversion_id, refunded_at, reason FROM conversion_refunds"
    ).fetchall() == [(conversion_id, "2025-03-21T09:00:00.000000Z", "shopify refund 9302")]
    # the channel report keeps what the campaign brought (the README's refund rules)
    assert store.channels(**MARCH) == {("linkedin", "EUR"): (1, "49.90")}


def test_refunds_that_return_no_money_or_name_an_unknown_order_are_ignored(store):
    paid(store)
    restock = shopify_refund(refund_id=9401, amounts=())
    response = post_shopify(store.client, "refunds/create", restock, "restock-only")
    assert response.get_json()["outcome"] == "ignored"
    unknown = refund_of(store, 9402, ("10.00",), order_id=4400000000001)
    assert unknown.get_json() == {
        "outcome": "ignored",
        "detail": "no conversion for order 4400000000001: refund not recorded",
    }
    assert store.db.execute("SELECT count(*) FROM refund_amounts").fetchone()[0] == 0


# -- refused, ignored and test deliveries --------------------------------------------


def test_a_bad_or_missing_hmac_is_refused_and_nothing_is_stored(store):
    order = shopify_order(note_attributes=cart(store.clicks["B"]))
    wrong = post_shopify(store.client, "orders/paid", order, "w1", secret="not-the-signing-key")
    assert wrong.status_code == 401
    assert "X-Shopify-Hmac-Sha256 does not match" in wrong.get_json()["error"]
    raw = json.dumps(order).encode()
    unsigned = {"X-Shopify-Topic": "orders/paid", "X-Shopify-Webhook-Id": "w2"}
    missing = store.client.post("/t/shopify", data=raw, headers=unsigned)
    assert (missing.status_code, missing.get_json()["error"]) == (
        401,
        "missing X-Shopify-Hmac-Sha256 header",
    )
    # signed, then changed on the way
    tampered = raw.replace(b'"total_price": "49.90"', b'"total_price": "4990.00"')
    changed = store.client.post("/t/shopify", data=tampered, headers={
        "X-Shopify-Hmac-Sha256": shopify_hmac(raw), "X-Shopify-Topic": "orders/paid",
        "X-Shopify-Webhook-Id": "w3"})  # fmt: skip
    assert changed.status_code == 401
    assert_nothing_stored(store)


def test_rotated_secrets(tmp_path):
    store = build_store(tmp_path, SHOPIFY_WEBHOOK_SECRET=[SHOPIFY_SECRET, SHOPIFY_OLD_SECRET])
    try:
        old = post_shopify(store.client, "orders/paid", shopify_order(order_id=1), "r1",
                           secret=SHOPIFY_OLD_SECRET)  # fmt: skip
        new = post_shopify(store.client, "orders/paid", shopify_order(order_id=2), "r2")
        assert (old.status_code, new.status_code) == (201, 201)
    finally:
        store.db.close()
    (tmp_path / "later").mkdir()
    later = build_store(tmp_path / "later")
    try:
        old = post_shopify(later.client, "orders/paid", shopify_order(order_id=3), "r3",
                           secret=SHOPIFY_OLD_SECRET)  # fmt: skip
        assert old.status_code == 401
        assert_nothing_stored(later)
    finally:
        later.db.close()


@pytest.mark.parametrize(
    ("body", "headers", "status", "expected"),
    [
        (b'{"id": 1, "total_price": "4', {}, 400, {"error": "body is not valid JSON"}),
        (b'"an order"', {}, 400, {"error": "body must be a JSON object"}),
        (b"{}", {"X-Shopify-Topic": None}, 400,
         {"error": "X-Shopify-Topic must be an id of at most 128 characters",
          "field": "X-Shopify-Topic"}),
        (b"{}", {"X-Shopify-Webhook-Id": None}, 400,
         {"error": "X-Shopify-Webhook-Id must be an id of at most 128 characters",
          "field": "X-Shopify-Webhook-Id"}),
        (b'{"id": 9, "order_id": 1, "transactions": "none"}', {"X-Shopify-Topic": "refunds/create"},
         400, {"error": "transactions must be a list", "field": "transactions"}),
    ],
)  # fmt: skip
def test_malformed_deliveries_are_refused_with_the_field(store, body, headers, status, expected):
    sent = {
        "X-Shopify-Hmac-Sha256": shopify_hmac(body),
        "X-Shopify-Topic": "orders/paid",
        "X-Shopify-Webhook-Id": "m1",
        **headers,
    }
    response = store.client.post(
        "/t/shopify", data=body, headers={k: v for k, v in sent.items() if v is not None}
    )
    assert response.status_code == status
    assert response.get_json() == expected
    assert_nothing_stored(store)


def test_topics_that_are_not_orders_are_acknowledged_and_logged(store):
    response = post_shopify(store.client, "customers/create", {"id": 7301234567890}, "c1")
    assert response.status_code == 200
    assert response.get_json() == {
        "outcome": "ignored",
        "detail": "customers/create is not an order or a refund: remove this webhook in Shopify",
    }
    assert store.events() == [("shopify", "customers/create", "ignored")]


def test_test_orders_are_described_not_stored(store):
    response = paid(store, test=True, note_attributes=cart(store.clicks["B"]))
    assert response.status_code == 200
    assert response.get_json() == {
        "outcome": "test",
        "detail": f"test order, not stored: purchase 49.90 EUR, order {ORDER_ID},"
        f" click {store.clicks['B']}",
    }
    refund = refund_of(store, 9501, ("10.00",), test=True)
    assert refund.get_json()["outcome"] == "test"
    assert store.conversions() == []
    assert store.events() == [
        ("shopify", "orders/paid", "test"),
        ("shopify", "refunds/create", "test"),
    ]


def test_unconfigured_shopify_webhooks_are_refused(tmp_path):
    store = build_store(tmp_path, SHOPIFY_WEBHOOK_SECRET=None)
    try:
        response = paid(store)
        assert response.status_code == 401
        assert "SHOPIFY_WEBHOOK_SECRET" in response.get_json()["error"]
    finally:
        store.db.close()


def test_a_landing_site_that_is_no_url_names_no_click(store):
    response = paid(store, landing_site="http://[::1/?ct_click=" + store.clicks["B"])
    assert response.status_code == 201
    assert store.conversions()[0]["click_id"] is None
