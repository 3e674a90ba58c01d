"""POST /t/webhook: conversions reported server to server, signed.

The signature covers the raw request bytes, so the body is parsed only
after it verifies, and parsed with exact decimals for money.
"""

import json
import time
from datetime import UTC, datetime
from decimal import Decimal

from flask import Blueprint, current_app, jsonify, request

from shortener import health
from shortener.clock import parse_moment, utcnow
from shortener.db import get_db
from shortener.errors import ApiError, unavailable
from shortener.journal import catch_up
from shortener.journal import of as journal_of

from .goals import GOAL_NAME
from .intake import Conversion, UnknownClick, UnknownGoal, public, record_conversion
from .money import MoneyError, check_currency, to_minor
from .policy import current_policy
from .signing import SignatureError, verify

bp = Blueprint("webhook", __name__)

MAX_ID = 128
MAX_BODY = 64 * 1024  # a conversion is a few hundred bytes
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


class NotANumber:
    """NaN or Infinity in the body: not JSON, but named as the field's fault
    rather than the whole body's."""

    def __init__(self, name: str):
        self.name = name

    def __str__(self):
        return self.name


def parse_body(raw: bytes) -> dict:
    try:
        body = json.loads(raw, parse_float=Decimal, parse_constant=NotANumber)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ApiError("body must be a JSON object")
    return body


def optional_id(body: dict, field: str) -> str | None:
    value = body.get(field)
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or len(value) > MAX_ID or not value.isprintable():
        raise ApiError(f"{field} must be a string of at most {MAX_ID} characters", field=field)
    return value


def occurred_at(body: dict, now: datetime, max_skew: int) -> datetime:
    raw = body["occurred_at"]
    try:
        moment = parse_moment(raw) if isinstance(raw, str) else None
    except (ValueError, OverflowError):
        moment = None
    if moment is None or moment < EARLIEST:
        raise ApiError(
            "occurred_at must be an ISO 8601 date-time such as 2026-03-31T14:05:00Z",
            field="occurred_at",
        )
    if (moment - now).total_seconds() > max_skew:
        raise ApiError("occurred_at is in the future", field="occurred_at")
    return moment


def conversion_from(body: dict, msg_id: str, max_skew: int) -> Conversion:
    goal = body.get("goal")
    if not isinstance(goal, str) or not goal:
        raise ApiError("goal is required", field="goal")
    if not GOAL_NAME.fullmatch(goal):
        raise ApiError("goal must be the name of a goal such as purchase", field="goal")
    now = utcnow()
    conversion = Conversion(
        goal=goal,
        source="webhook",
        occurred_at=now,
        received_at=now,
        webhook_id=msg_id,
        stated_time=False,
        order_id=optional_id(body, "order_id"),
        click_id=optional_id(body, "click_id"),
        visitor_id=optional_id(body, "visitor_id"),
        customer_id=optional_id(body, "customer_id"),
    )
    if not conversion.click_id and not conversion.visitor_id:
        raise ApiError("click_id or visitor_id is required", field="click_id")
    if body.get("currency") is not None:
        try:
            conversion.currency = check_currency(body["currency"])
        except MoneyError as e:
            raise ApiError(str(e), field="currency") from None
    if body.get("value") is not None:
        currency = conversion.currency or current_app.config["DEFAULT_CURRENCY"]
        try:
            conversion.value_minor = to_minor(body["value"], currency)
        except MoneyError as e:
            raise ApiError(str(e), field="value") from None
        conversion.currency = currency
    if body.get("occurred_at") is not None:
        conversion.occurred_at = occurred_at(body, now, max_skew)
        conversion.stated_time = True
    return conversion


@bp.post("/t/webhook")
def receive():
    config = current_app.config
    if (request.content_length or 0) > MAX_BODY:
        raise ApiError(f"body is larger than {MAX_BODY} bytes", 413)
    raw = request.stream.read(MAX_BODY + 1)  # never more, whatever the sender says
    if len(raw) > MAX_BODY:
        raise ApiError(f"body is larger than {MAX_BODY} bytes", 413)
    try:
        msg_id = verify(
            config["WEBHOOK_SECRETS"],
            request.headers,
            raw,
            now=int(time.time()),
            tolerance=config["WEBHOOK_TOLERANCE_SECONDS"],
        )
    except SignatureError as e:
        raise ApiError(e.message, e.status) from None
    conversion = conversion_from(parse_body(raw), msg_id, config["WEBHOOK_TOLERANCE_SECONDS"])
    try:
        row, duplicate = record(conversion)
    except UnknownGoal:
        raise ApiError(
            f"unknown goal {conversion.goal!r} (add it with `flask goals set`)", field="goal"
        ) from None
    except UnknownClick:
        raise ApiError("click_id is not a click clicktrail recorded", field="click_id") from None
    body = {"conversion": public(row), "duplicate": duplicate}
    return jsonify(body), (200 if duplicate else 201)


def record(conversion: Conversion) -> tuple[dict, bool]:
    """record_conversion; a click it does not find may be one a worker
    answered but holds in memory while the disk refuses writes: then 503
    (the sender retries), and once this worker's own held clicks are
    written, one more look."""
    try:
        return record_conversion(catch_up(get_db()), conversion, current_policy())
    except UnknownClick:
        journal = journal_of(current_app)
        problem = health.problem(current_app.config["DATABASE"], journal)
        if problem:
            raise unavailable(problem) from None
        if journal is None:
            raise
    catch_up(get_db())  # the clicks this worker held in memory are in a file now
    return record_conversion(get_db(), conversion, current_policy())
