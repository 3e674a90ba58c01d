"""Analytics endpoints under /api (admin API key required): the reports,
the cost ledger, and one conversion's journey.

Every report answers JSON `{"report", "from", "to", "model", ..., "rows"}`
or, with `format=csv`, the same rows as CSV; the CLI calls the same row
functions, so the two never disagree.
"""

import json
from decimal import Decimal

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context

from shortener.auth import require_api_key
from shortener.clock import utcnow
from shortener.db import get_db, immediate
from shortener.errors import ApiError, or_404
from shortener.journal import catch_up
from shortener.settings import ConfigError

from . import analytics, breakdown, costs, journeys, prices
from .analytics import REPORTS, Query, ReportError, settings_from
from .csvout import csv_lines
from .customers import CustomerReportError
from .views import parse_day, report_args

bp = Blueprint("analytics", __name__, url_prefix="/api")
SETTINGS_KEY = "clicktrail.analytics"


def current_settings() -> analytics.Settings:
    return current_app.extensions[SETTINGS_KEY]


def query_args(args=None) -> Query:
    args = request.args if args is None else args
    period, model, filters = report_args(args)
    as_of = parse_day("as_of", args)
    by = args.get("by", "channel")
    size = args.get("period", "day")
    if by not in analytics.BY:
        raise ApiError("by must be channel or campaign", field="by")
    if size not in analytics.SIZES:
        raise ApiError(f"period must be one of {', '.join(analytics.SIZES)}", field="period")
    return Query(period, model, filters, by=by, size=size, as_of=as_of, now=utcnow())


