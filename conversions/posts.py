"""One link, many posts: per-post figures of a link (shortener.posts).

A click through `/CODE~POST` carries its post. A post's clicks are the
link's clicks with that post in the period; its conversions and revenue
are the stored credits (`credits`, one row per conversion, model and
credited click) on those clicks, for conversions that happened in the
period -- the same credit and the same period rule as the link's own
figures (`credit_day`), so a link's posts' clicks, conversions and
revenue never add up to more than the link's. Clicks without a post tag
are in the link's totals, not here.

Read from the raw click log through a partial index on one link's tagged
clicks: posts whose clicks retention has deleted (CLICK_RETENTION_DAYS)
are no longer counted.
"""

from collections import defaultdict

from flask import Blueprint, current_app, jsonify, request
from sqlite_utils import Database

from shortener.api import found
from shortener.auth import require_api_key
from shortener.db import get_db
from shortener.journal import catch_up

from .attribution import MODELS
from .breakdown import COLUMNS as BREAKDOWN_COLUMNS
from .money import format_minor
from .reports import Period, conversions_number, ratio
from .views import report_args, respond

bp = Blueprint("posts", __name__, url_prefix="/api")
ALL_TIME = Period()

# the breakdown report's figures, named by the post instead of `value`
POST_COLUMNS = ["post", *BREAKDOWN_COLUMNS[1:]]


def click_counts(db: Database, link_id: int, period: Period) -> dict[str, dict]:
    """Clicks, human clicks and distinct visitors of human clicks per post."""
    when, params = period.moments("ts")
    rows = db.conn.execute(
        "SELECT post, count(*), total(is_bot = 0),"
        " count(DISTINCT CASE WHEN is_bot = 0 THEN visitor_id END)"
        f" FROM clicks WHERE link_id = ? AND post IS NOT NULL AND {when} GROUP BY post",
        (link_id, *params),
    )
    return {
        post: {"clicks": clicks, "human_clicks": int(human), "unique_visitors": visitors}
        for post, clicks, human, visitors in rows
    }


def credit_sums(
    db: Database, link_id: int, period: Period, model: str, goal: str | None = None
) -> dict[tuple[str, str], dict]:
    """Credited conversions (ppm), revenue (minor units) and converted
    visitors per (post, currency), for conversions in the period."""
    when, params = period.moments("co.occurred_at")
    goal_sql, goal_params = ("co.goal = ?", [goal]) if goal else ("TRUE", [])
    rows = db.conn.execute(
        "SELECT ck.post, co.currency, sum(cr.weight_ppm), sum(cr.revenue_minor),"
        " count(DISTINCT CASE WHEN cr.weight_ppm > 0 THEN co.visitor_id END)"
        " FROM clicks ck JOIN credits cr ON cr.click_row = ck.id"
        " JOIN conversions co ON co.id = cr.conversion_id"
        " WHERE ck.link_id = ? AND ck.post IS NOT NULL AND cr.model = ?"
        f" AND {when} AND {goal_sql} GROUP BY ck.post, co.currency",
        (link_id, model, *params, *goal_params),
    )
    return {
        (post, currency): {"ppm": ppm, "revenue_minor": revenue, "converted_visitors": converted}
        for post, currency, ppm, revenue, converted in rows
    }


def post_rows(
    db: Database,
    link_id: int,
    period: Period = ALL_TIME,
    model: str = "last_touch",
    default_currency: str = "USD",
    goal: str | None = None,
) -> list[dict]:
    """One row per post of the link and currency of its revenue, posts in
    name order (click columns repeat on a post's currency rows, as in the
    channel report)."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}")
    clicks = click_counts(db, link_id, period)
    credits = credit_sums(db, link_id, period, model, goal)
    currencies = defaultdict(list)
    for post, currency in credits:
        currencies[post].append(currency)
    no_clicks = {"clicks": 0, "human_clicks": 0, "unique_visitors": 0}
    no_credit = {"ppm": 0, "revenue_minor": 0, "converted_visitors": 0}
    rows = []
    for post in sorted(set(clicks) | set(currencies)):
        c = clicks.get(post, no_clicks)
        for currency in sorted(currencies[post]) or [default_currency]:
            credit = credits.get((post, currency), no_credit)
            rows.append(
                {
                    "post": post,
                    "currency": currency,
                    **c,
                    "conversions": conversions_number(credit["ppm"]),
                    "converted_visitors": credit["converted_visitors"],
                    "conversion_rate": ratio(credit["converted_visitors"], c["unique_visitors"]),
                    "revenue": format_minor(credit["revenue_minor"], currency),
                }
            )
    return rows


@bp.get("/links/<code>/posts")
@require_api_key
def posts_report(code):
    """The link's posts for a period (`from`, `to`), model and goal; JSON or
    `format=csv`."""
    link = found(code)
    period, model, filters = report_args()
    currency = current_app.config["DEFAULT_CURRENCY"]
    rows = post_rows(catch_up(get_db()), link["id"], period, model, currency, filters.goal)
    if request.args.get("format", "json") != "json":
        return respond(f"posts-{code}", POST_COLUMNS, rows, period, model)
    return jsonify(
        {
            "code": code,
            "from": period.start.isoformat() if period.start else None,
            "to": period.end.isoformat() if period.end else None,
            "model": model,
            "rows": rows,
        }
    )


def init_app(app):
    app.register_blueprint(bp)
