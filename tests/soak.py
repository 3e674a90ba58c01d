"""The soak: many concurrent clients doing redirects, signed webhooks and
pixels against a real gunicorn on 127.0.0.1 for a bounded time, optionally
with a worker killed by SIGKILL or the whole server crashed and restarted
mid-run; then every answer is checked against the database.

Used by tests/test_soak.py (short runs) and bench/soak.py (`make soak`).
Traffic goes to 127.0.0.1 only, and every loop stops at its deadline, or
earlier when the run fails.
"""

import json
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests

from conversions.signing import sign
from servers import Gunicorn

BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
TIMEOUT = 15  # seconds a client waits for one answer


@dataclass
class Tally:
    """What the clients were told, to check against what was stored."""

    clicks: set = field(default_factory=set)  # ct_click ids answered 302
    click_attempts_failed: int = 0  # no answer (connection reset, refused, timeout)
    webhooks: set = field(default_factory=set)  # webhook-ids answered 2xx
    webhook_duplicates: list = field(default_factory=list)  # (status, duplicate) of re-sends
    pixels: set = field(default_factory=set)  # order ids answered with the GIF
    pixel_refires: int = 0
    statuses: Counter = field(default_factory=Counter)
    errors: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def five_xx(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)


class Client(threading.Thread):
    def __init__(self, number, base_ref, codes, secret, deadline, tally, stop):
        super().__init__(daemon=True, name=f"soak-client-{number}")
        self.number, self.base_ref, self.codes, self.secret = number, base_ref, codes, secret
        self.deadline, self.tally, self.stop = deadline, tally, stop
        self.random = random.Random(number)
        self.session = requests.Session()
        self.session.headers["User-Agent"] = BROWSER_UA
        self.my_clicks, self.my_webhooks, self.my_orders = [], [], []
        self.n = 0

    @property
    def base(self):
        return self.base_ref[0]

    def note(self, status):
        with self.tally.lock:
            self.tally.statuses[status] += 1

    def failed(self, kind, error):
        with self.tally.lock:
            self.tally.errors[f"{kind}: {type(error).__name__}"] += 1
        self.session = requests.Session()  # a broken connection is not reused
        self.session.headers["User-Agent"] = BROWSER_UA
        self.stop.wait(0.05)

    def going(self) -> bool:
        """Until the deadline, or until the test stops early (it failed)."""
        return time.monotonic() < self.deadline and not self.stop.is_set()

    def run(self):
        while self.going():
            self.n += 1
            roll = self.random.random()
            if roll < 0.6 or not self.my_clicks:
                self.redirect()
            elif roll < 0.8:
                self.webhook()
            else:
                self.pixel()

    def redirect(self):
        code = self.random.choice(self.codes)
        try:
            response = self.session.get(f"{self.base}/{code}", allow_redirects=False,
                                        timeout=TIMEOUT)  # fmt: skip
        except requests.RequestException as e:
            with self.tally.lock:
                self.tally.click_attempts_failed += 1
            return self.failed("redirect", e)
        self.note(response.status_code)
        if response.status_code == 302:
            click_id = response.headers["Location"].rsplit("ct_click=", 1)[1]
            self.my_clicks.append(click_id)
            with self.tally.lock:
                self.tally.clicks.add(click_id)

    def deliver(self, send, kind):
        """Send until answered or out of time, as a real sender retries."""
        while self.going():
            try:
                response = send()
            except requests.RequestException as e:
                self.failed(kind, e)
                continue
            self.note(response.status_code)
            return response
        return None

    def webhook(self):
        refire = self.my_webhooks and self.random.random() < 0.1
        if refire:
            msg_id, payload = self.random.choice(self.my_webhooks)
        else:
            msg_id = f"soak-{self.number}-{self.n}"
            payload = {"goal": "purchase", "value": f"{self.random.randint(1, 99999) / 100:.2f}",
                       "currency": "EUR", "click_id": self.random.choice(self.my_clicks),
                       "order_id": msg_id}  # fmt: skip
        body = json.dumps(payload).encode()

        def send():
            timestamp = int(time.time())
            headers = {
                "webhook-id": msg_id,
                "webhook-timestamp": str(timestamp),
                "webhook-signature": sign(self.secret, msg_id, timestamp, body),
                "Content-Type": "application/json",
            }
            return self.session.post(f"{self.base}/t/webhook", data=body, headers=headers,
                                     timeout=TIMEOUT)  # fmt: skip

        response = self.deliver(send, "webhook")
        if response is None or response.status_code >= 300:
            return
        with self.tally.lock:
            self.tally.webhooks.add(msg_id)
            if refire:
                self.tally.webhook_duplicates.append(
                    (response.status_code, response.json()["duplicate"])
                )
        if not refire:
            self.my_webhooks.append((msg_id, payload))

    def pixel(self):
        refire = self.my_orders and self.random.random() < 0.1
        order = self.random.choice(self.my_orders) if refire else f"px-{self.number}-{self.n}"
        params = {"goal": "signup", "value": "1.00", "order_id": order,
                  "click": self.random.choice(self.my_clicks)}  # fmt: skip

        def send():
            return self.session.get(f"{self.base}/t/pixel.gif", params=params, timeout=TIMEOUT)

        response = self.deliver(send, "pixel")
        if response is None or response.status_code != 200:
            return
        assert response.headers["Content-Type"] == "image/gif"
        with self.tally.lock:
            self.tally.pixels.add(order)
            self.tally.pixel_refires += bool(refire)
        if not refire:
            self.my_orders.append(order)


