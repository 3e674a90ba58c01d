"""Concurrent writers: connection settings, durable conversions, 8 processes
writing at once, and one webhook delivered 20 times at once to gunicorn."""

import json
import multiprocessing
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
import requests

from conftest import BROWSER_UA, WEBHOOK_SECRET, app_config, make_link
from conversions import aggregates, privacy
from conversions.intake import Conversion, Policy, record_conversion
from conversions.signing import sign
from servers import gunicorn
from shortener import create_app, links
from shortener.app import init_db
from shortener.clicks import classify, record_click
from shortener.db import connect, get_db

SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


# -- every connection -------------------------------------------------------------------


def settings_of(db) -> dict:
    read = lambda pragma: db.execute(f"PRAGMA {pragma}").fetchone()[0]  # noqa: E731
    return {
        "journal_mode": read("journal_mode"),
        "busy_timeout": read("busy_timeout"),
        "foreign_keys": read("foreign_keys"),
        "synchronous": SYNCHRONOUS[read("synchronous")],
    }


def test_every_connection_is_wal_with_a_busy_timeout_of_at_least_5_s(app, client):
    expected = {"journal_mode": "wal", "foreign_keys": 1, "synchronous": "NORMAL"}
    direct = settings_of(connect(app.config["DATABASE"]))
    assert direct["busy_timeout"] >= 5000
    assert {k: direct[k] for k in expected} == expected
    # the connection requests use, after a request has used it
    make_link(client, code="hop")
    client.get("/hop")
    with app.app_context():
        served = settings_of(get_db())
    assert served == direct


def watch(db, table: str) -> list:
    """What the connection's synchronous setting is at the moment a row goes
    into `table`, read on that same connection by a temporary trigger."""
    seen = []

    def probe():
        seen.append(SYNCHRONOUS[db.conn.execute("PRAGMA synchronous").fetchone()[0]])
        return 0

    db.conn.create_function(f"probe_{table}", 0, probe)
    db.execute(f"CREATE TEMP TRIGGER watch_{table} AFTER INSERT ON {table} BEGIN"
               f" SELECT probe_{table}(); END")  # fmt: skip
    return seen


EVENTS: list | None = None  # while a list: SQL statements and files opened, in order


def _audit(event, args):
    if EVENTS is not None and event == "open" and isinstance(args[0], str):
        EVENTS.append(("open", args[0]))


sys.addaudithook(_audit)  # audit hooks cannot be removed: this one records only on demand


def test_conversions_reach_the_disk_before_they_are_answered_and_clicks_do_not_wait(tmp_path):
    # synchronous=FULL would fsync inside the commit, holding SQLite's only
    # write lock; conversions instead commit, release the lock and then
    # flush the WAL file themselves before record_conversion returns
    global EVENTS
    path = str(tmp_path / "ct.db")
    init_db(path)
    db = connect(path)
    link = links.create_link(db, {"url": "https://a.example/", "channel": "x", "campaign": "c"})
    conversion_sync, click_sync = watch(db, "conversions"), watch(db, "clicks")
    EVENTS = []
    db.conn.set_trace_callback(lambda sql: EVENTS.append(("sql", sql)))
    try:
        now = datetime.now(UTC)
        record_click(db, link_id=link["id"], visitor_id="v" * 16, now=now,
                     agent=classify(BROWSER_UA), is_bot=False)  # fmt: skip
        after_click = len(EVENTS)
        conversion = Conversion(goal="signup", source="webhook", occurred_at=now,
                                received_at=now, visitor_id="v" * 16, webhook_id="m1")  # fmt: skip
        record_conversion(db, conversion, Policy())
        events = EVENTS
    finally:
        EVENTS = None
    wal = ("open", path + "-wal")
    assert wal not in events[:after_click]  # a click does not wait for the disk
    assert click_sync == ["NORMAL"] and conversion_sync == ["NORMAL"]
    conversion_events = events[after_click:]
    commit = conversion_events.index(("sql", "COMMIT"))
    assert conversion_events[commit + 1 :] == [wal]  # the WAL flushed after the commit
    # the conversion's reads come before its write transaction, which is
    # just the inserts (BEGIN IMMEDIATE: it never has to upgrade a read lock)
    begin = conversion_events.index(("sql", "BEGIN IMMEDIATE"))
    inserts = [sql for kind, sql in conversion_events[begin + 1 : commit] if kind == "sql"]
    assert all(not sql.startswith(("UPDATE", "DELETE")) for sql in inserts)
    assert SYNCHRONOUS[db.execute("PRAGMA synchronous").fetchone()[0]] == "NORMAL"


