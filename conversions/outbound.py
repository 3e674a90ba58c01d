"""Outbound webhooks: clicktrail tells a marketer's systems what happened.

Endpoints subscribe to `click.created`, `conversion.created` and
`link.created`. Nothing is written for them on the redirect or intake
paths: the deliverer reads the event logs themselves (clicks, conversions
and links, each by its ever-growing id) from cursors kept per endpoint in
SQLite, turns what is new into rows of `webhook_deliveries` (the
persistent queue and the delivery log), and posts them signed with the
Standard Webhooks scheme clicktrail itself accepts (conversions/signing.py).

Guarantees:
- nothing is lost on a restart: a cursor only moves in the transaction
  that stores the deliveries for the events it passes, and a delivery is
  pending until a 2xx answer is recorded;
- nothing is sent twice after a recorded success (outcomes are recorded
  RECORD_EVERY at a time, so a crash between the receivers' 2xx and our
  write can repeat up to that many deliveries: receivers dedupe on
  `webhook-id`, which a retry keeps);
- one endpoint's deliveries go in order: a failing one holds back the later
  ones until it succeeds or is given up after WEBHOOK_MAX_ATTEMPTS;
- retries back off exponentially (`retry_delay`), from `now` passed in.

Only one deliverer runs at a time (a file lock next to the database): the
CLI loop `flask --app shortener webhooks deliver`, or a thread that every
gunicorn worker starts (gunicorn.conf.py) and only the lock holder runs.
"""

import base64
import fcntl
import http.client
import ipaddress
import json
import os
import secrets
import socket
import threading
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from sqlite_utils import Database, Migrations

from shortener import hosts
from shortener.clock import from_db, to_db, utcnow
from shortener.db import connect, immediate, is_ready, migration_set
from shortener.dialect import is_postgres
from shortener.errors import ApiError
from shortener.journal import replay_all
from shortener.links import COLUMNS, as_dict, normalise_destination

from .money import format_minor
from .signing import signer

EVENT_TYPES = ("click.created", "conversion.created", "link.created")
# event type -> (cursor column, source table)
SOURCES = {
    "click.created": ("click_cursor", "clicks"),
    "conversion.created": ("conversion_cursor", "conversions"),
    "link.created": ("link_cursor", "links"),
}
FIELDS = {"url", "events", "description", "disabled"}
MAX_EVENTS_PER_ROUND = 500  # per endpoint and event type
MAX_SENDS_PER_ROUND = 200
FIRST_RETRY_SECONDS = 30
MAX_RETRY_SECONDS = 6 * 3600
MAX_ERROR = 300
MAX_DRAIN = 64 * 1024  # an answer body read to the end to keep the connection
RECORD_EVERY = 50  # outcomes per transaction: a crash can resend at most these
ENDPOINT_COLUMNS = "id, url, events, description, disabled, created_at, updated_at"
DELIVERY_COLUMNS = (
    "id, event_type, webhook_id, status, attempts, next_attempt_at, last_status,"
    " last_error, created_at, delivered_at"
)


