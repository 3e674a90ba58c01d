"""The click journal: lines appended by a worker reach the clicks table
exactly once, whoever replays them and however often, and survive the
worker being killed with SIGKILL in the middle of a load."""

import json
import multiprocessing
import os
import signal
import threading
import time
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from lagging import answer, journalled_lines, stored_click_ids

from conftest import AUTH, BROWSER_UA, WEBHOOK_SECRET, app_config, browser, make_link
from conversions.signing import sign
from servers import running
from shortener import journal as journal_module
from shortener import links
from shortener.app import init_db
from shortener.clicks import classify, click_row
from shortener.db import connect, get_db
from shortener.journal import Journal, catch_up, directory, replay_all

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture
def setup(tmp_path):
    path = str(tmp_path / "ct.db")
    init_db(path)
    db = connect(path)
    link = links.create_link(db, {"url": "https://a.example/", "channel": "x", "campaign": "c"})
    yield path, db, link["id"]
    db.close()


def row(link_id, n, **extra):
    fields = dict(link_id=link_id, visitor_id=f"visitor-{n:010d}", now=NOW,
                  agent=classify(BROWSER_UA), is_bot=False, user_agent=BROWSER_UA)  # fmt: skip
    return {**click_row(**fields), **extra}


def stored(db) -> list[str]:
    return [r[0] for r in db.execute("SELECT click_id FROM clicks ORDER BY id")]


def files(path) -> list[str]:
    return sorted(os.listdir(directory(path)))


def test_lines_are_stored_once_however_often_replayed(setup):
    path, db, link_id = setup
    journal = Journal(path)
    rows = [row(link_id, n) for n in range(5)]
    for r in rows:
        journal.append(r)
    assert stored(db) == []  # appended, not yet stored
    assert replay_all(db) == 5
    assert replay_all(db) == 0 and journal.replay_own(db) == 0
    assert stored(db) == [r["click_id"] for r in rows]
    # every column as click_row built it
    got = next(db.query("SELECT * FROM clicks WHERE click_id = ?", [rows[0]["click_id"]]))
    assert {k: got[k] for k in rows[0]} == rows[0]
    # the offset stored is the whole file
    (name,) = files(path)
    size = os.path.getsize(os.path.join(directory(path), name))
    assert db.execute("SELECT file, consumed FROM click_journal").fetchall() == [(name, size)]


def test_a_crawlers_unfurl_is_counted_with_its_click_once(setup):
    path, db, link_id = setup
    journal = Journal(path)
    crawler = "Mozilla/5.0 (compatible; LinkedInBot/1.0; +http://www.linkedin.com)"
    bot = dict(link_id=link_id, visitor_id=None, now=NOW, agent=classify(crawler), is_bot=True,
               user_agent=crawler)  # fmt: skip
    rows = [
        {**click_row(**bot), "unfurl": "linkedin"},
        {**click_row(**bot), "unfurl": "linkedin"},
        {**click_row(**bot), "unfurl": "x"},
        row(link_id, 3),  # a person
    ]
    for r in rows:
        journal.append(r)
    assert replay_all(db) == 4
    unfurls = "SELECT day, platform, count FROM unfurls ORDER BY platform"
    # 2 LinkedIn fetches and 1 X fetch on 2 March; the person is no unfurl
    assert db.execute(unfurls).fetchall() == [("2026-03-02", "linkedin", 2), ("2026-03-02", "x", 1)]
    assert len(stored(db)) == 4  # crawler clicks are stored too, as bots
    # a power cut can roll back the offset after the kernel wrote the lines:
    # replayed again, neither the clicks nor the unfurls count twice
    db.execute("UPDATE click_journal SET consumed = 0")
    db.conn.commit()
    replay_all(db)
    assert len(stored(db)) == 4
    assert db.execute(unfurls).fetchall() == [("2026-03-02", "linkedin", 2), ("2026-03-02", "x", 1)]


def test_only_whole_lines_are_consumed(setup):
    path, db, link_id = setup
    journal = Journal(path)
    first, second = row(link_id, 1), row(link_id, 2)
    journal.append(first)
    (name,) = files(path)
    line = (json.dumps(second) + "\n").encode()
    with open(os.path.join(directory(path), name), "ab") as f:
        f.write(line[:30])  # a line still being written
        f.flush()
        assert replay_all(db) == 1
        assert stored(db) == [first["click_id"]]
        f.write(line[30:])
    assert replay_all(db) == 1
    assert stored(db) == [first["click_id"], second["click_id"]]


