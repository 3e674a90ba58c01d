"""`init-db` on PostgreSQL: the baseline schema equals SQLite's (tables,
columns and their rough types, NOT NULL, indexes, triggers, seeded rows),
it stands for every migration landed so far, and running it again applies
nothing."""

import os
import sqlite3
import subprocess
import sys

import psycopg
import pytest

from shortener.app import init_db
from shortener.app import migrations as house_migrations
from shortener.pgschema import BASELINE_COVERS, MIGRATIONS_TABLE, POSTGRES_MIGRATIONS, names

ROUGH_TYPES = {"INTEGER": "bigint", "TEXT": "text", "BLOB": "bytea"}
SEEDED = ("goals", "link_version", "aggregate_state")


@pytest.fixture
def sqlite_path(tmp_path):
    path = str(tmp_path / "reference.db")
    init_db(path)
    return path


def sqlite_tables(path) -> dict[str, list[tuple]]:
    """Each table's columns as (name, rough type, not null) from PRAGMA
    table_info; a primary key column counts as NOT NULL, as in PostgreSQL."""
    conn = sqlite3.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'"
                " AND name NOT LIKE 'sqlite_%' AND name != '_sqlite_migrations'"
            )
        ]
        return {
            table: [
                (name, ROUGH_TYPES[kind], bool(notnull or pk))
                for _, name, kind, notnull, _, pk in conn.execute(f"PRAGMA table_info({table})")
            ]
            for table in tables
        }
    finally:
        conn.close()


def pg_tables(url) -> dict[str, list[tuple]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT table_name, column_name, data_type, is_nullable = 'NO'"
            " FROM information_schema.columns WHERE table_schema = 'public'"
            " AND table_name != %s ORDER BY table_name, ordinal_position",
            (MIGRATIONS_TABLE,),
        ).fetchall()
    tables: dict[str, list[tuple]] = {}
    for table, name, kind, notnull in rows:
        tables.setdefault(table, []).append((name, kind, notnull))
    return tables


def sqlite_names(path, kind: str) -> set[str]:
    conn = sqlite3.connect(path)
    try:
        return {
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = ? AND sql IS NOT NULL"
                " AND tbl_name != '_sqlite_migrations'",
                (kind,),
            )
        }
    finally:
        conn.close()


def pg_indexes(url) -> set[str]:
    """Indexes made by CREATE INDEX (constraints' own indexes left out, as
    SQLite's autoindexes are)."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname NOT IN"
            " (SELECT conname FROM pg_constraint)"
        ).fetchall()
    return {r[0] for r in rows}


def pg_triggers(url) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal").fetchall()
    return {r[0] for r in rows}


def test_the_tables_and_columns_equal_sqlites(pg_url, sqlite_path):
    init_db(pg_url)
    expected, found = sqlite_tables(sqlite_path), pg_tables(pg_url)
    assert sorted(found) == sorted(expected)
    for table, columns in expected.items():
        assert found[table] == columns, table


def test_the_indexes_and_triggers_equal_sqlites(pg_url, sqlite_path):
    init_db(pg_url)
    assert pg_indexes(pg_url) == sqlite_names(sqlite_path, "index")
    assert pg_triggers(pg_url) == sqlite_names(sqlite_path, "trigger")


def test_the_seeded_rows_equal_sqlites(pg_url, sqlite_path):
    init_db(pg_url)
    reference = sqlite3.connect(sqlite_path)
    try:
        with psycopg.connect(pg_url) as conn:
            for table in SEEDED:
                sql = f"SELECT * FROM {table} ORDER BY 1"
                assert conn.execute(sql).fetchall() == reference.execute(sql).fetchall(), table
    finally:
        reference.close()


def test_init_db_applies_the_baseline_once_and_records_every_migration(pg_url):
    migrations = house_migrations()
    assert init_db(pg_url) == names(migrations)
    assert init_db(pg_url) == []
    with psycopg.connect(pg_url) as conn:
        recorded = conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE} ORDER BY id").fetchall()
        goals = conn.execute("SELECT count(*) FROM goals").fetchone()[0]
    assert [r[0] for r in recorded] == names(migrations)
    assert goals == 11  # seeded once


def test_every_migration_has_a_postgresql_version():
    """The baseline stands for the migrations landed before PostgreSQL; a
    migration added since needs its PostgreSQL SQL in POSTGRES_MIGRATIONS."""
    missing = [
        name
        for name in names(house_migrations())
        if name not in BASELINE_COVERS and name not in POSTGRES_MIGRATIONS
    ]
    assert missing == []


def test_the_link_version_trigger_moves_on_every_change_to_links(pg_url):
    init_db(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO links (code, url, channel, campaign, created_at, updated_at)"
            " VALUES ('abc', 'https://shop.example.com/', 'x', 'c', 't', 't')"
        )
        conn.execute("UPDATE links SET disabled = 1 WHERE code = 'abc'")
        conn.execute("UPDATE links SET disabled = 1 WHERE code = 'none'")  # no row: no change
        version = conn.execute("SELECT version FROM link_version").fetchone()[0]
    assert version == 2


def test_flask_init_db_creates_a_postgresql_database_then_finds_it_up_to_date(pg_url, tmp_path):
    """The real command, with the URL in CLICKTRAIL_DATABASE."""
    env = {
        **os.environ,
        "CLICKTRAIL_DATABASE": pg_url,
        "CLICKTRAIL_SECRET_KEY": "k",
        "CLICKTRAIL_ADMIN_API_KEY": "k",
        "CLICKTRAIL_CLICK_JOURNAL_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "flask", "--app", "shortener", "init-db"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "Database ready at postgresql://" in first.stdout
    assert "m015_geo_targeting" in first.stdout
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert "is up to date" in again.stdout
    assert pg_tables(pg_url)["links"][0] == ("id", "bigint", True)