@dataclass(frozen=True)
class Options:
    allow_private: bool = False
    timeout: float = 10.0
    max_attempts: int = 10
    base_url: str = ""
    log_days: int = 30

    @classmethod
    def from_config(cls, config) -> "Options":
        return cls(
            allow_private=bool(config["WEBHOOK_ALLOW_PRIVATE_TARGETS"]),
            timeout=float(config["WEBHOOK_TIMEOUT_SECONDS"]),
            max_attempts=int(config["WEBHOOK_MAX_ATTEMPTS"]),
            base_url=config["BASE_URL"] or "",
            log_days=int(config["WEBHOOK_LOG_DAYS"]),
        )


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the `attempts`-th failed attempt: 30 s, 1 min,
    2 min, 4 min... doubling, at most 6 hours."""
    return timedelta(seconds=min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), MAX_RETRY_SECONDS))


# -- endpoints ------------------------------------------------------------


def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def _refused_address(ip) -> bool:
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


PRIVATE = "(WEBHOOK_ALLOW_PRIVATE_TARGETS allows it)"


def check_url(url, allow_private: bool) -> str:
    """An http(s) URL to post to. Unless private targets are allowed, a
    host on this machine or at a private, loopback or reserved address is
    refused here, in whatever spelling a browser or the C library reads as
    one (2130706433, 0177.0.0.1, 0x7f.1, 127.1, 0, [::ffff:127.0.0.1]...:
    shortener.hosts), and so is a name that resolves to such an address
    now. A name that does not resolve yet is accepted: every delivery
    resolves and checks again, and connects only to an address it checked."""
    try:
        url = normalise_destination(url)
    except ValueError as e:
        raise ApiError(str(e), field="url") from None
    if allow_private:
        return url
    parts = urlsplit(url)
    host = hosts.normalise_host(parts.hostname or "")  # valid: normalise_destination said so
    if hosts.is_local_name(host):
        raise ApiError(f"url must not point at this machine (localhost) {PRIVATE}", field="url")
    ip = hosts.address_of(host)
    if ip is not None:
        if _refused_address(ip):
            raise ApiError(
                f"url must not point at a private, loopback or reserved address {PRIVATE}",
                field="url",
            )
        return url
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        resolved = [_ip(a) for a in _addresses(host, port)]
    except (OSError, UnicodeError):
        return url
    if any(_refused_address(a) for a in resolved):
        raise ApiError(
            f"url resolves to a private, loopback or reserved address {PRIVATE}", field="url"
        )
    return url


def check_events(events) -> list[str]:
    if (
        not isinstance(events, list)
        or not events
        or not all(isinstance(e, str) and e in EVENT_TYPES for e in events)
    ):
        raise ApiError(
            f"events must be a non-empty list of {', '.join(EVENT_TYPES)}", field="events"
        )
    return sorted(set(events))


def check_description(value) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 200:
        raise ApiError(
            "description must be a string of at most 200 characters", field="description"
        )
    return value.strip() or None


def _refuse_unknown(fields: dict) -> None:
    unknown = sorted(set(fields) - FIELDS)
    if unknown:
        raise ApiError(f"unknown field {unknown[0]}; allowed: {', '.join(sorted(FIELDS))}",
                       field=unknown[0])  # fmt: skip


def _latest_ids(db: Database) -> dict[str, int]:
    """Each event log's newest id: a new subscription starts after it."""
    return {
        column: db.execute(f"SELECT coalesce(max(id), 0) FROM {table}").fetchone()[0]
        for column, table in SOURCES.values()
    }


def endpoint_json(row: dict) -> dict:
    endpoint = dict(row)
    endpoint["events"] = json.loads(endpoint["events"])
    endpoint["disabled"] = bool(endpoint["disabled"])
    return endpoint


def get_endpoint(db: Database, endpoint_id: int) -> dict | None:
    sql = f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = ?"
    rows = list(db.query(sql, [endpoint_id]))
    return rows[0] if rows else None


def create_endpoint(db: Database, fields, allow_private: bool, now: datetime) -> dict:
    """Store an endpoint; returns it with its secret (shown only this once).
    It receives the events that happen from now on."""
    if not isinstance(fields, dict):
        raise ApiError("body must be a JSON object")
    _refuse_unknown(fields)
    if "disabled" in fields:
        raise ApiError("a new endpoint is enabled; disable it with PATCH", field="disabled")
    url = check_url(fields.get("url"), allow_private)
    events = check_events(fields.get("events"))
    description = check_description(fields.get("description"))
    secret = new_secret()
    with immediate(db):
        cursors = _latest_ids(db)
        cur = db.execute(
            "INSERT INTO webhook_endpoints (url, events, secret, description, click_cursor,"
            " conversion_cursor, link_cursor, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [url, json.dumps(events), secret, description, cursors["click_cursor"],
             cursors["conversion_cursor"], cursors["link_cursor"], to_db(now), to_db(now)],
        )  # fmt: skip
        endpoint_id = cur.lastrowid
    return {**endpoint_json(get_endpoint(db, endpoint_id)), "secret": secret}


