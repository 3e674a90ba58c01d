"""POST /t/stripe: Stripe's own webhooks as verified conversions.

The store is shop_store's (links L1 twitter/spring and L2 linkedin/spring;
clicks ada L1 03-01 (A1), ada L2 03-05 (A2), bo L2 03-08 (B), 2025). Event
bodies come from shop_payloads (shaped as Stripe's API reference gives
them) and are signed there with hmac, as Stripe signs them.
"""

import json
import time

import pytest

from conftest import AUTH, BROWSER_UA
from shop_payloads import (
    STRIPE_OLD_SECRET,
    STRIPE_SECRET,
    charge,
    checkout_session,
    invoice,
    invoice_payment,
    post_stripe,
    refund,
    stripe_event,
    stripe_signature,
)
from shop_store import MARCH, assert_nothing_stored, build_store
from shortener.clicks import classify, record_click
from shortener.clock import parse_moment


@pytest.fixture
def store(tmp_path):
    made = build_store(tmp_path)
    yield made
    made.db.close()


def completed(store, event_id="evt_1Session", created="2025-03-10T12:00:00Z", **session):
    event = stripe_event("checkout.session.completed", checkout_session(**session), event_id,
                         created)  # fmt: skip
    return post_stripe(store.client, event)


# -- a paid checkout --------------------------------------------------------------


def test_a_paid_checkout_session_is_a_verified_purchase(store):
    response = completed(store, client_reference_id=store.clicks["B"])
    assert response.status_code == 201, response.get_json()
    [row] = store.conversions()
    assert (row["goal"], row["value_minor"], row["currency"]) == ("purchase", 4990, "EUR")
    # the order is the payment intent; the buyer Stripe's customer
    assert (row["order_id"], row["customer_id"]) == ("pi_3PqR5sT6uV7wX8yZ", "cus_QeR7tY8uI9oP")
    assert (row["click_id"], row["visitor_id"]) == (store.clicks["B"], "v-bo")
    assert (row["source"], row["verified"]) == ("webhook", 1)
    assert row["webhook_id"] == "stripe:evt_1Session"
    assert row["occurred_at"] == "2025-03-10T12:00:00.000000Z"  # the event's time
    body = response.get_json()
    assert body["outcome"] == "purchase"
    assert body["detail"] == (
        "purchase 49.90 EUR, order pi_3PqR5sT6uV7wX8yZ, credited to linkedin/spring"
    )
    assert body["conversion"]["verified"] is True and body["conversion"]["value"] == "49.90"
    # bo's only touch is B (linkedin, 2 days before): all of it to linkedin
    assert store.channels(**MARCH) == {("linkedin", "EUR"): (1, "49.90")}
    assert store.channels(**MARCH, verified="false") == {}
    assert store.events() == [("stripe", "checkout.session.completed", "purchase")]


def test_the_click_in_metadata_and_every_model_worked_out(store):
    session = checkout_session(amount=10000, metadata={"ct_click": store.clicks["A1"]},
                               payment_intent="pi_ada")  # fmt: skip
    event = stripe_event("checkout.session.completed", session, "evt_ada", "2025-03-10T12:00:00Z")
    assert post_stripe(store.client, event).status_code == 201
    # ada's touches: A1 twitter 03-01 (9 days before), A2 linkedin 03-05 (5 days)
    assert store.channels(**MARCH) == {("linkedin", "EUR"): (1, "100.00")}
    assert store.channels(**MARCH, model="first_touch") == {("twitter", "EUR"): (1, "100.00")}
    assert store.channels(**MARCH, model="linear") == {
        ("twitter", "EUR"): (0.5, "50.00"),
        ("linkedin", "EUR"): (0.5, "50.00"),
    }


def test_a_visitor_from_metadata_without_a_click(store):
    response = completed(store, metadata={"ct_vid": "v-bo"})
    assert response.status_code == 201
    [row] = store.conversions()
    assert (row["click_id"], row["visitor_id"]) == (None, "v-bo")
    assert store.channels(**MARCH) == {("linkedin", "EUR"): (1, "49.90")}