def test_two_replayers_at_once_store_each_line_once(setup):
    path, db, link_id = setup
    journal = Journal(path)
    rows = [row(link_id, n) for n in range(3000)]
    for r in rows:
        journal.append(r)
    others = [connect(path) for _ in range(3)]
    threads = [threading.Thread(target=replay_all, args=(c,)) for c in others]
    journal_module.READ_BYTES, old = 4096, journal_module.READ_BYTES  # many small transactions
    try:
        for t in threads:
            t.start()
        replay_all(db)
    finally:
        for t in threads:
            if t.is_alive():
                t.join(timeout=60)
        journal_module.READ_BYTES = old
        for c in others:
            c.close()
    assert sorted(stored(db)) == sorted(r["click_id"] for r in rows)


def test_columns_are_whatever_the_row_holds(setup):
    """A column added to clicks (by a later migration) is journalled and
    stored like the others, and old lines without it still replay."""
    path, db, link_id = setup
    journal = Journal(path)
    old = row(link_id, 1)
    journal.append(old)
    db.execute("ALTER TABLE clicks ADD COLUMN campaign_note TEXT")
    db.conn.commit()
    new = row(link_id, 2, campaign_note="launch")
    journal.append(new)
    assert replay_all(db) == 2
    assert db.execute("SELECT click_id, campaign_note FROM clicks ORDER BY id").fetchall() == [
        (old["click_id"], None),
        (new["click_id"], "launch"),
    ]


def test_a_row_the_table_refuses_does_not_block_the_others(setup):
    path, db, link_id = setup
    journal = Journal(path)
    good, orphan = row(link_id, 1), row(link_id + 999, 2)  # no such link: foreign key
    journal.append(orphan)
    journal.append(good)
    assert replay_all(db) == 2  # both lines read...
    assert stored(db) == [good["click_id"]]  # ...the refused one logged and dropped
    assert replay_all(db) == 0


def _write_and_exit(path, link_id, n):
    journal = Journal(path)
    for i in range(n):
        journal.append(row(link_id, i))
    os._exit(0)  # like a killed worker: nothing replayed, nothing closed


def test_a_dead_writers_file_is_replayed_then_deleted(setup):
    path, db, link_id = setup
    live = Journal(path)
    live.append(row(link_id, 100))
    child = multiprocessing.get_context("fork").Process(target=_write_and_exit,
                                                        args=(path, link_id, 50))  # fmt: skip
    child.start()
    child.join(timeout=60)
    if child.is_alive():
        child.kill()
        child.join()
    assert len(files(path)) == 2
    assert replay_all(db) == 51
    assert len(stored(db)) == 51
    # the dead process's file and its offset are gone; the live one stays
    assert files(path) == [live.name]
    assert [r[0] for r in db.execute("SELECT file FROM click_journal")] == [live.name]


def test_a_big_file_is_rotated_and_the_old_one_deleted(setup, monkeypatch):
    path, db, link_id = setup
    monkeypatch.setattr(journal_module, "ROTATE_BYTES", 2000)
    journal = Journal(path)
    first = journal.name
    for i in range(20):
        journal.append(row(link_id, i))
    assert journal.replay_own(db) == 20
    assert journal.name != first  # writes go to a new file now
    journal.append(row(link_id, 20))
    assert replay_all(db) == 1
    assert files(path) == [journal.name]
    assert len(stored(db)) == 21


# -- under gunicorn ---------------------------------------------------------------------


