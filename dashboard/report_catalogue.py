"""Every report of the API as a dashboard page: /dashboard/reports/<name>.

The page calls the same report function as `GET /api/reports/<name>` with
the page's period, model and filters (so its figures are the API's by
construction, and a report added to the API appears here with no code of
its own), shows its rows as a table, and offers the API's CSV."""

from flask import abort, flash, redirect, render_template, request, url_for

from conversions.overview import period_bucket
from shortener import links
from shortener.clock import utcnow
from shortener.db import get_db
from shortener.errors import ApiError
from shortener.journal import catch_up

from . import charts, integrations
from .formats import amount_text
from .link_pages import page_number
from .params import MODEL_LABELS, PRESET_LABELS, read_view
from .web import bp

BY = ("channel", "campaign")
# reports the channel report's own module serves; others are discovered
BUILT_IN_REPORTS = ("channels",)
LABELS = {
    "channels": "Channels",
    "attribution": "Attribution by model",
    "roi": "Cost and return",
    "earned": "Earned pay-per-click value",
    "control": "Control group",
    "growth": "Growth",
    "retention": "Retention",
    "tenure": "Tenure",
    "saves": "Saves",
    "cross-sell": "Cross-sell and upsell",
    "goals": "Goals",
    "journeys": "Journeys",
    "advocates": "Advocates",
    "referrals": "Referral chain",
    "advocate-candidates": "Advocate candidates",
}
# what each report answers, in a marketer's words (the API's own help names
# parameters and settings)
DESCRIPTIONS = {
    "channels": "Clicks, visitors, conversions and revenue per channel.",
    "attribution": "Which channels get the credit for conversions and revenue, under each"
    " attribution model side by side.",
    "journeys": "Each conversion with the clicks that led to it: the first, those in between"
    " and the last.",
    "goals": "Conversions per goal and the value they carry.",
    "roi": "What each channel cost against what it brought: revenue, new customers, cost per"
    " new customer (CAC), ROI % and cost per conversion.",
    "earned": "Your human clicks priced as if you had bought them, at the prices per click you"
    " set, next to what the channel cost.",
    "saves": "Customers kept from cancelling, credited per channel, and the value kept.",
    "growth": "Clicks, visitors, conversions, revenue and cost per day, week or month, with the"
    " change on the one before.",
    "control": "Do visitors from social posts convert more often than visitors who came"
    " another way? With a 95 % interval.",
    "retention": "Customers who buy again within 30, 60 and 90 days, by the channel that first"
    " brought them.",
    "tenure": "How long customers stay (active, churned, median tenure), by the channel that"
    " first brought them.",
    "cross-sell": "Purchases and revenue per customer, and the share from upsells and repeat"
    " purchases.",
}
BUCKETS = ("day", "week", "month")
# rows of a report's table per page (the CSV has them all)
PAGE_ROWS = 100


def report_args(view, name: str = "") -> dict:
    """The API's query for this page: period and model from the view, the
    rest passed through (the API checks them and names what is wrong). The
    Growth report's step, unless chosen, follows the period's length: a
    year by week, not 365 rows a channel."""
    args = view.api_args()
    by = request.args.get("by")
    if by in BY:
        args["by"] = by
    bucket = request.args.get("bucket")
    if bucket in BUCKETS:
        args["period"] = bucket  # the API's growth buckets are its `period`
    elif name == "growth":
        args["period"] = period_bucket(catch_up(get_db()), view.period, utcnow().date())
    for key in ("channel", "campaign", "goal", "as_of"):
        value = request.args.get(key, "").strip()
        if value:
            args[key] = value
    return args


def report_names() -> list[str]:
    """Every report `GET /api/reports/<name>` can give, channels first."""
    names = list(BUILT_IN_REPORTS)
    if not integrations.api_rule("/api/reports/<name>"):
        return names
    from conversions.analytics import REPORTS

    return names + [n for n in REPORTS if n not in names] + advocacy_names()


def advocacy_names() -> list[str]:
    """The advocate reports, when this installation serves them."""
    if not integrations.api_rule("/api/reports/advocates"):
        return []
    from advocates import reports_api

    return list(reports_api.REPORTS)


def api_description(name: str) -> str:
    if name == "channels":
        return "Clicks, visitors, conversions and revenue per channel."
    if name in advocacy_names():
        from advocates import reports_api

        return reports_api.HELP[name]
    from conversions.analytics import REPORTS

    spec = REPORTS.get(name)
    return getattr(spec, "help", "") or ""


def label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


def answer(name: str, args: dict, window: tuple[int, int] | None = None) -> dict:
    """The JSON body `GET /api/reports/<name>?args` answers, from the same
    function the API view calls; raises the API's ApiError for bad input.
    A report read a page at a time answers only the `window`'s rows."""
    db = get_db()
    if name == "channels":
        from conversions import views

        return views.channels_answer(db, args)
    if name in advocacy_names():
        from advocates import reports_api

        return reports_api.answer(db, name, args)[1]
    from conversions import analytics_views

    return analytics_views.answer(db, name, args, window)[1]