def respond(name: str, columns: list[str], rows: list[dict], meta: dict):
    fmt = request.args.get("format", "json")
    if fmt == "csv":
        response = Response(stream_with_context(csv_lines(columns, rows)), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    return jsonify({**meta, "rows": rows})


def answer(db, name: str, args, window: tuple[int, int] | None = None) -> tuple[list[str], dict]:
    """(columns, JSON body) of report `name` for query `args`; the API view
    and the dashboard's report page both call this. With a `window` (limit,
    offset), a report that can be read a page at a time answers only those
    rows, and how many there are in all as `total`."""
    spec = REPORTS.get(name)
    if spec is None:
        # /api/reports/channels is served by views.py; any other name is unknown
        raise ApiError(f"no report named {name!r}", 404, field="name")
    if args.get("format", "json") not in ("json", "csv"):
        raise ApiError("format must be json or csv", field="format")
    q = query_args(args)
    total = None
    try:
        if window and name in analytics.PAGED:
            columns, rows, total = analytics.run_page(name, catch_up(db), q, *window)
        else:
            columns, rows = analytics.run(name, catch_up(db), q, current_settings())
    except (ReportError, CustomerReportError) as e:
        raise ApiError(e.message, field=e.field) from None
    meta = {
        "report": name,
        "from": q.period.start.isoformat() if q.period.start else None,
        "to": q.period.end.isoformat() if q.period.end else None,
        "model": q.model if "model" in spec.uses else None,
    }
    if "by" in spec.uses:
        meta["by"] = q.by
    if "period" in spec.uses:
        meta["period"] = q.size
    if "as_of" in spec.uses:
        meta["as_of"] = (q.as_of or q.now.date()).isoformat()
    if total is not None:
        meta["total"] = total
    return columns, {**meta, "rows": rows}


@bp.get("/reports/<name>")
@require_api_key
def report(name):
    columns, body = answer(get_db(), name, request.args)
    return respond(name, columns, body["rows"], {k: v for k, v in body.items() if k != "rows"})


@bp.get("/reports/breakdown")
@require_api_key
def breakdown_report():
    """Clicks, visitors, conversions and revenue per country, device,
    browser, OS, referrer host, source, link, campaign or channel."""
    period, model, filters = report_args()
    by = request.args.get("by", "")
    link = request.args.get("link") or None
    db = catch_up(get_db())
    try:
        rows = breakdown.breakdown_rows(
            db, by, period, model, filters, link, current_settings().default_currency
        )
    except breakdown.BreakdownError as e:
        raise ApiError(e.message, e.status, field=e.field) from None
    meta = {
        "report": "breakdown",
        "from": period.start.isoformat() if period.start else None,
        "to": period.end.isoformat() if period.end else None,
        "model": model,
        "by": by,
        "link": link,
    }
    return respond(f"breakdown-{by}", breakdown.COLUMNS, rows, meta)


# -- one conversion's journey -------------------------------------------------


@bp.get("/conversions/<int:conversion_id>/journey")
@require_api_key
def conversion_journey(conversion_id):
    found = journeys.journey(catch_up(get_db()), conversion_id)
    return jsonify(or_404(found, f"no conversion {conversion_id}"))


# -- the cost ledger ---------------------------------------------------------


def _no_constants(name):
    raise ValueError(f"{name} is not a number")


def json_body() -> dict:
    try:
        body = json.loads(request.get_data(), parse_float=Decimal, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError):
        raise ApiError("body is not valid JSON", field="body") from None
    if not isinstance(body, dict):
        raise ApiError("body must be a JSON object", field="body")
    return body


@bp.post("/costs")
@require_api_key
def add_cost():
    body, db = json_body(), get_db()
    with immediate(db):
        row = costs.add_cost(db, parsed(body, db), utcnow(), source="api")
    return jsonify({"cost": costs.public(row)}), 201


def parsed(fields: dict, db) -> costs.Cost:
    try:
        return costs.parse_cost(fields, db)
    except costs.CostError as e:
        raise ApiError(e.message, field=e.field) from None


@bp.route("/costs/<int:cost_id>", methods=["PATCH", "DELETE"])
@require_api_key
def cost(cost_id):
    """One rule for both methods: werkzeug answers 405 instead of 404 for an
    id beyond SQLite's integers when another method's rule has the path."""
    return change_cost(cost_id) if request.method == "PATCH" else delete_cost(cost_id)


def change_cost(cost_id):
    """Change some fields of a row (null clears campaign, note or advocate);
    the whole row is checked again, as when it was added."""
    body, db = json_body(), get_db()
    with immediate(db):
        row = costs.get_cost(db, cost_id)
        if row is None:
            raise ApiError(f"no cost {cost_id}", 404, field="id")
        current = {k: v for k, v in costs.public(row).items() if k in costs.FIELDS}
        row = costs.update_cost(db, cost_id, parsed({**current, **body}, db))
    return jsonify({"cost": costs.public(row)})


@bp.get("/costs")
@require_api_key
def list_costs():
    period, _, filters = report_args()
    rows = [costs.public(r, period) for r in costs.overlapping(get_db(), period, filters)]
    meta = {
        "report": "costs",
        "from": period.start.isoformat() if period.start else None,
        "to": period.end.isoformat() if period.end else None,
    }
    return respond("costs", costs.COLUMNS, rows, meta)


def delete_cost(cost_id):
    db = get_db()
    with immediate(db):
        row = costs.get_cost(db, cost_id)
        if row is None:
            raise ApiError(f"no cost {cost_id}", 404, field="id")
        costs.delete_cost(db, cost_id)
    return jsonify({"deleted": costs.public(row)})


# -- prices per click for the earned-value report -------------------------


@bp.get("/earned-prices")
@require_api_key
def list_earned_prices():
    """The stored prices, and the EARNED_CPC setting's (the defaults)."""
    s = current_settings()
    defaults = [
        {
            "channel": key if isinstance(key, str) else key[0],
            "campaign": None if isinstance(key, str) else key[1],
            "price": str(price),
        }
        for key, price in s.cpc.items()
    ]
    return jsonify(
        {
            "currency": s.cpc_currency,
            "prices": [prices.public(r) for r in prices.list_prices(get_db())],
            "defaults": defaults,
        }
    )


@bp.post("/earned-prices")
@require_api_key
def set_earned_price():
    """Set a channel's (or, with `campaign`, a campaign's) price per click;
    201 when new, 200 when it replaced the price it had."""
    try:
        price = prices.parse_price(json_body(), current_settings().cpc_currency)
    except prices.PriceError as e:
        raise ApiError(e.message, field=e.field) from None
    row, created = prices.set_price(get_db(), price, utcnow())
    return jsonify({"price": prices.public(row)}), 201 if created else 200


@bp.delete("/earned-prices/<int:price_id>")
@require_api_key
def delete_earned_price(price_id):
    """Remove a stored price: the EARNED_CPC setting's, if any, applies again."""
    db = get_db()
    row = prices.get_price(db, price_id)
    if row is None or not prices.delete_price(db, price_id):
        raise ApiError(f"no price {price_id}", 404, field="id")
    return jsonify({"deleted": prices.public(row)})


def init_app(app):
    try:
        app.extensions[SETTINGS_KEY] = settings_from(app.config)
    except ValueError as e:
        raise ConfigError(str(e)) from None
    app.register_blueprint(bp)
