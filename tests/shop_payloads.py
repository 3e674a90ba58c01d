"""Stripe and Shopify webhook bodies for the tests, written for them in the
shape the platforms' API references give (an Event wrapping a Checkout
Session, Invoice, InvoicePayment, Charge or Refund; a Shopify Order or
Refund), with the fields clicktrail reads and a realistic set of the others,
and signed the way each platform signs -- with hmac here, not with the code
under test.
"""

import base64
import hashlib
import hmac
import json
import time
from datetime import datetime

STRIPE_SECRET = "whsec_test_3f9a1c0e7b2d4c6a8e1f0b3d5c7a9e2f"
STRIPE_OLD_SECRET = "whsec_test_0ld0ld0ld0ld0ld0ld0ld0ld0ld0ld0l"
SHOPIFY_SECRET = "8c6f2a1e4b9d7c3f5a0e2b4d6f8a1c3e5b7d9f0a2c4e6b8d0f1a3c5e7b9d2f4a"
SHOPIFY_OLD_SECRET = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0"


def unix(moment: str) -> int:
    return int(datetime.fromisoformat(moment.replace("Z", "+00:00")).timestamp())


# -- Stripe ----------------------------------------------------------------------


def stripe_signature(body: bytes, secrets=(STRIPE_SECRET,), timestamp=None) -> str:
    """`t=<unix>,v1=<hex>[,v1=<hex>...]`: HMAC-SHA256 of "<t>.<body>" keyed
    with the whole `whsec_...` string, one v1 per secret (Stripe signs with
    both while a secret is being rolled)."""
    t = int(time.time()) if timestamp is None else timestamp
    signed = f"{t}.".encode() + body
    v1 = [hmac.new(s.encode(), signed, hashlib.sha256).hexdigest() for s in secrets]
    return ",".join([f"t={t}", *(f"v1={v}" for v in v1)])


def stripe_event(event_type: str, obj: dict, event_id: str, created: str, livemode=True) -> dict:
    return {
        "id": event_id,
        "object": "event",
        "api_version": "2024-06-20",
        "created": unix(created),
        "data": {"object": obj},
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }


def checkout_session(
    session_id="cs_live_a1B2c3D4e5F6",
    amount=4990,
    currency="eur",
    client_reference_id=None,
    metadata=None,
    customer="cus_QeR7tY8uI9oP",
    payment_intent="pi_3PqR5sT6uV7wX8yZ",
    invoice=None,
    subscription=None,
    mode="payment",
    payment_status="paid",
    created="2025-03-10T12:00:00Z",
) -> dict:
    return {
        "id": session_id,
        "object": "checkout.session",
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": amount,
        "amount_total": amount,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": "https://shop.example.com/cart",
        "client_reference_id": client_reference_id,
        "created": unix(created),
        "currency": currency,
        "customer": customer,
        "customer_creation": "if_required",
        "customer_details": {
            "address": {
                "country": "DE",
                "postal_code": "10115",
                "city": None,
                "line1": None,
                "line2": None,
                "state": None,
            },
            "email": "buyer@example.com",
            "name": "Ada Buyer",
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },  # fmt: skip
        "customer_email": None,
        "expires_at": unix(created) + 86400,
        "invoice": invoice,
        "livemode": True,
        "locale": None,
        "metadata": metadata or {},
        "mode": mode,
        "payment_intent": payment_intent,
        "payment_link": "plink_1PqRsTuVwXyZ",
        "payment_method_types": ["card"],
        "payment_status": payment_status,
        "status": "complete",
        "submit_type": None,
        "subscription": subscription,
        "success_url": "https://shop.example.com/thanks?session_id={CHECKOUT_SESSION_ID}",
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": None,
    }


