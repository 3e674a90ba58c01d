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

from .attribution import MODELS, credit
from .goals import get_goal
from .money import format_minor


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


@dataclass(frozen=True)
class Policy:
    window_days: int = 30
    half_life_days: float = 7
    default_currency: str = "USD"


class UnknownGoal(ValueError):
    pass


class UnknownClick(ValueError):
    pass


def find_duplicate(db: Database, c: Conversion) -> dict | None:
    if c.webhook_id:
        row = next(db.query("SELECT * FROM conversions WHERE webhook_id = ?", [c.webhook_id]), None)
        if row:
            return row
    if c.order_id:
        return next(
            db.query(
                "SELECT * FROM conversions WHERE goal = ? AND order_id = ?",
                [c.goal, c.order_id],
            ),
            None,
        )
    return None


def visitor_of_click(db: Database, click_id: str) -> str | None:
    row = next(db.query("SELECT visitor_id FROM clicks WHERE click_id = ?", [click_id]), None)
    if row is None:
        raise UnknownClick(click_id)
    return row["visitor_id"]


def touches(db: Database, visitor_id: str, converted_at: datetime, window_days: int):
    """The visitor's human clicks that may earn credit, oldest first."""
    start = converted_at - timedelta(days=window_days)
    return list(
        db.query(
            "SELECT id, link_id, ts FROM clicks WHERE visitor_id = ? AND is_bot = 0"
            " AND ts > ? AND ts <= ? ORDER BY ts, id",
            [visitor_id, to_db(start), to_db(converted_at)],
        )
    )


def record_conversion(db: Database, c: Conversion, policy: Policy) -> tuple[dict, bool]:
    """Store a conversion and its credits; returns (row, was_duplicate).

    The same webhook-id, or the same order_id for the same goal, is stored
    once: a retried webhook or a reloaded thank-you page is not a sale.
    """
    try:
        with immediate(db, durable=True):
            duplicate = find_duplicate(db, c)
            if duplicate:
                return duplicate, True
            row = _insert(db, c, policy)
    except sqlite3.IntegrityError:
        # a concurrent twin won the race between our check and insert
        duplicate = find_duplicate(db, c)
        if duplicate is None:
            raise
        return duplicate, True
    return row, False


def _insert(db: Database, c: Conversion, policy: Policy) -> dict:
    goal = get_goal(db, c.goal)
    if goal is None:
        raise UnknownGoal(c.goal)
    if c.click_id:
        c.visitor_id = visitor_of_click(db, c.click_id) or c.visitor_id
    if c.value_minor is None:
        c.value_minor = goal["value_minor"]
        c.currency = goal["currency"] or policy.default_currency
    currency = c.currency or policy.default_currency
    cursor = db.execute(
        "INSERT INTO conversions (goal, value_minor, currency, order_id, webhook_id,"
        " click_id, visitor_id, customer_id, source, verified, occurred_at, received_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        [
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
        ],
    )
    conversion_id = cursor.lastrowid
    journey = touches(db, c.visitor_id, c.occurred_at, policy.window_days) if c.visitor_id else []
    db.conn.executemany(
        "INSERT INTO credits (conversion_id, model, click_row, link_id, weight_ppm,"
        " revenue_minor) VALUES (?,?,?,?,?,?)",
        credit_rows(conversion_id, journey, c.occurred_at, c.value_minor, policy),
    )
    return next(db.query("SELECT * FROM conversions WHERE id = ?", [conversion_id]))


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
