"""Conversion intake: one function behind both the pixel and the webhook.

A conversion is stored together with its attribution credits under every
model, in one durable transaction: the journey that earned it is fixed at
the moment it is recorded, and reports only add up stored credits.
"""

import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from shortener.clock import from_db, to_db
from shortener.db import immediate
from shortener.signals import send

from .aggregates import forget_credits
from .attribution import MODELS, ONE, credit, split
from .money import format_minor
from .signals import conversion_stored


@dataclass
class Conversion:
    goal: str
    source: str  # "pixel" (unverified: anyone can fire it) or "webhook"
    occurred_at: datetime
    received_at: datetime
    value_minor: int | None = None
    currency: str | None = None
    order_id: str | None = None
    click_id: str | None = None
    visitor_id: str | None = None
    customer_id: str | None = None
    webhook_id: str | None = None
    stated_time: bool = True  # False: occurred_at is just when it arrived
    # a subscription's renewal: the conversion whose journey (its stored
    # credits) earns this one too, months after its clicks left the window
    journey_of: int | None = None


@dataclass(frozen=True)
class Policy:
    window_days: int = 30
    half_life_days: float = 7
    default_currency: str = "USD"


class UnknownGoal(ValueError):
    pass


class UnknownClick(ValueError):
    pass


def _first(db: Database, sql: str, params) -> dict | None:
    """The first row as a dict, read straight from the connection.

    sqlite-utils' query() wraps every read in a SAVEPOINT and its RELEASE,
    three statements for one; intake reads five times per conversion.
    """
    cursor = db.conn.execute(sql, params)
    row = cursor.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cursor.description], row, strict=True))


def find_duplicate(db: Database, c: Conversion) -> dict | None:
    if c.webhook_id:
        row = _first(db, "SELECT * FROM conversions WHERE webhook_id = ?", [c.webhook_id])
        if row:
            return row
    if c.order_id:
        return _first(
            db, "SELECT * FROM conversions WHERE goal = ? AND order_id = ?", [c.goal, c.order_id]
        )
    return None


def visitor_of_click(db: Database, click_id: str) -> str | None:
    row = db.conn.execute("SELECT visitor_id FROM clicks WHERE click_id = ?", [click_id]).fetchone()
    if row is None:
        raise UnknownClick(click_id)
    return row[0]


def touches(db: Database, visitor_id: str, converted_at: datetime, window_days: int):
    """The visitor's human clicks that may earn credit, oldest first."""
    start = converted_at - timedelta(days=window_days)
    return [
        {"id": id, "link_id": link_id, "ts": ts}
        for id, link_id, ts in db.conn.execute(
            "SELECT id, link_id, ts FROM clicks WHERE visitor_id = ? AND is_bot = 0"
            " AND ts > ? AND ts <= ? ORDER BY ts, id",
            [visitor_id, to_db(start), to_db(converted_at)],
        )
    ]


def record_conversion(db: Database, c: Conversion, policy: Policy) -> tuple[dict, bool]:
    """Store a conversion and its credits; returns (row, was_duplicate).

    The same webhook-id, or the same order_id for the same goal, is stored
    once: a retried webhook or a reloaded thank-you page is not a sale. A
    webhook for an order first seen by the pixel replaces the pixel's
    unverified row (same id, credits recomputed) rather than being refused:
    the signed report is the one to trust. Likewise a signed report that
    brings the click or visitor a verified row for its order lacked (a
    shop's invoice arrives before its checkout session).

    Everything that only reads -- the duplicate check, the goal, the click's
    visitor, the journey and its credits -- happens before the write lock,
    which is then held just for the inserts and the durable commit (SQLite
    has one writer at a time, so that time bounds intake throughput). The
    unique indexes catch a twin that slips in between.
    """
    duplicate = find_duplicate(db, c)
    if duplicate and not _upgrades(duplicate, c):
        return duplicate, True
    if duplicate:
        return _upgrade(db, duplicate, c, policy)
    conversion, credits = _prepare(db, c, policy)
    try:
        with immediate(db, durable=True):
            [(conversion_id,)] = db.conn.execute(INSERT_CONVERSION, conversion).fetchall()
            db.conn.executemany(INSERT_CREDIT, [(conversion_id, *row) for row in credits])
            row = _row(db, conversion_id)
            send(conversion_stored, db=db, conversion=row, replaced=False)
    except sqlite3.IntegrityError:
        # a concurrent twin won the race between our check and insert
        duplicate = find_duplicate(db, c)
        if duplicate is None:
            raise
        if _upgrades(duplicate, c):
            return _upgrade(db, duplicate, c, policy)
        return duplicate, True
    return row, False