def test_an_unknown_visitor_is_kept_and_the_sale_is_direct(store):
    response = completed(store, metadata={"ct_vid": "v-never-seen"})
    assert response.status_code == 201
    [row] = store.conversions()
    assert (row["visitor_id"], row["verified"]) == ("v-never-seen", 1)
    assert store.channels(**MARCH) == {("(direct)", "EUR"): (1, "49.90")}


@pytest.mark.parametrize(
    "reference",
    [None, "not-a-click-we-issued", "merchant-user-8812"],
)
def test_an_unknown_or_missing_click_is_still_a_verified_purchase_under_direct(store, reference):
    response = completed(store, client_reference_id=reference)
    assert response.status_code == 201, response.get_json()
    [row] = store.conversions()
    assert (row["click_id"], row["visitor_id"], row["verified"]) == (None, None, 1)
    assert store.channels(**MARCH) == {("(direct)", "EUR"): (1, "49.90")}
    if reference:
        assert f"click {reference} not found" in response.get_json()["detail"]


def test_a_retried_event_and_a_second_event_for_the_same_order_are_duplicates(store):
    first = completed(store, client_reference_id=store.clicks["B"])
    assert first.status_code == 201
    again = completed(store, client_reference_id=store.clicks["B"])
    assert again.status_code == 200
    assert again.get_json()["outcome"] == "duplicate"
    assert again.get_json()["conversion"]["id"] == first.get_json()["conversion"]["id"]
    # the same payment, as checkout.session.async_payment_succeeded
    event = stripe_event("checkout.session.async_payment_succeeded",
                         checkout_session(client_reference_id=store.clicks["B"]),
                         "evt_2Async", "2025-03-10T12:05:00Z")  # fmt: skip
    later = post_stripe(store.client, event)
    assert (later.status_code, later.get_json()["outcome"]) == (200, "duplicate")
    assert len(store.conversions()) == 1
    assert store.channels(**MARCH) == {("linkedin", "EUR"): (1, "49.90")}
    assert [e[2] for e in store.events()] == ["purchase", "duplicate", "duplicate"]


def test_a_session_awaiting_payment_is_ignored_until_it_is_paid(store):
    waiting = completed(store, payment_status="unpaid", client_reference_id=store.clicks["B"])
    assert waiting.status_code == 200
    assert waiting.get_json()["outcome"] == "ignored"
    assert store.conversions() == []
    event = stripe_event("checkout.session.async_payment_succeeded",
                         checkout_session(client_reference_id=store.clicks["B"]),
                         "evt_paid", "2025-03-11T09:00:00Z")  # fmt: skip
    assert post_stripe(store.client, event).status_code == 201
    [row] = store.conversions()
    assert row["occurred_at"] == "2025-03-11T09:00:00.000000Z"


@pytest.mark.parametrize(
    ("currency", "stripe_amount", "minor", "value"),
    [
        ("jpy", 1500, 1500, "1500"),  # zero-decimal: ¥1,500 is 1500 at Stripe
        ("krw", 50000, 50000, "50000"),
        ("usd", 4990, 4990, "49.90"),
        ("kwd", 12340, 12340, "12.340"),  # three decimals at Stripe and in ISO 4217
        ("mga", 5000, 500000, "5000.00"),  # zero-decimal at Stripe, two in ISO 4217
        ("isk", 50000, 500, "500"),  # two decimals at Stripe (whole krónur), none in ISO
    ],
)
def test_stripe_amounts_become_exact_minor_units(store, currency, stripe_amount, minor, value):
    response = completed(store, amount=stripe_amount, currency=currency,
                         client_reference_id=store.clicks["B"])  # fmt: skip
    assert response.status_code == 201, response.get_json()
    [row] = store.conversions()
    assert (row["value_minor"], row["currency"]) == (minor, currency.upper())
    assert response.get_json()["conversion"]["value"] == value
    assert store.channels(**MARCH) == {("linkedin", currency.upper()): (1, value)}


