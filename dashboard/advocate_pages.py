"""The Advocates page: who shares the brand's links, and the leaderboard of
who really brings customers (issue 7), both as the API answers them."""

from flask import abort, render_template, request, url_for

from . import apiclient, integrations, report_catalogue
from .params import MODEL_LABELS, PRESET_LABELS, read_view
from .web import bp

# the leaderboard columns a marketer reads first (every column is in the CSV
# and on the report's own page)
LEADERBOARD = [
    "advocate", "currency", "links", "human_clicks", "unique_visitors", "new_visitors",
    "converted_visitors", "conversion_rate", "campaign_conversion_rate", "verdict",
    "revenue", "self_conversions", "invited_friends", "rewards_earned",
]  # fmt: skip


@bp.get("/advocates")
def advocates_page():
    if not integrations.api_rule("/api/advocates"):
        abort(404, "Advocates are not part of this installation.")
    view = read_view()
    campaign = request.args.get("campaign", "").strip()
    args = {**view.api_args(), "campaign": campaign}
    board, problem = report_catalogue.run("advocates", args)
    rows = board["rows"] if board else []
    listing = apiclient.fetch("/api/advocates", {"limit": 1000})
    handles = {a["id"]: a["handle"] for a in listing["advocates"]}
    return render_template(
        "dashboard/advocates.html",
        view=view,
        presets=PRESET_LABELS,
        models=MODEL_LABELS,
        campaign=campaign,
        rows=rows,
        columns=[c for c in LEADERBOARD if c in report_catalogue.columns_of(rows)],
        problem=problem,
        advocates=listing["advocates"],
        total=listing["total"],
        handles=handles,
        csv_url=url_for(
            "dashboard.export",
            api_path="reports/advocates",
            **{k: v for k, v in args.items() if v},
            format="csv",
        ),
        reports={
            name: url_for("dashboard.report_page", name=name, **view.args())
            for name in ("advocates", "referrals", "advocate-candidates")
            if name in apiclient.report_names()
        },
    )
