"""`flask --app shortener report NAME` for every analytics report, and
`flask --app shortener costs import|list` for the cost ledger.

The report commands join the `report` group of conversions/cli.py and
print the same rows as the API (JSON lines, or CSV with --csv).
"""

import click
from flask.cli import AppGroup

from shortener.clock import utcnow
from shortener.db import get_db
from shortener.journal import catch_up

from . import analytics, costs
from .analytics import REPORTS, Query, ReportError
from .analytics_views import current_settings
from .cli import _day, emit, report_cli, report_options
from .customers import CustomerReportError
from .reports import Filters, Period

costs_cli = AppGroup("costs", help="The cost ledger: import and list costs.")

EXAMPLES = {
    "attribution": "report attribution --by campaign --from 2026-03-01 --to 2026-03-31",
    "journeys": "report journeys --from 2026-03-01 --csv journeys.csv",
    "goals": "report goals --from 2026-03-01 --to 2026-03-31",
    "roi": "report roi --model linear --from 2026-03-01 --to 2026-03-31",
    "earned": "report earned --from 2026-03-01 --to 2026-03-31",
    "saves": "report saves --from 2026-03-01",
    "growth": "report growth --period week --from 2026-01-01 --csv growth.csv",
    "control": "report control --from 2026-03-01 --to 2026-03-31",
    "retention": "report retention --from 2026-01-01 --to 2026-01-31",
    "tenure": "report tenure --from 2026-01-01 --to 2026-03-31 --as-of 2026-06-30",
    "cross-sell": "report cross-sell --from 2026-01-01 --to 2026-03-31",
}


def make_command(spec: analytics.Report):
    def command(csv_path, start, end, model, channel, campaign, goal, by, size, as_of):
        if start and end and start > end:
            raise click.ClickException("--from must not be after --to")
        q = Query(
            Period(start, end),
            model,
            Filters(channel, campaign, goal),
            by=by,
            size=size,
            as_of=as_of,
            now=utcnow(),
        )
        settings = current_settings()
        try:
            columns, rows = analytics.run(spec.name, catch_up(get_db()), q, settings)
        except (ReportError, CustomerReportError) as e:
            raise click.ClickException(f"{e.field}: {e.message}") from None
        emit(columns, rows, csv_path)

    command.__doc__ = (
        f"{spec.help}\n\nReads: {', '.join(spec.uses)}.\n\n"
        f"Example: flask --app shortener {EXAMPLES[spec.name]}"
    )
    command = click.option(
        "--as-of", "as_of", callback=_day, help="last day customer reports look at (default today)"
    )(command)
    command = click.option(
        "--period",
        "size",
        type=click.Choice(analytics.SIZES),
        default="day",
        show_default=True,
        help="growth periods",
    )(command)
    command = click.option(
        "--by",
        type=click.Choice(analytics.BY),
        default="channel",
        show_default=True,
        help="rows per channel or per campaign",
    )(command)
    return report_cli.command(spec.name)(report_options(command))  # fmt: skip


for _spec in REPORTS.values():
    make_command(_spec)


@costs_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--allow-duplicates", is_flag=True,
              help="add rows even when an identical row is already in the ledger")  # fmt: skip
def import_command(path, allow_duplicates):
    """Add the rows of a CSV file to the cost ledger; rows that cannot be
    added are listed with their line and the field at fault, and the others
    are added. The header names the columns: from,to,channel,campaign,kind,
    amount,currency[,note][,advocate] (kind: labor, platform, ads or other;
    amount a decimal such as 120.50; campaign and note may be empty;
    advocate, the id or handle of the creator a fee was paid to). A row identical
    to one already in the ledger is refused, so importing a file twice adds
    nothing the second time.

    Example: flask --app shortener costs import march-costs.csv
    """
    try:
        with click.open_file(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise click.ClickException(f"{path} is not UTF-8 text") from None
    try:
        result = costs.import_csv(get_db(), text, utcnow(), allow_duplicates, actor="cli")
    except costs.CsvFileError as e:
        raise click.ClickException(str(e)) from None
    for refused in result.refused:
        click.echo(f"line {refused.line}: refused ({refused.field}): {refused.message}", err=True)
    click.echo(f"added {len(result.added)} cost rows, refused {len(result.refused)}")
    if result.refused:
        raise SystemExit(1)


@costs_cli.command("list")
@click.option("--from", "start", callback=_day, help="first day")
@click.option("--to", "end", callback=_day, help="last day, inclusive")
@click.option("--channel")
@click.option("--campaign")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, allow_dash=True),
              help="write CSV to this file ('-' for stdout)")  # fmt: skip
def list_command(start, end, channel, campaign, csv_path):
    """List cost rows that fall (at least partly) in the period, with the
    part of each amount that falls on the period's days.

    Example: flask --app shortener costs list --from 2026-03-01 --to 2026-03-31
    """
    if start and end and start > end:
        raise click.ClickException("--from must not be after --to")
    period = Period(start, end)
    rows = [
        costs.public(r, period)
        for r in costs.overlapping(get_db(), period, Filters(channel, campaign))
    ]
    emit(costs.COLUMNS, rows, csv_path)


def init_app(app):
    app.cli.add_command(costs_cli)