def invoice(
    invoice_id="in_1QaBcDeFgHiJ",
    amount=1900,
    currency="eur",
    customer="cus_QeR7tY8uI9oP",
    subscription="sub_1QxYzAbCdEf",
    billing_reason="subscription_create",
    paid_at="2025-03-10T12:00:00Z",
    payment_intent=None,
    basil=True,
) -> dict:
    """An Invoice; `basil`: shaped as API versions from 2025-03-31 give it
    (subscription under parent.subscription_details, no payment_intent)."""
    obj = {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "DE",
        "amount_due": amount,
        "amount_paid": amount,
        "amount_remaining": 0,
        "attempt_count": 1,
        "attempted": True,
        "billing_reason": billing_reason,
        "collection_method": "charge_automatically",
        "created": unix(paid_at) - 60,
        "currency": currency,
        "customer": customer,
        "customer_email": "buyer@example.com",
        "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1/test",
        "lines": {"object": "list", "data": [], "has_more": False, "total_count": 1},
        "livemode": True,
        "metadata": {},
        "number": "A1B2C3D4-0001",
        "period_end": unix(paid_at),
        "period_start": unix(paid_at) - 30 * 86400,
        "status": "paid",
        "status_transitions": {
            "finalized_at": unix(paid_at) - 30,
            "marked_uncollectible_at": None,
            "paid_at": unix(paid_at),
            "voided_at": None,
        },
        "subtotal": amount,
        "total": amount,
    }
    if basil:
        obj["parent"] = {
            "type": "subscription_details",
            "quote_details": None,
            "subscription_details": {"metadata": {}, "subscription": subscription},
        }
    else:
        obj["subscription"] = subscription
        obj["subscription_details"] = {"metadata": {}}
        obj["payment_intent"] = payment_intent
        obj["charge"] = "ch_" + (payment_intent or "none")[3:]
        obj["paid"] = True
    return obj


def invoice_payment(invoice_id: str, payment_intent: str, amount=1900, currency="eur") -> dict:
    return {
        "id": "inpay_1RsTuVwXyZaB",
        "object": "invoice_payment",
        "amount_paid": amount,
        "amount_requested": amount,
        "created": unix("2025-03-10T12:00:00Z"),
        "currency": currency,
        "invoice": invoice_id,
        "is_default": True,
        "livemode": True,
        "payment": {"type": "payment_intent", "payment_intent": payment_intent},
        "status": "paid",
        "status_transitions": {"canceled_at": None, "paid_at": unix("2025-03-10T12:00:00Z")},
    }


def charge(
    charge_id="ch_3PqR5sT6uV7wX8yZ",
    amount=4990,
    amount_refunded=4990,
    currency="eur",
    payment_intent="pi_3PqR5sT6uV7wX8yZ",
    invoice_id=None,
) -> dict:
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": amount_refunded,
        "balance_transaction": "txn_3PqR5sT6uV7wX8yZ",
        "captured": True,
        "created": unix("2025-03-10T12:00:00Z"),
        "currency": currency,
        "customer": "cus_QeR7tY8uI9oP",
        "invoice": invoice_id,
        "livemode": True,
        "metadata": {},
        "outcome": {"network_status": "approved_by_network", "type": "authorized"},
        "paid": True,
        "payment_intent": payment_intent,
        "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
        "refunded": amount_refunded == amount,
        "status": "succeeded",
    }


def refund(
    refund_id="re_3PqR5sT6uV7wX8yZ",
    amount=1000,
    currency="eur",
    payment_intent="pi_3PqR5sT6uV7wX8yZ",
    charge_id="ch_3PqR5sT6uV7wX8yZ",
    status="succeeded",
    created="2025-03-20T09:00:00Z",
) -> dict:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": "txn_3PqR9zZ",
        "charge": charge_id,
        "created": unix(created),
        "currency": currency,
        "destination_details": {"type": "card", "card": {"type": "refund"}},
        "metadata": {},
        "payment_intent": payment_intent,
        "reason": "requested_by_customer",
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": status,
        "transfer_reversal": None,
    }


def stripe_request(event: dict, secrets=(STRIPE_SECRET,), timestamp=None, body=None):
    """(body, headers) of Stripe's POST for an event."""
    raw = body if body is not None else json.dumps(event).encode()
    return raw, {
        "Stripe-Signature": stripe_signature(raw, secrets, timestamp),
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    }


def post_stripe(client, event: dict, secrets=(STRIPE_SECRET,), timestamp=None, body=None):
    raw, headers = stripe_request(event, secrets, timestamp, body)
    return client.post("/t/stripe", data=raw, headers=headers)


