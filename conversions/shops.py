"""Sales straight from the shop: what the Stripe and Shopify webhooks share.

Each webhook verifies its platform's signature, then reads the event into
one of the plain records below (no database needed, so a test-mode event
can be described without storing it), which `apply` stores: a sale as a
verified conversion through the same intake as the signed webhook, a refund
against the conversion of its order, a payment's order for later refunds.
Every event accepted or deliberately ignored is written to a short log for
the Install page; a refused one (bad signature, malformed body) stores
nothing and is only logged by the app.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import current_app, request
from sqlite_utils import Database

from shortener.clock import to_db
from shortener.db import immediate
from shortener.errors import ApiError
from shortener.signals import send

from .intake import Conversion, Policy, UnknownClick, public, record_conversion
from .money import format_minor
from .signals import conversion_refunded

SHOPS = ("stripe", "shopify")
KEEP_EVENTS = 100  # per shop, for the Install page
MAX_BODY = 2 * 1024 * 1024  # a large Shopify order is a few hundred KB
MAX_ID = 128
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
SALE_GOALS = "('purchase', 'renewal')"  # what a shop's sale is stored as (SQL)


@dataclass
class Sale:
    conversion: Conversion
    # other ids a pixel on the thank-you page may have reported the order as
    order_ids: tuple[str, ...] = ()
    # a renewal: credited as the customer's first conversion was
    renewal: bool = False
    payments: dict[str, str] = field(default_factory=dict)  # payment id -> order id


@dataclass
class Refund:
    ref: str  # the refund's id, or the charge's for a running total
    order_ids: tuple[str, ...]
    amount_minor: int
    currency: str
    refunded_at: datetime
    cumulative: bool = False  # amount is the charge's refunded total so far
    payment_ids: tuple[str, ...] = ()  # looked up in shop_payments


@dataclass
class PaymentOrder:
    payment_id: str
    order_id: str


@dataclass
class Ignored:
    detail: str


@dataclass
class Outcome:
    outcome: str  # purchase, renewal, duplicate, refund, payment, ignored, test
    detail: str
    conversion: dict | None = None
    created: bool = False

    def response(self):
        body = {"outcome": self.outcome, "detail": self.detail}
        if self.conversion is not None:
            body["conversion"] = public(self.conversion)
        return body, 201 if self.created else 200


# -- reading a request -------------------------------------------------------


def read_body() -> bytes:
    """The raw body, never more than MAX_BODY, whatever the sender says."""
    if (request.content_length or 0) > MAX_BODY:
        raise ApiError(f"body is larger than {MAX_BODY} bytes", 413)
    raw = request.stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        raise ApiError(f"body is larger than {MAX_BODY} bytes", 413)
    return raw


def text_id(value, field: str, required: bool = False) -> str | None:
    """An id as text (shops send numbers too); an id that is no id is the
    body's fault when required, and otherwise treated as absent."""
    if isinstance(value, dict):
        value = value.get("id")  # an expanded object
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    ok = isinstance(value, str) and 0 < len(value) <= MAX_ID and value.isprintable()
    if ok:
        return value
    if required:
        raise ApiError(f"{field} must be an id of at most {MAX_ID} characters", field=field)
    return None


def moment(value: datetime | None, now: datetime) -> datetime:
    """When the shop says a thing happened, never after now (the shop's
    clock and ours may differ by a little)."""
    if value is None or value < EARLIEST:
        return now
    return min(value, now)


# -- storing -----------------------------------------------------------------


def apply(db: Database, shop: str, item, policy: Policy, now: datetime) -> Outcome:
    if isinstance(item, Ignored):
        return Outcome("ignored", item.detail)
    if isinstance(item, PaymentOrder):
        remember_payments(db, shop, {item.payment_id: item.order_id})
        return Outcome("payment", f"payment {item.payment_id} is order {item.order_id}")
    if isinstance(item, Refund):
        return record_refund(db, shop, item, now)
    return record_sale(db, shop, item, policy)


def describe(item) -> str:
    """What `apply` would store, for an event from the shop's test mode."""
    if isinstance(item, Sale):
        c = item.conversion
        source = "click " + c.click_id if c.click_id else "no click"
        value = format_minor(c.value_minor, c.currency)
        return f"{c.goal} {value} {c.currency}, order {c.order_id}, {source}"
    if isinstance(item, Refund):
        amount = format_minor(item.amount_minor, item.currency)
        return f"refund {amount} {item.currency} of order {', '.join(item.order_ids)}"
    if isinstance(item, PaymentOrder):
        return f"payment {item.payment_id} is order {item.order_id}"
    return item.detail