def test_an_isk_amount_with_fractional_kronur_is_refused(store):
    response = completed(store, amount=50050, currency="isk")
    assert response.status_code == 400
    assert response.get_json()["field"] == "data.object.amount_total"
    assert_nothing_stored(store)


def test_a_pixel_purchase_confirmed_by_stripe_becomes_verified_once(store):
    # the thank-you page knows the checkout session id ({CHECKOUT_SESSION_ID})
    pixel = store.client.get(
        "/t/pixel.gif",
        query_string={"goal": "purchase", "value": "49.90", "currency": "EUR",
                      "order_id": "cs_live_a1B2c3D4e5F6", "click": store.clicks["B"]},
    )  # fmt: skip
    assert pixel.status_code == 200
    [before] = store.conversions()
    assert (before["verified"], before["source"]) == (0, "pixel")
    response = completed(store)  # no click in the event: the pixel's is kept
    assert response.status_code == 201
    [row] = store.conversions()
    assert row["id"] == before["id"]
    assert (row["verified"], row["source"]) == (1, "webhook")
    assert row["order_id"] == "cs_live_a1B2c3D4e5F6"
    assert row["click_id"] == store.clicks["B"]
    assert row["occurred_at"] == "2025-03-10T12:00:00.000000Z"
    assert "confirms the pixel's conversion" in response.get_json()["detail"]
    # the same order again, in another event: still the one conversion
    event = stripe_event("checkout.session.async_payment_succeeded", checkout_session(),
                         "evt_2Async", "2025-03-10T12:05:00Z")  # fmt: skip
    again = post_stripe(store.client, event)
    assert (again.status_code, again.get_json()["outcome"]) == (200, "duplicate")
    assert "confirms" not in again.get_json()["detail"]
    assert len(store.conversions()) == 1
    assert store.channels(**MARCH) == {("linkedin", "EUR"): (1, "49.90")}
    assert store.channels(**MARCH, verified="true") == {("linkedin", "EUR"): (1, "49.90")}


# -- subscriptions ------------------------------------------------------------------


def subscribe(store, invoice_first: bool):
    """ada subscribes on 03-10 through Payment Link with her click A1 (19.00
    EUR a month); Stripe's invoice.paid often comes before the session."""
    session = checkout_session(
        session_id="cs_live_sub", amount=1900, mode="subscription", payment_intent=None,
        invoice="in_first", subscription="sub_ada", customer="cus_ada",
        client_reference_id=store.clicks["A1"],
    )  # fmt: skip
    first = invoice(invoice_id="in_first", customer="cus_ada", subscription="sub_ada")
    events = [
        stripe_event("checkout.session.completed", session, "evt_sub_session",
                     "2025-03-10T12:00:00Z"),
        stripe_event("invoice.paid", first, "evt_sub_invoice_1", "2025-03-10T12:00:00Z"),
    ]  # fmt: skip
    return [post_stripe(store.client, e) for e in (events[::-1] if invoice_first else events)]


@pytest.mark.parametrize("invoice_first", [True, False])
def test_a_subscriptions_checkout_and_first_invoice_are_one_purchase(store, invoice_first):
    responses = subscribe(store, invoice_first)
    assert [r.status_code for r in responses] == ([201, 201] if invoice_first else [201, 200])
    [row] = store.conversions()
    # the session brings the click whichever came first; one order: the first invoice
    assert (row["goal"], row["order_id"], row["value_minor"]) == ("purchase", "in_first", 1900)
    assert (row["click_id"], row["visitor_id"], row["customer_id"]) == (
        store.clicks["A1"], "v-ada", "cus_ada")  # fmt: skip
    assert store.channels(**MARCH) == {("linkedin", "EUR"): (1, "19.00")}
    assert store.channels(**MARCH, model="first_touch") == {("twitter", "EUR"): (1, "19.00")}


