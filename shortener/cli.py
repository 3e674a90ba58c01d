"""`flask --app shortener links ...`: manage links from a shell or a script."""

import contextlib
import csv
import json
import sqlite3
import sys
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import AppGroup

from . import audit, importer, links
from .clock import utcnow
from .db import get_db, immediate
from .errors import ApiError

links_cli = AppGroup("links", help="Create and list short links.")


def cli_base_url() -> str:
    return current_app.config["BASE_URL"] or "http://127.0.0.1:5000"


def own_hosts() -> list[str]:
    return [urlsplit(cli_base_url()).hostname or ""]


@contextlib.contextmanager
def clean_errors():
    """Refusals and database trouble as one-line errors, never a traceback."""
    try:
        yield
    except ApiError as e:
        where = f"{e.field}: " if e.field and e.field not in e.message else ""
        raise click.ClickException(f"{where}{e.message}") from None
    except sqlite3.Error as e:
        raise click.ClickException(
            f"database error ({e}); has `flask --app shortener init-db` been run?"
        ) from None


@links_cli.command("create")
@click.argument("url")
@click.option("--channel", required=True, help="e.g. twitter, linkedin, email")
@click.option("--campaign", required=True, help="e.g. spring-sale")
@click.option("--medium", help="utm_medium; default `social` for social channels")
@click.option("--content", help="utm_content")
@click.option("--term", help="utm_term")
@click.option("--code", help="custom code instead of a random one")
@click.option("--expires-at", help="ISO 8601 date-time")
@click.option("--tag", "tags", multiple=True, help="may be given several times")
def create_command(url, channel, campaign, medium, content, term, code, expires_at, tags):
    """Create a short link and print its short URL.

    Example: flask --app shortener links create https://example.com/sale
    --channel twitter --campaign spring-sale
    """
    fields = {
        "url": url,
        "channel": channel,
        "campaign": campaign,
        "medium": medium,
        "content": content,
        "term": term,
        "code": code,
        "expires_at": expires_at,
        "tags": list(tags),
    }
    blocked = current_app.config["BLOCKED_DESTINATION_HOSTS"]
    with clean_errors():
        link = links.create_link(
            get_db(), {k: v for k, v in fields.items() if v is not None}, own_hosts(), blocked,
            actor="cli",
        )  # fmt: skip
    click.echo(links.as_dict(link, cli_base_url())["short_url"])


@links_cli.command("update")
@click.argument("code")
@click.option("--url", help="the new destination")
@click.option("--disable/--enable", "disabled", default=None, help="stop or restart redirecting")
def update_command(code, url, disabled):
    """Change a link's destination, or disable or enable it; the change is
    recorded in the audit log as made by `cli`.

    Example: flask --app shortener links update spring --url https://example.com/summer
    """
    fields = {k: v for k, v in {"url": url, "disabled": disabled}.items() if v is not None}
    if not fields:
        raise click.UsageError("give --url, --disable or --enable")
    db = get_db()
    with clean_errors():
        if links.get_link(db, code) is None:
            raise click.ClickException(f"no link with code '{code}'")
        blocked = current_app.config["BLOCKED_DESTINATION_HOSTS"]
        with immediate(db):
            link = links.update_link(db, code, fields, own_hosts(), blocked, actor="cli")
    click.echo(f"{link['code']}\t{link['url']}{' (disabled)' if link['disabled'] else ''}")


@links_cli.command("history")
@click.argument("code")
def history_command(code):
    """A link's changes in plain words, newest first.

    Example: flask --app shortener links history spring
    """
    with clean_errors():
        rows = audit.entries(get_db(), limit=None, object_type="link", key=code)
    for row in rows:
        for sentence in audit.in_words(row):
            click.echo(sentence)


@links_cli.command("list")
@click.option("--channel")
@click.option("--campaign")
@click.option("--tag", help="only links carrying exactly this tag")
@click.option("--search", "q", help="text in the code, url, campaign or title")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0))
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
def list_command(channel, campaign, tag, q, limit, offset, as_json):
    """List links, newest first, one per line (tab-separated: short URL,
    channel, campaign, destination).

    Example: flask --app shortener links list --channel twitter --tag spring
    """
    with clean_errors():
        rows = links.list_links(
            get_db(), limit=limit, offset=offset, channel=channel, campaign=campaign, tag=tag, q=q
        )
    for row in rows:
        link = links.as_dict(row, cli_base_url())
        if as_json:
            click.echo(json.dumps(link))
        else:
            state = " (disabled)" if link["disabled"] else ""
            click.echo(
                f"{link['short_url']}\t{link['channel']}\t{link['campaign']}\t{link['url']}{state}"
            )


@links_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--channel", help="for rows without one (other shorteners' exports have none)")
@click.option("--campaign", help="for rows without one (other shorteners' exports have none)")
@click.option("--dry-run", is_flag=True, help="check every row and report; store nothing")
def import_command(path, channel, campaign, dry_run):
    """Import links from a CSV file with a header: url, channel, campaign,
    code, tags (and optionally medium, content, term, title, description,
    image, expires_at); tags are separated by , ; or |. Other shorteners'
    exports are recognised from their header or shape: Bitly (CSV), Shlink
    (CSV of short URLs), YOURLS (SQL dump or CSV of yourls_url), Kutt (JSON
    of GET /api/v2/links) and Rebrandly (CSV). Their codes are kept, with
    titles, tags and their click count (imported_clicks); --channel and
    --campaign fill in what they lack. Rows that cannot be links are listed
    with their line and reason; existing codes are never overwritten.

    Example: flask --app shortener links import shlink.csv --channel twitter
    --campaign spring-sale --dry-run
    """
    try:
        with click.open_file(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise click.ClickException(f"{path} is not UTF-8 text") from None
    try:
        parsed = importer.read_file(text)
    except (importer.ImportFileError, csv.Error) as e:
        raise click.ClickException(str(e)) from None
    if parsed.source != "clicktrail":
        click.echo(f"recognised {parsed.label}", err=True)
    blocked = current_app.config["BLOCKED_DESTINATION_HOSTS"]
    with clean_errors():
        with click.progressbar(length=len(parsed.rows), label="importing", file=sys.stderr) as bar:
            result = importer.import_rows(
                get_db(), parsed.rows, now=utcnow(), channel=channel, campaign=campaign,
                own_hosts=own_hosts(), blocked_hosts=blocked, dry_run=dry_run,
                progress=bar.update, unit=parsed.unit,
            )  # fmt: skip
    for refused in result.refused:
        click.echo(
            f"{parsed.unit} {refused.line}: refused ({refused.field}): {refused.message}", err=True
        )
    verb = "would import" if dry_run else "imported"
    click.echo(f"{verb} {len(result.imported)} links, refused {len(result.refused)} rows")
    if result.refused:
        raise SystemExit(1)


def init_app(app):
    app.cli.add_command(links_cli)
