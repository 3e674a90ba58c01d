"""`flask --app shortener users ...`: dashboard accounts from a shell."""

import sqlite3

import click
from flask.cli import AppGroup

from shortener.clock import utcnow
from shortener.db import get_db, immediate

from . import accounts

users_cli = AppGroup("users", help="Dashboard user accounts.")


@users_cli.command("create")
@click.argument("username")
@click.password_option(
    "--password",
    prompt="Password",
    help=f"at least {accounts.MIN_PASSWORD_LENGTH} characters; asked for when not given",
)
def create_command(username, password):
    """Create a user who can sign in to the dashboard at /dashboard.

    The password is asked for twice (not echoed) unless --password is given.

    Example: flask --app shortener users create alice@example.com
    """
    db = get_db()
    try:
        with immediate(db):
            user = accounts.create_user(db, username, password, utcnow(), actor="cli")
    except accounts.AccountError as e:
        raise click.ClickException(str(e)) from None
    except sqlite3.OperationalError as e:
        raise click.ClickException(
            f"cannot write the user ({e}); run `flask --app shortener init-db` first"
        ) from None
    click.echo(f"Created user {user['username']}; sign in at /dashboard/login")


@users_cli.command("password")
@click.argument("username")
@click.password_option("--password", prompt="New password", help="asked for when not given")
def password_command(username, password):
    """Set a user's password and sign them out everywhere.

    Example: flask --app shortener users password alice@example.com
    """
    db = get_db()
    try:
        with immediate(db):
            accounts.set_password(db, username, password, actor="cli")
    except accounts.AccountError as e:
        raise click.ClickException(str(e)) from None
    click.echo(f"Password changed for {accounts.normalise_username(username)}")


@users_cli.command("list")
def list_command():
    """List dashboard users.

    Example: flask --app shortener users list
    """
    for user in accounts.list_users(get_db()):
        state = " (disabled)" if user["disabled"] else ""
        last = user["last_sign_in_at"] or "never signed in"
        click.echo(f"{user['username']}\tcreated {user['created_at']}\tlast sign-in {last}{state}")
