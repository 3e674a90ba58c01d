"""POST /t/webhook: conversions reported server to server, signed.

The signature covers the raw request bytes, so the body is parsed only
after it verifies, and parsed with exact decimals for money.
"""

import json
import time
from decimal import Decimal

from flask import Blueprint, current_app, jsonify, request

from shortener.clock import parse_moment, utcnow
from shortener.db import get_db
from shortener.errors import ApiError

from .intake import Conversion, UnknownClick, UnknownGoal, public, record_conversion
from .money import MoneyError, check_currency, to_minor
from .policy import current_policy
from .signing import SignatureError, verify

bp = Blueprint("webhook", __name__)

MAX_ID = 128


def _no_constants(name):
    raise ValueError(f"{name} is not a number")


def parse_body(raw: bytes) -> dict:
    try:
        body = json.loads(raw, parse_float=Decimal, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError):
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


def conversion_from(body: dict, msg_id: str, max_skew: int) -> Conversion:
    goal = body.get("goal")
    if not isinstance(goal, str) or not goal:
        raise ApiError("goal is required", field="goal")
    now = utcnow()
    conversion = Conversion(
        goal=goal,
        source="webhook",
        occurred_at=now,
        received_at=now,
        webhook_id=msg_id,
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
        try:
            conversion.occurred_at = parse_moment(body["occurred_at"])
        except (TypeError, ValueError):
            raise ApiError(
                "occurred_at must be an ISO 8601 date-time", field="occurred_at"
            ) from None
        if (conversion.occurred_at - now).total_seconds() > max_skew:
            raise ApiError("occurred_at is in the future", field="occurred_at")
    return conversion


@bp.post("/t/webhook")
def receive():
    config = current_app.config
    raw = request.get_data(cache=False)
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
        row, duplicate = record_conversion(get_db(), conversion, current_policy())
    except UnknownGoal:
        raise ApiError(
            f"unknown goal '{conversion.goal}' (add it with `flask goals set`)", field="goal"
        ) from None
    except UnknownClick:
        raise ApiError("click_id is not a click clicktrail recorded", field="click_id") from None
    body = {"conversion": public(row), "duplicate": duplicate}
    return jsonify(body), (200 if duplicate else 201)
