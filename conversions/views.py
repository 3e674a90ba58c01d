"""Report and goal endpoints under /api (admin API key required)."""

import json
from datetime import date
from decimal import Decimal

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context

from shortener.auth import require_api_key
from shortener.db import get_db
from shortener.errors import ApiError
from shortener.journal import catch_up

from . import goals
from .attribution import MODELS
from .csvout import csv_lines
from .exports import clicks_csv, ts_bounds
from .money import MoneyError, check_currency, format_minor, to_minor
from .reports import CHANNEL_COLUMNS, Filters, Period, channel_rows

bp = Blueprint("reports", __name__, url_prefix="/api")


def parse_day(name: str, args=None) -> date | None:
    raw = (request.args if args is None else args).get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ApiError(f"{name} must be a date like 2026-03-31", field=name) from None


def report_args(args=None) -> tuple[Period, str, Filters]:
    """Period, model and filters from `args` (the request's query unless
    given: the dashboard passes its page's)."""
    args = request.args if args is None else args
    period = Period(parse_day("from", args), parse_day("to", args))
    if period.start and period.end and period.start > period.end:
        raise ApiError("from must not be after to", field="from")
    model = args.get("model", "last_touch")
    if model not in MODELS:
        raise ApiError(f"model must be one of {', '.join(MODELS)}", field="model")
    filters = Filters(
        channel=args.get("channel") or None,
        campaign=args.get("campaign") or None,
        goal=args.get("goal") or None,
    )
    return period, model, filters


def respond(name: str, columns: list[str], rows: list[dict], period: Period, model: str):
    fmt = request.args.get("format", "json")
    if fmt == "csv":  # or json: each operation that answers here declares the two
        response = Response(stream_with_context(csv_lines(columns, rows)), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    return jsonify(channel_meta(period, model) | {"rows": rows})


def channel_meta(period: Period, model: str) -> dict:
    return {
        "from": period.start.isoformat() if period.start else None,
        "to": period.end.isoformat() if period.end else None,
        "model": model,
    }


@bp.get("/exports/clicks")
@require_api_key
def export_clicks():
    """The whole click log (or from/to days of it) as CSV, streamed in
    constant memory so a spreadsheet or warehouse can take everything."""
    period, _, _ = report_args()
    lines = clicks_csv(catch_up(get_db()), *ts_bounds(period.start, period.end))
    response = Response(stream_with_context(lines), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="clicks.csv"'
    return response


def channels(db, args) -> tuple[Period, str, list[dict]]:
    """The channel report for query `args`: (period, model, rows); the API
    view and the dashboard's page both call this."""
    period, model, filters = report_args(args)
    verified = {"true": True, "false": False, None: None}.get(args.get("verified"), "?")
    if verified == "?":
        raise ApiError("verified must be true (webhooks) or false (pixels)", field="verified")
    currency = current_app.config["DEFAULT_CURRENCY"]
    return period, model, channel_rows(catch_up(db), period, model, filters, currency, verified)


def channels_answer(db, args) -> dict:
    """The JSON body of GET /api/reports/channels for `args`."""
    period, model, rows = channels(db, args)
    return channel_meta(period, model) | {"rows": rows}


@bp.get("/reports/channels")
@require_api_key
def channels_report():
    period, model, rows = channels(get_db(), request.args)
    return respond("channels", CHANNEL_COLUMNS, rows, period, model)


def goal_json(goal: dict) -> dict:
    currency = goal["currency"] or current_app.config["DEFAULT_CURRENCY"]
    return {
        "name": goal["name"],
        "value": format_minor(goal["value_minor"], currency),
        "currency": currency,
        "description": goal["description"],
    }


@bp.get("/goals")
@require_api_key
def list_goals():
    return jsonify({"goals": [goal_json(g) for g in goals.list_goals(get_db())]})


@bp.put("/goals/<name>")
@require_api_key
def put_goal(name):
    if not goals.GOAL_NAME.match(name):
        raise ApiError("goal names are lower-case letters, digits and _", field="name")
    try:  # numbers as Decimal: 25.1 must not pass through a binary float
        body = json.loads(request.get_data(), parse_float=Decimal)
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        raise ApiError("body must be a JSON object")
    try:
        currency = check_currency(body.get("currency") or current_app.config["DEFAULT_CURRENCY"])
    except MoneyError as e:
        raise ApiError(str(e), field="currency") from None
    try:
        value_minor = to_minor(body.get("value", "0"), currency)
    except MoneyError as e:
        raise ApiError(str(e), field="value") from None
    description = body.get("description")
    if description is not None and (not isinstance(description, str) or len(description) > 200):
        raise ApiError(
            "description must be a string of at most 200 characters", field="description"
        )
    goal = goals.set_goal(get_db(), name, value_minor, currency, description)
    return jsonify(goal_json(goal))