@pytest.fixture
def server(tmp_path):
    # batches too big to ever fill and no webhook deliverer (which replays as it
    # polls): nothing is replayed by the server on its own, so what is stored at
    # the end came through the journal's replay by readers ("false": JSON, as the
    # server reads its settings from the environment)
    config = app_config(
        tmp_path,
        BASE_URL="http://127.0.0.1",
        CLICK_JOURNAL_BATCH=10**9,
        CLICK_JOURNAL_MAX_DELAY_MS=10**9,
        WEBHOOK_DELIVERY_THREAD="false",
    )
    init_db(config["DATABASE"])
    db = connect(config["DATABASE"])
    codes = [
        links.create_link(
            db, {"url": f"https://shop.example.com/{n}", "channel": "x", "campaign": "c"}
        )["code"]  # fmt: skip
        for n in range(5)
    ]
    db.close()
    with running(config, workers=2) as server:
        yield server, config, codes


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.timeout(300)  # its own waits give up after 60 s each
def test_sigkill_of_a_worker_mid_load_loses_no_answered_click(server):
    gunicorn, config, codes = server
    base = gunicorn.base
    answered, errors, wrong = [], [], []
    stop = threading.Event()
    deadline = time.monotonic() + 90  # far more than the load needs

    def client(n):
        # bounded: stops when told, at the deadline, or after 1,000 requests;
        # failures are kept as short strings (an exception keeps its frames)
        session = requests.Session()
        session.headers["User-Agent"] = BROWSER_UA
        for _ in range(1000):
            if stop.is_set() or time.monotonic() > deadline:
                return
            try:
                hop = session.get(f"{base}/{codes[n % 5]}", allow_redirects=False, timeout=5)
            except requests.RequestException as e:  # the killed worker's connection
                errors.append(type(e).__name__)
                stop.wait(0.05)
                continue
            if hop.status_code != 302:
                wrong.append(hop.status_code)
                return
            answered.append(parse_qs(urlsplit(hop.headers["Location"]).query)["ct_click"][0])

    threads = [threading.Thread(target=client, args=(n,), name=f"client-{n}") for n in range(6)]
    try:
        for t in threads:
            t.start()
        wait_for(lambda: len(answered) >= 150 or wrong, 60, "150 answers before the kill")
        victim = gunicorn.worker_pids()[0]
        os.kill(victim, signal.SIGKILL)
        before = len(answered)
        wait_for(lambda: len(answered) >= before + 150 or wrong, 60, "150 answers after it")
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=10)
    assert wrong == []

    db = connect(config["DATABASE"])
    try:
        # nothing was replayed by the workers: every answered click is in a journal
        assert db.execute("SELECT count(*) FROM clicks").fetchone()[0] == 0
        # the killed worker's file is still there, waiting for a replay
        assert any(n.startswith(f"{victim}-") for n in os.listdir(directory(config["DATABASE"])))
        replay_all(db)
        ids = stored(db)
    finally:
        db.close()
    assert len(ids) == len(set(ids))  # each stored once
    assert set(answered) <= set(ids)  # every redirect answered is a click stored
    # stored but not answered: only requests cut by the kill
    assert len(set(ids) - set(answered)) <= len(errors)


@pytest.mark.slow
def test_a_conversion_finds_a_click_still_in_the_journal(server):
    """The webhook names a click no worker has replayed yet: intake replays
    the journals first, so the click is found and credited."""
    gunicorn, config, codes = server
    base = gunicorn.base
    visitor = requests.Session()
    visitor.headers["User-Agent"] = BROWSER_UA
    hop = visitor.get(f"{base}/{codes[0]}", allow_redirects=False, timeout=5)
    click_id = parse_qs(urlsplit(hop.headers["Location"]).query)["ct_click"][0]
    db = connect(config["DATABASE"])
    assert stored(db) == []
    body = json.dumps({"goal": "signup", "click_id": click_id}).encode()
    stamp = int(time.time())
    hook = requests.post(
        f"{base}/t/webhook",
        data=body,
        headers={
            "webhook-id": "msg_journal",
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(WEBHOOK_SECRET, "msg_journal", stamp, body),
            "Content-Type": "application/json",
        },
        timeout=5,
    )
    assert hook.status_code == 201, hook.text
    assert stored(db) == [click_id]
    credited = db.execute(
        "SELECT count(*) FROM credits cr JOIN clicks c ON c.id = cr.click_row WHERE c.click_id = ?",
        [click_id],
    ).fetchone()[0]
    db.close()
    assert credited > 0


def test_a_column_the_table_does_not_have_is_dropped_not_the_click(setup):
    path, db, link_id = setup
    journal = Journal(path)
    odd = row(link_id, 1, no_such_column="x")
    journal.append(odd)
    assert replay_all(db) == 1
    assert stored(db) == [odd["click_id"]]


