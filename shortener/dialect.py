"""Where SQLite and PostgreSQL differ, in one place.

The house's SQL is written once, in what both engines accept (`?`
parameters, `INSERT ... ON CONFLICT DO NOTHING`, `RETURNING`); this module
holds the few differences: which engine a DATABASE setting names, the
parameter style, the statements only SQLite knows, how a table's columns are
listed, and where a PostgreSQL database's side files (click journals) live.
"""

import hashlib
import os
import re
from urllib.parse import urlsplit

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres(database: str) -> bool:
    """A DATABASE of `postgresql://user@host:port/dbname` (or `postgres://`)
    is a PostgreSQL server; anything else is a SQLite file's path."""
    return isinstance(database, str) and database.startswith(POSTGRES_SCHEMES)


# a quoted literal or identifier, a comment, a ? or a %: what the translation
# must see one piece at a time so a ? inside a string stays a question mark
_PIECES = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|\?|%", re.S)


def pg_params(sql: str) -> str:
    """SQLite's `?` parameters as psycopg's `%s`. psycopg reads every `%` of
    a query that has parameters, so a literal `%` (in `LIKE '%x'`, a
    format string) is doubled; a `?` inside a string literal, a quoted name
    or a comment is left alone."""

    def piece(match: re.Match) -> str:
        text = match[0]
        if text == "?":
            return "%s"
        return text.replace("%", "%%")

    return _PIECES.sub(piece, sql)


# statements that mean something to SQLite only, as PostgreSQL says them
_STATEMENTS = {
    "BEGIN IMMEDIATE": "BEGIN",  # PostgreSQL's row locks need no up-front write lock
    "BEGIN EXCLUSIVE": "BEGIN",
    "BEGIN DEFERRED": "BEGIN",
}


def pg_statement(sql: str) -> str:
    return _STATEMENTS.get(sql.strip().upper(), sql)


def engine(db) -> str:
    """ "sqlite" or "postgresql": the engine a connection (shortener.db) talks to."""
    return getattr(db, "engine", "sqlite")


def json_values(db, column: str, alias: str) -> str:
    """A FROM item with one row per element of a JSON array held as text in
    `column`, the element in `<alias>.value`."""
    if engine(db) == "postgresql":
        return f"json_array_elements_text({column}::json) AS {alias}(value)"
    return f"json_each({column}) AS {alias}"


def like(db) -> str:
    """A LIKE that ignores case, as SQLite's does (for ASCII letters):
    PostgreSQL's LIKE minds case, its ILIKE does not."""
    return "ILIKE" if engine(db) == "postgresql" else "LIKE"


def columns(db, table: str) -> list[str]:
    """A table's column names, in order, on either engine."""
    if engine(db) == "postgresql":
        rows = db.conn.execute(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position",
            (table,),
        )
        return [r[0] for r in rows]
    return [r[1] for r in db.conn.execute(f"PRAGMA table_info({quote_name(table)})")]


def quote_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def files_path(database: str, folder: str) -> str:
    """The path the database's side files (click journals: `<path>-clicks`)
    are named after: a SQLite file's own path; for PostgreSQL a name in
    `folder`, one per server and database (never the password)."""
    if not is_postgres(database):
        return database
    parts = urlsplit(database)
    where = f"{parts.hostname or 'local'}:{parts.port or 5432}/{parts.path.lstrip('/')}"
    digest = hashlib.sha256(where.encode()).hexdigest()[:12]
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", parts.path.lstrip("/")) or "postgres"
    return os.path.join(folder, f"postgresql-{name}-{digest}")


def shown(database: str) -> str:
    """The DATABASE setting as it may be printed and logged: a URL's
    password is left out."""
    if not is_postgres(database):
        return database
    parts = urlsplit(database)
    if parts.password is None:
        return database
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{netloc}").geturl()
