"""A full disk, or a read-only one, loses nothing that was answered.

Each test mounts a small tmpfs of its own (we run as root in CI; elsewhere
the tests skip, saying why) and fills it with a file: the real ENOSPC of a
real file system, with SQLite and the click journal on it. Freeing the
file is the disk recovering; nothing is restarted.
"""

import errno
import json
import os
import sqlite3
import subprocess
import threading
import time
from collections import Counter
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from soak import Gunicorn

from conftest import AUTH, BROWSER_UA, WEBHOOK_SECRET, app_config, browser, make_link, post_webhook
from conversions.signing import sign
from shortener import create_app, links
from shortener.app import init_db
from shortener.db import connect, immediate
from shortener.journal import directory, replay_all


def mount_tmpfs(path, size="8m"):
    path.mkdir()
    try:
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
            capture_output=True, text=True, timeout=30,
        )  # fmt: skip
    except FileNotFoundError:
        pytest.skip("no mount command here: these tests need to mount a small tmpfs")
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {result.stderr.strip()}")


def unmount(path):
    subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30, check=False)


@pytest.fixture
def small_disk(tmp_path):
    """An 8 MiB file system of the test's own, always unmounted afterwards."""
    mount = tmp_path / "disk"
    mount_tmpfs(mount)
    try:
        yield mount
    finally:
        unmount(mount)


def fill(folder) -> str:
    """Take every free byte of `folder`'s file system with one file."""
    path = os.path.join(folder, "filler")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for chunk in (bytes(1 << 20), bytes(4096), b"x"):
            try:
                while os.write(fd, chunk) == len(chunk):
                    pass
            except OSError as e:
                assert e.errno == errno.ENOSPC
    finally:
        os.close(fd)
    fs = os.statvfs(folder)
    assert fs.f_bfree == 0
    return path


def click_of(response) -> str:
    return parse_qs(urlsplit(response.headers["Location"]).query)["ct_click"][0]


def stored_clicks(database) -> list[str]:
    db = connect(database)
    try:
        return [r[0] for r in db.execute("SELECT click_id FROM clicks")]
    finally:
        db.close()


# -- one app, in this process -----------------------------------------------------------


@pytest.fixture
def full(small_disk):
    """An app on the small disk, with a link; the test fills the disk."""
    config = app_config(small_disk)
    init_db(config["DATABASE"])
    app = create_app(config)
    client = browser(app)
    code = make_link(client)["code"]
    return app, client, code, small_disk


def test_a_redirect_on_a_full_disk_is_answered_and_its_click_stored_once_freed(full):
    app, client, code, disk = full
    before = client.get(f"/{code}")
    filler = fill(disk)
    # the first few still fit in the journal file's last page, the rest do not
    answered = [client.get(f"/{code}") for _ in range(30)]
    assert [r.status_code for r in answered] == [302] * 30
    held = [click_of(r) for r in answered]
    # not stored (SQLite has no room either), and not claimed to be
    assert set(held).isdisjoint(stored_clicks(app.config["DATABASE"]))
    assert client.get("/healthz").get_json()["unsaved"]["clicks_held"] > 10
    os.unlink(filler)
    after = client.get(f"/{code}")  # the next click writes the held ones first
    assert after.status_code == 302
    stored = stored_clicks(app.config["DATABASE"])
    assert sorted(stored) == sorted([click_of(before), *held, click_of(after)])
    assert client.get("/healthz").get_json()["unsaved"]["clicks_held"] == 0


def test_healthz_is_503_with_the_reason_while_the_disk_is_full_and_200_once_freed(full):
    app, client, code, disk = full
    assert client.get("/healthz").status_code == 200
    filler = fill(disk)
    down = client.get("/healthz")
    assert down.status_code == 503
    assert down.get_json()["status"] == "down"
    assert "disk full" in down.get_json()["database"]
    os.unlink(filler)
    assert client.get("/healthz").status_code == 200  # the same app: no restart


def test_a_failed_write_keeps_healthz_503_until_a_probe_write_succeeds(full, monkeypatch):
    """Free space alone does not say a write works (a quota, an I/O error):
    a failed write is remembered until a probe write from /healthz succeeds."""
    from shortener import health

    app, client, code, disk = full
    db = connect(app.config["DATABASE"])
    filler = fill(disk)
    with pytest.raises(sqlite3.OperationalError, match="full"):
        with immediate(db):
            db.conn.execute("CREATE TABLE ballast (data TEXT)")
            db.conn.executemany("INSERT INTO ballast VALUES (?)", [("x" * 4000,)] * 100)
    db.close()
    os.unlink(filler)
    monkeypatch.setattr(health, "PROBE_EVERY_SECONDS", 0)
    monkeypatch.setattr(health, "PROBE_BYTES", 16 << 20)  # more than the disk: the probe fails
    down = client.get("/healthz")
    assert down.status_code == 503
    assert down.get_json()["database"] == "cannot write: database: disk full"
    monkeypatch.setattr(health, "PROBE_BYTES", 64 * 1024)
    assert client.get("/healthz").status_code == 200


