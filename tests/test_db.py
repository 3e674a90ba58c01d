"""The database: idempotent schema, connection settings, indexes, init-db,
and the migration a server does when it starts."""

import multiprocessing
import os
import sqlite3

import pytest
import requests

from conftest import AUTH, BROWSER_UA, app_config, browser
from servers import gunicorn
from shortener import create_app
from shortener import db as db_module
from shortener.app import init_db
from shortener.app import migrations as house_migrations
from shortener.db import BUSY_TIMEOUT_MS, connect, immediate
from shortener.redirect import LINK_LOOKUP

migrations = house_migrations()


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
    from shortener.app import migrations as house_migrations

    migrations = house_migrations()

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


# -- migrating at start-up ---------------------------------------------------------------


def applied(path) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [r[0] for r in conn.execute("SELECT name FROM _sqlite_migrations ORDER BY rowid")]


def create_and_follow(client_or_base, headers=AUTH):
    body = {"url": "https://shop.example.com/new", "channel": "x", "campaign": "c"}
    if isinstance(client_or_base, str):
        created = requests.post(f"{client_or_base}/api/links", json=body, headers=headers,
                                timeout=15)  # fmt: skip
        hop = requests.get(f"{client_or_base}/{created.json()['code']}", allow_redirects=False,
                           headers={"User-Agent": BROWSER_UA}, timeout=15)  # fmt: skip
        return created.status_code, hop.status_code
    created = client_or_base.post("/api/links", json=body, headers=headers)
    hop = client_or_base.get(f"/{created.get_json()['code']}")
    return created.status_code, hop.status_code


def test_a_new_database_serves_at_once_without_init_db(tmp_path):
    config = app_config(tmp_path)  # no init_db
    client = browser(create_app(config))
    assert client.get("/healthz").status_code == 200
    assert create_and_follow(client) == (201, 302)
    db = connect(config["DATABASE"])
    assert db.execute("SELECT count(*) FROM clicks").fetchone()[0] == 1
    db.close()
    assert applied(config["DATABASE"]) == [m.name for m in migrations._migrations]


def _migrate_together(path, barrier, pipe):
    try:
        barrier.wait(timeout=30)
        pipe.send(init_db(path))
    except BaseException as e:  # the parent shows it
        pipe.send(repr(e))
    os._exit(0)


def test_workers_starting_together_apply_each_migration_once(tmp_path):
    path = str(tmp_path / "ct.db")
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(4)
    pipes, children = [], []
    try:
        for _ in range(4):
            ours, theirs = context.Pipe()
            child = context.Process(target=_migrate_together, args=(path, barrier, theirs))
            child.start()
            pipes.append(ours)
            children.append(child)
        results = [p.recv() if p.poll(60) else "no answer" for p in pipes]
    finally:
        for child in children:
            child.join(timeout=60)
            if child.is_alive():
                child.kill()
                child.join()
    assert all(isinstance(r, list) for r in results), results
    everything = [m.name for m in migrations._migrations]
    # one process applied them all; the others waited and found none pending
    assert sorted(results, key=len) == [[], [], [], everything]
    assert applied(path) == everything


def test_with_migrate_on_start_off_a_new_database_answers_503_saying_what_to_run(tmp_path):
    config = app_config(tmp_path, MIGRATE_ON_START=False)
    client = browser(create_app(config))
    body = {"url": "https://shop.example.com/", "channel": "x", "campaign": "c"}
    refused = client.post("/api/links", json=body, headers=AUTH)
    assert refused.status_code == 503
    assert "run `flask --app shortener init-db`" in refused.get_json()["error"]
    assert client.get("/abc1234").status_code == 503  # a short link: never a 500 either
    assert client.get("/healthz").status_code == 503


def test_a_database_that_cannot_be_created_answers_503_not_500(tmp_path, monkeypatch):
    config = app_config(tmp_path, DATABASE=str(tmp_path / "no" / "such" / "ct.db"))
    client = browser(create_app(config))
    body = {"url": "https://shop.example.com/", "channel": "x", "campaign": "c"}
    refused = client.post("/api/links", json=body, headers=AUTH)
    assert refused.status_code == 503
    assert "cannot open the database file" in refused.get_json()["error"]
    assert client.get("/abc1234").status_code == 503
    assert client.get("/healthz").status_code == 503
    # the folder made: a later request migrates (no restart)
    os.makedirs(tmp_path / "no" / "such")
    monkeypatch.setattr(db_module, "SCHEMA_RETRY_SECONDS", 0)
    assert create_and_follow(client) == (201, 302)


@pytest.mark.slow
def test_gunicorn_on_a_new_database_serves_without_init_db(tmp_path):
    """Three workers start at once on a database that does not exist yet."""
    config = app_config(tmp_path, BASE_URL="http://127.0.0.1", WEBHOOK_DELIVERY_THREAD="false")
    with gunicorn(config, workers=3) as base:
        assert create_and_follow(base) == (201, 302)
        assert [create_and_follow(base)[1] for _ in range(6)] == [302] * 6  # every worker
    assert applied(config["DATABASE"]) == [m.name for m in migrations._migrations]