def record_sale(db: Database, shop: str, sale: Sale, policy: Policy) -> Outcome:
    c = sale.conversion
    remember_payments(db, shop, sale.payments)
    known = _stored_order(db, c.goal, [i for i in sale.order_ids if i != c.order_id])
    c.order_id = known["order_id"] if known else c.order_id
    if sale.renewal:
        first = first_conversion(db, c.customer_id) if c.customer_id else None
        if first is not None:
            c.journey_of, c.visitor_id, c.click_id = first["id"], first["visitor_id"], None
    note = ""
    try:
        row, duplicate = record_conversion(db, c, policy)
    except UnknownClick:
        # a click id clicktrail never issued: the sale still counts, as (direct)
        note = f"; click {c.click_id} not found"
        c.click_id = None
        row, duplicate = record_conversion(db, c, policy)
    channel = _credited(db, row["id"])
    detail = (
        f"{row['goal']} {format_minor(row['value_minor'], row['currency'])} {row['currency']},"
        f" order {row['order_id']}, credited to {channel}{note}"
    )
    if known and not known["verified"]:
        detail += "; confirms the pixel's conversion"
    if duplicate:
        return Outcome("duplicate", f"already stored: {detail}", row)
    return Outcome(row["goal"], detail, row, created=True)


def _stored_order(db: Database, goal: str, order_ids: list[str]) -> dict | None:
    """The order as stored under another of its ids than the shop's event
    leads with: a thank-you page's pixel knows a Stripe checkout session or
    a Shopify order name, the event the payment or order id. The sale then
    takes that id, so intake sees one order (and the pixel's is confirmed)."""
    if not order_ids:
        return None
    marks = ", ".join("?" * len(order_ids))
    row = db.conn.execute(
        f"SELECT order_id, verified FROM conversions WHERE goal = ?"
        f" AND order_id IN ({marks}) ORDER BY id LIMIT 1",
        [goal, *order_ids],
    ).fetchone()
    return {"order_id": row[0], "verified": row[1]} if row else None


def first_conversion(db: Database, customer_id: str) -> dict | None:
    row = db.conn.execute(
        "SELECT id, visitor_id FROM conversions WHERE customer_id = ?"
        " ORDER BY occurred_at, id LIMIT 1",
        [customer_id],
    ).fetchone()
    return {"id": row[0], "visitor_id": row[1]} if row else None


def _credited(db: Database, conversion_id: int) -> str:
    """Where the last-touch model credits the conversion, for the log."""
    row = db.conn.execute(
        "SELECT l.channel, l.campaign FROM credits cr LEFT JOIN links l ON l.id = cr.link_id"
        " WHERE cr.conversion_id = ? AND cr.model = 'last_touch' ORDER BY cr.weight_ppm DESC"
        " LIMIT 1",
        [conversion_id],
    ).fetchone()
    if row is None or row[0] is None:
        return "(direct)"
    return f"{row[0]}/{row[1]}"


def remember_payments(db: Database, shop: str, payments: dict[str, str]) -> None:
    if not payments:
        return
    with immediate(db):
        db.conn.executemany(
            "INSERT OR IGNORE INTO shop_payments (shop, payment_id, order_id) VALUES (?, ?, ?)",
            [(shop, payment, order) for payment, order in payments.items()],
        )


# -- refunds -----------------------------------------------------------------


# How much of a conversion shops refunded (refund_amounts rows): the sum of
# its refunds, or of its charges' running totals when those say more (a
# shop may report one refund both ways).
REFUNDED_MINOR = (
    "max(coalesce(sum(CASE WHEN cumulative = 0 THEN amount_minor END), 0),"
    " coalesce(sum(CASE WHEN cumulative = 1 THEN amount_minor END), 0))"
)


def refunded_minor(db: Database, conversion_id: int) -> int:
    return db.conn.execute(
        f"SELECT {REFUNDED_MINOR} FROM refund_amounts WHERE conversion_id = ?",
        [conversion_id],
    ).fetchone()[0]