def test_a_webhook_on_a_full_disk_is_503_with_retry_after_then_stored_once(full):
    app, client, code, disk = full
    click = click_of(client.get(f"/{code}"))
    payload = {"goal": "purchase", "value": "20.00", "click_id": click, "order_id": "A-1"}
    filler = fill(disk)
    refused = post_webhook(client, payload, msg_id="msg_full")
    assert refused.status_code == 503
    assert int(refused.headers["Retry-After"]) > 0
    assert "disk full" in refused.get_json()["error"]
    os.unlink(filler)
    first = post_webhook(client, payload, msg_id="msg_full")  # the sender's retry
    again = post_webhook(client, payload, msg_id="msg_full")
    assert (first.status_code, again.status_code) == (201, 200)
    db = connect(app.config["DATABASE"])
    rows = db.execute("SELECT webhook_id, value_minor FROM conversions").fetchall()
    db.close()
    assert rows == [("msg_full", 2000)]


def test_a_webhook_naming_a_click_held_in_memory_is_503_not_400(full):
    """The click was answered but is not stored yet: "no such click" would
    make the sender give up on a real conversion."""
    app, client, code, disk = full
    filler = fill(disk)
    held = click_of(client.get(f"/{code}"))
    refused = post_webhook(client, {"goal": "signup", "click_id": held}, msg_id="msg_held")
    assert refused.status_code == 503
    assert "Retry-After" in refused.headers
    os.unlink(filler)
    retried = post_webhook(client, {"goal": "signup", "click_id": held}, msg_id="msg_held")
    assert retried.status_code == 201
    assert retried.get_json()["conversion"]["click_id"] == held


def test_api_writes_on_a_full_disk_are_503_with_the_reason(full):
    """A write that still fits (in the WAL's pages) goes through; the first
    that does not is a 503 naming the disk, never a 500."""
    app, client, code, disk = full
    filler = fill(disk)
    answers = []
    for n in range(50):
        body = {"url": f"https://shop.example.com/{n}", "channel": "x", "campaign": "c"}
        answers.append(client.post("/api/links", json=body, headers=AUTH))
        if answers[-1].status_code != 201:
            break
    refused = answers[-1]
    assert refused.status_code == 503
    assert refused.get_json() == {
        "error": "clicktrail cannot store this right now (disk full); try again later"
    }
    assert int(refused.headers["Retry-After"]) > 0
    new = {"url": "https://shop.example.com/new"}
    assert client.patch(f"/api/links/{code}", json=new, headers=AUTH).status_code in (200, 503)
    assert client.get("/api/reports/channels", headers=AUTH).status_code in (200, 503)
    os.unlink(filler)
    assert client.patch(f"/api/links/{code}", json=new, headers=AUTH).status_code == 200
    assert client.post("/api/links", json=body, headers=AUTH).status_code == 201


def test_a_pixel_on_a_full_disk_still_gets_its_gif_and_is_counted(full):
    """Each pixel is stored (while it still fits) or counted as not stored."""
    app, client, code, disk = full
    filler = fill(disk)
    answers = []
    for n in range(20):
        answers.append(client.get(f"/t/pixel.gif?goal=purchase&value=5.00&order_id=P-{n}"))
        answers.append(client.get(f"/t/visit.gif?url=https://shop.example.com/{n}"))
    assert {(r.status_code, r.headers["Content-Type"]) for r in answers} == {(200, "image/gif")}
    unsaved = client.get("/healthz").get_json()["unsaved"]
    os.unlink(filler)
    db = connect(app.config["DATABASE"])
    stored = [db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
              for table in ("conversions", "visits")]  # fmt: skip
    db.close()
    assert unsaved["pixel_conversions"] > 0
    assert [stored[0] + unsaved["pixel_conversions"], stored[1] + unsaved["visits"]] == [20, 20]