INSERT_CONVERSION = (
    "INSERT INTO conversions (goal, value_minor, currency, order_id, webhook_id,"
    " click_id, visitor_id, customer_id, source, verified, occurred_at, received_at)"
    " VALUES (?,?,?,?,?,?,?,?,?,?,?,?) RETURNING id"
)
INSERT_CREDIT = (
    "INSERT INTO credits (conversion_id, model, click_row, link_id, weight_ppm,"
    " revenue_minor) VALUES (?,?,?,?,?,?)"
)


def _row(db: Database, conversion_id: int) -> dict:
    return _first(db, "SELECT * FROM conversions WHERE id = ?", [conversion_id])


def _prepare(db: Database, c: Conversion, policy: Policy) -> tuple[list, list]:
    """The conversion's column values and its credit rows (without the
    conversion id); raises UnknownGoal / UnknownClick."""
    goal = _first(db, "SELECT value_minor, currency FROM goals WHERE name = ?", [c.goal])
    if goal is None:
        raise UnknownGoal(c.goal)
    if c.click_id:
        c.visitor_id = visitor_of_click(db, c.click_id) or c.visitor_id
    if c.value_minor is None:
        c.value_minor = goal["value_minor"]
        c.currency = goal["currency"] or policy.default_currency
    currency = c.currency or policy.default_currency
    conversion = [
        c.goal,
        c.value_minor,
        currency,
        c.order_id,
        c.webhook_id,
        c.click_id,
        c.visitor_id,
        c.customer_id,
        c.source,
        int(c.source == "webhook"),
        to_db(c.occurred_at),
        to_db(c.received_at),
    ]
    if c.journey_of is not None:
        return conversion, inherited_credits(db, c.journey_of, c.value_minor)
    journey = touches(db, c.visitor_id, c.occurred_at, policy.window_days) if c.visitor_id else []
    credits = [row[1:] for row in credit_rows(None, journey, c.occurred_at, c.value_minor, policy)]
    return conversion, credits


def inherited_credits(db: Database, conversion_id: int, value_minor: int) -> list[tuple]:
    """Credit rows for `value_minor` shared as conversion `conversion_id`'s
    credits are, model by model (its weights; revenue split by them, summing
    exactly). Read from the stored credits, so they hold after retention
    has deleted the clicks; a model without rows is (direct)."""
    by_model = {model: [] for model in MODELS}
    for model, click_row, link_id, ppm in db.conn.execute(
        "SELECT model, click_row, link_id, weight_ppm FROM credits"
        " WHERE conversion_id = ? ORDER BY id",
        [conversion_id],
    ):
        if model in by_model and ppm:
            by_model[model].append((click_row, link_id, ppm))
    rows = []
    for model, touched in by_model.items():
        touched = touched or [(None, None, ONE)]
        revenues = split(value_minor, [ppm for _, _, ppm in touched])
        for (click_row, link_id, ppm), revenue in zip(touched, revenues, strict=True):
            rows.append((model, click_row, link_id, ppm, revenue))
    return rows


