"""`flask --app shortener report ...` and `goals ...` commands."""

import json
import sys
from datetime import date

import click
from flask import current_app
from flask.cli import AppGroup

from shortener.db import get_db
from shortener.journal import catch_up

from . import breakdown, goals
from .attribution import MODELS
from .csvout import csv_lines
from .exports import clicks_csv, ts_bounds
from .money import MoneyError, check_currency, format_minor, to_minor
from .reports import CHANNEL_COLUMNS, Filters, Period, channel_rows

report_cli = AppGroup("report", help="Print or export reports.")
goals_cli = AppGroup("goals", help="The goal catalogue and default values.")


def _day(ctx, param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("use a date like 2026-03-31") from None


def report_options(f):
    f = click.option("--goal")(f)
    f = click.option("--campaign")(f)
    f = click.option("--channel")(f)
    f = click.option("--model", type=click.Choice(MODELS), default="last_touch")(f)
    f = click.option("--to", "end", callback=_day, help="last day, inclusive")(f)
    f = click.option("--from", "start", callback=_day, help="first day")(f)
    f = click.option("--csv", "csv_path", type=click.Path(dir_okay=False, allow_dash=True),
                     help="write CSV to this file ('-' for stdout)")(f)  # fmt: skip
    return f


def write_lines(lines, csv_path):
    try:
        out = sys.stdout if csv_path == "-" else open(csv_path, "w", newline="", encoding="utf-8")
        try:
            for line in lines:
                out.write(line)
        finally:
            if out is not sys.stdout:
                out.close()
    except OSError as e:
        raise click.ClickException(f"cannot write {csv_path}: {e.strerror or e}") from None


def emit(columns, rows, csv_path):
    if csv_path:
        write_lines(csv_lines(columns, rows), csv_path)
        if csv_path != "-":
            click.echo(f"wrote {len(rows)} rows to {csv_path}", err=True)
        return
    for row in rows:
        click.echo(json.dumps(row))


@report_cli.command("channels")
@report_options
@click.option("--verified/--unverified", default=None,
              help="only webhook (verified) or only pixel (unverified) conversions")  # fmt: skip
def channels_command(csv_path, start, end, model, channel, campaign, goal, verified):
    """Per-channel clicks, visitors, conversions and revenue.

    Example: flask --app shortener report channels --from 2026-03-01 --csv march.csv
    """
    if start and end and start > end:
        raise click.ClickException("--from must not be after --to")
    rows = channel_rows(
        catch_up(get_db()),
        Period(start, end),
        model,
        Filters(channel, campaign, goal),
        current_app.config["DEFAULT_CURRENCY"],
        verified,
    )
    emit(CHANNEL_COLUMNS, rows, csv_path)


@report_cli.command("breakdown")
@report_options
@click.option("--by", type=click.Choice(breakdown.BY), required=True,
              help="what to break the clicks down by")  # fmt: skip
@click.option("--link", "link", help="one link's breakdown (its code)")
def breakdown_command(csv_path, start, end, model, channel, campaign, goal, by, link):
    """Clicks, visitors, conversions and revenue per country, device,
    browser, OS, referrer host, source (link or qr), link, campaign or
    channel; conversions and revenue are those credited to the clicks that
    carried the value.

    Example: flask --app shortener report breakdown --by country --link spring24 --model linear
    """
    if start and end and start > end:
        raise click.ClickException("--from must not be after --to")
    try:
        rows = breakdown.breakdown_rows(
            catch_up(get_db()),
            by,
            Period(start, end),
            model,
            Filters(channel, campaign, goal),
            link,
            current_app.config["DEFAULT_CURRENCY"],
        )
    except breakdown.BreakdownError as e:
        raise click.ClickException(f"{e.field}: {e.message}") from None
    emit(breakdown.COLUMNS, rows, csv_path)


@report_cli.command("clicks")
@click.option("--from", "start", callback=_day, help="first day")
@click.option("--to", "end", callback=_day, help="last day, inclusive")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, allow_dash=True),
              default="-", show_default=True, help="write CSV to this file")  # fmt: skip
def clicks_command(start, end, csv_path):
    """The click log as CSV, streamed (the same file as GET /api/exports/clicks).

    Example: flask --app shortener report clicks --from 2026-03-01 --csv clicks.csv
    """
    if start and end and start > end:
        raise click.ClickException("--from must not be after --to")
    write_lines(clicks_csv(catch_up(get_db()), *ts_bounds(start, end)), csv_path)


@goals_cli.command("list")
def goals_list():
    """List goals with their default values.

    Example: flask --app shortener goals list
    """
    default = current_app.config["DEFAULT_CURRENCY"]
    for g in goals.list_goals(get_db()):
        currency = g["currency"] or default
        click.echo(f"{g['name']}\t{format_minor(g['value_minor'], currency)} {currency}\t"
                   f"{g['description']}")  # fmt: skip


@goals_cli.command("set")
@click.argument("name")
@click.option("--value", default="0", show_default=True, help="default value, e.g. 25.00")
@click.option("--currency", help="ISO code; default DEFAULT_CURRENCY")
@click.option("--description")
def goals_set(name, value, currency, description):
    """Add a goal or change its default value.

    Example: flask --app shortener goals set webinar --value 40 --currency EUR
    """
    if not goals.GOAL_NAME.match(name):
        raise click.ClickException("goal names are lower-case letters, digits and _")
    try:
        currency = check_currency(currency or current_app.config["DEFAULT_CURRENCY"])
        value_minor = to_minor(value, currency)
    except MoneyError as e:
        raise click.ClickException(str(e)) from None
    goal = goals.set_goal(get_db(), name, value_minor, currency, description, actor="cli")
    click.echo(f"{goal['name']}: {format_minor(goal['value_minor'], currency)} {currency}")


def init_app(app):
    app.cli.add_command(report_cli)
    app.cli.add_command(goals_cli)