def make_links(db_path: str, count: int) -> list[str]:
    from shortener import links
    from shortener.db import connect

    db = connect(db_path)
    codes = []
    for n in range(count):
        row = links.create_link(
            db, {"url": f"https://shop.example.com/p/{n}?ref=soak", "channel": "twitter",
                 "campaign": f"soak-{n % 3}"},
        )  # fmt: skip
        codes.append(row["code"])
    db.close()
    return codes


def run(server: Gunicorn, codes, secret, seconds: float, clients: int, fault=None) -> Tally:
    """Drive the load for `seconds`; `fault(server)` is called half way
    through. The clients stop at the deadline, or at once if anything here
    fails (the fault, or a time limit), and are joined before returning."""
    tally = Tally()
    base_ref = [server.base]
    deadline = time.monotonic() + seconds
    stop = threading.Event()
    threads = [Client(n, base_ref, codes, secret, deadline, tally, stop) for n in range(clients)]
    try:
        for t in threads:
            t.start()
        if fault:
            stop.wait(seconds / 2)
            fault(server)
        for t in threads:
            t.join(timeout=max(0, deadline - time.monotonic()) + TIMEOUT + 5)
    finally:
        stop.set()
        for t in threads:
            if t.is_alive():
                t.join(timeout=TIMEOUT + 5)  # a request in flight ends within TIMEOUT
    return tally


def kill_workers(server: Gunicorn, times: int = 3, gap: float = 1.0) -> list[int]:
    """SIGKILL a worker `times` times, `gap` seconds apart, so at least some
    die in the middle of a request."""
    killed = []
    for n in range(times):
        if n:
            time.sleep(gap)
        killed.append(server.kill_worker())
    return killed


def restart(server: Gunicorn) -> None:
    """Crash the whole server (master and workers), then start it again."""
    server.crash()
    time.sleep(0.5)
    server.start()


@dataclass
class Check:
    clicks_acknowledged: int
    clicks_stored: int
    clicks_missing: int
    clicks_unacknowledged_stored: int
    webhooks_acknowledged: int
    webhooks_missing: int
    webhook_rows_doubled: int
    webhook_refires: int
    webhook_refires_not_duplicate: int
    pixels_acknowledged: int
    pixels_missing: int
    pixel_refires: int
    five_xx: int
    locked_in_log: int
    tracebacks_in_log: int
    aggregate_clicks: int
    integrity: str
    client_errors: dict

    def problems(self, tally: Tally) -> list[str]:
        found = []
        if self.clicks_missing:
            found.append(f"{self.clicks_missing} acknowledged clicks not stored")
        if self.clicks_unacknowledged_stored > tally.click_attempts_failed:
            found.append("more unacknowledged clicks stored than redirects that failed")
        if self.webhooks_missing or self.pixels_missing:
            found.append(f"lost: {self.webhooks_missing} webhooks, {self.pixels_missing} pixels")
        if self.webhook_rows_doubled:
            found.append(f"{self.webhook_rows_doubled} webhook ids stored twice")
        if self.webhook_refires_not_duplicate:
            found.append("a re-sent webhook was not answered as a duplicate")
        if self.five_xx:
            found.append(f"{self.five_xx} answers were 5xx")
        if self.locked_in_log or self.tracebacks_in_log:
            found.append("the server log has 'database is locked' or a traceback")
        if self.aggregate_clicks != self.clicks_stored:
            found.append("link_day does not add up to the click log")
        if self.integrity != "ok":
            found.append(f"integrity_check: {self.integrity}")
        return found


def verify(db_path: str, log_path: Path, tally: Tally) -> Check:
    from conversions.aggregates import refresh
    from shortener.db import connect
    from shortener.journal import replay_all

    db = connect(db_path)
    replay_all(db)  # clicks the workers journalled but had not yet stored
    stored_clicks = {r[0] for r in db.execute("SELECT click_id FROM clicks")}
    rows = db.execute("SELECT webhook_id, order_id, source FROM conversions").fetchall()
    webhook_ids = Counter(w for w, _, source in rows if source == "webhook")
    pixel_orders = Counter(o for _, o, source in rows if source == "pixel")
    refresh(db)
    aggregate = db.execute("SELECT coalesce(sum(clicks), 0) FROM link_day").fetchone()[0]
    integrity = db.execute("PRAGMA integrity_check").fetchone()[0]
    db.close()
    log = Path(log_path).read_text(errors="replace") if Path(log_path).exists() else ""
    return Check(
        clicks_acknowledged=len(tally.clicks),
        clicks_stored=len(stored_clicks),
        clicks_missing=len(tally.clicks - stored_clicks),
        clicks_unacknowledged_stored=len(stored_clicks - tally.clicks),
        webhooks_acknowledged=len(tally.webhooks),
        webhooks_missing=len(tally.webhooks - set(webhook_ids)),
        webhook_rows_doubled=sum(1 for n in webhook_ids.values() if n > 1),
        webhook_refires=len(tally.webhook_duplicates),
        webhook_refires_not_duplicate=sum(
            1 for status, dup in tally.webhook_duplicates if (status, dup) != (200, True)
        ),
        pixels_acknowledged=len(tally.pixels),
        pixels_missing=len(tally.pixels - set(pixel_orders)),
        pixel_refires=tally.pixel_refires,
        five_xx=tally.five_xx(),
        locked_in_log=log.count("database is locked"),
        tracebacks_in_log=log.count("Traceback"),
        aggregate_clicks=aggregate,
        integrity=integrity,
        client_errors=dict(tally.errors),
    )