@pytest.mark.parametrize("basil", [True, False])
def test_later_invoices_are_renewals_credited_as_the_first_purchase_was(store, basil):
    subscribe(store, invoice_first=True)
    # 04-10: 31 days after the purchase, 40 after A1: no click is in the window any more
    renewal = invoice(invoice_id="in_second", customer="cus_ada", subscription="sub_ada",
                      billing_reason="subscription_cycle", paid_at="2025-04-10T12:00:00Z",
                      basil=basil, payment_intent="pi_second")  # fmt: skip
    event = stripe_event("invoice.paid", renewal, "evt_sub_invoice_2", "2025-04-10T12:00:05Z")
    response = post_stripe(store.client, event)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["outcome"] == "renewal"
    first, second = store.conversions()
    assert (second["goal"], second["order_id"]) == ("renewal", "in_second")
    assert second["value_minor"] == 1900
    assert (second["visitor_id"], second["customer_id"]) == ("v-ada", "cus_ada")
    assert second["occurred_at"] == "2025-04-10T12:00:00.000000Z"  # paid_at
    # credited exactly as the first purchase: last touch A2 (linkedin), first A1 (twitter)
    april = {"from": "2025-04-01", "to": "2025-04-30"}
    assert store.channels(**april) == {("linkedin", "EUR"): (1, "19.00")}
    assert store.channels(**april, model="first_touch") == {("twitter", "EUR"): (1, "19.00")}
    assert store.channels(**april, model="linear") == {
        ("twitter", "EUR"): (0.5, "9.50"),
        ("linkedin", "EUR"): (0.5, "9.50"),
    }
    # a renewal is a purchase: ada (first purchase 03-10) bought again 31 days later
    response = store.client.get("/api/reports/retention", headers=AUTH,
                                query_string={**MARCH, "as_of": "2025-06-30"})  # fmt: skip
    [row] = response.get_json()["rows"]
    assert (row["channel"], row["customers"], row["repeat_customers"]) == ("twitter", 1, 1)
    assert (row["retained_30"], row["retained_60"]) == (0, 1)
    assert row["median_days_to_second_purchase"] == 31.0
    # a retry of the renewal is a duplicate
    again = post_stripe(store.client, event)
    assert (again.status_code, again.get_json()["outcome"]) == (200, "duplicate")


def test_a_renewal_of_a_customer_never_seen_is_direct(store):
    renewal = invoice(invoice_id="in_old", customer="cus_from_2019",
                      billing_reason="subscription_cycle")  # fmt: skip
    response = post_stripe(store.client, stripe_event("invoice.paid", renewal, "evt_old",
                                                      "2025-03-10T12:00:00Z"))  # fmt: skip
    assert response.status_code == 201
    [row] = store.conversions()
    assert (row["goal"], row["visitor_id"]) == ("renewal", None)
    assert row["customer_id"] == "cus_from_2019"
    assert store.channels(**MARCH) == {("(direct)", "EUR"): (1, "19.00")}


# -- refunds ----------------------------------------------------------------------------


def refunded_state(store, conversion_id):
    amounts = store.db.execute(
        "SELECT source, ref, amount_minor, cumulative FROM refund_amounts"
        " WHERE conversion_id = ? ORDER BY id",
        [conversion_id],
    ).fetchall()
    whole = store.db.execute(
        "SELECT refunded_at, reason FROM conversion_refunds WHERE conversion_id = ?",
        [conversion_id],
    ).fetchone()
    return amounts, whole


