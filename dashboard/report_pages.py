"""Overview, channel and campaign pages: the per-channel report for a period
and attribution model, with totals, a growth chart and recent journeys."""

import json

from flask import current_app, render_template, url_for

from conversions.reports import Filters, channel_rows
from shortener.clock import utcnow
from shortener.db import get_db

from . import apiclient, report_catalogue, stats
from .params import MODEL_LABELS, PRESET_LABELS, read_view
from .web import bp

JOURNEY_ROWS = 20


def export_url(api_path: str, view, **filters) -> str:
    """The dashboard download of `/api/<api_path>` as CSV for this view."""
    args = {**view.api_args(), **{k: v for k, v in filters.items() if v}, "format": "csv"}
    return url_for("dashboard.export", api_path=api_path, **args)


# the analytics reports shown on the overview, with the columns a marketer
# reads first (every column is in the report's own page and CSV)
PANELS = {
    "roi": ("Cost and return", [
        "channel", "campaign", "currency", "cost", "revenue", "conversions",
        "cost_per_conversion", "new_customers", "cac", "roi_percent", "romi",
    ]),
    "earned": ("Earned pay-per-click value", [
        "channel", "campaign", "currency", "human_clicks", "cpc", "earned_value", "cost",
    ]),
    "control": ("Social visitors against the control group", [
        "group", "currency", "visitors", "converted_visitors", "conversion_rate",
        "revenue_per_visitor", "lift", "difference", "difference_low", "difference_high",
    ]),
}  # fmt: skip


def analytics_panels(view, filters: Filters) -> list[dict]:
    """The ROI, earned-value and control-group reports for this view, as the
    API gives them (none when this installation has no analytics)."""
    available = apiclient.report_names()
    args = {**view.api_args(), "channel": filters.channel, "campaign": filters.campaign}
    if filters.campaign:
        args["by"] = "campaign"
    panels = []
    for name, (title, wanted) in PANELS.items():
        if name not in available:
            continue
        answer, problem = report_catalogue.run(name, args)
        rows = answer["rows"] if answer else []
        present = report_catalogue.columns_of(rows)
        # one sentence per comparison (the report repeats it per currency)
        verdicts = list(dict.fromkeys(r["verdict"] for r in rows if r.get("verdict")))
        panels.append(
            {
                "name": name,
                "title": title,
                "rows": rows,
                "columns": [c for c in wanted if c in present],
                "problem": problem,
                "verdicts": verdicts,
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


def report_context(view, filters: Filters) -> dict:
    db = get_db()
    currency = current_app.config["DEFAULT_CURRENCY"]
    rows = channel_rows(db, view.period, view.model, filters, currency)
    growth = stats.growth_series(db, view.period, view.model, filters, utcnow().date())
    recent = stats.conversion_list(db, view.period, filters, limit=JOURNEY_ROWS)
    return {
        "view": view,
        "presets": PRESET_LABELS,
        "models": MODEL_LABELS,
        "totals": stats.totals(db, view.period, view.model, filters),
        "rows": rows,
        "channels_csv": export_url(
            "reports/channels", view, channel=filters.channel, campaign=filters.campaign
        ),
        "growth_json": json.dumps(growth),
        "growth": growth,
        "recent": recent,
        "journeys": stats.journeys(db, [c["id"] for c in recent], view.model),
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
    campaigns = stats.breakdown_rows(
        get_db(),
        view.period,
        view.model,
        "campaign",
        filters,
        current_app.config["DEFAULT_CURRENCY"],
    )
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