def test_a_worker_thread_replays_a_full_batch_without_any_reader(setup):
    """Under gunicorn the worker's own thread replays (the worker goes on
    serving while the replay waits for the lock or the disk)."""
    path, db, link_id = setup
    journal = Journal(path, batch=2, max_delay=3600, background=True)
    rows = [row(link_id, n) for n in range(2)]
    try:
        for r in rows:
            journal.append(r)
        journal.replay_if_due(db)  # what a response's close() does: wakes the thread
        deadline = time.monotonic() + 30
        while len(stored(db)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop_replay_thread(journal)
    assert stored(db) == [r["click_id"] for r in rows]


def stop_replay_thread(journal: Journal) -> None:
    """The thread replays for as long as the journal is its process's (a
    worker's, for the worker's life): here it must end with the test."""
    threads = [t for t in threading.enumerate() if t.name == "click-journal"]
    journal.stop()
    if journal.fd is not None:
        os.close(journal.fd)
        journal.fd = None
    assert not any(t.is_alive() for t in threads)


# -- torn lines and writes the disk refuses ----------------------------------------------


def test_a_torn_line_loses_nothing_but_itself(setup):
    """A line cut short (its write failed half way, or a crash) followed by
    whole lines: the whole lines are stored, also one appended straight after
    the torn half with no newline between (what a full disk made of two
    clicks before)."""
    path, db, link_id = setup
    journal = Journal(path)
    a, torn, b, torn_again, c, d = (row(link_id, n) for n in range(6))
    journal.append(a)
    (name,) = files(path)
    line = {r["click_id"]: json.dumps(r).encode() for r in (torn, b, torn_again, c, d)}
    with open(os.path.join(directory(path), name), "ab") as f:
        f.write(line[torn["click_id"]][:57] + line[b["click_id"]] + b"\n")  # glued on
        f.write(line[torn_again["click_id"]][:20] + b"\n")  # torn, then a newline
        f.write(line[c["click_id"]] + b"\n" + b"\x00" * 8 + line[d["click_id"]] + b"\n")
    assert replay_all(db) == 4
    assert stored(db) == [a["click_id"], b["click_id"], c["click_id"], d["click_id"]]


def _append_with_a_size_limit(path, link_id, pipe):
    """In a child process: its files may grow only so far (RLIMIT_FSIZE, the
    kernel refusing a write as a full disk would), then the limit is lifted."""
    import resource

    report = {}
    try:
        journal = Journal(path, hold_limit=4)
        rows = [row(link_id, n) for n in range(9)]
        journal.append(rows[0])
        file = os.path.join(directory(path), journal.name)
        one = os.path.getsize(file)  # lines are the same length
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        # room for two more lines and half of a third
        resource.setrlimit(resource.RLIMIT_FSIZE, (one * 3 + one // 2, hard))
        report["limited"] = [journal.append(r) for r in rows[1:8]]
        report["held"], report["dropped"] = journal.held_count(), journal.dropped
        report["size"] = os.path.getsize(file)
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        report["after"] = journal.append(rows[8])
        report["held_after"] = journal.held_count()
        report["rows"] = [r["click_id"] for r in rows]
        report["line"] = one
    except BaseException as e:  # the parent shows it
        report["error"] = repr(e)
    pipe.send(report)
    os._exit(0)  # like a killed worker: nothing replayed, nothing closed


def test_a_write_the_disk_refuses_leaves_no_partial_line_and_is_written_later(setup):
    path, db, link_id = setup
    parent, child_end = multiprocessing.get_context("fork").Pipe()
    child = multiprocessing.get_context("fork").Process(
        target=_append_with_a_size_limit, args=(path, link_id, child_end)
    )
    child.start()
    try:
        assert parent.poll(60), "the child process did not report"
        report = parent.recv()
    finally:
        child.join(timeout=60)
        if child.is_alive():
            child.kill()
            child.join()
    assert "error" not in report, report["error"]
    # two lines fit; the third was cut off the file again, then held in memory
    # with the next ones, up to the limit of 4; the rest were dropped (counted)
    assert report["limited"] == [True, True, False, False, False, False, False]
    assert (report["held"], report["dropped"]) == (4, 1)
    assert report["size"] == report["line"] * 3  # whole lines only
    # the limit lifted: the next click writes the held ones first, then itself
    assert (report["after"], report["held_after"]) == (True, 0)
    ids = report["rows"]
    (name,) = files(path)
    data = open(os.path.join(directory(path), name), "rb").read()
    # all but the one dropped, in order, each a whole line
    assert [json.loads(line)["click_id"] for line in data.splitlines()] == ids[:7] + ids[8:]
    assert replay_all(db) == 8
    assert sorted(stored(db)) == sorted(ids[:7] + ids[8:])


# -- catching up is a step of its own ---------------------------------------------------


def test_getting_a_connection_does_not_catch_up_the_click_log(lagging_app):
    """Not in a request, not in a command: a connection is only a
    connection; catch_up stores the journalled click, once."""
    client = browser(lagging_app)
    click_id = answer(client, make_link(client)["code"])
    assert stored_click_ids(lagging_app) == [] and journalled_lines(lagging_app) == 1
    with lagging_app.test_request_context("/api/links", headers=AUTH):
        db = get_db()
        assert db.execute("SELECT count(*) FROM clicks").fetchone()[0] == 0
    with lagging_app.app_context():  # as a CLI command runs
        db = get_db()
        assert db.execute("SELECT count(*) FROM clicks").fetchone()[0] == 0
        assert catch_up(db) is db
        assert catch_up(db) is db  # nothing new: nothing stored twice
    assert stored_click_ids(lagging_app) == [click_id]


def test_a_request_that_reads_no_clicks_leaves_the_journal_alone(lagging_app):
    """Saving and listing goals needs no click: the journal waits
    for the worker's own replay or the next reader."""
    client = browser(lagging_app)
    answer(client, make_link(client)["code"])
    assert client.put("/api/goals/signup", json={"value": "0"}, headers=AUTH).status_code == 200
    assert client.get("/api/goals", headers=AUTH).status_code == 200
    assert stored_click_ids(lagging_app) == []
