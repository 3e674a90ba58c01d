"""Sign-in rate limiting: failed attempts counted in the database.

Counting in SQLite rather than in memory makes the limit hold across every
gunicorn worker and restart. Failures are counted per user name (someone
guessing one account's password) and, four times as generously, per network
(the client's /24 or /48, so an office behind one address is not locked out
by one colleague's typos, but one machine cannot try every account).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from shortener.clock import to_db

NETWORK_FACTOR = 4


@dataclass(frozen=True)
class Limit:
    max_failures: int = 5
    window_seconds: int = 900


def _count(db: Database, column: str, value, since: str) -> int:
    # column is one of two fixed names, never input
    return next(
        db.query(
            f"SELECT count(*) AS n FROM sign_in_failures WHERE {column} = ? AND ts > ?",
            [value, since],
        )
    )["n"]


def blocked(db: Database, username: str, network: str | None, now: datetime, limit: Limit):
    """Seconds to wait before trying again, or 0 when an attempt may go ahead."""
    since = to_db(now - timedelta(seconds=limit.window_seconds))
    if _count(db, "username", username, since) >= limit.max_failures:
        return limit.window_seconds
    if network and _count(db, "network", network, since) >= limit.max_failures * NETWORK_FACTOR:
        return limit.window_seconds
    return 0


def record_failure(
    db: Database, username: str, network: str | None, now: datetime, limit: Limit
) -> None:
    db.execute(
        "INSERT INTO sign_in_failures (username, network, ts) VALUES (?, ?, ?)",
        [username[:64], network, to_db(now)],
    )
    db.execute(
        "DELETE FROM sign_in_failures WHERE ts <= ?",
        [to_db(now - timedelta(seconds=limit.window_seconds))],
    )


def clear_failures(db: Database, username: str) -> None:
    """A successful sign-in forgives the account's earlier typos."""
    db.execute("DELETE FROM sign_in_failures WHERE username = ?", [username])