def _refunded_order(db: Database, shop: str, refund: Refund) -> dict | None:
    order_ids = list(refund.order_ids)
    for payment in refund.payment_ids:
        found = db.conn.execute(
            "SELECT order_id FROM shop_payments WHERE shop = ? AND payment_id = ?",
            [shop, payment],
        ).fetchone()
        if found:
            order_ids.append(found[0])
    order_ids = [i for i in order_ids if i]
    if not order_ids:
        return None
    marks = ", ".join("?" * len(order_ids))
    # by (goal, order_id), the unique index: the goals a shop's sale is stored as
    cursor = db.conn.execute(
        f"SELECT * FROM conversions WHERE goal IN {SALE_GOALS} AND order_id IN ({marks})"
        " ORDER BY verified DESC, id LIMIT 1",
        order_ids,
    )
    row = cursor.fetchone()
    return dict(zip([d[0] for d in cursor.description], row, strict=True)) if row else None


def record_refund(db: Database, shop: str, refund: Refund, now: datetime) -> Outcome:
    """Store what was refunded of an order's conversion. Once the refunds
    add up to the whole value, the parts above are told the conversion is
    refunded (`conversion_refunded`: the rewards ledger voids its pending
    rewards); a partial refund is kept and shows in the refunded revenue,
    the rewards stay."""
    order = ", ".join(refund.order_ids) or "(none named)"
    conversion = _refunded_order(db, shop, refund)
    if conversion is None:
        return Outcome("ignored", f"no conversion for order {order}: refund not recorded")
    if conversion["currency"] != refund.currency:
        detail = f"refund in {refund.currency} of a conversion in {conversion['currency']}"
        return Outcome("ignored", detail + ": not recorded", conversion)
    at = to_db(refund.refunded_at)
    with immediate(db, durable=True):
        if refund.cumulative:
            cursor = db.conn.execute(
                "INSERT INTO refund_amounts (source, ref, conversion_id, amount_minor, cumulative,"
                " refunded_at) VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT (source, ref) DO UPDATE"
                " SET amount_minor = excluded.amount_minor, refunded_at = excluded.refunded_at"
                " WHERE excluded.amount_minor > refund_amounts.amount_minor",
                [shop, refund.ref, conversion["id"], refund.amount_minor, at],
            )
        else:
            cursor = db.conn.execute(
                "INSERT OR IGNORE INTO refund_amounts (source, ref, conversion_id, amount_minor,"
                " cumulative, refunded_at) VALUES (?, ?, ?, ?, 0, ?)",
                [shop, refund.ref, conversion["id"], refund.amount_minor, at],
            )
        new = cursor.rowcount > 0
        total = refunded_minor(db, conversion["id"])
    currency = conversion["currency"]
    detail = (
        f"refund {format_minor(refund.amount_minor, currency)} {currency} of conversion"
        f" {conversion['id']} (order {conversion['order_id']}):"
        f" {format_minor(min(total, conversion['value_minor']), currency)}"
        f" of {format_minor(conversion['value_minor'], currency)} refunded"
    )
    if total >= conversion["value_minor"]:
        # again on a retry: a crash between the two transactions is mended
        reason = f"{shop} refund {refund.ref}"
        answers = send(conversion_refunded, db=db, conversion_id=conversion["id"], now=now,
                       reason=reason, refunded_at=refund.refunded_at)  # fmt: skip
        voided = sum(count for _, count in answers)
        detail += f", in full; {voided} pending reward(s) voided"
    if not new:
        return Outcome("duplicate", f"already recorded: {detail}", conversion)
    return Outcome("refund", detail, conversion)


# -- the event log -------------------------------------------------------------


def log_event(
    db: Database, shop: str, event_id: str | None, kind: str, outcome: Outcome, now: datetime
) -> None:
    conversion_id = outcome.conversion["id"] if outcome.conversion else None
    with immediate(db):
        db.conn.execute(
            "INSERT INTO shop_events (shop, event_id, type, received_at, outcome, detail,"
            " conversion_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
            [shop, event_id, kind[:100], to_db(now), outcome.outcome, outcome.detail[:500],
             conversion_id],
        )  # fmt: skip
        db.conn.execute(
            "DELETE FROM shop_events WHERE shop = ? AND id <= (SELECT id FROM shop_events"
            " WHERE shop = ? ORDER BY id DESC LIMIT 1 OFFSET ?)",
            [shop, shop, KEEP_EVENTS],
        )
    current_app.logger.info("%s %s %s: %s %s", shop, kind, event_id, outcome.outcome,
                            outcome.detail)  # fmt: skip


def recent_events(db: Database, shop: str, limit: int = 20) -> list[dict]:
    return list(
        db.query(
            "SELECT received_at, type, outcome, detail, event_id FROM shop_events"
            " WHERE shop = ? ORDER BY id DESC LIMIT ?",
            [shop, limit],
        )
    )
