"""POST /t/stripe: sales, renewals and refunds from Stripe's own webhooks.

The `Stripe-Signature` header is checked by Stripe's library against each
configured secret (several during Stripe's rotation), then the event is
read into a sale, a refund or an ignored event (see `shops`). Stripe sends
amounts in the currency's smallest unit as Stripe defines it, which is not
always ISO 4217's (ISK has two decimals at Stripe, none in ISO; MGA the
other way round): amounts go through the decimal amount to clicktrail's
minor units, exactly.
"""

from datetime import UTC, datetime
from decimal import Decimal

import stripe
from flask import Blueprint, current_app, jsonify, request

from shortener.clock import utcnow
from shortener.db import get_db
from shortener.errors import ApiError
from shortener.journal import catch_up

from .intake import Conversion
from .money import MoneyError, check_currency, to_minor
from .policy import current_policy
from .shops import (
    Ignored,
    Outcome,
    PaymentOrder,
    Refund,
    Sale,
    apply,
    describe,
    log_event,
    moment,
    read_body,
    text_id,
)
from .webhook import parse_body

bp = Blueprint("shop_stripe", __name__)

# https://docs.stripe.com/currencies: amounts in these are whole units (or
# thousandths); every other currency has two decimals at Stripe
ZERO_DECIMAL = frozenset("BIF CLP DJF GNF JPY KMF KRW MGA PYG RWF UGX VND VUV XAF XOF XPF".split())
THREE_DECIMAL = frozenset("BHD JOD KWD OMR TND".split())
PAID = ("paid", "no_payment_required")


def stripe_exponent(currency: str) -> int:
    if currency in ZERO_DECIMAL:
        return 0
    return 3 if currency in THREE_DECIMAL else 2


def currency_of(obj: dict) -> str:
    try:
        return check_currency(obj.get("currency"))
    except MoneyError as e:
        raise ApiError(str(e), field="data.object.currency") from None


def amount(obj: dict, key: str, currency: str) -> int:
    """Stripe's integer amount as clicktrail's minor units of `currency`."""
    value = obj.get(key)
    field = f"data.object.{key}"
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ApiError(f"{key} must be a whole amount in the currency's smallest unit", field=field)
    try:
        return to_minor(Decimal(value).scaleb(-stripe_exponent(currency)), currency)
    except MoneyError as e:
        raise ApiError(str(e), field=field) from None


def unix_time(value) -> datetime | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2**33:
        return datetime.fromtimestamp(value, UTC)
    return None


def metadata(obj: dict) -> dict:
    value = obj.get("metadata")
    return value if isinstance(value, dict) else {}


# -- signature -----------------------------------------------------------------


def verify(raw: bytes, header: str | None, secrets: list[str], tolerance: int) -> None:
    """Raise ApiError unless one of the secrets signed the body: 401 for a
    missing or wrong signature, 400 for one older than `tolerance` seconds."""
    if not secrets:
        raise ApiError("Stripe webhooks are not configured (STRIPE_WEBHOOK_SECRET)", 401)
    if not header:
        raise ApiError("missing Stripe-Signature header", 401)
    try:
        raw.decode("utf-8")  # Stripe's library signs and compares text
    except UnicodeDecodeError:
        raise ApiError("body is not valid JSON") from None
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(raw, header, secret, tolerance=None)
        except stripe.SignatureVerificationError:
            continue
        try:
            stripe.WebhookSignature.verify_header(raw, header, secret, tolerance=tolerance)
        except stripe.SignatureVerificationError:
            raise ApiError(
                f"Stripe-Signature timestamp is more than {tolerance} s old (a replay, or a"
                " clock far off)"
            ) from None
        return
    raise ApiError(
        "Stripe-Signature does not match (is STRIPE_WEBHOOK_SECRET this endpoint's?)", 401
    )


# -- events ----------------------------------------------------------------------


def sale(event: dict, obj: dict, goal: str, order_id: str, value_key: str, now) -> Conversion:
    currency = currency_of(obj)
    return Conversion(
        goal=goal,
        source="webhook",
        occurred_at=now,
        received_at=now,
        value_minor=amount(obj, value_key, currency),
        currency=currency,
        order_id=order_id,
        customer_id=text_id(obj.get("customer"), "customer"),
        webhook_id="stripe:" + event["id"],
    )


def checkout_session(event: dict, obj: dict, now: datetime):
    if obj.get("mode") == "setup":
        return Ignored("a setup session takes no payment")
    if obj.get("payment_status") not in PAID:
        return Ignored(
            f"not paid yet (payment_status {obj.get('payment_status')}):"
            " checkout.session.async_payment_succeeded will count it"
        )
    session = text_id(obj.get("id"), "data.object.id", required=True)
    intent = text_id(obj.get("payment_intent"), "payment_intent")
    invoice = text_id(obj.get("invoice"), "invoice")
    # a subscription's first invoice is the same order as its checkout
    # (invoice.paid says so too, often first): one order id for both
    c = sale(event, obj, "purchase", invoice or intent or session, "amount_total", now)
    c.occurred_at = moment(unix_time(event.get("created")), now)
    meta = metadata(obj)
    c.click_id = text_id(obj.get("client_reference_id"), "") or text_id(meta.get("ct_click"), "")
    c.visitor_id = text_id(meta.get("ct_vid"), "")
    payments = {intent: invoice} if intent and invoice else {}
    return Sale(c, order_ids=tuple(i for i in (session, intent, invoice) if i), payments=payments)