def _upgrades(stored: dict, c: Conversion) -> bool:
    """A signed report for an order only the pixel has reported, or for a
    verified one that arrived with no click or visitor (a shop's invoice
    before its checkout) when this one brings them."""
    if c.source != "webhook":
        return False
    if not stored["verified"]:
        return True
    no_journey = not stored["click_id"] and not stored["visitor_id"]
    return no_journey and bool(c.click_id or c.visitor_id)


def _upgrade(db: Database, pixel: dict, c: Conversion, policy: Policy) -> tuple[dict, bool]:
    """Turn the pixel's row for this order into the webhook's: what the
    webhook says wins (value, ids), what it leaves out is kept from the pixel
    (its click and visitor, and its moment when the webhook gives none), and
    the credits are recomputed -- the pixel's are taken out of the aggregates
    first, so the order is counted once, as verified. A verified row without
    a journey is completed the same way by a report that has one."""
    c.click_id = c.click_id or pixel["click_id"]
    c.visitor_id = c.visitor_id or pixel["visitor_id"]
    c.customer_id = c.customer_id or pixel["customer_id"]
    if not c.stated_time:
        c.occurred_at = from_db(pixel["occurred_at"])
    try:
        conversion, credits = _prepare(db, c, policy)
    except UnknownClick:  # the pixel's click id: kept on the row, never checked
        c.click_id = None
        conversion, credits = _prepare(db, c, policy)
    try:
        changed, row = _replace(db, pixel["id"], c, conversion, credits)
    except sqlite3.IntegrityError:  # a twin with this webhook-id got in first
        duplicate = find_duplicate(db, c)
        if duplicate is None:
            raise
        return duplicate, True
    if changed:
        return record_conversion(db, c, policy)
    return row, False


def _replace(db: Database, conversion_id: int, c: Conversion, conversion: list, credits: list):
    """(changed, row): the stored row replaced, unless it changed meanwhile."""
    row = None
    with immediate(db, durable=True):
        current = _row(db, conversion_id)
        changed = current is None or not _upgrades(current, c)  # erased, or upgraded by a twin
        if not changed:
            forget_credits(db, conversion_id)
            db.execute("DELETE FROM credits WHERE conversion_id = ?", [conversion_id])
            db.execute(
                "UPDATE conversions SET goal = ?, value_minor = ?, currency = ?, order_id = ?,"
                " webhook_id = ?, click_id = ?, visitor_id = ?, customer_id = ?, source = ?,"
                " verified = ?, occurred_at = ?, received_at = ? WHERE id = ?",
                [*conversion, conversion_id],
            )
            db.conn.executemany(INSERT_CREDIT, [(conversion_id, *row) for row in credits])
            row = _row(db, conversion_id)
            # what was assessed on the pixel's word is assessed again on the webhook's
            send(conversion_stored, db=db, conversion=row, replaced=True)
    return changed, row


def credit_rows(conversion_id, journey, converted_at, value_minor, policy):
    """One row per model and credited touch; a conversion with no touch
    gives each model a single (direct) row with a NULL click."""
    if not journey:
        for model in MODELS:
            yield (conversion_id, model, None, None, 1_000_000, value_minor)
        return
    times = [from_db(t["ts"]) for t in journey]
    for model in MODELS:
        shares = credit(times, converted_at, value_minor, model, policy.half_life_days)
        for touch, (ppm, revenue) in zip(journey, shares, strict=True):
            if ppm or revenue:
                yield (conversion_id, model, touch["id"], touch["link_id"], ppm, revenue)


def public(row: dict) -> dict:
    """A stored conversion as the API shows it."""
    return {
        "id": row["id"],
        "goal": row["goal"],
        "value": format_minor(row["value_minor"], row["currency"]),
        "currency": row["currency"],
        "order_id": row["order_id"],
        "click_id": row["click_id"],
        "visitor_id": row["visitor_id"],
        "customer_id": row["customer_id"],
        "source": row["source"],
        "verified": bool(row["verified"]),
        "occurred_at": row["occurred_at"],
    }
