"""Privacy: retention of raw clicks, and erasure of one person's data.

Reports read the aggregates (`link_day`, `credit_day`, and the breakdowns'
`breakdown_day`, `breakdown_credit_day`), which `aggregates.refresh` folds
in incrementally from raw rows by their never-reused ids. Both operations
here keep those aggregates right without recomputing them from the raw
tables:

- Retention deletes raw clicks older than N days, but only clicks already
  folded in, so their counts stay in `link_day` -- that is what keeping
  the aggregates means. `aggregates.rebuild()` after a retention delete
  would recount from what is left and lose them: never call it then.
- Erasure subtracts the person's folded clicks and credits from the
  aggregates and takes their visitor number out of every bitmap, then
  deletes their raw rows, all in one transaction: afterwards every report
  is the report of a database in which they never existed.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import click
from flask import current_app
from flask.cli import AppGroup
from pyroaring import BitMap
from sqlite_utils import Database

from shortener import audit
from shortener.clock import to_db, utcnow
from shortener.db import get_db, immediate
from shortener.journal import catch_up
from shortener.signals import send

from .aggregates import (
    ALL_LINKS,
    BREAKDOWN_CREDIT_KEY,
    BREAKDOWN_CREDITS_SQL,
    BREAKDOWN_KEY,
    CLICK_DIMENSIONS,
    bitmap,
    breakdown_credit_keys,
    breakdown_keys,
    refresh,
)
from .outbound import forget_events
from .signals import erasing_person

ERASED_PREFIX = "erased:"  # visitors.visitor_id of an erased visitor: keeps its number taken


@dataclass
class Erased:
    visitors: list[str] = field(default_factory=list)
    clicks: int = 0
    visits: int = 0
    conversions: int = 0
    credits: int = 0


def _marks(values) -> str:
    return ",".join("?" * len(values))


def _ids(db: Database, sql: str, params) -> list:
    return [row[0] for row in db.execute(sql, params).fetchall()]


def _in_chunks(values, size=500):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _watermark(db: Database, name: str) -> int:
    row = db.execute("SELECT last_id FROM aggregate_state WHERE name = ?", [name]).fetchone()
    return row[0] if row else 0


def _visitor_numbers(db: Database, visitor_ids) -> list[int]:
    numbers = []
    for chunk in _in_chunks(visitor_ids):
        numbers += _ids(
            db, f"SELECT num FROM visitors WHERE visitor_id IN ({_marks(chunk)})", chunk
        )
    return numbers


def _unfold_clicks(db: Database, click_rows: list[int], numbers: list[int]) -> None:
    """Take folded clicks out of link_day: their counts, and the erased
    visitors' numbers from the bitmaps -- of the days and links their clicks
    touched, and of every day older than the oldest raw click left, whose
    raw clicks retention may have deleted (their counts stay: nothing says
    any more whose they were)."""
    folded = _watermark(db, "clicks")
    groups = defaultdict(lambda: [0, 0, set(), 0])
    for chunk in _in_chunks(click_rows):
        for day, link_id, is_bot, visitor, hour, source in db.execute(
            "SELECT substr(ts, 1, 10), link_id, is_bot, visitor_id, substr(ts, 1, 13), source"
            f" FROM clicks WHERE id IN ({_marks(chunk)}) AND id <= ?",
            [*chunk, folded],
        ):
            group = groups[(day, link_id)]
            group[0] += 1
            if not is_bot:
                group[1] += 1
                # every click of an erased visitor goes: each of their
                # (visitor, hour) unique clicks goes with them
                group[2].add((visitor, hour))
                group[3] += source == "qr"
    for (day, link_id), (clicks, human, hours, scans) in groups.items():
        db.execute(
            "UPDATE link_day SET clicks = clicks - ?, human_clicks = human_clicks - ?,"
            " unique_clicks = unique_clicks - ?, qr_scans = qr_scans - ?"
            " WHERE day = ? AND link_id = ?",
            [clicks, human, len(hours), scans, day, link_id],
        )
    if numbers:
        gone = BitMap(numbers)
        oldest = db.execute("SELECT substr(min(ts), 1, 10) FROM clicks").fetchone()[0]
        keys = set(groups)
        keys.update(
            db.execute(
                "SELECT day, link_id FROM link_day WHERE ? IS NULL OR day <= ?", [oldest, oldest]
            ).fetchall()
        )
        for day, link_id in keys:
            row = db.execute(
                "SELECT visitors FROM link_day WHERE day = ? AND link_id = ?", [day, link_id]
            ).fetchone()
            visitors = bitmap(row[0]) if row else BitMap()
            if visitors & gone:
                db.execute(
                    "UPDATE link_day SET visitors = ? WHERE day = ? AND link_id = ?",
                    [(visitors - gone).serialize(), day, link_id],
                )
    db.execute("DELETE FROM link_day WHERE clicks <= 0")


def _unfold_credits(db: Database, credit_ids: list[int], numbers: list[int]) -> None:
    """Take folded credits out of credit_day, and the erased visitors out of
    its converter bitmaps."""
    folded = _watermark(db, "credits")
    groups = defaultdict(lambda: [0, 0])
    for chunk in _in_chunks(credit_ids):
        for row in db.query(
            "SELECT substr(co.occurred_at, 1, 10) AS day, coalesce(cr.link_id, 0) AS link_id,"
            " cr.model, co.goal, co.currency, co.verified, cr.weight_ppm, cr.revenue_minor"
            " FROM credits cr JOIN conversions co ON co.id = cr.conversion_id"
            f" WHERE cr.id IN ({_marks(chunk)}) AND cr.id <= ?",
            [*chunk, folded],
        ):
            key = (row["day"], row["link_id"], row["model"], row["goal"], row["currency"])
            group = groups[(*key, row["verified"])]
            group[0] += row["weight_ppm"]
            group[1] += row["revenue_minor"]
    where = "day = ? AND link_id = ? AND model = ? AND goal = ? AND currency = ? AND verified = ?"
    for key, (ppm, revenue) in groups.items():
        row = db.execute(f"SELECT converters FROM credit_day WHERE {where}", list(key)).fetchone()
        if row is None:
            continue
        converters = bitmap(row[0]) - BitMap(numbers)
        db.execute(
            "UPDATE credit_day SET conversions_ppm = conversions_ppm - ?,"
            f" revenue_minor = revenue_minor - ?, converters = ? WHERE {where}",
            [ppm, revenue, converters.serialize(), *key],
        )
        # nothing left of this row: a database without the person has no such row
        db.execute(
            f"DELETE FROM credit_day WHERE {where} AND conversions_ppm = 0 AND revenue_minor = 0",
            list(key),
        )


def _unfold_breakdown_clicks(db: Database, click_rows: list[int], numbers: list[int]) -> None:
    """`_unfold_clicks` for breakdown_day: the folded clicks' counts come
    out of their values' rows, and the erased visitors out of the bitmaps of
    those rows and of every row older than the oldest raw click left."""
    folded = _watermark(db, "breakdown_clicks")
    groups = defaultdict(lambda: [0, 0])
    for chunk in _in_chunks(click_rows):
        for row in db.query(
            f"SELECT substr(c.ts, 1, 10) AS day, c.link_id, c.is_bot, {CLICK_DIMENSIONS}"
            f" FROM clicks c WHERE c.id IN ({_marks(chunk)}) AND c.id <= ?",
            [*chunk, folded],
        ):
            for key in breakdown_keys(row["link_id"], row["day"], row):
                groups[key][0] += 1
                groups[key][1] += not row["is_bot"]
    db.conn.executemany(
        "UPDATE breakdown_day SET clicks = clicks - ?, human_clicks = human_clicks - ?"
        f" WHERE {BREAKDOWN_KEY}",
        [(clicks, human, *key) for key, (clicks, human) in groups.items()],
    )
    if numbers:
        gone = BitMap(numbers)
        oldest = db.execute("SELECT substr(min(ts), 1, 10) FROM clicks").fetchone()[0]
        keys = set(groups)
        keys.update(
            db.execute(
                "SELECT link_id, dimension, day, value FROM breakdown_day"
                " WHERE ? IS NULL OR day <= ?",
                [oldest, oldest],
            ).fetchall()
        )
        for key in keys:
            row = db.execute(
                f"SELECT visitors FROM breakdown_day WHERE {BREAKDOWN_KEY}", list(key)
            ).fetchone()
            visitors = bitmap(row[0]) if row else BitMap()
            if visitors & gone:
                db.execute(
                    f"UPDATE breakdown_day SET visitors = ? WHERE {BREAKDOWN_KEY}",
                    [(visitors - gone).serialize(), *key],
                )
    db.execute("DELETE FROM breakdown_day WHERE clicks <= 0")


def _unfold_breakdown_credits(db: Database, credit_ids: list[int], numbers: list[int]) -> None:
    """`_unfold_credits` for breakdown_credit_day. A folded credit whose
    click retention has since deleted no longer says which values it was
    counted under: its amounts stay (as the counts of such clicks do), and
    the erased visitors leave the converters of every value of its link,
    model, day, goal, currency and source."""
    folded = _watermark(db, "breakdown_credits")
    groups = defaultdict(lambda: [0, 0])
    lost = set()
    for chunk in _in_chunks(credit_ids):
        for row in db.query(
            f"{BREAKDOWN_CREDITS_SQL} WHERE cr.id IN ({_marks(chunk)}) AND cr.id <= ?"
            " AND cr.link_id IS NOT NULL",
            [*chunk, folded],
        ):
            if row["click"] is None:
                for link in (row["link_id"], ALL_LINKS):
                    lost.add((link, row["model"], row["day"], row["goal"], row["currency"],
                              row["verified"]))  # fmt: skip
                continue
            for key in breakdown_credit_keys(row):
                groups[key][0] += row["weight_ppm"]
                groups[key][1] += row["revenue_minor"]
    gone = BitMap(numbers)
    for key, (ppm, revenue) in groups.items():
        row = db.execute(
            f"SELECT converters FROM breakdown_credit_day WHERE {BREAKDOWN_CREDIT_KEY}", list(key)
        ).fetchone()
        if row is None:
            continue
        db.execute(
            "UPDATE breakdown_credit_day SET conversions_ppm = conversions_ppm - ?,"
            f" revenue_minor = revenue_minor - ?, converters = ? WHERE {BREAKDOWN_CREDIT_KEY}",
            [ppm, revenue, (bitmap(row[0]) - gone).serialize(), *key],
        )
        db.execute(
            f"DELETE FROM breakdown_credit_day WHERE {BREAKDOWN_CREDIT_KEY}"
            " AND conversions_ppm = 0 AND revenue_minor = 0",
            list(key),
        )
    for link, model, day, goal, currency, verified in lost:
        for dimension, value, blob in db.execute(
            "SELECT dimension, value, converters FROM breakdown_credit_day WHERE link_id = ?"
            " AND model = ? AND day = ? AND goal = ? AND currency = ? AND verified = ?",
            [link, model, day, goal, currency, verified],
        ).fetchall():
            converters = bitmap(blob)
            if converters & gone:
                db.execute(
                    f"UPDATE breakdown_credit_day SET converters = ? WHERE {BREAKDOWN_CREDIT_KEY}",
                    [(converters - gone).serialize(), link, dimension, model, day, value, goal,
                     currency, verified],
                )  # fmt: skip


def erase(db: Database, visitor_id: str | None = None, customer_id: str | None = None) -> Erased:
    """Erase a person: by visitor id (the `ct_vid` cookie's id), or by the
    customer id the site sent with their conversions -- which also erases
    every visitor those conversions were recorded for.

    Their clicks, visits, conversions and credits are deleted, and their
    share of every aggregate is taken out, in one durable transaction.
    """
    if not visitor_id and not customer_id:
        raise ValueError("name a visitor id or a customer id")
    erased = Erased()
    with immediate(db, durable=True):
        visitors = {visitor_id} if visitor_id else set()
        if customer_id:
            visitors |= set(
                _ids(
                    db,
                    "SELECT DISTINCT visitor_id FROM conversions"
                    " WHERE customer_id = ? AND visitor_id IS NOT NULL",
                    [customer_id],
                )
            )
        visitors = sorted(visitors)
        conversions, clicks, visits = [], [], []
        for chunk in _in_chunks(visitors):
            marks = _marks(chunk)
            conversions += _ids(
                db, f"SELECT id FROM conversions WHERE visitor_id IN ({marks})", chunk
            )
            clicks += _ids(db, f"SELECT id FROM clicks WHERE visitor_id IN ({marks})", chunk)
            visits += _ids(db, f"SELECT id FROM visits WHERE visitor_id IN ({marks})", chunk)
        if customer_id:
            conversions += _ids(
                db, "SELECT id FROM conversions WHERE customer_id = ?", [customer_id]
            )
        conversions = sorted(set(conversions))
        credits = []
        for chunk in _in_chunks(conversions):
            credits += _ids(
                db, f"SELECT id FROM credits WHERE conversion_id IN ({_marks(chunk)})", chunk
            )
        for chunk in _in_chunks(clicks):
            # credits on these clicks belong to the visitor's own conversions;
            # any other would be a bug, and the person's clicks go regardless
            credits += _ids(
                db, f"SELECT id FROM credits WHERE click_row IN ({_marks(chunk)})", chunk
            )
        credits = sorted(set(credits))

        # whatever refers to this person (an advocate who is them) is anonymised first
        send(erasing_person, db=db, visitors=visitors, customer_id=customer_id,
             conversions=conversions)  # fmt: skip
        numbers = _visitor_numbers(db, visitors)
        _unfold_clicks(db, clicks, numbers)
        _unfold_credits(db, credits, numbers)
        _unfold_breakdown_clicks(db, clicks, numbers)
        _unfold_breakdown_credits(db, credits, numbers)

        forget_events(db, clicks, conversions)  # outbound webhooks not to send
        for table, ids in (
            ("credits", credits),
            ("conversions", conversions),
            ("clicks", clicks),
            ("visits", visits),
        ):
            for chunk in _in_chunks(ids):
                db.execute(f"DELETE FROM {table} WHERE id IN ({_marks(chunk)})", chunk)
        # the number stays taken (a bitmap anywhere may not reuse it for
        # someone else), but no longer leads back to the cookie's id
        db.conn.executemany(
            "UPDATE visitors SET visitor_id = ? || num WHERE visitor_id = ?",
            [(ERASED_PREFIX, v) for v in visitors],
        )
    erased.visitors = visitors
    erased.clicks, erased.visits = len(clicks), len(visits)
    erased.conversions, erased.credits = len(conversions), len(credits)
    return erased


def apply_retention(db: Database, days: int, now: datetime) -> int:
    """Delete raw clicks older than `days`; returns how many went.

    Everything new is folded into the aggregates first, and only folded
    clicks are deleted, so reports keep every click. Credits keep their link
    (which is what reports use) and lose the pointer to the deleted click.
    """
    if not isinstance(days, int) or isinstance(days, bool) or days < 1:
        raise ValueError("retention must be a whole number of days, at least 1")
    refresh(db)
    cutoff = to_db(now - timedelta(days=days))
    deleted = 0
    while True:
        with immediate(db):
            ids = _ids(
                db,
                "SELECT id FROM clicks WHERE ts < ? AND id <= ? ORDER BY id LIMIT 5000",
                # folded into every aggregate
                [cutoff, min(_watermark(db, "clicks"), _watermark(db, "breakdown_clicks"))],
            )
            for chunk in _in_chunks(ids):
                marks = _marks(chunk)
                db.execute(
                    f"UPDATE credits SET click_row = NULL WHERE click_row IN ({marks})", chunk
                )
                db.execute(f"DELETE FROM clicks WHERE id IN ({marks})", chunk)
        deleted += len(ids)
        if len(ids) < 5000:
            return deleted


# -- command line ------------------------------------------------------------

privacy_cli = AppGroup("privacy", help="Erase a person's data; apply the retention period.")


@privacy_cli.command("erase")
@click.option("--visitor", "visitor_id", help="visitor id (the id inside the ct_vid cookie)")
@click.option("--customer", "customer_id", help="customer id sent with the webhooks")
def erase_command(visitor_id, customer_id):
    """Erase one person's clicks, visits, conversions and credits; reports
    stay consistent (their share is taken out of the aggregates).

    Example: flask --app shortener privacy erase --customer cus_1842
    """
    if bool(visitor_id) == bool(customer_id):
        raise click.ClickException("name exactly one of --visitor ID or --customer ID")
    done = erase(catch_up(get_db()), visitor_id=visitor_id, customer_id=customer_id)
    click.echo(
        f"erased {len(done.visitors)} visitor(s): {done.clicks} clicks, {done.visits} visits,"
        f" {done.conversions} conversions, {done.credits} credits"
    )


@privacy_cli.command("retention")
@click.option("--days", type=click.IntRange(min=1), help="default: CLICK_RETENTION_DAYS")
def retention_command(days):
    """Delete raw clicks older than the retention period (reports keep their
    counts), and audit log entries older than AUDIT_LOG_DAYS. Run it daily,
    e.g. from cron.

    Example: flask --app shortener privacy retention --days 180
    """
    config = current_app.config
    days = days or config["CLICK_RETENTION_DAYS"]
    if not days:
        raise click.ClickException("set CLICK_RETENTION_DAYS or pass --days")
    window = config["ATTRIBUTION_WINDOW_DAYS"]
    if days < window:
        raise click.ClickException(
            f"--days must be at least ATTRIBUTION_WINDOW_DAYS ({window}):"
            " younger clicks can still earn credit"
        )
    now = utcnow()
    deleted = apply_retention(catch_up(get_db()), days, now)
    click.echo(f"deleted {deleted} clicks older than {days} days")
    kept = config["AUDIT_LOG_DAYS"]
    pruned = audit.prune(get_db(), kept, now)
    click.echo(f"deleted {pruned} audit log entries older than {kept} days")


def init_app(app):
    app.cli.add_command(privacy_cli)
