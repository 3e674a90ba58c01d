"""Every report of the API as a dashboard page: /dashboard/reports/<name>.

The page asks the API (in-process) for the report with the page's period,
model and filters, shows its rows as a table, and offers the API's CSV."""

from flask import abort, render_template, request, url_for

from shortener.errors import ApiError

from . import apiclient
from .params import MODEL_LABELS, PRESET_LABELS, read_view
from .web import bp

BY = ("channel", "campaign")
BUCKETS = ("day", "week", "month")


def report_args(view) -> dict:
    """The API's query for this page: period and model from the view, the
    rest passed through (the API checks them and names what is wrong)."""
    args = view.api_args()
    by = request.args.get("by")
    if by in BY:
        args["by"] = by
    bucket = request.args.get("bucket")
    if bucket in BUCKETS:
        args["period"] = bucket  # the API's growth buckets are its `period`
    for name in ("channel", "campaign", "goal", "as_of"):
        value = request.args.get(name, "").strip()
        if value:
            args[name] = value
    return args


def run(name: str, args: dict) -> tuple[dict | None, str | None]:
    """(the API's answer, None) or (None, why it could not answer)."""
    try:
        return apiclient.fetch(f"/api/reports/{name}", args), None
    except ApiError as e:
        return None, e.message
    except apiclient.ApiUnavailable:
        return None, "this report is not part of this installation"


def columns_of(rows: list[dict]) -> list[str]:
    return list(rows[0]) if rows else []


@bp.get("/reports")
def reports_index():
    return render_template(
        "dashboard/reports.html",
        names=apiclient.report_names(),
        label=apiclient.label,
        describe=apiclient.description,
    )


@bp.get("/reports/<name>")
def report_page(name):
    if name not in apiclient.report_names():
        abort(404, f"There is no report named '{name}'.")
    view = read_view()
    args = report_args(view)
    answer, problem = run(name, args)
    rows = answer["rows"] if answer else []
    return render_template(
        "dashboard/report.html",
        name=name,
        title=apiclient.label(name),
        view=view,
        presets=PRESET_LABELS,
        models=MODEL_LABELS,
        answer=answer,
        problem=problem,
        rows=rows,
        columns=columns_of(rows),
        csv_url=url_for("dashboard.export", api_path=f"reports/{name}", **args, format="csv"),
        by=request.args.get("by", ""),
        bucket=request.args.get("bucket", ""),
        buckets=BUCKETS,
        filters={k: request.args.get(k, "") for k in ("channel", "campaign", "goal")},
    )