def test_a_read_only_file_system_is_503_and_recovers_without_a_restart(small_disk, tmp_path):
    """The database seen through a read-only bind mount, then made writable."""
    config = app_config(small_disk)
    init_db(config["DATABASE"])
    db = connect(config["DATABASE"])
    code = links.create_link(db, {"url": "https://shop.example.com/", "channel": "x",
                                  "campaign": "c"})["code"]  # fmt: skip
    view = tmp_path / "view"
    view.mkdir()
    subprocess.run(["mount", "--bind", str(small_disk), str(view)], check=True, timeout=30)
    try:
        subprocess.run(["mount", "-o", "remount,ro,bind", str(view)], check=True, timeout=30)
        app = create_app({**config, "DATABASE": str(view / "clicktrail.db")})
        client = browser(app)
        down = client.get("/healthz")
        assert down.status_code == 503
        assert "read-only file system" in down.get_json()["database"]
        hop = client.get(f"/{code}")
        assert hop.status_code == 302  # the redirect works; its click is held
        refused = post_webhook(client, {"goal": "signup", "visitor_id": "v-1"}, msg_id="msg_ro")
        assert refused.status_code == 503 and "Retry-After" in refused.headers
        subprocess.run(["mount", "-o", "remount,rw,bind", str(view)], check=True, timeout=30)
        assert client.get("/healthz").status_code == 200
        stored = post_webhook(client, {"goal": "signup", "visitor_id": "v-1"}, msg_id="msg_ro")
        assert stored.status_code == 201
        assert click_of(hop) in stored_clicks(config["DATABASE"])
    finally:
        db.close()
        unmount(view)


def test_a_replay_the_disk_refuses_is_tried_again_without_new_clicks(small_disk):
    """The worker's journal thread replays when clicks are pending; a replay
    that failed leaves them pending, so it is tried again once the disk has
    room, with no new click needed."""
    from shortener.clicks import classify, click_row
    from shortener.clock import utcnow
    from shortener.journal import Journal

    path = str(small_disk / "ct.db")
    init_db(path)
    db = connect(path)
    link = links.create_link(db, {"url": "https://a.example/", "channel": "x", "campaign": "c"})
    journal = Journal(path, batch=10)
    rows = [click_row(link_id=link["id"], visitor_id=f"v{n}", now=utcnow(),
                      agent=classify(BROWSER_UA), is_bot=False, user_agent=BROWSER_UA)
            for n in range(300)]  # fmt: skip
    for row in rows:
        assert journal.append(row)
    filler = fill(small_disk)
    journal.replay_now(db)  # SQLite has no room for 300 rows
    assert stored_clicks(path) == []
    assert journal.due()
    os.unlink(filler)
    journal.replay_if_due(db)
    assert sorted(stored_clicks(path)) == sorted(r["click_id"] for r in rows)
    db.close()


# -- under gunicorn, with load -----------------------------------------------------------


def signed(msg_id: str, payload: dict) -> tuple[bytes, dict]:
    body = json.dumps(payload).encode()
    stamp = int(time.time())
    return body, {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(WEBHOOK_SECRET, msg_id, stamp, body),
        "Content-Type": "application/json",
    }