def test_partial_then_full_refunds(store):
    bought = completed(store, client_reference_id=store.clicks["B"]).get_json()
    conversion_id = bought["conversion"]["id"]
    part = post_stripe(store.client, stripe_event(
        "refund.created", refund(refund_id="re_part", amount=1000), "evt_re_1",
        "2025-03-20T09:00:00Z"))  # fmt: skip
    assert part.status_code == 200
    assert part.get_json()["outcome"] == "refund"
    assert part.get_json()["detail"] == (
        f"refund 10.00 EUR of conversion {conversion_id} (order pi_3PqR5sT6uV7wX8yZ):"
        " 10.00 of 49.90 refunded"
    )
    amounts, whole = refunded_state(store, conversion_id)
    assert amounts == [("stripe", "re_part", 1000, 0)] and whole is None
    # retried: nothing more
    again = post_stripe(store.client, stripe_event(
        "refund.created", refund(refund_id="re_part", amount=1000), "evt_re_1",
        "2025-03-20T09:00:00Z"))  # fmt: skip
    assert again.get_json()["outcome"] == "duplicate"
    rest = post_stripe(store.client, stripe_event(
        "refund.created", refund(refund_id="re_rest", amount=3990, created="2025-03-22T09:00:00Z"),
        "evt_re_2", "2025-03-22T09:00:00Z"))  # fmt: skip
    assert "49.90 of 49.90 refunded, in full" in rest.get_json()["detail"]
    amounts, whole = refunded_state(store, conversion_id)
    assert [a[2] for a in amounts] == [1000, 3990]
    assert whole == ("2025-03-22T09:00:00.000000Z", "stripe refund re_rest")
    # as the README's refund rules say, the channel report keeps what was earned
    assert store.channels(**MARCH) == {("linkedin", "EUR"): (1, "49.90")}


def test_charge_refunded_running_totals_and_refund_created_for_the_same_refunds(store):
    bought = completed(store, client_reference_id=store.clicks["B"]).get_json()
    conversion_id = bought["conversion"]["id"]
    events = [
        stripe_event("charge.refunded", charge(amount_refunded=1000), "evt_ch_1",
                     "2025-03-20T09:00:00Z"),
        # a merchant who selected both events gets each refund twice
        stripe_event("refund.created", refund(refund_id="re_a", amount=1000), "evt_re_a",
                     "2025-03-20T09:00:00Z"),
        stripe_event("refund.created", refund(refund_id="re_b", amount=2000), "evt_re_b",
                     "2025-03-21T09:00:00Z"),
        stripe_event("charge.refunded", charge(amount_refunded=3000), "evt_ch_2",
                     "2025-03-21T09:00:00Z"),
        # a delayed retry of the first charge event says less than is known
        stripe_event("charge.refunded", charge(amount_refunded=1000), "evt_ch_1",
                     "2025-03-20T09:00:00Z"),
    ]  # fmt: skip
    outcomes = [post_stripe(store.client, e).get_json()["outcome"] for e in events]
    assert outcomes == ["refund", "refund", "refund", "refund", "duplicate"]
    amounts, whole = refunded_state(store, conversion_id)
    # refunds 10.00 + 20.00; the charge's running total 30.00: 30.00, not 60.00
    assert amounts == [("stripe", "ch_3PqR5sT6uV7wX8yZ", 3000, 1), ("stripe", "re_a", 1000, 0),
                       ("stripe", "re_b", 2000, 0)]  # fmt: skip
    assert whole is None  # 30.00 of 49.90
    full = post_stripe(
        store.client,
        stripe_event(
            "charge.refunded", charge(amount_refunded=4990), "evt_ch_3", "2025-03-25T09:00:00Z"
        ),
    )
    assert full.get_json()["outcome"] == "refund"
    assert refunded_state(store, conversion_id)[1][0] == "2025-03-25T09:00:00.000000Z"


def test_a_refund_of_a_subscription_payment_found_through_its_invoice_payment(store):
    subscribe(store, invoice_first=False)
    # from API version 2025-03-31 the invoice names no payment intent:
    # invoice_payment.paid says which payment paid it
    link = post_stripe(store.client, stripe_event(
        "invoice_payment.paid", invoice_payment("in_first", "pi_sub_1"), "evt_inpay",
        "2025-03-10T12:00:01Z"))  # fmt: skip
    assert link.get_json() == {"outcome": "payment", "detail": "payment pi_sub_1 is order in_first"}
    response = post_stripe(store.client, stripe_event(
        "refund.created", refund(refund_id="re_sub", amount=1900, payment_intent="pi_sub_1",
                                 charge_id="ch_sub_1"),
        "evt_re_sub", "2025-03-12T09:00:00Z"))  # fmt: skip
    assert response.get_json()["outcome"] == "refund"
    [row] = store.conversions()
    amounts, whole = refunded_state(store, row["id"])
    assert amounts == [("stripe", "re_sub", 1900, 0)] and whole is not None


