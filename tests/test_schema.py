"""The schema a database ends with: a fresh one, and ones migrated part way
in the order the migrations landed and then brought up to date, all equal
the committed tests/data/schema.sql.

That file was made from the migrations in their landing order; to
regenerate it after adding a migration (and only then):
    .venv/bin/python tests/test_schema.py
"""

import re
import sqlite3
import sys
from pathlib import Path

import pytest
from migration_history import LANDED, SET_NAME, landed_migrations
from sqlite_utils import Database

from shortener.app import init_db
from shortener.app import migrations as house_migrations

migrations = house_migrations()

FIXTURE = Path(__file__).resolve().parent / "data" / "schema.sql"


def schema_of(path) -> str:
    """Every table, index, trigger and view in sqlite_master, by type and
    name, with its SQL's whitespace collapsed (ALTER TABLE keeps the text
    as typed); column order is part of each table's SQL."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master"
            " WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
        ).fetchall()
    finally:
        conn.close()
    return "".join(
        f"-- {kind} {name} on {table}\n{one_line(sql)};\n" for kind, name, table, sql in rows
    )


def one_line(sql: str | None) -> str:
    return re.sub(r"\s+", " ", sql or "").strip()


def applied(path) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        return [
            name
            for (name,) in conn.execute(
                "SELECT name FROM _sqlite_migrations WHERE migration_set = ? ORDER BY rowid",
                [SET_NAME],
            )
        ]
    finally:
        conn.close()


def test_the_current_code_knows_every_landed_migration_under_one_set_name():
    assert migrations.name == SET_NAME
    assert sorted(m.name for m in migrations._migrations) == sorted(LANDED)


def test_a_fresh_database_gets_the_committed_schema(tmp_path):
    path = str(tmp_path / "fresh.db")
    init_db(path)
    assert schema_of(path) == FIXTURE.read_text()
    assert sorted(applied(path)) == sorted(LANDED)


@pytest.mark.parametrize(
    "landed",
    # after the core, before the advocates' columns on links, before m007
    # (which extends m012's table), mid-advocates and one short of the end
    [1, 6, 7, 11, 12, 14, len(LANDED) - 1],
)
def test_a_database_migrated_part_way_ends_with_the_same_schema(tmp_path, landed):
    path = str(tmp_path / "older.db")
    db = Database(path)
    landed_migrations(migrations).apply(db, stop_before=LANDED[landed])
    db.close()
    assert applied(path) == LANDED[:landed]
    assert init_db(path)  # the current code applies what is left
    assert schema_of(path) == FIXTURE.read_text()
    names = applied(path)
    assert len(names) == len(set(names)) == len(LANDED)  # none applied twice
    assert names[:landed] == LANDED[:landed]


def test_the_schema_reader_sees_a_column_out_of_place(tmp_path):
    one, two = str(tmp_path / "one.db"), str(tmp_path / "two.db")
    for path, columns in ((one, "a, b"), (two, "b, a")):
        conn = sqlite3.connect(path)
        conn.execute(f"CREATE TABLE t ({columns})")
        conn.close()
    assert schema_of(one) != schema_of(two)


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = str(Path(folder) / "landed.db")
        db = Database(path)
        landed_migrations(migrations).apply(db)
        db.close()
        FIXTURE.write_text(schema_of(path))
    sys.exit(0)