def run(
    name: str, args: dict, window: tuple[int, int] | None = None
) -> tuple[dict | None, str | None]:
    """(the API's answer, None) or (None, why it could not answer)."""
    if name not in report_names():
        return None, "this report is not part of this installation"
    query = {k: str(v) for k, v in args.items() if v is not None and v != ""}
    try:
        return answer(name, query, window), None
    except ApiError as e:
        return None, e.message


# the columns a marketer reads first, per report: they fit a 1280 px screen
# without scrolling sideways (money cells carry their currency, so the
# currency column can wait); "All columns" shows the rest
KEY_COLUMNS = {
    "attribution": ["channel", "campaign", "conversions", "last_touch_revenue",
                    "first_touch_revenue", "linear_revenue", "position_based_revenue",
                    "time_decay_revenue"],
    "roi": ["channel", "campaign", "cost", "revenue", "conversions", "new_customers", "cac",
            "roi_percent", "romi"],
    "earned": ["channel", "campaign", "human_clicks", "cpc", "earned_value", "cost"],
    "control": ["group", "visitors", "converted_visitors", "conversion_rate",
                "revenue_per_visitor", "difference", "difference_low", "difference_high"],
    "growth": ["channel", "period", "human_clicks", "visitors", "conversions", "revenue",
               "cost", "revenue_growth"],
    "goals": ["goal", "conversions", "value", "average_value", "catalogue_value"],
    "saves": ["channel", "campaign", "saves", "saved_visitors", "saved_value"],
    "journeys": ["occurred_at", "goal", "value", "touches", "first_touch_channel",
                 "converting_touch_channel", "days_from_first_touch"],
    "retention": ["channel", "campaign", "customers", "retention_30", "retention_60",
                  "retention_90", "median_days_to_second_purchase"],
    "tenure": ["channel", "campaign", "customers", "active", "churned", "median_tenure_days"],
    "cross-sell": ["channel", "campaign", "customers", "purchases", "purchases_per_customer",
                   "revenue", "upsell_share", "repeat_share"],
    "advocates": ["advocate", "unique_visitors", "converted_visitors", "conversion_rate",
                  "verdict", "revenue", "new_customers", "cost", "roi_percent", "cac"],
    "referrals": ["campaign", "generation", "advocates", "friends_converted", "invitations",
                  "invited_conversion_rate", "k"],
    "advocate-candidates": ["customer", "advocate", "purchases", "revenue", "tenure_days",
                            "friends_converted", "score"],
}  # fmt: skip
KEY_COUNT = 7  # a report this file does not know: its first columns


def describe(name: str) -> str:
    return DESCRIPTIONS.get(name) or api_description(name)


def columns_of(rows: list[dict]) -> list[str]:
    return list(rows[0]) if rows else []


def shown_columns(name: str, rows: list[dict], every: bool = False) -> tuple[list[str], int]:
    """(the columns to show, how many the report has): its key columns, or
    every column when asked."""
    present = columns_of(rows)
    if every:
        return present, len(present)
    wanted = KEY_COLUMNS.get(name, present[:KEY_COUNT])
    return [c for c in wanted if c in present], len(present)


@bp.get("/reports")
def reports_index():
    return render_template(
        "dashboard/reports.html",
        names=report_names(),
        label=label,
        describe=describe,
    )


def uses(name: str) -> tuple[str, ...]:
    """The query parameters a report reads (its form offers only those)."""
    from conversions import analytics

    spec = analytics.REPORTS.get(name)
    if spec is not None:
        return spec.uses
    if name == "channels":
        return ("from", "to", "model", "channel", "campaign", "goal")
    return ("from", "to", "model", "campaign")


def report_charts(name: str, rows: list[dict], answer: dict | None) -> tuple[list, dict | None]:
    """(charts drawn from the rows, the growth chart's data) for a report."""
    if not rows:
        return [], None
    if name == "attribution":
        return charts.attribution(rows), None
    if name == "roi":
        return charts.cost_and_return(rows), None
    if name == "control":
        chart = charts.control_group(rows)
        return ([chart] if chart else []), None
    if name == "growth":
        return [], charts.growth_from_rows(rows, (answer or {}).get("period", "day"))
    return [], None


