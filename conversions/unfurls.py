"""The unfurls report: how often each link's preview was fetched, per
platform -- `GET /api/reports/unfurls` (JSON or CSV) and
`flask --app shortener report unfurls`, the same rows from one function.

Reach kept apart from clicks: a card drawn in a Slack channel or a
LinkedIn feed is people who saw the link, not people who followed it.
"""

import click
from flask import Blueprint, Response, jsonify, request, stream_with_context

from shortener.auth import require_api_key
from shortener.db import get_db
from shortener.errors import ApiError
from shortener.journal import catch_up
from shortener.previews import UNFURL_COLUMNS, unfurl_rows

from .cli import _day, emit, report_cli
from .csvout import csv_lines
from .views import parse_day

bp = Blueprint("unfurls", __name__, url_prefix="/api")


@bp.get("/reports/unfurls")
@require_api_key
def unfurls_report():
    start, end = parse_day("from"), parse_day("to")
    if start and end and start > end:
        raise ApiError("from must not be after to", field="from")
    rows = unfurl_rows(
        catch_up(get_db()),
        start,
        end,
        channel=request.args.get("channel") or None,
        campaign=request.args.get("campaign") or None,
        platform=request.args.get("platform") or None,
    )
    fmt = request.args.get("format", "json")
    if fmt == "csv":
        response = Response(
            stream_with_context(csv_lines(UNFURL_COLUMNS, rows)), mimetype="text/csv"
        )
        response.headers["Content-Disposition"] = 'attachment; filename="unfurls.csv"'
        return response
    if fmt != "json":
        raise ApiError("format must be json or csv", field="format")
    return jsonify(
        {
            "from": start.isoformat() if start else None,
            "to": end.isoformat() if end else None,
            "rows": rows,
        }
    )


@report_cli.command("unfurls")
@click.option("--from", "start", callback=_day, help="first day")
@click.option("--to", "end", callback=_day, help="last day, inclusive")
@click.option("--channel")
@click.option("--campaign")
@click.option("--platform", help="e.g. facebook, x, linkedin, slack")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="write CSV to this file ('-' for stdout)")  # fmt: skip
def unfurls_command(start, end, channel, campaign, platform, csv_path):
    """Preview fetches per link and platform (a reach signal, not clicks).

    Example: flask --app shortener report unfurls --from 2026-03-01 --csv unfurls.csv
    """
    if start and end and start > end:
        raise click.ClickException("--from must not be after --to")
    rows = unfurl_rows(catch_up(get_db()), start, end, channel, campaign, platform)
    emit(UNFURL_COLUMNS, rows, csv_path)


def init_app(app):
    app.register_blueprint(bp)
