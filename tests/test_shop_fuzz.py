"""No signed shop event reaches a 5xx: Stripe events and Shopify deliveries
whose objects hold any JSON in the fields clicktrail reads (hypothesis),
answered 200/201 with what became of them or 400 naming what is wrong --
and a refusal stores no conversion."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shop_payloads import post_shopify, post_stripe
from shop_store import build_store

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
TEXT = st.sampled_from(["", "eur", "JPY", "isk", "paid", "subscription_create", "cs_1", "pi_1",
                        "in_1", "49.90", "-1", "1e3", "http://[::1", "/?ct_click=abc"])  # fmt: skip
VALUES = JSON | TEXT | st.integers(-(10**20), 10**20)
STRIPE_FIELDS = ["id", "amount_total", "amount_paid", "amount_refunded", "amount", "currency",
                 "payment_status", "mode", "payment_intent", "invoice", "customer",
                 "client_reference_id", "metadata", "billing_reason", "parent", "subscription",
                 "status_transitions", "payment", "status", "created"]  # fmt: skip
SHOPIFY_FIELDS = ["id", "total_price", "currency", "customer", "note_attributes", "landing_site",
                  "financial_status", "processed_at", "created_at", "name", "order_number",
                  "order_id", "transactions", "test"]  # fmt: skip
STRIPE_TYPES = ["checkout.session.completed", "checkout.session.async_payment_succeeded",
                "invoice.paid", "invoice_payment.paid", "charge.refunded", "refund.created",
                "customer.created"]  # fmt: skip
SHOPIFY_TOPICS = ["orders/paid", "orders/create", "refunds/create", "app/uninstalled"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    made = build_store(tmp_path_factory.mktemp("shop-fuzz"))
    yield made
    made.db.close()


def conversions(store) -> int:
    return store.db.execute("SELECT count(*) FROM conversions").fetchone()[0]


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    kind=st.sampled_from(STRIPE_TYPES),
    obj=st.dictionaries(st.sampled_from(STRIPE_FIELDS), VALUES, max_size=10),
    n=st.integers(0, 10**9),
    created=VALUES,
    livemode=st.sampled_from([True, False, None, "yes"]),
)
def test_any_signed_stripe_event_is_answered_without_a_server_error(
    store, kind, obj, n, created, livemode
):
    event = {"id": f"evt_fuzz_{n}", "object": "event", "type": kind, "created": created,
             "livemode": livemode, "data": {"object": obj}}  # fmt: skip
    body = json.dumps(event, default=str).encode()
    before = conversions(store)
    response = post_stripe(store.client, None, body=body)
    assert response.status_code in (200, 201, 400), response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["error"] if response.status_code == 400 else answer["outcome"]
    if response.status_code != 201:
        assert conversions(store) == before


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    topic=st.sampled_from(SHOPIFY_TOPICS),
    body=st.dictionaries(st.sampled_from(SHOPIFY_FIELDS), VALUES, max_size=10),
    n=st.integers(0, 10**9),
)
def test_any_signed_shopify_delivery_is_answered_without_a_server_error(store, topic, body, n):
    before = conversions(store)
    response = post_shopify(store.client, topic, json.loads(json.dumps(body, default=str)),
                            f"fuzz-{n}")  # fmt: skip
    assert response.status_code in (200, 201, 400), response.get_data(as_text=True)
    answer = response.get_json()
    assert answer["error"] if response.status_code == 400 else answer["outcome"]
    if response.status_code != 201:
        assert conversions(store) == before