def pages_of(total: int) -> int:
    return max(1, -(-total // PAGE_ROWS))


def paginate(name: str, rows: list[dict], total: int | None, number: int) -> dict:
    """A page of the table: `rows` are the page's own when the report was
    read a page at a time (`total` then counts them all), else every row.
    A page past the last shows the last."""
    if total is None:
        total = len(rows)
        number = min(number, pages_of(total))
        start = (number - 1) * PAGE_ROWS
        rows = rows[start : start + PAGE_ROWS]
    pages = pages_of(total)
    first = (number - 1) * PAGE_ROWS + 1 if rows else 0
    return {
        "rows": rows,
        "number": number,
        "pages": pages,
        "total": total,
        "first": first,
        "last": first + len(rows) - 1 if rows else 0,
        "prev": page_url(name, number - 1) if number > 1 else None,
        "next": page_url(name, number + 1) if number < pages else None,
    }


def page_url(name: str, number: int) -> str:
    """The report page's address with another page number (the rest of
    its query kept)."""
    args = {k: v for k, v in request.args.items() if k != "page"}
    if number > 1:
        args["page"] = number
    return url_for("dashboard.report_page", name=name, **args)


@bp.get("/reports/<name>")
def report_page(name):
    if name not in report_names():
        abort(404, f"There is no report named '{name}'.")
    return render_report(name)


def render_report(name: str, status: int = 200, prices: dict | None = None):
    view = read_view()
    args = report_args(view, name)
    number = page_number()
    answer, problem = run(name, args, (PAGE_ROWS, (number - 1) * PAGE_ROWS))
    if answer and answer.get("total") is not None and number > pages_of(answer["total"]):
        number = pages_of(answer["total"])  # past the last page: the last
        answer, problem = run(name, args, (PAGE_ROWS, (number - 1) * PAGE_ROWS))
    rows = answer["rows"] if answer else []
    every = request.args.get("columns") == "all"
    columns, total = shown_columns(name, rows, every)
    # charts draw every row; the table shows a page of them
    drawn, growth = report_charts(name, rows, answer)
    pager = paginate(name, rows, answer.get("total") if answer else None, number)
    here = {k: v for k, v in request.args.items() if k != "columns"}
    return render_template(
        "dashboard/report.html",
        name=name,
        title=label(name),
        description=describe(name),
        view=view,
        presets=PRESET_LABELS,
        models=MODEL_LABELS,
        answer=answer,
        problem=problem,
        rows=pager["rows"],
        pager=pager,
        columns=columns,
        every=every,
        total_columns=total,
        all_url=url_for("dashboard.report_page", name=name, **here, columns="all"),
        key_url=url_for("dashboard.report_page", name=name, **here),
        charts=drawn,
        growth=growth,
        uses=uses(name),
        csv_url=url_for("dashboard.export", api_path=f"reports/{name}", **args, format="csv"),
        by=request.args.get("by", ""),
        bucket=args.get("period", "") if name == "growth" else "",
        chosen_bucket=request.args.get("bucket", ""),
        buckets=BUCKETS,
        filters={k: request.args.get(k, "") for k in ("channel", "campaign", "goal")},
        prices=(prices or earned_prices()) if name == "earned" else None,
    ), status


def earned_prices(error: dict | None = None, values: dict | None = None) -> dict:
    """The earned-value report's prices per click: the ones set here, the
    EARNED_CPC setting's (the defaults) and the channels and campaigns to
    choose from."""
    from conversions import prices
    from conversions.analytics_views import current_settings

    db = get_db()
    s = current_settings()
    choices = links.filter_choices(db)
    return {
        "currency": s.cpc_currency,
        "stored": [prices.public(r) for r in prices.list_prices(db)],
        "defaults": [
            {
                "channel": k if isinstance(k, str) else k[0],
                "campaign": None if isinstance(k, str) else k[1],
                "price": str(v),
            }
            for k, v in sorted(s.cpc.items(), key=lambda kv: str(kv[0]))
        ],  # fmt: skip
        "channels": choices["channels"],
        "campaigns": choices["campaigns"],
        "error": error,
        "form": values or {},
    }


@bp.post("/reports/earned/prices")
def earned_price_save():
    """Set a price per click (the same rules as POST /api/earned-prices)."""
    from conversions import prices
    from conversions.analytics_views import current_settings

    fields = {k: request.form.get(k, "").strip() for k in ("channel", "campaign", "price")}
    fields["price"] = amount_text(fields["price"])
    try:
        price = prices.parse_price(fields, current_settings().cpc_currency)
    except prices.PriceError as e:
        error = {"field": e.field, "message": e.message}
        return render_report("earned", 400, earned_prices(error, fields))
    row, _ = prices.set_price(get_db(), price, utcnow())
    public = prices.public(row)
    where = public["channel"] + (f" / {public['campaign']}" if public["campaign"] else "")
    flash(f"Price per click for {where}: {public['price']} {public['currency']}.", "success")
    return redirect(url_for("dashboard.report_page", name="earned") + "#prices", 303)


@bp.post("/reports/earned/prices/<int:price_id>/delete")
def earned_price_delete(price_id):
    from conversions import prices

    row = prices.get_price(get_db(), price_id)
    if row is None or not prices.delete_price(get_db(), price_id):
        abort(404, "There is no such price.")
    flash("Price removed: the configured default (if any) applies again.", "success")
    return redirect(url_for("dashboard.report_page", name="earned") + "#prices", 303)
