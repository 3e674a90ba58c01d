"""The full click log as CSV, streamed.

A log of millions of clicks must leave in constant memory and start at
once: rows are read in keyset pages (by the never-reused click row id) and
written line by line. Each page is its own short read, so a long download
never pins one WAL snapshot (which would keep SQLite from checkpointing
while redirects keep writing).
"""

from collections.abc import Iterator
from datetime import date, timedelta

from sqlite_utils import Database

from shortener.clock import day_start, to_db

from .csvout import csv_lines

CLICK_COLUMNS = [
    "click_id",
    "ts",
    "code",
    "channel",
    "campaign",
    "visitor_id",
    "is_bot",
    "device",
    "browser",
    "os",
    "referrer",
    "ip_prefix",
    "user_agent",
    "source",
    "variant",
    "post",
    "country",
]
PAGE = 5_000

_PAGE_SQL = (
    "SELECT c.id, c.click_id, c.ts, l.code, l.channel, l.campaign, c.visitor_id, c.is_bot,"
    " c.device, c.browser, c.os, c.referrer, c.ip_prefix, c.user_agent, c.source, c.variant,"
    " c.post, c.country FROM clicks c JOIN links l ON l.id = c.link_id"
    " WHERE c.id > ? AND c.ts >= ? AND c.ts < ? ORDER BY c.id LIMIT ?"
)


def click_rows(db: Database, start: str = "", end: str = "\uffff") -> Iterator[dict]:
    """Every click with its link's code, channel and campaign, oldest id
    first; `start`/`end` bound the stored timestamp text (end exclusive)."""
    last = 0
    while True:
        page = db.conn.execute(_PAGE_SQL, (last, start, end, PAGE)).fetchall()
        for row in page:
            yield {
                "click_id": row[1],
                "ts": row[2],
                "code": row[3],
                "channel": row[4],
                "campaign": row[5],
                "visitor_id": row[6],
                "is_bot": bool(row[7]),
                "device": row[8],
                "browser": row[9],
                "os": row[10],
                "referrer": row[11],
                "ip_prefix": row[12],
                "user_agent": row[13],
                "source": row[14],  # "qr" for a QR scan
                "variant": row[15],  # the A/B destination it was sent to
                "post": row[16],  # the post tag of /CODE~POST
                "country": row[17],  # ISO 3166-1 alpha-2, "" when unknown
            }
        if len(page) < PAGE:
            return
        last = page[-1][0]


def clicks_csv(db: Database, start: str = "", end: str = "\uffff") -> Iterator[str]:
    """CSV lines (header first) of `click_rows`, formula-escaped."""
    return csv_lines(CLICK_COLUMNS, click_rows(db, start, end))


def ts_bounds(first: date | None, last: date | None) -> tuple[str, str]:
    """Stored-timestamp bounds for whole UTC days `first`..`last` inclusive."""
    start = to_db(day_start(first)) if first else ""
    end = to_db(day_start(last + timedelta(days=1))) if last else "\uffff"
    return start, end