def update_endpoint(db: Database, endpoint_id: int, fields, allow_private: bool, now) -> dict:
    """Change the URL, events, description or disabled flag. Event types
    newly subscribed to, and an endpoint enabled again, start from now:
    what happened meanwhile is not sent (its pending deliveries still are)."""
    if not isinstance(fields, dict):
        raise ApiError("body must be a JSON object")
    _refuse_unknown(fields)
    changes: dict = {}
    if "url" in fields:
        changes["url"] = check_url(fields["url"], allow_private)
    if "events" in fields:
        changes["events"] = json.dumps(check_events(fields["events"]))
    if "description" in fields:
        changes["description"] = check_description(fields["description"])
    if "disabled" in fields:
        if not isinstance(fields["disabled"], bool):
            raise ApiError("disabled must be true or false", field="disabled")
        changes["disabled"] = int(fields["disabled"])
    with immediate(db):
        before = get_endpoint(db, endpoint_id)
        old_events = set(json.loads(before["events"]))
        new_events = set(json.loads(changes.get("events", before["events"])))
        enabled_again = before["disabled"] and changes.get("disabled") == 0
        latest = _latest_ids(db)
        for event in new_events:
            if enabled_again or event not in old_events:
                column = SOURCES[event][0]
                changes[column] = latest[column]
        changes["updated_at"] = to_db(now)
        assignments = ", ".join(f"{column} = ?" for column in changes)
        db.execute(
            f"UPDATE webhook_endpoints SET {assignments} WHERE id = ?",
            [*changes.values(), endpoint_id],
        )
    return endpoint_json(get_endpoint(db, endpoint_id))


def list_endpoints(db: Database) -> list[dict]:
    rows = db.query(
        f"SELECT {ENDPOINT_COLUMNS}, (SELECT count(*) FROM webhook_deliveries d"
        " WHERE d.endpoint_id = e.id AND d.status = 'pending') AS pending,"
        " (SELECT count(*) FROM webhook_deliveries d"
        " WHERE d.endpoint_id = e.id AND d.status = 'failed') AS failed"
        " FROM webhook_endpoints e ORDER BY id"
    )
    return [endpoint_json(r) for r in rows]