def test_a_refund_stripe_sends_for_an_order_never_seen_is_acknowledged_and_ignored(store):
    response = post_stripe(store.client, stripe_event(
        "refund.created", refund(payment_intent="pi_before_clicktrail"), "evt_re_x",
        "2025-03-12T09:00:00Z"))  # fmt: skip
    assert response.status_code == 200
    assert response.get_json()["outcome"] == "ignored"
    assert store.db.execute("SELECT count(*) FROM refund_amounts").fetchone()[0] == 0


def test_refunds_void_rewards_only_when_whole_and_show_as_refunded_revenue(tmp_path):
    """quinn (advocate) shares L1; fay clicks quinn's link on 03-06 and buys
    for 40.00 on 03-08 through Stripe. Rule: quinn earns 10 % of it (4.00)."""
    store = build_store(tmp_path)
    try:
        client = store.client
        advocate = client.post("/api/advocates", json={"name": "Quinn", "handle": "quinn"},
                               headers=AUTH).get_json()  # fmt: skip
        assert advocate["handle"] == "quinn"
        codes = {r["channel"]: r["code"] for r in client.get(
            "/api/links", headers=AUTH).get_json()["links"]}  # fmt: skip
        shared = client.post(f"/api/links/{codes['twitter']}/share", json={"advocate": "quinn"},
                             headers=AUTH).get_json()  # fmt: skip
        link_id = store.db.execute("SELECT id FROM links WHERE code = ?",
                                   [shared["code"]]).fetchone()[0]  # fmt: skip
        fay = record_click(store.db, link_id=link_id, visitor_id="v-fay",
                           now=parse_moment("2025-03-06T12:00:00Z"), agent=classify(BROWSER_UA),
                           is_bot=False, user_agent=BROWSER_UA)  # fmt: skip
        rule = client.post("/api/reward-rules", headers=AUTH, json={
            "campaign": "spring", "beneficiary": "advocate", "percent": "10",
            "currency": "EUR"})  # fmt: skip
        assert rule.status_code == 201, rule.get_json()
        bought = completed(store, amount=4000, client_reference_id=fay, payment_intent="pi_fay",
                           created="2025-03-08T12:00:00Z")  # fmt: skip
        assert bought.status_code == 201

        def ledger():
            return [(r["amount_minor"], r["status"]) for r in store.db.query(
                "SELECT amount_minor, status FROM rewards")]  # fmt: skip

        def quinn():
            rows = client.get("/api/reports/advocates", headers=AUTH,
                              query_string=MARCH).get_json()["rows"]  # fmt: skip
            [row] = [r for r in rows if r["advocate"] == "quinn"]
            return row["revenue"], row["refunded_revenue"], row["rewards_earned"]

        assert ledger() == [(400, "pending")]
        assert quinn() == ("40.00", "0.00", "4.00")
        # 10.00 of 40.00 refunded: a quarter of quinn's attributed 40.00; the reward stays
        post_stripe(client, stripe_event("refund.created",
                                         refund(refund_id="re_1", amount=1000,
                                                payment_intent="pi_fay"),
                                         "evt_r1", "2025-03-15T12:00:00Z"))  # fmt: skip
        assert ledger() == [(400, "pending")]
        assert quinn() == ("40.00", "10.00", "4.00")
        # the rest: the whole order refunded, the pending reward voided
        done = post_stripe(client, stripe_event("refund.created",
                                                refund(refund_id="re_2", amount=3000,
                                                       payment_intent="pi_fay"),
                                                "evt_r2", "2025-03-16T12:00:00Z"))  # fmt: skip
        assert done.get_json()["detail"].endswith("in full; 1 pending reward(s) voided")
        assert ledger() == [(400, "voided")]
        assert quinn() == ("40.00", "40.00", "0.00")
    finally:
        store.db.close()


