"""`flask --app shortener advocates ...`: advocates and their personal links."""

import csv
import io
import json

import click
from flask.cli import AppGroup

from shortener.cli import clean_errors, cli_base_url
from shortener.db import get_db, immediate
from shortener.errors import ApiError
from shortener.journal import catch_up
from shortener.links import as_dict as link_dict

from . import people

advocates_cli = AppGroup("advocates", help="Advocates and their personal share links.")


def _line(advocate: dict) -> str:
    state = "" if advocate["active"] else " (deactivated)"
    parent = f"\tparent {advocate['parent_advocate_id']}" if advocate["parent_advocate_id"] else ""
    return (
        f"{advocate['id']}\t{advocate['handle']}\t{advocate['name']}\t"
        f"{advocate['email'] or ''}\tdepth {advocate['depth']}{parent}{state}"
    )


@advocates_cli.command("create")
@click.argument("name")
@click.option("--email")
@click.option("--customer-id", help="ties the advocate to a known customer")
@click.option("--handle", help="default: made from the name")
@click.option("--referred-by-conversion", type=int,
              help="conversion id of a friend who came through an advocate's link")  # fmt: skip
@click.option("--referred-by-visitor", help="visitor id of such a friend")
def create_command(name, email, customer_id, handle, referred_by_conversion, referred_by_visitor):
    """Create an advocate and print its id and handle.

    Example: flask --app shortener advocates create "Ada Lovelace" --email ada@example.com
    """
    fields = {
        "name": name,
        "email": email,
        "customer_id": customer_id,
        "handle": handle,
        "referred_by_conversion": referred_by_conversion,
        "referred_by_visitor": referred_by_visitor,
    }
    db = catch_up(get_db())  # a referral is found among the friend's clicks
    with clean_errors(), immediate(db):
        advocate = people.create_advocate(
            db, {k: v for k, v in fields.items() if v is not None}, actor="cli"
        )
    click.echo(_line(advocate))


@advocates_cli.command("list")
@click.option("--active/--inactive", default=None, help="only active or only deactivated ones")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--offset", default=0, show_default=True, type=click.IntRange(0))
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
def list_command(active, limit, offset, as_json):
    """List advocates, oldest first (tab-separated: id, handle, name, email, depth).

    Example: flask --app shortener advocates list --active
    """
    with clean_errors():
        rows = people.list_advocates(get_db(), limit=limit, offset=offset, active=active)
    for row in rows:
        click.echo(json.dumps(people.as_dict(row)) if as_json else _line(row))


@advocates_cli.command("show")
@click.argument("advocate")
def show_command(advocate):
    """Show an advocate (by id or handle) and their personal links.

    Example: flask --app shortener advocates show ada-lovelace
    """
    db = get_db()
    with clean_errors():
        found = people.find_advocate(db, advocate)
        click.echo(_line(found))
        for row in people.advocate_links(db, found["id"]):
            link = link_dict(row, cli_base_url())
            click.echo(f"  {link['short_url']}\t{link['campaign']}\t{link['url']}")


@advocates_cli.command("deactivate")
@click.argument("advocate")
def deactivate_command(advocate):
    """Deactivate an advocate: their links keep working and counting, but
    they get no new personal links.

    Example: flask --app shortener advocates deactivate ada-lovelace
    """
    db = get_db()
    with clean_errors(), immediate(db):
        found = people.find_advocate(db, advocate)
        click.echo(
            _line(
                people.update_advocate(
                    db, found["id"], {"active": False}, actor="cli", action="advocate.deactivate"
                )
            )
        )


@advocates_cli.command("share")
@click.argument("code")
@click.argument("advocate", nargs=-1, required=True)
def share_command(code, advocate):
    """Print the personal short link of each advocate (id or handle) for the
    link CODE, creating it the first time.

    Example: flask --app shortener advocates share k7Qm2Xa ada-lovelace grace-hopper
    """
    db = get_db()
    with clean_errors(), immediate(db):
        results = people.share_many(db, code, list(advocate))
    for found, link, _ in results:
        click.echo(f"{found['handle']}\t{link_dict(link, cli_base_url())['short_url']}")


@advocates_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option("--link", "code", required=True, help="code of the link to share")
def import_command(path, code):
    """Create personal links for many advocates from a CSV file. The header
    names the columns: name,email,customer_id,handle (any order; name is
    needed for new advocates). A row whose handle -- or else email -- is an
    existing advocate reuses them; otherwise the advocate is created. Prints
    handle and short URL per row; refused rows are listed with their line
    and the others are kept. Importing a file twice creates nothing new.

    Example: flask --app shortener advocates import ambassadors.csv --link k7Qm2Xa
    """
    try:
        with click.open_file(path, encoding="utf-8") as f:
            text = f.read()
    except UnicodeDecodeError:
        raise click.ClickException(f"{path} is not UTF-8 text") from None
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    known = {"name", "email", "customer_id", "handle"}
    header = [h.strip() for h in reader.fieldnames or []]
    if not header or not set(header) <= known or not {"name", "handle"} & set(header):
        raise click.ClickException(
            "the first line must name the columns: name,email,customer_id,handle "
            "(name or handle at least)"
        )
    db = get_db()
    with clean_errors():
        source = people.source_link(db, code)
        if source is None:
            raise ApiError(f"no link with code '{code}'", field="link")
    refused = created = 0
    for line, raw in enumerate(reader, start=2):
        row = {k.strip(): (v or "").strip() for k, v in raw.items() if k}
        try:
            with immediate(db):
                advocate = _advocate_for(db, row)
                link, new = people.share(db, source, advocate)
        except ApiError as e:
            refused += 1
            click.echo(f"line {line}: refused ({e.field}): {e.message}", err=True)
            continue
        created += new
        click.echo(f"{advocate['handle']}\t{link_dict(link, cli_base_url())['short_url']}")
    click.echo(f"{created} personal links created, {refused} rows refused", err=True)
    if refused:
        raise SystemExit(1)


def _advocate_for(db, row: dict) -> dict:
    if row.get("handle"):
        found = people.get_advocate(db, row["handle"])
        if found is not None:
            return found
    if row.get("email"):
        found = next(
            db.query(
                f"SELECT {people.COLUMNS} FROM advocates WHERE email = ? ORDER BY id LIMIT 1",
                [row["email"]],
            ),
            None,
        )
        if found is not None:
            return found
    return people.create_advocate(db, {k: v for k, v in row.items() if v}, actor="cli")


def init_app(app):
    app.cli.add_command(advocates_cli)