@pytest.mark.parametrize("operation", ["refresh", "erase", "retention"])
def test_transactions_that_read_then_write_begin_immediate(tmp_path, operation):
    path = str(tmp_path / "ct.db")
    init_db(path)
    db = connect(path)
    link = links.create_link(db, {"url": "https://a.example/", "channel": "x", "campaign": "c"})
    old = datetime.now(UTC) - timedelta(days=100)
    record_click(db, link_id=link["id"], visitor_id="v" * 16, now=old,
                 agent=classify(BROWSER_UA), is_bot=False)  # fmt: skip
    statements = []
    db.conn.set_trace_callback(statements.append)
    if operation == "refresh":
        aggregates.refresh(db)
    elif operation == "erase":
        privacy.erase(db, visitor_id="v" * 16)
    else:
        privacy.apply_retention(db, 30, datetime.now(UTC))
    writes = [i for i, s in enumerate(statements) if s.startswith(("INSERT", "UPDATE", "DELETE"))]
    assert writes
    begins = [i for i, s in enumerate(statements) if s.startswith("BEGIN")]
    assert all(statements[i] == "BEGIN IMMEDIATE" for i in begins)
    for w in writes:  # every write is inside a BEGIN IMMEDIATE transaction
        assert any(b < w for b in begins)


# -- 8 processes x 500 writes -------------------------------------------------------------

PROCESSES = 8
WRITES = 500
SHARED_EVERY = 50  # one conversion in 50 carries an order id all processes share


def writer(path: str, number: int, start, results) -> None:
    """500 writes: clicks and conversions alternating, as fast as possible."""
    try:
        db = connect(path)
        link_id = db.execute("SELECT id FROM links").fetchone()[0]
        agent = classify(BROWSER_UA)
        start.wait()
        stored = duplicates = 0
        for j in range(WRITES):
            now = datetime.now(UTC)
            visitor = f"visitor-{number}-{j % 10:04d}"
            if j % 2 == 0:
                record_click(db, link_id=link_id, visitor_id=visitor, now=now, agent=agent,
                             is_bot=False)  # fmt: skip
                continue
            order = f"shared-{j}" if j % SHARED_EVERY == 1 else f"order-{number}-{j}"
            conversion = Conversion(goal="purchase", source="webhook", occurred_at=now,
                                    received_at=now, value_minor=100, currency="USD",
                                    visitor_id=visitor, order_id=order,
                                    webhook_id=f"{order}-{number}")  # fmt: skip
            _, duplicate = record_conversion(db, conversion, Policy())
            duplicates += duplicate
            stored += not duplicate
        results.put((number, stored, duplicates, None))
    except Exception as e:  # reported to the test, which fails on it
        results.put((number, 0, 0, repr(e)))


