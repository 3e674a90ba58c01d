"""Overview, channel and campaign pages: the per-channel report for a period
and attribution model, with totals, a growth chart and recent journeys."""

from flask import current_app, render_template, url_for

from conversions import overview as figures
from conversions.breakdown import breakdown_rows
from conversions.reports import Filters, channel_rows
from shortener.clock import utcnow
from shortener.db import get_db
from shortener.journal import catch_up

from . import charts, integrations, report_catalogue, stats
from .params import MODEL_LABELS, PRESET_LABELS, read_view
from .web import bp

JOURNEY_ROWS = 20


def export_url(api_path: str, view, **filters) -> str:
    """The dashboard download of `/api/<api_path>` as CSV for this view."""
    args = {**view.api_args(), **{k: v for k, v in filters.items() if v}, "format": "csv"}
    return url_for("dashboard.export", api_path=api_path, **args)


# the analytics reports shown on the overview, cost and return first
PANELS = {
    "roi": "Cost and return",
    "earned": "Earned pay-per-click value",
    "control": "Social visitors against the control group",
}


def analytics_settings():
    from conversions.analytics_views import current_settings

    return current_settings()


def analytics_panels(view, filters: Filters) -> list[dict]:
    """The ROI, earned-value and control-group reports for this view, from
    the same report functions as the API (none when this installation has
    no analytics), each with its key columns and its chart."""
    if not integrations.api_rule("/api/reports/<name>"):
        return []
    from conversions import analytics

    by = "campaign" if filters.campaign else "channel"
    query = analytics.Query(view.period, view.model, filters, by=by, now=utcnow())
    args = {**view.api_args(), "channel": filters.channel, "campaign": filters.campaign}
    if filters.campaign:
        args["by"] = "campaign"
    panels = []
    for name, title in PANELS.items():
        try:
            _, rows = analytics.run(name, get_db(), query, analytics_settings())
            problem = None
        except analytics.ReportError as e:
            rows, problem = [], e.message
        columns, _ = report_catalogue.shown_columns(name, rows)
        # one sentence per comparison (the report repeats it per currency)
        verdicts = list(dict.fromkeys(r["verdict"] for r in rows if r.get("verdict")))
        panels.append(
            {
                "name": name,
                "title": title,
                "rows": rows,
                "columns": columns,
                "problem": problem,
                "verdicts": verdicts,
                "charts": panel_charts(name, rows),
                "csv": url_for(
                    "dashboard.export",
                    api_path=f"reports/{name}",
                    **{k: v for k, v in args.items() if v},
                    format="csv",
                ),
                "page": url_for("dashboard.report_page", name=name, **view.args()),
            }
        )
    return panels


def panel_charts(name: str, rows: list[dict]) -> list[dict]:
    if not rows:
        return []
    if name == "roi":
        return charts.cost_and_return(rows)
    if name == "control":
        chart = charts.control_group(rows)
        return [chart] if chart else []
    return []


def money_totals(view, filters: Filters) -> list[dict]:
    """Cost, ROI % and CAC per currency for the overview's first cards."""
    if not integrations.api_rule("/api/reports/<name>"):
        return []
    from conversions import analytics

    query = analytics.Query(view.period, view.model, filters, now=utcnow())
    return analytics.roi_totals(get_db(), query, analytics_settings())


def report_context(view, filters: Filters) -> dict:
    db = catch_up(get_db())
    currency = current_app.config["DEFAULT_CURRENCY"]
    rows = channel_rows(db, view.period, view.model, filters, currency)
    growth = stats.growth_series(db, view.period, view.model, filters, utcnow().date())
    recent = figures.conversion_list(db, view.period, filters, limit=JOURNEY_ROWS)
    return {
        "view": view,
        "presets": PRESET_LABELS,
        "models": MODEL_LABELS,
        "totals": figures.totals(db, view.period, view.model, filters),
        "money": money_totals(view, filters),
        "rows": rows,
        "channels_csv": export_url(
            "reports/channels", view, channel=filters.channel, campaign=filters.campaign
        ),
        "growth": growth,
        "recent": recent,
        "journeys": figures.journeys(db, [c["id"] for c in recent], view.model),
        "panels": analytics_panels(view, filters),
    }


@bp.get("/")
def overview():
    view = read_view()
    return render_template(
        "dashboard/overview.html", page="overview", **report_context(view, Filters())
    )


@bp.get("/channels/<channel>")
def channel_page(channel):
    view = read_view()
    filters = Filters(channel=channel.lower())
    # the breakdown report's rows by campaign (GET /api/reports/breakdown)
    rows = breakdown_rows(
        catch_up(get_db()),
        "campaign",
        view.period,
        view.model,
        filters,
        default_currency=current_app.config["DEFAULT_CURRENCY"],
    )
    campaigns = [{"campaign": r["value"], **r} for r in rows]
    return render_template(
        "dashboard/overview.html",
        page="channel",
        subject=channel.lower(),
        campaigns=campaigns,
        **report_context(view, filters),
    )


@bp.get("/campaigns/<campaign>")
def campaign_page(campaign):
    view = read_view()
    return render_template(
        "dashboard/overview.html",
        page="campaign",
        subject=campaign,
        **report_context(view, Filters(campaign=campaign)),
    )