# -- refused, ignored and test events ------------------------------------------------


def test_a_bad_signature_is_refused_and_nothing_is_stored(store):
    event = stripe_event("checkout.session.completed",
                         checkout_session(client_reference_id=store.clicks["B"]), "evt_bad",
                         "2025-03-10T12:00:00Z")  # fmt: skip
    wrong = post_stripe(store.client, event, secrets=("whsec_not_the_endpoints_secret",))
    assert wrong.status_code == 401
    assert wrong.get_json() == {
        "error": "Stripe-Signature does not match (is STRIPE_WEBHOOK_SECRET this endpoint's?)"
    }
    raw = json.dumps(event).encode()
    missing = store.client.post("/t/stripe", data=raw, headers={"Content-Type": "application/json"})
    assert missing.status_code == 401
    assert missing.get_json()["error"] == "missing Stripe-Signature header"
    garbled = store.client.post("/t/stripe", data=raw, headers={"Stripe-Signature": "v1=abc"})
    assert garbled.status_code == 401
    assert_nothing_stored(store)


def test_a_body_changed_after_signing_is_refused(store):
    event = stripe_event("checkout.session.completed", checkout_session(), "evt_x",
                         "2025-03-10T12:00:00Z")  # fmt: skip
    raw = json.dumps(event).encode()
    header = stripe_signature(raw)
    tampered = raw.replace(b'"amount_total": 4990', b'"amount_total": 999999')
    response = store.client.post("/t/stripe", data=tampered, headers={"Stripe-Signature": header})
    assert response.status_code == 401
    assert_nothing_stored(store)


def test_a_stale_timestamp_is_refused(store):
    event = stripe_event("checkout.session.completed", checkout_session(), "evt_old",
                         "2025-03-10T12:00:00Z")  # fmt: skip
    stale = post_stripe(store.client, event, timestamp=int(time.time()) - 301)
    assert stale.status_code == 400
    assert stale.get_json()["error"].startswith("Stripe-Signature timestamp is more than 300 s old")
    assert_nothing_stored(store)
    fresh = post_stripe(store.client, event, timestamp=int(time.time()) - 240)
    assert fresh.status_code == 201


def test_rotated_secrets(tmp_path):
    """While Stripe rolls the endpoint's secret it signs with both (two v1
    values); clicktrail, configured with both, accepts either."""
    store = build_store(tmp_path, STRIPE_WEBHOOK_SECRET=[STRIPE_SECRET, STRIPE_OLD_SECRET])
    try:

        def send(n, secrets):
            event = stripe_event("checkout.session.completed",
                                 checkout_session(session_id=f"cs_{n}", payment_intent=f"pi_{n}"),
                                 f"evt_{n}", "2025-03-10T12:00:00Z")  # fmt: skip
            return post_stripe(store.client, event, secrets=secrets).status_code

        assert send(1, (STRIPE_OLD_SECRET,)) == 201
        assert send(2, (STRIPE_SECRET,)) == 201
        assert send(3, (STRIPE_SECRET, STRIPE_OLD_SECRET)) == 201
        assert send(4, ("whsec_garbage", STRIPE_OLD_SECRET)) == 201
        assert len(store.conversions()) == 4
    finally:
        store.db.close()
    # once the old secret is removed from the configuration, it is refused
    (tmp_path / "later").mkdir()
    later = build_store(tmp_path / "later", STRIPE_WEBHOOK_SECRET=STRIPE_SECRET)
    try:
        event = stripe_event("checkout.session.completed", checkout_session(), "evt_5",
                             "2025-03-10T12:00:00Z")  # fmt: skip
        assert post_stripe(later.client, event, secrets=(STRIPE_OLD_SECRET,)).status_code == 401
        assert_nothing_stored(later)
    finally:
        later.db.close()