def subscription_of(invoice: dict) -> tuple[str | None, dict]:
    """The invoice's subscription and its metadata, where either API
    version puts them (`parent.subscription_details` from 2025-03-31)."""
    parent = invoice.get("parent") if isinstance(invoice.get("parent"), dict) else {}
    details = parent.get("subscription_details") or invoice.get("subscription_details") or {}
    details = details if isinstance(details, dict) else {}
    subscription = text_id(details.get("subscription") or invoice.get("subscription"), "")
    return subscription, metadata(details)


def invoice_paid(event: dict, obj: dict, now: datetime):
    invoice = text_id(obj.get("id"), "data.object.id", required=True)
    subscription, sub_meta = subscription_of(obj)
    first = not subscription or obj.get("billing_reason") == "subscription_create"
    c = sale(event, obj, "purchase" if first else "renewal", invoice, "amount_paid", now)
    transitions = obj.get("status_transitions")
    paid_at = transitions.get("paid_at") if isinstance(transitions, dict) else None
    c.occurred_at = moment(unix_time(paid_at) or unix_time(event.get("created")), now)
    meta = {**sub_meta, **metadata(obj)}
    if first:
        c.click_id = text_id(meta.get("ct_click"), "")
        c.visitor_id = text_id(meta.get("ct_vid"), "")
    intent = text_id(obj.get("payment_intent"), "")  # before API version 2025-03-31
    return Sale(c, renewal=not first, payments={intent: invoice} if intent else {})


def invoice_payment(event: dict, obj: dict, now: datetime):
    payment = obj.get("payment") if isinstance(obj.get("payment"), dict) else {}
    intent = text_id(payment.get("payment_intent"), "")
    invoice = text_id(obj.get("invoice"), "data.object.invoice", required=True)
    if not intent:
        return Ignored("an invoice payment without a payment intent")
    return PaymentOrder(intent, invoice)


def charge_refunded(event: dict, obj: dict, now: datetime):
    currency = currency_of(obj)
    intent = text_id(obj.get("payment_intent"), "")
    return Refund(
        ref=text_id(obj.get("id"), "data.object.id", required=True),
        order_ids=tuple(i for i in (intent, text_id(obj.get("invoice"), "")) if i),
        amount_minor=amount(obj, "amount_refunded", currency),
        currency=currency,
        refunded_at=moment(unix_time(event.get("created")), now),
        cumulative=True,
        payment_ids=(intent,) if intent else (),
    )


def refund_created(event: dict, obj: dict, now: datetime):
    if obj.get("status") in ("failed", "canceled"):
        return Ignored(f"a refund that is {obj.get('status')}")
    currency = currency_of(obj)
    intent = text_id(obj.get("payment_intent"), "")
    return Refund(
        ref=text_id(obj.get("id"), "data.object.id", required=True),
        order_ids=(intent,) if intent else (),
        amount_minor=amount(obj, "amount", currency),
        currency=currency,
        refunded_at=moment(unix_time(obj.get("created")) or unix_time(event.get("created")), now),
        payment_ids=(intent,) if intent else (),
    )


HANDLERS = {
    "checkout.session.completed": checkout_session,
    "checkout.session.async_payment_succeeded": checkout_session,
    "invoice.paid": invoice_paid,
    "invoice.payment_succeeded": invoice_paid,
    "invoice_payment.paid": invoice_payment,
    "charge.refunded": charge_refunded,
    "refund.created": refund_created,
}


def read_event(raw: bytes) -> dict:
    event = parse_body(raw)
    event["id"] = text_id(event.get("id"), "id", required=True)
    if not isinstance(event.get("type"), str) or not event["type"]:
        raise ApiError("type is required", field="type")
    data = event.get("data")
    if event["type"] in HANDLERS and not (
        isinstance(data, dict) and isinstance(data.get("object"), dict)
    ):
        raise ApiError("data.object must be the event's object", field="data.object")
    return event


@bp.post("/t/stripe")
def receive():
    config = current_app.config
    raw = read_body()
    verify(
        raw,
        request.headers.get("Stripe-Signature"),
        config["STRIPE_WEBHOOK_SECRETS"],
        config["WEBHOOK_TOLERANCE_SECONDS"],
    )
    event = read_event(raw)
    now = utcnow()
    handler = HANDLERS.get(event["type"])
    if handler is None:
        item = Ignored(f"{event['type'][:60]} is not a sale or a refund: deselect it in Stripe")
    else:
        item = handler(event, event["data"]["object"], now)
    db = catch_up(get_db())
    if event.get("livemode") is False:
        outcome = Outcome("test", f"test mode, not stored: {describe(item)}")
    else:
        outcome = apply(db, "stripe", item, current_policy(), now)
    log_event(db, "stripe", event["id"], event["type"], outcome, now)
    body, status = outcome.response()
    return jsonify(body), status