# -- Shopify -------------------------------------------------------------------------


def shopify_hmac(body: bytes, secret=SHOPIFY_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_order(
    order_id=5512345678901,
    total_price="49.90",
    currency="EUR",
    note_attributes=None,
    landing_site="/",
    customer_id=7301234567890,
    financial_status="paid",
    processed_at="2025-03-10T13:00:00+01:00",
    test=False,
) -> dict:
    return {
        "id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
        "app_id": 580111,
        "browser_ip": "203.0.113.7",
        "buyer_accepts_marketing": False,
        "cancel_reason": None,
        "cancelled_at": None,
        "checkout_id": 35123456789012,
        "checkout_token": "b8f1e2d3c4a5968778695a4b3c2d1e0f",
        "confirmation_number": "X1Y2Z3W4V",
        "confirmed": True,
        "contact_email": "buyer@example.com",
        "created_at": processed_at,
        "currency": currency,
        "current_total_price": total_price,
        "customer": None
        if customer_id is None
        else {
            "id": customer_id,
            "email": "buyer@example.com",
            "first_name": "Ada",
            "last_name": "Buyer",
            "currency": currency,
        },
        "customer_locale": "en",
        "email": "buyer@example.com",
        "financial_status": financial_status,
        "fulfillment_status": None,
        "landing_site": landing_site,
        "landing_site_ref": None,
        "line_items": [
            {
                "id": 14012345678901,
                "name": "Linen shirt - M",
                "price": total_price,
                "quantity": 1,
                "sku": "LS-M",
                "product_id": 8123456789012,
            }
        ],  # fmt: skip
        "name": "#1001",
        "note": None,
        "note_attributes": note_attributes or [],
        "order_number": 1001,
        "order_status_url": "https://shop.example.com/123/orders/b8f1e2/authenticate?key=k",
        "presentment_currency": currency,
        "processed_at": processed_at,
        "referring_site": "https://t.co/",
        "source_name": "web",
        "subtotal_price": total_price,
        "tags": "",
        "test": test,
        "total_discounts": "0.00",
        "total_price": total_price,
        "total_tax": "0.00",
        "updated_at": processed_at,
    }


def shopify_refund(
    refund_id=9301234567890,
    order_id=5512345678901,
    amounts=("10.00",),
    currency="EUR",
    created_at="2025-03-20T10:00:00+01:00",
    test=False,
) -> dict:
    return {
        "id": refund_id,
        "order_id": order_id,
        "admin_graphql_api_id": f"gid://shopify/Refund/{refund_id}",
        "created_at": created_at,
        "note": "Customer changed their mind",
        "processed_at": created_at,
        "restock": True,
        "user_id": 81234567,
        "order_adjustments": [],
        "refund_line_items": [],
        "transactions": [
            {
                "id": 6801234567890 + n,
                "order_id": order_id,
                "kind": "refund",
                "gateway": "shopify_payments",
                "status": "success",
                "message": "Transaction approved",
                "created_at": created_at,
                "test": test,
                "parent_id": 6701234567890,
                "processed_at": created_at,
                "amount": amount,
                "currency": currency,
            }
            for n, amount in enumerate(amounts)
        ],
    }


def shopify_request(topic: str, payload: dict, webhook_id: str, secret=SHOPIFY_SECRET):
    """(body, headers) of Shopify's POST for a topic."""
    raw = json.dumps(payload).encode()
    return raw, {
        "X-Shopify-Hmac-Sha256": shopify_hmac(raw, secret),
        "X-Shopify-Topic": topic,
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Shop-Domain": "example-shop.myshopify.com",
        "X-Shopify-API-Version": "2025-01",
        "X-Shopify-Triggered-At": "2025-03-10T12:00:01.123456789Z",
        "Content-Type": "application/json",
    }


def post_shopify(client, topic: str, payload: dict, webhook_id: str, secret=SHOPIFY_SECRET):
    raw, headers = shopify_request(topic, payload, webhook_id, secret)
    return client.post("/t/shopify", data=raw, headers=headers)
