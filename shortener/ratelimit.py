"""Slowing down short-code guessing: many unknown codes from one address
earn that address a 429 on every short link for a while.

The counts live in each worker's memory, not in SQLite. A 404 must stay
cheap: counting misses in the database would turn a flood of guesses into
a flood of writes competing with real clicks for SQLite's single write
lock, which is a worse outage than the guessing. The price is that each
gunicorn worker counts on its own, so one address can make up to
NOT_FOUND_LIMIT x workers misses per window before all workers refuse it,
and a restart forgets the counts. With 57^7 (about 2e12) random codes that
is still far too slow to find links by guessing.

While an address is blocked it gets 429 for known codes too: answering
them 302 would tell a guesser which codes exist.
"""

import threading
import time
from ipaddress import ip_address, ip_network

from flask import current_app

MAX_TRACKED = 50_000  # addresses remembered per worker; bounded memory under a flood
# wrong passwords for one protected link from one address (shortener.protect):
# this many in a window, then 429 until the window ends
WRONG_PASSWORD_LIMIT = 5
WRONG_PASSWORD_WINDOW_SECONDS = 60


def address_key(address: str | None) -> str:
    """What one client is: its IPv4 address, or its IPv6 /64 (one host
    usually gets a whole /64 and could hop between its addresses). Kept in
    memory only, never stored."""
    if not address:
        return "-"
    try:
        ip = ip_address(address.strip())
    except ValueError:
        return address[:64]
    if ip.version == 6:
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ip_network(f"{ip}/64", strict=False))
    return str(ip)


class MissLimiter:
    """Counts misses per key in a window that starts at the first miss; the
    `limit`-th miss blocks the key for `window` seconds, so it gets `limit`
    404s and then 429s."""

    def __init__(self, limit: int, window: float, clock=time.monotonic):
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, list[float]] = {}  # key -> [start, misses, blocked_until]

    def retry_after(self, key: str) -> int:
        """Seconds until `key` may ask again; 0 when it is not blocked."""
        if self.limit <= 0:
            return 0
        entry = self._entries.get(key)
        if entry is None:
            return 0
        left = entry[2] - self._clock()
        return max(0, int(left + 0.999))

    def active(self) -> bool:
        """Whether any address is being counted or blocked at all."""
        return self.limit > 0 and bool(self._entries)

    def miss(self, key: str) -> None:
        if self.limit <= 0:
            return
        now = self._clock()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or (now - entry[0] >= self.window and entry[2] <= now):
                if len(self._entries) >= MAX_TRACKED:
                    self._prune(now)
                entry = self._entries[key] = [now, 0, 0.0]
            entry[1] += 1
            if entry[1] >= self.limit:  # the limit is used up: the next request waits
                entry[2] = now + self.window

    def _prune(self, now: float) -> None:
        stale = [k for k, e in self._entries.items() if now - e[0] >= self.window and e[2] <= now]
        for k in stale:
            del self._entries[k]
        if len(self._entries) >= MAX_TRACKED:
            # still full of live entries: forget the oldest half rather than grow
            for k in list(self._entries)[: MAX_TRACKED // 2]:
                del self._entries[k]


def not_found_limiter() -> MissLimiter:
    """This app's limiter (one per app, so per gunicorn worker and per test)."""
    limiter = current_app.extensions.get("clicktrail.not_found")
    if limiter is None:
        config = current_app.config
        fresh = MissLimiter(int(config["NOT_FOUND_LIMIT"]), config["NOT_FOUND_WINDOW_SECONDS"])
        limiter = current_app.extensions.setdefault("clicktrail.not_found", fresh)
    return limiter


def password_limiter() -> MissLimiter:
    """This app's count of wrong passwords per address and link; per worker,
    as the misses are (a guess must stay cheap to refuse)."""
    limiter = current_app.extensions.get("clicktrail.wrong_passwords")
    if limiter is None:
        fresh = MissLimiter(WRONG_PASSWORD_LIMIT, WRONG_PASSWORD_WINDOW_SECONDS)
        limiter = current_app.extensions.setdefault("clicktrail.wrong_passwords", fresh)
    return limiter


def too_many(retry_after: int, what: str = "unknown short links"):
    response = current_app.response_class(
        f"Too many requests for {what}; try again later.\n",
        status=429,
        mimetype="text/plain",
    )
    response.headers["Retry-After"] = str(max(1, retry_after))
    response.headers["Cache-Control"] = "no-store"
    return response
