"""POST /t/shopify: orders and refunds from Shopify's own webhooks.

Shopify signs the raw body: `X-Shopify-Hmac-Sha256` is the base64
HMAC-SHA256 of it, keyed with the store's webhook signing key (or the app's
client secret). The topic is in `X-Shopify-Topic`; a delivery keeps its
`X-Shopify-Webhook-Id` on every retry, and an order is stored once
whichever of its topics arrives first. Prices are decimal strings in the
shop's currency, read as exact decimals.
"""

import base64
import hashlib
import hmac
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from flask import Blueprint, current_app, jsonify, request

from shortener.clock import parse_moment, utcnow
from shortener.db import get_db
from shortener.errors import ApiError
from shortener.journal import catch_up

from .intake import Conversion
from .money import MoneyError, check_currency, to_minor
from .policy import current_policy
from .shops import (
    Ignored,
    Outcome,
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

bp = Blueprint("shop_shopify", __name__)

# orders/create counts an order whose payment is captured later (authorized
# now); an order still waiting for its money counts when orders/paid comes
COUNTED_ON_CREATE = ("paid", "authorized")


def signature(secret: str, raw: bytes) -> str:
    digest = hmac.new(secret.encode(), raw, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(raw: bytes, header: str | None, secrets: list[str]) -> None:
    if not secrets:
        raise ApiError("Shopify webhooks are not configured (SHOPIFY_WEBHOOK_SECRET)", 401)
    if not header:
        raise ApiError("missing X-Shopify-Hmac-Sha256 header", 401)
    given = header.strip().encode()
    if not any(hmac.compare_digest(signature(s, raw).encode(), given) for s in secrets):
        raise ApiError(
            "X-Shopify-Hmac-Sha256 does not match (is SHOPIFY_WEBHOOK_SECRET the store's"
            " webhook signing key?)",
            401,
        )


def shop_time(value) -> datetime | None:
    try:
        return parse_moment(value) if isinstance(value, str) else None
    except (ValueError, OverflowError):
        return None


def money(value, currency: str, field: str) -> int:
    try:
        return to_minor(value, currency)
    except MoneyError as e:
        raise ApiError(str(e), field=field) from None


def currency_of(obj: dict, field: str = "currency") -> str:
    try:
        return check_currency(obj.get("currency"))
    except MoneyError as e:
        raise ApiError(str(e), field=field) from None


def attributes(order: dict) -> dict:
    """The cart attributes ct.js set (`note_attributes`: name/value pairs)."""
    pairs = order.get("note_attributes")
    if not isinstance(pairs, list):
        return {}
    return {
        p.get("name"): p.get("value")
        for p in pairs
        if isinstance(p, dict) and isinstance(p.get("name"), str)
    }


def landing_click(order: dict) -> str | None:
    """`ct_click` in the URL the buyer first landed on, the short link's
    redirect having put it there."""
    site = order.get("landing_site")
    if not isinstance(site, str):
        return None
    try:
        values = parse_qs(urlsplit(site[:2048]).query).get("ct_click")
    except ValueError:  # not a URL (an unclosed IPv6 bracket...): no click in it
        return None
    return text_id(values[0], "") if values else None


def order_sale(order: dict, topic: str, webhook_id: str, now: datetime):
    status = order.get("financial_status")
    if topic == "orders/create" and status not in COUNTED_ON_CREATE:
        return Ignored(f"not paid yet (financial_status {status}): orders/paid will count it")
    order_id = text_id(order.get("id"), "id", required=True)
    currency = currency_of(order)
    noted = attributes(order)
    c = Conversion(
        goal="purchase",
        source="webhook",
        occurred_at=moment(shop_time(order.get("processed_at") or order.get("created_at")), now),
        received_at=now,
        value_minor=money(order.get("total_price"), currency, "total_price"),
        currency=currency,
        order_id=order_id,
        click_id=text_id(noted.get("ct_click"), "") or landing_click(order),
        visitor_id=text_id(noted.get("ct_vid"), ""),
        customer_id=text_id(order.get("customer"), ""),
        webhook_id="shopify:" + webhook_id,
    )
    # a thank-you page pixel may know the order by its name (#1001) or number
    others = (text_id(order.get("name"), ""), text_id(order.get("order_number"), ""))
    return Sale(c, order_ids=tuple(i for i in others if i))


def refund(body: dict, now: datetime):
    ref = text_id(body.get("id"), "id", required=True)
    order_id = text_id(body.get("order_id"), "order_id", required=True)
    transactions = body.get("transactions")
    if not isinstance(transactions, list):
        raise ApiError("transactions must be a list", field="transactions")
    refunded = [
        t
        for t in transactions
        if isinstance(t, dict) and t.get("kind") == "refund" and t.get("status") == "success"
    ]
    if not refunded:
        return Ignored(f"refund {ref} of order {order_id} returned no money")
    currencies = {currency_of(t, "transactions.currency") for t in refunded}
    if len(currencies) > 1:
        raise ApiError("a refund's transactions must share a currency", field="transactions")
    [currency] = currencies
    total = sum(money(t.get("amount"), currency, "transactions.amount") for t in refunded)
    return Refund(
        ref=ref,
        order_ids=(order_id,),
        amount_minor=total,
        currency=currency,
        refunded_at=moment(shop_time(body.get("processed_at") or body.get("created_at")), now),
    )


def is_test(body: dict) -> bool:
    """An order from the store's test gateway, or a refund of one."""
    transactions = body.get("transactions")
    tests = (
        [t.get("test") for t in transactions if isinstance(t, dict)]
        if isinstance(transactions, list)
        else []
    )
    return body.get("test") is True or True in tests


def header_id(name: str) -> str:
    value = request.headers.get(name)
    return text_id(value, name, required=True)


@bp.post("/t/shopify")
def receive():
    raw = read_body()
    verify(
        raw,
        request.headers.get("X-Shopify-Hmac-Sha256"),
        current_app.config["SHOPIFY_WEBHOOK_SECRETS"],
    )
    topic = header_id("X-Shopify-Topic")
    webhook_id = header_id("X-Shopify-Webhook-Id")
    body = parse_body(raw)
    now = utcnow()
    if topic in ("orders/paid", "orders/create"):
        item = order_sale(body, topic, webhook_id, now)
    elif topic == "refunds/create":
        item = refund(body, now)
    else:
        item = Ignored(f"{topic} is not an order or a refund: remove this webhook in Shopify")
    db = catch_up(get_db())
    if is_test(body):
        outcome = Outcome("test", f"test order, not stored: {describe(item)}")
    else:
        outcome = apply(db, "shopify", item, current_policy(), now)
    log_event(db, "shopify", webhook_id, topic, outcome, now)
    response, status = outcome.response()
    return jsonify(response), status
