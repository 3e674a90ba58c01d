"""`flask --app shortener links ...`: manage links from a shell or a script."""

import contextlib
import json
import sqlite3
from urllib.parse import urlsplit

import click
from flask import current_app
from flask.cli import AppGroup

from . import links
from .db import get_db
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
            get_db(), {k: v for k, v in fields.items() if v is not None}, own_hosts(), blocked
        )
    click.echo(links.as_dict(link, cli_base_url())["short_url"])


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


def init_app(app):
    app.cli.add_command(links_cli)
