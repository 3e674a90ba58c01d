"""The advocate reports under /api/reports (admin API key): `advocates`,
`referrals` and `advocate-candidates`, as JSON or CSV like every report.

They are routes of their own (a fixed path wins over /api/reports/<name>)
and share their row functions with `flask --app shortener report ...`.
"""

from flask import Blueprint, request

from conversions.analytics_views import current_settings, query_args, respond
from conversions.customers import CustomerReportError
from shortener.auth import require_api_key
from shortener.db import get_db
from shortener.errors import ApiError
from shortener.journal import catch_up

from . import reports

bp = Blueprint("advocacy", __name__, url_prefix="/api")

# name: (row function, columns, query parameters it reads)
REPORTS = {
    "advocates": (reports.advocate_rows, reports.ADVOCATE_COLUMNS,
                  ("from", "to", "model", "channel", "campaign", "goal")),
    "referrals": (reports.referral_rows, reports.REFERRAL_COLUMNS,
                  ("from", "to", "model", "channel", "campaign", "goal")),
    "advocate-candidates": (reports.candidate_rows, reports.CANDIDATE_COLUMNS,
                            ("from", "to", "as_of")),
}  # fmt: skip
HELP = {
    "advocates": "Per advocate: reach, new visitors, converted friends, revenue, rewards, "
    "their cost (fees and rewards) with new customers, CAC, ROI % and ROMI, and conversion "
    "rate against the campaign average with a 95 % interval.",
    "referrals": "Referral chain per campaign and generation: invitations, friends "
    "converted, viral coefficient k.",
    "advocate-candidates": "Customers ranked by what they are worth as advocates "
    "(repeat purchases, revenue, tenure, saves, friends' conversions).",
}


def answer(db, name: str, args) -> tuple[list[str], dict]:
    """(columns, JSON body) of advocate report `name` for query `args`; the
    API views and the dashboard's report page both call this."""
    rows_of, columns, uses = REPORTS[name]
    if args.get("format", "json") not in ("json", "csv"):
        raise ApiError("format must be json or csv", field="format")
    q = query_args(args)
    try:
        rows = rows_of(catch_up(db), q, current_settings())
    except CustomerReportError as e:
        raise ApiError(e.message, field=e.field) from None
    meta = {
        "report": name,
        "from": q.period.start.isoformat() if q.period.start else None,
        "to": q.period.end.isoformat() if q.period.end else None,
        "model": q.model if "model" in uses else None,
    }
    if "as_of" in uses:
        meta["as_of"] = (q.as_of or q.now.date()).isoformat()
    return columns, {**meta, "rows": rows}


def run(name: str):
    columns, body = answer(get_db(), name, request.args)
    return respond(name, columns, body["rows"], {k: v for k, v in body.items() if k != "rows"})


@bp.get("/reports/advocates")
@require_api_key
def advocates_report():
    """Per advocate: reach, new visitors, converted friends, revenue, their
    cost and return, and their conversion rate against the campaign average
    (95 % interval)."""
    return run("advocates")


@bp.get("/reports/referrals")
@require_api_key
def referrals_report():
    """Per campaign and generation: invitations, friends converted, k."""
    return run("referrals")


@bp.get("/reports/advocate-candidates")
@require_api_key
def candidates_report():
    """Customers ranked by what they are worth as advocates."""
    return run("advocate-candidates")


def init_app(app):
    app.register_blueprint(bp)