def list_deliveries(db: Database, endpoint_id: int, status=None, limit=100, offset=0):
    """The delivery log of one endpoint, newest first, and the total."""
    where, params = "endpoint_id = ?", [endpoint_id]
    if status:
        where += " AND status = ?"
        params.append(status)
    total = db.execute(f"SELECT count(*) FROM webhook_deliveries WHERE {where}", params)
    rows = db.query(
        f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE {where}"
        " ORDER BY id DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    return list(rows), total.fetchone()[0]


def retry_delivery(db: Database, delivery_id: int, now: datetime) -> dict:
    """Make one delivery due now, by hand: a failed one (given up after its
    attempts) is pending again for one more attempt, a pending one waiting
    out its back-off goes at the next round. Order still holds: until it
    succeeds or fails again it holds back its endpoint's later deliveries."""
    with immediate(db):
        row = db.execute(
            "SELECT d.status, e.disabled FROM webhook_deliveries d"
            " JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = ?",
            [delivery_id],
        ).fetchone()
        if row is None:
            raise ApiError(f"no webhook delivery {delivery_id}", 404, field="id")
        if row[0] == "delivered":
            raise ApiError("this delivery was delivered already", 409, field="id")
        if row[1]:
            raise ApiError("its endpoint is disabled; enable it first", 409, field="id")
        db.execute(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ? WHERE id = ?",
            [to_db(now), delivery_id],
        )
    sql = f"SELECT {DELIVERY_COLUMNS}, endpoint_id FROM webhook_deliveries WHERE id = ?"
    return next(iter(db.query(sql, [delivery_id])))


# -- events ---------------------------------------------------------------


def _click_events(db: Database, after: int, limit: int):
    rows = db.query(
        "SELECT c.id, c.click_id, c.visitor_id, c.ts, c.referrer, c.device, c.browser, c.os,"
        " c.is_bot, c.source, c.variant, l.code, l.channel, l.campaign"
        " FROM clicks c JOIN links l ON l.id = c.link_id"
        " WHERE c.id > ? ORDER BY c.id LIMIT ?",
        [after, limit],
    )
    for r in rows:
        data = {k: r[k] for k in ("click_id", "code", "channel", "campaign", "visitor_id",
                                  "referrer", "device", "browser", "os", "source",
                                  "variant")}  # fmt: skip
        data.update(is_bot=bool(r["is_bot"]), clicked_at=r["ts"])
        yield r["id"], r["ts"], data


def _conversion_events(db: Database, after: int, limit: int):
    rows = db.query(
        "SELECT id, goal, value_minor, currency, order_id, click_id, visitor_id, customer_id,"
        " source, verified, occurred_at, received_at FROM conversions WHERE id > ?"
        " ORDER BY id LIMIT ?",
        [after, limit],
    )
    for r in rows:
        data = {
            "id": r["id"],
            "goal": r["goal"],
            "value": format_minor(r["value_minor"], r["currency"]),
            "currency": r["currency"],
            **{k: r[k] for k in ("order_id", "click_id", "visitor_id", "customer_id", "source")},
            "verified": bool(r["verified"]),
            "occurred_at": r["occurred_at"],
        }
        yield r["id"], r["received_at"], data


def _link_events(db: Database, after: int, limit: int, base_url: str):
    rows = db.query(f"SELECT {COLUMNS} FROM links WHERE id > ? ORDER BY id LIMIT ?", [after, limit])
    for r in rows:
        yield r["id"], r["created_at"], as_dict(r, base_url or "/")


def read_events(db: Database, event_type: str, after: int, limit: int, base_url: str = ""):
    """(source id, when, data) of each event after the cursor, oldest first."""
    if event_type == "click.created":
        return list(_click_events(db, after, limit))
    if event_type == "conversion.created":
        return list(_conversion_events(db, after, limit))
    return list(_link_events(db, after, limit, base_url))


def webhook_id(event_type: str, source_id: int) -> str:
    """Stable per event: a retry, or the same event to another endpoint,
    carries the same `webhook-id`."""
    return f"msg_{event_type.split('.')[0]}_{source_id}"


def enqueue(db: Database, now: datetime, base_url: str = "", limit=MAX_EVENTS_PER_ROUND) -> int:
    """Turn new events into pending deliveries, in the order they happened
    across event types, moving the endpoint's cursors in the same
    transaction; returns deliveries queued."""
    queued = 0
    endpoints = list(db.query("SELECT * FROM webhook_endpoints WHERE disabled = 0 ORDER BY id"))
    for endpoint in endpoints:
        events, cursors = [], {}
        for event_type in json.loads(endpoint["events"]):
            column = SOURCES[event_type][0]
            found = read_events(db, event_type, endpoint[column], limit, base_url)
            if found:
                cursors[column] = found[-1][0]
                events += [(when, event_type, source_id, data) for source_id, when, data in found]
        if not events:
            continue
        events.sort(key=lambda e: (e[0], EVENT_TYPES.index(e[1]), e[2]))
        rows = [
            (endpoint["id"], event_type, webhook_id(event_type, source_id),
             json.dumps({"type": event_type, "timestamp": when, "data": data},
                        separators=(",", ":")),
             to_db(now), to_db(now))
            for when, event_type, source_id, data in events
        ]  # fmt: skip
        with immediate(db):
            db.conn.executemany(
                "INSERT OR IGNORE INTO webhook_deliveries (endpoint_id, event_type,"
                " webhook_id, payload, status, next_attempt_at, created_at)"
                " VALUES (?, ?, ?, ?, 'pending', ?, ?)",
                rows,
            )
            for column, last in cursors.items():
                db.execute(
                    f"UPDATE webhook_endpoints SET {column} = ? WHERE id = ? AND {column} < ?",
                    [last, endpoint["id"], last],
                )
        queued += len(rows)
    return queued


# -- sending --------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None = None
    error: str | None = None


def _ip(address: str):
    """An address from getaddrinfo (an IPv6 one may carry a %zone)."""
    return ipaddress.ip_address(address.split("%", 1)[0])


def _addresses(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [info[4][0] for info in infos]


class Connection:
    """One endpoint's HTTP connection for a round of deliveries. Its host is
    resolved and checked against the SSRF rule once, on first use, and the
    connection goes to that checked address (a second DNS answer cannot
    swap it); it is kept alive between deliveries, and opened again, to the
    same address, when the receiver closes it. Redirects are not followed:
    a 3xx is a failure like any non-2xx."""

    def __init__(self, url: str, options: Options):
        parts = urlsplit(url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or ""
        self.port = parts.port or (443 if self.https else 80)
        self.path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        self.options = options
        self.conn: http.client.HTTPConnection | None = None

    def _open(self) -> Outcome | None:
        """Resolve, check and prepare the connection; a failure to report
        when there is no address to use."""
        try:
            addresses = _addresses(self.host, self.port)
        except (OSError, UnicodeError) as e:
            return Outcome(False, error=f"cannot resolve {self.host}: {e}")
        if not self.options.allow_private:
            addresses = [a for a in addresses if not _refused_address(_ip(a))]
            if not addresses:
                return Outcome(
                    False, error=f"{self.host} resolves only to private or local addresses"
                )
        cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
        conn = cls(self.host, self.port, timeout=self.options.timeout)
        address, port = addresses[0], self.port
        conn._create_connection = lambda _addr, timeout, source=None: socket.create_connection(
            (address, port), timeout, source
        )
        self.conn = conn
        return None

    def post(self, body: bytes, headers: dict) -> Outcome:
        if self.conn is None and (refused := self._open()) is not None:
            return refused
        reused = self.conn.sock is not None
        try:
            return self._exchange(body, headers)
        except (BrokenPipeError, ConnectionResetError, http.client.RemoteDisconnected) as e:
            self.conn.close()
            if not reused:
                return Outcome(False, error=f"{type(e).__name__}: {e}"[:MAX_ERROR])
        except (OSError, http.client.HTTPException) as e:
            self.conn.close()
            return Outcome(False, error=f"{type(e).__name__}: {e}"[:MAX_ERROR])
        # the receiver closed the kept-alive connection before reading this
        # request (an idle timeout): once more on a new one
        try:
            return self._exchange(body, headers)
        except (OSError, http.client.HTTPException) as e:
            self.conn.close()
            return Outcome(False, error=f"{type(e).__name__}: {e}"[:MAX_ERROR])

    def _exchange(self, body: bytes, headers: dict) -> Outcome:
        self.conn.request("POST", self.path, body=body, headers=headers)
        response = self.conn.getresponse()
        text = response.read(MAX_ERROR).decode("utf-8", "replace")
        response.read(MAX_DRAIN)  # the rest of a short answer: the connection can be reused
        if not response.isclosed():
            self.conn.close()  # a long answer is not worth reading: a new connection next
        if 200 <= response.status < 300:
            return Outcome(True, response.status)
        if 300 <= response.status < 400:
            where = response.getheader("Location", "")
            return Outcome(False, response.status, f"redirect to {where} not followed"[:MAX_ERROR])
        return Outcome(False, response.status, f"HTTP {response.status}: {text}"[:MAX_ERROR])

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def post(url: str, body: bytes, headers: dict, options: Options) -> Outcome:
    """POST once, on a connection of its own."""
    with closing(Connection(url, options)) as connection:
        return connection.post(body, headers)


def signed_headers(sign_with: Callable, msg_id: str, now: datetime, body: bytes) -> dict:
    """`sign_with`: the endpoint's `signing.signer`."""
    timestamp = int(now.timestamp())
    return {
        "Content-Type": "application/json",
        "User-Agent": "clicktrail-webhooks/1",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign_with(msg_id, timestamp, body),
    }


def deliver_due(db: Database, now: datetime, options: Options) -> dict:
    """Send what is due, oldest first per endpoint; an endpoint stops at its
    first failure (order is kept). Returns counts of what happened."""
    done = {"delivered": 0, "retrying": 0, "failed": 0}
    endpoints = list(
        db.query(
            "SELECT id, url, secret FROM webhook_endpoints WHERE disabled = 0 AND EXISTS"
            " (SELECT 1 FROM webhook_deliveries d WHERE d.endpoint_id = webhook_endpoints.id"
            " AND d.status = 'pending') ORDER BY id"
        )
    )
    budget = MAX_SENDS_PER_ROUND
    for endpoint in endpoints:
        if budget <= 0:
            break
        due = _due(db, endpoint["id"], now, budget)
        states = _send_in_order(db, endpoint, due, now, options)
        budget -= len(states)  # those sent: one that failed leaves the rest to the others
        for state in states:
            done[state] += 1
    return done


def _due(db: Database, endpoint_id: int, now: datetime, limit: int) -> list[dict]:
    """The endpoint's oldest pending deliveries up to the first not yet due
    (one waiting out its back-off holds back those after it)."""
    pending = db.query(
        "SELECT id, webhook_id, payload, attempts, next_attempt_at FROM webhook_deliveries"
        " WHERE endpoint_id = ? AND status = 'pending' ORDER BY id LIMIT ?",
        [endpoint_id, limit],
    )
    due = []
    for delivery in pending:
        if from_db(delivery["next_attempt_at"]) > now:
            break
        due.append(delivery)
    return due


def _send_in_order(db, endpoint: dict, due: list[dict], now, options: Options) -> list[str]:
    """Post `due` one after another on one connection until one fails; the
    outcomes are recorded RECORD_EVERY at a time, in one transaction each."""
    sign_with = signer(endpoint["secret"])
    states, outcomes = [], []
    with closing(Connection(endpoint["url"], options)) as connection:
        for delivery in due:
            body = delivery["payload"].encode()
            headers = signed_headers(sign_with, delivery["webhook_id"], now, body)
            outcome = connection.post(body, headers)
            outcomes.append((delivery, outcome))
            if len(outcomes) == RECORD_EVERY or not outcome.ok:
                states += _record(db, outcomes, now, options.max_attempts)
                outcomes = []
            if not outcome.ok:
                break
    return states + _record(db, outcomes, now, options.max_attempts)


def _record(db: Database, outcomes: list, now, max_attempts: int) -> list[str]:
    rows, states = [], []
    for delivery, outcome in outcomes:
        attempts = delivery["attempts"] + 1
        if outcome.ok:
            state, next_at, delivered = "delivered", None, to_db(now)
        elif attempts >= max_attempts:
            state, next_at, delivered = "failed", None, None
        else:
            state, next_at, delivered = "pending", to_db(now + retry_delay(attempts)), None
        rows.append(
            (state, attempts, next_at, outcome.status, outcome.error, delivered, delivery["id"])
        )
        states.append("retrying" if state == "pending" else state)
    if rows:
        with immediate(db):
            db.conn.executemany(
                "UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?,"
                " last_status = ?, last_error = ?, delivered_at = ? WHERE id = ?",
                rows,
            )
    return states


def run_once(db: Database, now: datetime, options: Options) -> dict:
    queued = enqueue(db, now, options.base_url)
    return {"queued": queued, **deliver_due(db, now, options)}


def prune(db: Database, before: datetime) -> int:
    """Forget finished deliveries (delivered or failed) queued before
    `before`, so the log does not grow with every click forever. Pending
    ones are kept whatever their age."""
    first_kept = db.execute(
        "SELECT id FROM webhook_deliveries WHERE created_at >= ? ORDER BY id LIMIT 1",
        [to_db(before)],
    ).fetchone()
    with immediate(db):
        cur = db.execute(
            "DELETE FROM webhook_deliveries WHERE id < ? AND status != 'pending'",
            [first_kept[0] if first_kept else 2**63 - 1],
        )
    return cur.rowcount


def forget_events(db: Database, click_rows: list[int], conversion_ids: list[int]) -> int:
    """Drop the deliveries (pending or logged) of erased clicks and
    conversions: an erased person's data must not be sent, or kept, here."""
    ids = [webhook_id("click.created", i) for i in click_rows]
    ids += [webhook_id("conversion.created", i) for i in conversion_ids]
    endpoints = [r[0] for r in db.execute("SELECT id FROM webhook_endpoints").fetchall()]
    removed = 0
    for endpoint_id in endpoints:  # (endpoint_id, webhook_id) is indexed
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            removed += db.execute(
                f"DELETE FROM webhook_deliveries WHERE endpoint_id = ?"
                f" AND webhook_id IN ({', '.join('?' * len(chunk))})",
                [endpoint_id, *chunk],
            ).rowcount
    return removed


# -- one deliverer at a time ------------------------------------------------


def lock_path(database: str) -> str:
    return f"{database}-webhooks.lock"


def try_lock(database: str) -> int | None:
    """The deliverer's lock (flock: also exclusive between threads of one
    process that open it separately); None when another deliverer has it."""
    fd = os.open(lock_path(database), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def release(fd: int) -> None:
    fcntl.flock(fd, fcntl.LOCK_UN)
    os.close(fd)


def loop(
    database: str, options: Options, poll: float, stop: threading.Event, log, migrations: Migrations
) -> None:
    """Deliver until `stop` is set, as soon as the lock is ours. `migrations`
    (the app's set) tells a failed round from a database not yet migrated:
    this thread runs outside any app context."""
    fd = None
    while fd is None:
        fd = try_lock(database)
        if fd is None and stop.wait(max(poll, 1.0) * 5):
            return
    db = connect(database)
    pruned_at = None
    try:
        while not stop.is_set():
            try:
                now = utcnow()
                if pruned_at is None or now - pruned_at > timedelta(hours=1):
                    prune(db, now - timedelta(days=options.log_days))
                    pruned_at = now
                replay_all(db)  # clicks still in the workers' journals are events too
                done = run_once(db, now, options)
            except Exception:  # keep delivering after a bad moment (disk, DB busy)
                if _schema_ready(db, migrations):
                    log.exception("webhook deliverer: round failed")
                done = {}
            if not any(done.values()):
                stop.wait(poll)
    finally:
        db.close()
        release(fd)


def _schema_ready(db: Database, migrations: Migrations) -> bool:
    try:
        return is_ready(db, migrations)
    except Exception:
        return False


def start_background(app) -> threading.Thread | None:
    """Start the deliverer thread in this process (gunicorn's
    post_worker_init calls it in every worker; one at a time delivers)."""
    config = getattr(app, "config", None)
    if not config or not config.get("WEBHOOK_DELIVERY_THREAD"):
        return None
    if is_postgres(config["DATABASE"]):  # its SQL and lock file are SQLite's so far
        app.logger.warning("outbound webhooks are not delivered on PostgreSQL yet (README)")
        return None
    stop = threading.Event()
    poll = float(config["WEBHOOK_POLL_SECONDS"])
    thread = threading.Thread(
        target=loop,
        args=(
            config["DATABASE"],
            Options.from_config(config),
            poll,
            stop,
            app.logger,
            migration_set(app),
        ),
        name="clicktrail-webhooks",
        daemon=True,
    )
    thread.start()
    app.extensions["clicktrail.webhook_deliverer"] = (thread, stop)
    return thread
