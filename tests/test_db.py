"""The database: idempotent schema, connection settings, indexes, init-db."""

import sqlite3

import pytest

from conftest import app_config
from shortener import create_app
from shortener.db import BUSY_TIMEOUT_MS, connect, immediate, init_db
from shortener.redirect import LINK_LOOKUP


def schema(path) -> list[tuple]:
    with sqlite3.connect(path) as conn:
        return conn.execute(
            "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
        ).fetchall()


def test_init_db_is_idempotent(tmp_path):
    path = str(tmp_path / "ct.db")
    applied = init_db(path)
    assert applied  # a fresh file gets every migration
    first = schema(path)
    assert init_db(path) == []
    assert schema(path) == first
    goals = sqlite3.connect(path).execute("SELECT count(*) FROM goals").fetchone()[0]
    assert goals == 11  # the seeded catalogue (renewal came later), not seeded twice


def test_wal_mode_is_on_and_persists(tmp_path):
    path = str(tmp_path / "ct.db")
    init_db(path)
    # a plain connection with no pragmas of its own sees the file's mode
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_every_connection_enforces_foreign_keys_and_waits_when_busy(tmp_path):
    path = str(tmp_path / "ct.db")
    init_db(path)
    db = connect(path)
    assert db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert db.execute("PRAGMA busy_timeout").fetchone()[0] == BUSY_TIMEOUT_MS
    with pytest.raises(sqlite3.IntegrityError):
        db.execute("INSERT INTO clicks (click_id, link_id, ts, is_bot) VALUES ('c1', 999, 'x', 0)")
    assert db.execute("SELECT count(*) FROM clicks").fetchone()[0] == 0


def plan(db, sql, params) -> str:
    return " ".join(row[-1] for row in db.execute(f"EXPLAIN QUERY PLAN {sql}", params))


def test_redirect_lookup_and_click_joins_use_indexes(tmp_path):
    path = str(tmp_path / "ct.db")
    init_db(path)
    db = connect(path)
    assert "USING INDEX sqlite_autoindex_links" in plan(db, LINK_LOOKUP, ["abc"])
    by_click_id = plan(db, "SELECT id FROM clicks WHERE click_id = ?", ["x"])
    assert "INDEX sqlite_autoindex_clicks" in by_click_id
    visitor_clicks = "SELECT id FROM clicks WHERE visitor_id = ? AND ts <= ? ORDER BY ts"
    assert "clicks_visitor_ts" in plan(db, visitor_clicks, ["v", "t"])
    credits_of_click = "SELECT * FROM credits WHERE click_row = ?"
    assert "credits_click" in plan(db, credits_of_click, [1])


def test_intake_lookups_use_indexes(tmp_path):
    # intake finds duplicates by webhook-id and by (goal, order), and a
    # click's visitor by click id (clicks.click_id is unique); nothing looks
    # conversions up by click id, so conversions.click_id needs no index
    path = str(tmp_path / "ct.db")
    init_db(path)
    db = connect(path)
    by_webhook = plan(db, "SELECT * FROM conversions WHERE webhook_id = ?", ["m"])
    assert "INDEX sqlite_autoindex_conversions" in by_webhook
    by_order = plan(db, "SELECT * FROM conversions WHERE goal = ? AND order_id = ?", ["g", "o"])
    assert "conversions_goal_order" in by_order
    visitor = plan(db, "SELECT visitor_id FROM clicks WHERE click_id = ?", ["k"])
    assert "INDEX sqlite_autoindex_clicks" in visitor
    # a confirmed pixel order: the visitor's other conversions that day
    elsewhere = plan(
        db,
        "SELECT 1 FROM conversions co JOIN credits cr ON cr.conversion_id = co.id"
        " WHERE co.visitor_id = ? AND co.occurred_at >= ? AND co.occurred_at < ?",
        ["v", "2026-01-01", "2026-01-01~"],
    )
    assert "conversions_visitor" in elsewhere and "credits_conversion" in elsewhere


def test_immediate_commits_or_rolls_back_as_a_whole(tmp_path):
    path = str(tmp_path / "ct.db")
    init_db(path)
    db = connect(path)
    insert = "INSERT INTO goals (name, value_minor) VALUES (?, 0)"
    with pytest.raises(RuntimeError), immediate(db):
        db.execute(insert, ["first"])
        raise RuntimeError("half-way")
    with immediate(db, durable=True):
        db.execute(insert, ["second"])
    names = {r[0] for r in sqlite3.connect(path).execute("SELECT name FROM goals")}
    assert "second" in names and "first" not in names
    # durable is only for that transaction
    assert db.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_init_db_command_runs_twice(tmp_path):
    app = create_app(app_config(tmp_path))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init-db"])
    assert first.exit_code == 0, first.output
    assert "Database ready" in first.output
    before = schema(app.config["DATABASE"])
    second = runner.invoke(args=["init-db"])
    assert second.exit_code == 0
    assert "up to date" in second.output
    assert schema(app.config["DATABASE"]) == before


def test_init_db_command_reports_an_unwritable_path_cleanly(tmp_path):
    app = create_app(app_config(tmp_path, DATABASE=str(tmp_path / "no" / "such" / "ct.db")))
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert result.exit_code != 0
    assert isinstance(result.exception, SystemExit)  # a ClickException, not a crash
    assert "cannot initialise the database" in result.output
    assert "Traceback" not in result.output


def test_m007_backfills_unique_clicks_of_clicks_already_folded(tmp_path):
    from conversions.reports import channel_rows
    from shortener.schema import migrations

    path = str(tmp_path / "old.db")
    db = connect(path)
    migrations.apply(db, stop_before="m007_link_features")
    db.execute(
        "INSERT INTO links (id, code, url, channel, campaign, created_at, updated_at)"
        " VALUES (1, 'old', 'https://shop.example.com/', 'twitter', 'spring', 'x', 'x')"
    )
    clicks = [  # (visitor, ts, is_bot): folded before the upgrade
        ("ann", "2026-03-01T09:05:00.000000Z", 0),
        ("ann", "2026-03-01T09:55:00.000000Z", 0),  # same hour: not unique
        ("ann", "2026-03-01T10:01:00.000000Z", 0),  # next hour: unique
        ("bob", "2026-03-01T09:30:00.000000Z", 0),
        (None, "2026-03-01T09:31:00.000000Z", 0),  # opted out: each counts
        (None, "2026-03-01T09:32:00.000000Z", 1),  # a bot: not a person's click
    ]
    for n, (visitor, ts, bot) in enumerate(clicks, start=1):
        db.execute(
            "INSERT INTO clicks (click_id, link_id, visitor_id, ts, is_bot) VALUES (?, 1, ?, ?, ?)",
            [f"c{n}", visitor, ts, bot],
        )
    db.execute(
        "INSERT INTO link_day (day, link_id, clicks, human_clicks) VALUES ('2026-03-01', 1, 6, 5)"
    )
    db.execute("UPDATE aggregate_state SET last_id = 6 WHERE name = 'clicks'")
    db.close()
    init_db(path)
    db = connect(path)
    # ann 09h, ann 10h, bob 09h and the anonymous click: 4
    assert db.execute("SELECT unique_clicks, qr_scans FROM link_day").fetchone() == (4, 0)
    [row] = channel_rows(db)
    assert (row["clicks"], row["human_clicks"], row["unique_clicks"], row["qr_scans"]) == (
        6,
        5,
        4,
        0,
    )
    db.close()