@pytest.mark.parametrize(
    ("body", "field", "error"),
    [
        (b'{"id": "evt_1", "type": "checkout.session.completed", "data": {', None,
         "body is not valid JSON"),
        (b"[1, 2]", None, "body must be a JSON object"),
        (b"\xff\xfe{}", None, "body is not valid JSON"),
        (b'{"type": "checkout.session.completed", "data": {"object": {}}}', "id",
         "id must be an id of at most 128 characters"),
        (b'{"id": "evt_1", "data": {"object": {}}}', "type", "type is required"),
        (b'{"id": "evt_1", "type": "checkout.session.completed", "data": {"object": "cs_1"}}',
         "data.object", "data.object must be the event's object"),
    ],
)  # fmt: skip
def test_malformed_bodies_are_refused_with_the_field(store, body, field, error):
    response = post_stripe(store.client, None, body=body)
    assert response.status_code == 400
    expected = {"error": error, **({"field": field} if field else {})}
    assert response.get_json() == expected
    assert_nothing_stored(store)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "49.90"}, "data.object.amount_total"),
        ({"amount": -100}, "data.object.amount_total"),
        ({"currency": "eurx"}, "data.object.currency"),
        ({"session_id": None}, "data.object.id"),
    ],
)
def test_a_signed_event_with_a_broken_object_is_refused(store, change, field):
    response = completed(store, **change)
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert_nothing_stored(store)


def test_events_that_are_not_sales_are_acknowledged_and_logged(store):
    event = stripe_event("customer.created", {"id": "cus_1", "object": "customer"}, "evt_c",
                         "2025-03-10T12:00:00Z")  # fmt: skip
    response = post_stripe(store.client, event)
    assert response.status_code == 200
    assert response.get_json() == {
        "outcome": "ignored",
        "detail": "customer.created is not a sale or a refund: deselect it in Stripe",
    }
    setup = completed(store, mode="setup", amount=None, payment_status="no_payment_required")
    assert setup.get_json()["outcome"] == "ignored"
    assert store.conversions() == []
    assert store.events() == [("stripe", "customer.created", "ignored"),
                              ("stripe", "checkout.session.completed", "ignored")]  # fmt: skip


def test_test_mode_events_are_described_not_stored(store):
    event = stripe_event("checkout.session.completed",
                         checkout_session(client_reference_id=store.clicks["B"]), "evt_test",
                         "2025-03-10T12:00:00Z", livemode=False)  # fmt: skip
    response = post_stripe(store.client, event)
    assert response.status_code == 200
    assert response.get_json() == {
        "outcome": "test",
        "detail": "test mode, not stored: purchase 49.90 EUR, order pi_3PqR5sT6uV7wX8yZ,"
        f" click {store.clicks['B']}",
    }
    assert store.conversions() == []
    assert store.events() == [("stripe", "checkout.session.completed", "test")]


def test_unconfigured_stripe_webhooks_are_refused(tmp_path):
    store = build_store(tmp_path, STRIPE_WEBHOOK_SECRET=None)
    try:
        response = completed(store)
        assert response.status_code == 401
        assert "STRIPE_WEBHOOK_SECRET" in response.get_json()["error"]
    finally:
        store.db.close()


def test_a_database_that_cannot_be_written_is_not_swallowed(store):
    """Nothing is stored and the sqlite error reaches the app's error
    handling (a 503 with Retry-After there), so Stripe retries."""
    with store.app.app_context():
        from shortener.db import get_db

        # the connection this thread's requests use, as on a read-only file system
        get_db().execute("PRAGMA query_only = 1")
    event = stripe_event("checkout.session.completed",
                         checkout_session(client_reference_id=store.clicks["B"]), "evt_full",
                         "2025-03-10T12:00:00Z")  # fmt: skip
    response = post_stripe(store.client, event)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) > 0
    assert "read" in response.get_json()["error"]
    assert_nothing_stored(store)


def test_a_body_over_two_megabytes_is_refused_unread(store):
    body = b'{"id": "evt_big", "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    response = post_stripe(store.client, None, body=body)
    assert response.status_code == 413
    assert response.get_json() == {"error": "body is larger than 2097152 bytes"}
    assert_nothing_stored(store)
