"""`flask --app shortener report advocates|referrals|advocate-candidates`:
the advocate reports from a shell, the same rows as the API."""

import click

from conversions.analytics import Query
from conversions.analytics_views import current_settings
from conversions.cli import _day, emit, report_cli, report_options
from conversions.customers import CustomerReportError
from conversions.reports import Filters, Period
from shortener.clock import utcnow
from shortener.db import get_db
from shortener.journal import catch_up

from .reports_api import HELP, REPORTS

EXAMPLES = {
    "advocates": "report advocates --campaign spring --from 2026-03-01 --to 2026-03-31",
    "referrals": "report referrals --campaign spring",
    "advocate-candidates": "report advocate-candidates --csv candidates.csv",
}


def make_command(name: str):
    rows_of, columns, uses = REPORTS[name]

    def command(csv_path, start, end, model, channel, campaign, goal, as_of):
        if start and end and start > end:
            raise click.ClickException("--from must not be after --to")
        q = Query(Period(start, end), model, Filters(channel, campaign, goal), as_of=as_of,
                  now=utcnow())  # fmt: skip
        try:
            rows = rows_of(catch_up(get_db()), q, current_settings())
        except CustomerReportError as e:
            raise click.ClickException(f"{e.field}: {e.message}") from None
        emit(columns, rows, csv_path)

    command.__doc__ = (
        f"{HELP[name]}\n\nReads: {', '.join(uses)}.\n\n"
        f"Example: flask --app shortener {EXAMPLES[name]}"
    )
    as_of_option = click.option(
        "--as-of", "as_of", callback=_day, help="last day customer figures look at (default today)"
    )
    command = as_of_option(command)
    return report_cli.command(name)(report_options(command))


for _name in REPORTS:
    make_command(_name)


def init_app(app):
    """The commands joined the `report` group when this module was imported."""