@pytest.mark.timeout(600)  # waits up to 240 s for the writers on a busy machine
def test_8_processes_writing_500_times_each_give_exact_counts(tmp_path):
    path = str(tmp_path / "ct.db")
    init_db(path)
    db = connect(path)
    links.create_link(db, {"url": "https://a.example/", "channel": "x", "campaign": "c"})
    context = multiprocessing.get_context("spawn")
    start, results = context.Event(), context.Queue()
    workers = [context.Process(target=writer, args=(path, n, start, results))
               for n in range(PROCESSES)]  # fmt: skip
    try:
        for w in workers:
            w.start()
        time.sleep(1.0)  # let every process import and connect, then all start at once
        start.set()
        outcomes = [results.get(timeout=240) for _ in workers]
        for w in workers:
            w.join(timeout=60)
    finally:  # a writer stuck or left behind by a failure does not outlive the test
        for w in workers:
            if w.is_alive():
                w.kill()
                w.join(timeout=10)
    assert [error for *_, error in outcomes] == [None] * PROCESSES
    shared_orders = len(range(1, WRITES, SHARED_EVERY))  # j = 1, 51, ..., 451: 10 orders
    # by hand: 250 clicks per process; 250 conversions per process of which the
    # 10 shared orders are stored once across all 8 processes
    clicks = PROCESSES * WRITES // 2  # 2000
    conversions = PROCESSES * (WRITES // 2 - shared_orders) + shared_orders  # 8 * 240 + 10
    assert sum(stored for _, stored, _, _ in outcomes) == conversions == 1930
    assert sum(dupes for _, _, dupes, _ in outcomes) == (PROCESSES - 1) * shared_orders == 70
    assert db.execute("SELECT count(*) FROM clicks").fetchone()[0] == clicks
    assert db.execute("SELECT count(*) FROM conversions").fetchone()[0] == conversions
    # every conversion's credits add up to exactly one conversion under every model
    sums = db.execute("SELECT DISTINCT sum(weight_ppm) FROM credits"
                      " GROUP BY conversion_id, model").fetchall()  # fmt: skip
    assert sums == [(1_000_000,)]
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


# -- one webhook delivered 20 times at once ---------------------------------------------------


def all_at_once(send, times: int, barrier: threading.Barrier) -> None:
    """Run `send` in `times` threads that meet at `barrier`; each is bounded
    (the barrier's and the request's timeouts), and all are joined, also
    when starting one fails."""
    threads = [threading.Thread(target=send, name=f"sender-{n}") for n in range(times)]
    try:
        for t in threads:
            t.start()
    finally:
        if not all(t.ident for t in threads):  # not all started: none waits on
            barrier.abort()
        for t in threads:
            if t.ident:
                t.join(timeout=90)


@pytest.fixture
def server(tmp_path):
    config = app_config(tmp_path, BASE_URL="http://127.0.0.1")
    init_db(config["DATABASE"])
    with gunicorn(config, workers=3) as base:
        yield base, config


def test_the_same_webhook_sent_20_times_at_once_is_stored_once(server):
    base, config = server
    app = create_app(config)
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = BROWSER_UA
    make_link(client, code="hop")
    click_id = client.get("/hop").headers["Location"].rsplit("ct_click=", 1)[1]
    body = json.dumps({"goal": "purchase", "value": "19.99", "click_id": click_id}).encode()
    timestamp = int(time.time())
    headers = {
        "webhook-id": "msg_retry_storm",
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(WEBHOOK_SECRET, "msg_retry_storm", timestamp, body),
        "Content-Type": "application/json",
    }
    barrier = threading.Barrier(20, timeout=30)
    answers = []

    def deliver():
        barrier.wait()
        response = requests.post(f"{base}/t/webhook", data=body, headers=headers, timeout=30)
        answers.append((response.status_code, response.json()["duplicate"]))

    all_at_once(deliver, 20, barrier)
    assert len(answers) == 20
    assert all(status in (200, 201) for status, _ in answers)
    assert sorted(answers) == [(200, True)] * 19 + [(201, False)]
    db = connect(config["DATABASE"])
    rows = db.execute("SELECT webhook_id, value_minor FROM conversions").fetchall()
    assert rows == [("msg_retry_storm", 1999)]


def test_the_same_pixel_order_fired_20_times_at_once_is_stored_once(server):
    base, config = server
    barrier = threading.Barrier(20, timeout=30)
    statuses = []

    def fire():
        barrier.wait()
        response = requests.get(
            f"{base}/t/pixel.gif",
            params={"goal": "purchase", "value": "5.00", "order_id": "A-20"},
            headers={"User-Agent": BROWSER_UA},
            timeout=30,
        )
        statuses.append((response.status_code, response.headers["Content-Type"]))

    all_at_once(fire, 20, barrier)
    assert statuses == [(200, "image/gif")] * 20
    db = connect(config["DATABASE"])
    assert db.execute("SELECT order_id, verified FROM conversions").fetchall() == [("A-20", 0)]