class Load:
    """Bounded concurrent traffic: each thread makes a fixed number of
    requests (every one with a timeout), so a phase always ends."""

    def __init__(self, base: str, codes: list[str]):
        self.base, self.codes = base, codes
        self.lock = threading.Lock()
        self.clicks: list[str] = []  # ct_click of every 302
        self.redirects = Counter()  # status (or exception name) of every redirect
        self.webhooks: dict[str, tuple[dict, list]] = {}  # id -> (payload, answers)
        self.pixels = Counter()
        self.n = 0

    def phase(self, requests_each: int = 30) -> None:
        threads = [
            threading.Thread(target=self.redirect, args=(requests_each, n)) for n in range(3)
        ] + [
            threading.Thread(target=self.pixel, args=(requests_each,)),
            threading.Thread(target=self.webhook, args=(requests_each // 3,)),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def redirect(self, count: int, n: int) -> None:
        session = requests.Session()
        session.headers["User-Agent"] = BROWSER_UA
        for i in range(count):
            try:
                hop = session.get(f"{self.base}/{self.codes[(n + i) % len(self.codes)]}",
                                  allow_redirects=False, timeout=15)  # fmt: skip
            except requests.RequestException as e:
                with self.lock:
                    self.redirects[type(e).__name__] += 1
                session = requests.Session()
                continue
            with self.lock:
                self.redirects[hop.status_code] += 1
                if hop.status_code == 302:
                    self.clicks.append(click_of(hop))

    def pixel(self, count: int) -> None:
        for i in range(count):
            try:
                got = requests.get(f"{self.base}/t/pixel.gif", timeout=15, params={
                    "goal": "signup", "order_id": f"px-{self.n}-{i}"})  # fmt: skip
                self.pixels[(got.status_code, got.headers.get("Content-Type"))] += 1
            except requests.RequestException as e:
                self.pixels[type(e).__name__] += 1

    def webhook(self, count: int) -> None:
        for _ in range(count):
            with self.lock:
                self.n += 1
                msg_id = f"msg-{self.n}"
                click = self.clicks[-1] if self.clicks else None
            payload = {"goal": "purchase", "value": "9.99", "order_id": msg_id}
            payload.update({"click_id": click} if click else {"visitor_id": "v-load"})
            self.webhooks[msg_id] = (payload, [])
            self.send(msg_id)

    def send(self, msg_id: str) -> int | str:
        payload, answers = self.webhooks[msg_id]
        body, headers = signed(msg_id, payload)
        try:
            got = requests.post(f"{self.base}/t/webhook", data=body, headers=headers, timeout=15)
        except requests.RequestException as e:
            answers.append((type(e).__name__, None))
            return type(e).__name__
        shape = got.json() if got.headers.get("Content-Type") == "application/json" else None
        answers.append((got.status_code, (got.headers.get("Retry-After"), shape)))
        return got.status_code


@pytest.fixture
def loaded(small_disk, tmp_path):
    config = app_config(
        small_disk,
        BASE_URL="http://127.0.0.1",
        CLICK_JOURNAL_BATCH=5,  # the workers replay into SQLite while the disk is full too
        CLICK_JOURNAL_MAX_DELAY_MS=100,
        WEBHOOK_DELIVERY_THREAD="false",
    )
    init_db(config["DATABASE"])
    db = connect(config["DATABASE"])
    codes = [
        links.create_link(
            db, {"url": f"https://shop.example.com/{n}", "channel": "x", "campaign": "c"}
        )["code"]  # fmt: skip
        for n in range(3)
    ]
    db.close()
    server = Gunicorn(config, tmp_path / "gunicorn.log", workers=2)
    try:
        server.start()
        yield server, config, codes
    finally:
        server.stop()


@pytest.mark.slow
def test_a_full_disk_under_load_loses_no_answered_click_or_webhook(loaded):
    server, config, codes = loaded
    database = config["DATABASE"]
    load = Load(server.base, codes)
    load.phase()
    workers = sorted(server.worker_pids())
    filler = fill(os.path.dirname(database))
    load.phase()
    down = requests.get(f"{server.base}/healthz", timeout=15)
    assert down.status_code == 503 and "disk full" in down.json()["database"]
    os.unlink(filler)  # space comes back; nothing is restarted
    load.phase()

    deadline = time.monotonic() + 60  # bounded: held clicks are retried every second
    while time.monotonic() < deadline:
        if requests.get(f"{server.base}/healthz", timeout=15).status_code == 200:
            retry = [m for m, (_, answers) in load.webhooks.items() if answers[-1][0] == 503]
            if all(load.send(m) in (200, 201) for m in retry):
                db = connect(database)
                replay_all(db)
                db.close()
                if set(load.clicks) <= set(stored_clicks(database)):
                    break
        time.sleep(0.5)
    assert sorted(server.worker_pids()) == workers  # the same processes throughout

    # every redirect answered, every 302's click stored, once
    assert dict(load.redirects) == {302: len(load.clicks)}
    stored = Counter(stored_clicks(database))
    assert [c for c in load.clicks if stored[c] != 1] == []
    # a pixel always gets its GIF
    assert dict(load.pixels) == {(200, "image/gif"): sum(load.pixels.values())}
    # a webhook is stored (2xx) or refused with 503, Retry-After and the JSON error shape
    answers = [a for _, sent in load.webhooks.values() for a in sent]
    assert {status for status, _ in answers} <= {200, 201, 503}
    refused = [extra for status, extra in answers if status == 503]
    assert refused, "the disk was full while webhooks came in: some must have been refused"
    assert all(int(retry) > 0 and set(body) == {"error"} for retry, body in refused)
    assert all(sent[-1][0] in (200, 201) for _, sent in load.webhooks.values())
    db = connect(database)
    ids = Counter(r[0] for r in db.execute("SELECT webhook_id FROM conversions"
                                           " WHERE webhook_id IS NOT NULL"))  # fmt: skip
    db.close()
    assert ids == Counter(list(load.webhooks))  # every webhook stored, once
    log = server.log_path.read_text(errors="replace")
    assert "clicks are held in memory" in log  # the full disk was met by the journal
    assert "unreadable line" not in log and "torn line" not in log
    # no line of any journal left torn
    folder = directory(database)
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        data = open(os.path.join(folder, name), "rb").read()
        assert data == b"" or data.endswith(b"\n")
        assert all(json.loads(line) for line in data.splitlines())
