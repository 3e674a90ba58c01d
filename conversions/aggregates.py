"""Aggregates that reports read instead of the click log.

`link_day` holds, per day and link, click counts and the set of visitors
(a roaring bitmap of visitor numbers, so distinct counts over any period
are an exact union, not a sum). `credit_day` holds attributed conversions,
revenue and converted visitors per day, link, model, goal, currency and
verified flag. Both are brought up to date incrementally: `refresh` folds
in the clicks and credits added since the last run, following their
never-reused ids, in short batches so redirects never wait long for the
write lock. `channel_day` and `channel_credit_day` roll those up per
channel, so a report over all of a channel's links reads one row per day
whatever the number of links; triggers mark the (day, channel) pairs whose
link-level rows changed, by whatever code, and `roll_up` recomputes them.
`breakdown_day` and `breakdown_credit_day` hold the same per value of each
click dimension (conversions/dimensions.py), for the breakdown report.
"""

from collections import defaultdict
from datetime import date, timedelta

from pyroaring import BitMap
from sqlite_utils import Database

from shortener.db import immediate
from shortener.journal import replay_all

from .dimensions import values_of

BATCH = 20_000
ROLL_BATCH = 50  # (day, channel) pairs re-rolled per write transaction
DIRECT = 0  # link_id standing for conversions with no credited click
DIRECT_CHANNEL = "(direct)"
TOTAL = ""  # rollup_dirty's day for a channel whose all-time rows need recomputing
ALL_GOALS = "*"  # channel_credit_total: every goal
BOTH_SOURCES = -1  # channel_credit_total: verified and unverified
ALL_LINKS = 0  # breakdown tables' link_id for every link's rows together


def bitmap(blob: bytes | None) -> BitMap:
    return BitMap.deserialize(blob) if blob else BitMap()


def union(blobs) -> BitMap:
    return BitMap.union(BitMap(), *(bitmap(b) for b in blobs if b))


def _watermark(db: Database, name: str) -> int:
    return next(db.query("SELECT last_id FROM aggregate_state WHERE name = ?", [name]))["last_id"]


def _set_watermark(db: Database, name: str, last_id: int) -> None:
    db.execute("UPDATE aggregate_state SET last_id = ? WHERE name = ?", [last_id, name])


def visitor_numbers(db: Database, visitor_ids) -> dict[str, int]:
    ids = sorted(set(v for v in visitor_ids if v))
    db.conn.executemany(
        "INSERT INTO visitors (visitor_id) VALUES (?) ON CONFLICT DO NOTHING",
        [(v,) for v in ids],
    )
    numbers = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for row in db.query(
            f"SELECT num, visitor_id FROM visitors WHERE visitor_id IN ({marks})", chunk
        ):
            numbers[row["visitor_id"]] = row["num"]
    return numbers


def _hour_seen(db: Database, row: dict) -> bool:
    """Whether an earlier click (by id) of the same visitor on the same link
    in the same clock hour exists: then this one is not a unique click.
    Ids, not times, decide which is first, so clicks replayed late or out
    of time order are still counted once per (visitor, link, hour)."""
    hour = row["ts"][:13]
    return (
        db.conn.execute(
            "SELECT 1 FROM clicks WHERE visitor_id = ? AND ts >= ? AND ts < ?"
            " AND link_id = ? AND is_bot = 0 AND id < ? LIMIT 1",
            (row["visitor_id"], hour, hour + "~", row["link_id"], row["id"]),
        ).fetchone()
        is not None
    )


def unique_clicks(db: Database, rows: list[dict]) -> dict[tuple[str, int], int]:
    """Unique clicks per (day, link) among `rows` (human clicks in id order):
    one per visitor, link and UTC clock hour; a click with no visitor (an
    opted-out person) cannot be told apart from others, so each counts."""
    counts = defaultdict(int)
    seen = set()
    for r in rows:
        if r["visitor_id"]:
            key = (r["visitor_id"], r["link_id"], r["ts"][:13])
            if key in seen:
                continue
            seen.add(key)
            if _hour_seen(db, r):
                continue
        counts[(r["ts"][:10], r["link_id"])] += 1
    return counts


def _fold_clicks(db: Database) -> int:
    last = _watermark(db, "clicks")
    rows = list(
        db.query(
            "SELECT id, ts, substr(ts, 1, 10) AS day, link_id, visitor_id, is_bot, source"
            " FROM clicks WHERE id > ? ORDER BY id LIMIT ?",
            [last, BATCH],
        )
    )
    if not rows:
        return 0
    human_rows = [r for r in rows if not r["is_bot"]]
    numbers = visitor_numbers(db, (r["visitor_id"] for r in human_rows))
    uniques = unique_clicks(db, human_rows)
    groups = defaultdict(lambda: [0, 0, BitMap(), 0])
    for r in rows:
        group = groups[(r["day"], r["link_id"])]
        group[0] += 1
        if not r["is_bot"]:
            group[1] += 1
            if r["visitor_id"]:
                group[2].add(numbers[r["visitor_id"]])
            if r["source"] == "qr":
                group[3] += 1
    for (day, link_id), (clicks, human, visitors, scans) in groups.items():
        old = next(
            db.query("SELECT visitors FROM link_day WHERE day = ? AND link_id = ?", [day, link_id]),
            None,
        )
        merged = visitors | bitmap(old["visitors"]) if old else visitors
        db.execute(
            "INSERT INTO link_day (day, link_id, clicks, human_clicks, visitors, unique_clicks,"
            " qr_scans) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (day, link_id) DO UPDATE SET"
            " clicks = link_day.clicks + excluded.clicks,"
            " human_clicks = link_day.human_clicks + excluded.human_clicks,"
            " visitors = excluded.visitors,"
            " unique_clicks = link_day.unique_clicks + excluded.unique_clicks,"
            " qr_scans = link_day.qr_scans + excluded.qr_scans",
            [day, link_id, clicks, human, merged.serialize(), uniques[(day, link_id)], scans],
        )
    _set_watermark(db, "clicks", rows[-1]["id"])
    return len(rows)


def _fold_credits(db: Database) -> int:
    last = _watermark(db, "credits")
    rows = list(
        db.query(
            "SELECT cr.id, cr.model, coalesce(cr.link_id, 0) AS link_id, cr.weight_ppm,"
            " cr.revenue_minor, substr(co.occurred_at, 1, 10) AS day, co.goal,"
            " co.currency, co.verified, co.visitor_id"
            " FROM credits cr JOIN conversions co ON co.id = cr.conversion_id"
            " WHERE cr.id > ? ORDER BY cr.id LIMIT ?",
            [last, BATCH],
        )
    )
    if not rows:
        return 0
    numbers = visitor_numbers(db, (r["visitor_id"] for r in rows))
    groups = defaultdict(lambda: [0, 0, BitMap()])
    for r in rows:
        key = (r["day"], r["link_id"], r["model"], r["goal"], r["currency"], r["verified"])
        group = groups[key]
        group[0] += r["weight_ppm"]
        group[1] += r["revenue_minor"]
        if r["visitor_id"] and r["weight_ppm"]:
            group[2].add(numbers[r["visitor_id"]])
    for key, (ppm, revenue, converters) in groups.items():
        old = next(
            db.query(
                "SELECT converters FROM credit_day WHERE day = ? AND link_id = ?"
                " AND model = ? AND goal = ? AND currency = ? AND verified = ?",
                list(key),
            ),
            None,
        )
        merged = converters | bitmap(old["converters"]) if old else converters
        db.execute(
            "INSERT INTO credit_day (day, link_id, model, goal, currency, verified,"
            " conversions_ppm, revenue_minor, converters) VALUES (?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (day, link_id, model, goal, currency, verified) DO UPDATE SET"
            " conversions_ppm = credit_day.conversions_ppm + excluded.conversions_ppm,"
            " revenue_minor = credit_day.revenue_minor + excluded.revenue_minor,"
            " converters = excluded.converters",
            [*key, ppm, revenue, merged.serialize()],
        )
    _set_watermark(db, "credits", rows[-1]["id"])
    return len(rows)


def forget_credits(db: Database, conversion_id: int) -> None:
    """Take a conversion's folded credits back out of credit_day, before the
    conversion is changed (a pixel's order confirmed by its webhook).

    Its visitor leaves a row's converters only if no other folded credit of
    theirs with weight is in that row. Run inside the write transaction."""
    _forget_breakdown_credits(db, conversion_id)
    folded = _watermark(db, "credits")
    rows = db.conn.execute(
        "SELECT substr(co.occurred_at, 1, 10), coalesce(cr.link_id, 0), cr.model, co.goal,"
        " co.currency, co.verified, cr.weight_ppm, cr.revenue_minor, co.visitor_id"
        " FROM credits cr JOIN conversions co ON co.id = cr.conversion_id"
        " WHERE cr.conversion_id = ? AND cr.id <= ?",
        (conversion_id, folded),
    ).fetchall()
    groups = defaultdict(lambda: [0, 0, False])
    for *key, ppm, revenue, _ in rows:
        group = groups[tuple(key)]
        group[0] += ppm
        group[1] += revenue
        group[2] = group[2] or bool(ppm)
    visitor_id = rows[0][-1] if rows else None
    where = "day = ? AND link_id = ? AND model = ? AND goal = ? AND currency = ? AND verified = ?"
    number = None
    if visitor_id:
        found = db.conn.execute(
            "SELECT num FROM visitors WHERE visitor_id = ?", (visitor_id,)
        ).fetchone()
        number = found[0] if found else None
    for key, (ppm, revenue, weighted) in groups.items():
        row = db.conn.execute(f"SELECT converters FROM credit_day WHERE {where}", key).fetchone()
        if row is None:
            continue
        converters = bitmap(row[0])
        if (
            weighted
            and number is not None
            and not _converts_elsewhere(db, conversion_id, visitor_id, key, folded)
        ):
            converters.discard(number)
        db.conn.execute(
            "UPDATE credit_day SET conversions_ppm = conversions_ppm - ?,"
            f" revenue_minor = revenue_minor - ?, converters = ? WHERE {where}",
            (ppm, revenue, converters.serialize(), *key),
        )
        # nothing left: a log without this conversion would have no such row
        db.conn.execute(
            f"DELETE FROM credit_day WHERE {where} AND conversions_ppm = 0 AND revenue_minor = 0",
            key,
        )


def _converts_elsewhere(db: Database, conversion_id: int, visitor_id: str, key, folded) -> bool:
    day, link_id, model, goal, currency, verified = key
    return (
        db.conn.execute(
            "SELECT 1 FROM conversions co JOIN credits cr ON cr.conversion_id = co.id"
            " WHERE co.visitor_id = ? AND co.id != ? AND co.occurred_at >= ?"
            " AND co.occurred_at < ? AND co.goal = ? AND co.currency = ? AND co.verified = ?"
            " AND cr.model = ? AND coalesce(cr.link_id, 0) = ? AND cr.weight_ppm > 0"
            " AND cr.id <= ? LIMIT 1",
            (
                visitor_id,
                conversion_id,
                day,
                day + "~",
                goal,
                currency,
                verified,
                model,
                link_id,
                folded,
            ),  # fmt: skip
        ).fetchone()
        is not None
    )


# -- breakdowns: per value of each click dimension ------------------------------

BREAKDOWN_KEY = "link_id = ? AND dimension = ? AND day = ? AND value = ?"
BREAKDOWN_CREDIT_KEY = (
    "link_id = ? AND dimension = ? AND model = ? AND day = ? AND value = ? AND goal = ?"
    " AND currency = ? AND verified = ?"
)
CLICK_DIMENSIONS = "c.country, c.device, c.browser, c.os, c.referrer, c.source, c.post"


def breakdown_keys(link_id: int, day: str, click) -> list[tuple]:
    """(link_id, dimension, day, value) of a click, for its link and for
    ALL_LINKS."""
    return [
        (link, dimension, day, value)
        for dimension, value in values_of(click)
        for link in (link_id, ALL_LINKS)
    ]


def breakdown_credit_keys(credit) -> list[tuple]:
    """breakdown_credit_day keys of a credit row joined with its conversion
    (day, goal, currency, verified) and its click's dimension columns."""
    return [
        (link, dimension, credit["model"], credit["day"], value, credit["goal"],
         credit["currency"], credit["verified"])
        for dimension, value in values_of(credit)
        for link in (credit["link_id"], ALL_LINKS)
    ]  # fmt: skip


def breakdown_batch() -> int:
    """Clicks or credits per breakdown fold transaction: each touches about
    a dozen rows (six dimensions, for its link and for all links), so a
    tenth of BATCH keeps each hold of the write lock as short as theirs."""
    return max(1, BATCH // 10)


def _fold_breakdown_clicks(db: Database) -> int:
    rows = list(
        db.query(
            "SELECT c.id, substr(c.ts, 1, 10) AS day, c.link_id, c.visitor_id, c.is_bot,"
            f" {CLICK_DIMENSIONS} FROM clicks c WHERE c.id > ? ORDER BY c.id LIMIT ?",
            [_watermark(db, "breakdown_clicks"), breakdown_batch()],
        )
    )
    if not rows:
        return 0
    numbers = visitor_numbers(db, (r["visitor_id"] for r in rows if not r["is_bot"]))
    # clicks alike in link, day and every value first: far fewer than clicks
    alike = defaultdict(lambda: [0, 0, BitMap()])
    for r in rows:
        group = alike[(r["link_id"], r["day"], tuple(values_of(r)))]
        group[0] += 1
        if not r["is_bot"]:
            group[1] += 1
            if r["visitor_id"]:
                group[2].add(numbers[r["visitor_id"]])
    groups = defaultdict(lambda: [0, 0, BitMap()])
    for (link_id, day, values), (clicks, human, visitors) in alike.items():
        for dimension, value in values:
            for link in (link_id, ALL_LINKS):
                group = groups[(link, dimension, day, value)]
                group[0] += clicks
                group[1] += human
                group[2] |= visitors
    upserts = []
    for key in sorted(groups):  # in primary-key order: each page is visited once
        clicks, human, visitors = groups[key]
        old = db.conn.execute(
            f"SELECT visitors FROM breakdown_day WHERE {BREAKDOWN_KEY}", key
        ).fetchone()
        merged = visitors | bitmap(old[0]) if old else visitors
        upserts.append((*key, clicks, human, merged.serialize()))
    db.conn.executemany(
        "INSERT INTO breakdown_day (link_id, dimension, day, value, clicks, human_clicks,"
        " visitors) VALUES (?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (link_id, dimension, day, value) DO UPDATE SET"
        " clicks = breakdown_day.clicks + excluded.clicks,"
        " human_clicks = breakdown_day.human_clicks + excluded.human_clicks,"
        " visitors = excluded.visitors",
        upserts,
    )
    _set_watermark(db, "breakdown_clicks", rows[-1]["id"])
    return len(rows)


BREAKDOWN_CREDITS_SQL = (
    "SELECT cr.id, cr.model, cr.link_id, cr.weight_ppm, cr.revenue_minor, c.id AS click,"
    " substr(co.occurred_at, 1, 10) AS day, co.goal, co.currency, co.verified, co.visitor_id,"
    f" {CLICK_DIMENSIONS} FROM credits cr JOIN conversions co ON co.id = cr.conversion_id"
    " LEFT JOIN clicks c ON c.id = cr.click_row"
)


def _fold_breakdown_credits(db: Database) -> int:
    """Credits of clicks, by the values their click carried. A (direct)
    credit has no click and so no values; nor has one whose click
    retention deleted before it was folded (only in a database upgraded
    after retention ran)."""
    rows = list(
        db.query(
            f"{BREAKDOWN_CREDITS_SQL} WHERE cr.id > ? ORDER BY cr.id LIMIT ?",
            [_watermark(db, "breakdown_credits"), breakdown_batch()],
        )
    )
    if not rows:
        return 0
    found = [r for r in rows if r["click"] is not None]
    numbers = visitor_numbers(db, (r["visitor_id"] for r in found))
    groups = defaultdict(lambda: [0, 0, BitMap()])
    for r in found:
        for key in breakdown_credit_keys(r):
            group = groups[key]
            group[0] += r["weight_ppm"]
            group[1] += r["revenue_minor"]
            if r["visitor_id"] and r["weight_ppm"]:
                group[2].add(numbers[r["visitor_id"]])
    upserts = []
    for key in sorted(groups):
        ppm, revenue, converters = groups[key]
        old = db.conn.execute(
            f"SELECT converters FROM breakdown_credit_day WHERE {BREAKDOWN_CREDIT_KEY}", key
        ).fetchone()
        merged = converters | bitmap(old[0]) if old else converters
        upserts.append((*key, ppm, revenue, merged.serialize()))
    db.conn.executemany(
        "INSERT INTO breakdown_credit_day (link_id, dimension, model, day, value, goal,"
        " currency, verified, conversions_ppm, revenue_minor, converters)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        " ON CONFLICT (link_id, dimension, model, day, value, goal, currency, verified)"
        " DO UPDATE SET"
        " conversions_ppm = breakdown_credit_day.conversions_ppm + excluded.conversions_ppm,"
        " revenue_minor = breakdown_credit_day.revenue_minor + excluded.revenue_minor,"
        " converters = excluded.converters",
        upserts,
    )
    _set_watermark(db, "breakdown_credits", rows[-1]["id"])
    return len(rows)


def _forget_breakdown_credits(db: Database, conversion_id: int) -> None:
    """`forget_credits` for breakdown_credit_day: the conversion's folded
    credits come out; its visitor stays a converter of a row only through
    another folded credit with weight that falls in the same row."""
    folded = _watermark(db, "breakdown_credits")
    rows = list(
        db.query(
            f"{BREAKDOWN_CREDITS_SQL} WHERE cr.conversion_id = ? AND cr.id <= ?",
            [conversion_id, folded],
        )
    )
    rows = [r for r in rows if r["click"] is not None]
    if not rows:
        return
    groups = defaultdict(lambda: [0, 0, False])
    for r in rows:
        for key in breakdown_credit_keys(r):
            group = groups[key]
            group[0] += r["weight_ppm"]
            group[1] += r["revenue_minor"]
            group[2] = group[2] or bool(r["weight_ppm"])
    visitor_id, day = rows[0]["visitor_id"], rows[0]["day"]
    number, kept = None, set()
    if visitor_id:
        found = db.conn.execute(
            "SELECT num FROM visitors WHERE visitor_id = ?", (visitor_id,)
        ).fetchone()
        number = found[0] if found else None
        # the rows the visitor's other weighted folded credits of that day are in
        for other in db.query(
            f"{BREAKDOWN_CREDITS_SQL} WHERE co.visitor_id = ? AND co.id != ?"
            " AND co.occurred_at >= ? AND co.occurred_at < ? AND cr.weight_ppm > 0"
            " AND cr.id <= ?",
            [visitor_id, conversion_id, day, day + "~", folded],
        ):
            if other["click"] is not None:
                kept.update(breakdown_credit_keys(other))
    for key, (ppm, revenue, weighted) in groups.items():
        row = db.conn.execute(
            f"SELECT converters FROM breakdown_credit_day WHERE {BREAKDOWN_CREDIT_KEY}", key
        ).fetchone()
        if row is None:
            continue
        converters = bitmap(row[0])
        if weighted and number is not None and key not in kept:
            converters.discard(number)
        db.conn.execute(
            "UPDATE breakdown_credit_day SET conversions_ppm = conversions_ppm - ?,"
            f" revenue_minor = revenue_minor - ?, converters = ? WHERE {BREAKDOWN_CREDIT_KEY}",
            (ppm, revenue, converters.serialize(), *key),
        )
        db.conn.execute(
            f"DELETE FROM breakdown_credit_day WHERE {BREAKDOWN_CREDIT_KEY}"
            " AND conversions_ppm = 0 AND revenue_minor = 0",
            key,
        )


def _click_sums(rows) -> tuple:
    """(clicks, human_clicks, unique_clicks, qr_scans, visitor_count, visitors)
    of rows holding (clicks, human_clicks, visitors, unique_clicks, qr_scans):
    counts summed, visitor bitmaps united."""
    visitors = union(r[2] for r in rows)
    return (
        sum(r[0] for r in rows),
        sum(r[1] for r in rows),
        sum(r[3] for r in rows),
        sum(r[4] for r in rows),
        len(visitors),
        visitors.serialize(),
    )


def _roll_clicks(db: Database, day: str, channel: str) -> None:
    rows = db.conn.execute(
        "SELECT d.clicks, d.human_clicks, d.visitors, d.unique_clicks, d.qr_scans FROM link_day d"
        " JOIN links l ON l.id = d.link_id WHERE d.day = ? AND l.channel = ?",
        (day, channel),
    ).fetchall()
    db.conn.execute("DELETE FROM channel_day WHERE day = ? AND channel = ?", (day, channel))
    if rows:
        db.conn.execute(
            "INSERT INTO channel_day (day, channel, clicks, human_clicks, unique_clicks, qr_scans,"
            " visitor_count, visitors) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (day, channel, *_click_sums(rows)),
        )


def _roll_credits(db: Database, day: str, channel: str) -> None:
    select = (
        "SELECT c.model, c.goal, c.currency, c.verified, c.conversions_ppm, c.revenue_minor,"
        " c.converters FROM credit_day c"
    )
    if channel == DIRECT_CHANNEL:
        rows = db.conn.execute(f"{select} WHERE c.day = ? AND c.link_id = ?", (day, DIRECT))
    else:
        rows = db.conn.execute(
            f"{select} JOIN links l ON l.id = c.link_id WHERE c.day = ? AND l.channel = ?",
            (day, channel),
        )
    groups = defaultdict(lambda: [0, 0, []])
    for model, goal, currency, verified, ppm, revenue, converters in rows:
        group = groups[(model, goal, currency, verified)]
        group[0] += ppm
        group[1] += revenue
        group[2].append(converters)
    db.conn.execute("DELETE FROM channel_credit_day WHERE day = ? AND channel = ?", (day, channel))
    db.conn.executemany(
        "INSERT INTO channel_credit_day (day, channel, model, goal, currency, verified,"
        " conversions_ppm, revenue_minor, converters) VALUES (?,?,?,?,?,?,?,?,?)",
        [
            (day, channel, *key, ppm, revenue, union(blobs).serialize())
            for key, (ppm, revenue, blobs) in groups.items()
        ],
    )


def _roll_click_month(db: Database, month: str, channel: str) -> None:
    rows = db.conn.execute(
        "SELECT clicks, human_clicks, visitors, unique_clicks, qr_scans FROM channel_day"
        " WHERE day >= ? AND day < ? AND channel = ?",
        (month, month + "~", channel),
    ).fetchall()
    db.conn.execute("DELETE FROM channel_month WHERE month = ? AND channel = ?", (month, channel))
    if rows:
        db.conn.execute(
            "INSERT INTO channel_month (month, channel, clicks, human_clicks, unique_clicks,"
            " qr_scans, visitor_count, visitors) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (month, channel, *_click_sums(rows)),
        )


def _roll_credit_month(db: Database, month: str, channel: str) -> None:
    groups = defaultdict(lambda: [0, 0, []])
    for model, goal, currency, verified, ppm, revenue, converters in db.conn.execute(
        "SELECT model, goal, currency, verified, conversions_ppm, revenue_minor, converters"
        " FROM channel_credit_day WHERE day >= ? AND day < ? AND channel = ?",
        (month, month + "~", channel),
    ):
        group = groups[(model, goal, currency, verified)]
        group[0] += ppm
        group[1] += revenue
        group[2].append(converters)
    db.conn.execute(
        "DELETE FROM channel_credit_month WHERE month = ? AND channel = ?", (month, channel)
    )
    db.conn.executemany(
        "INSERT INTO channel_credit_month (month, channel, model, goal, currency, verified,"
        " conversions_ppm, revenue_minor, converters) VALUES (?,?,?,?,?,?,?,?,?)",
        [
            (month, channel, *key, ppm, revenue, union(blobs).serialize())
            for key, (ppm, revenue, blobs) in groups.items()
        ],
    )


def _roll_click_total(db: Database, channel: str) -> None:
    rows = db.conn.execute(
        "SELECT clicks, human_clicks, visitors, unique_clicks, qr_scans FROM channel_month"
        " WHERE channel = ?",
        (channel,),
    ).fetchall()
    db.conn.execute("DELETE FROM channel_total WHERE channel = ?", (channel,))
    if rows:
        sums = _click_sums(rows)
        db.conn.execute(
            "INSERT INTO channel_total (channel, clicks, human_clicks, unique_clicks, qr_scans,"
            " visitor_count) VALUES (?, ?, ?, ?, ?, ?)",
            (channel, *sums[:5]),
        )


def _roll_credit_total(db: Database, channel: str) -> None:
    """Each month row counts towards its own goal and source, all goals
    (ALL_GOALS), both sources (BOTH_SOURCES) and both at once."""
    groups = defaultdict(lambda: [0, 0, []])
    for model, goal, currency, verified, ppm, revenue, converters in db.conn.execute(
        "SELECT model, goal, currency, verified, conversions_ppm, revenue_minor, converters"
        " FROM channel_credit_month WHERE channel = ?",
        (channel,),
    ):
        for g in (goal, ALL_GOALS):
            for v in (verified, BOTH_SOURCES):
                group = groups[(model, g, currency, v)]
                group[0] += ppm
                group[1] += revenue
                group[2].append(converters)
    db.conn.execute("DELETE FROM channel_credit_total WHERE channel = ?", (channel,))
    db.conn.executemany(
        "INSERT INTO channel_credit_total (model, channel, goal, currency, verified,"
        " conversions_ppm, revenue_minor, converter_count) VALUES (?,?,?,?,?,?,?,?)",
        [
            (model, channel, goal, currency, verified, ppm, revenue, len(union(blobs)))
            for (model, goal, currency, verified), (ppm, revenue, blobs) in groups.items()
        ],
    )


def roll_up(db: Database) -> int:
    """Recompute the channel rows whose link-level rows changed (the schema's
    triggers list them in rollup_dirty), a few at a time, and their months;
    then the all-time rows of the channels touched (listed in rollup_dirty
    too, with no day, so a crash in between leaves them to the next run).
    Returns how many days were recomputed."""
    done = 0
    if db.conn.execute("SELECT 1 FROM rollup_dirty LIMIT 1").fetchone() is None:
        return done  # nothing changed: no write transaction at all
    while True:
        with immediate(db):
            dirty = db.conn.execute(
                "SELECT kind, day, channel FROM rollup_dirty WHERE day != ? LIMIT ?",
                (TOTAL, ROLL_BATCH),
            ).fetchall()
            for kind, day, channel in dirty:
                (_roll_clicks if kind == "clicks" else _roll_credits)(db, day, channel)
            for kind, month, channel in {(k, d[:7], c) for k, d, c in dirty}:
                roll = _roll_click_month if kind == "clicks" else _roll_credit_month
                roll(db, month, channel)
            db.conn.executemany(
                "DELETE FROM rollup_dirty WHERE kind = ? AND day = ? AND channel = ?", dirty
            )
            db.conn.executemany(
                "INSERT INTO rollup_dirty (kind, day, channel) VALUES (?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                {(k, TOTAL, c) for k, _, c in dirty},
            )
        done += len(dirty)
        if len(dirty) < ROLL_BATCH:
            break
    with immediate(db):
        totals = db.conn.execute(
            "SELECT kind, channel FROM rollup_dirty WHERE day = ?", (TOTAL,)
        ).fetchall()
        for kind, channel in totals:
            (_roll_click_total if kind == "clicks" else _roll_credit_total)(db, channel)
        db.conn.execute("DELETE FROM rollup_dirty WHERE day = ?", (TOTAL,))
    return done


def refresh(db: Database) -> int:
    """Fold everything new into the aggregates, then roll the changed days
    up per channel; returns link-level rows folded. Clicks still in the
    workers' journals are stored first, so they are folded too."""
    replay_all(db)
    folded = 0
    for fold, table, name in (
        (_fold_clicks, "clicks", "clicks"),
        (_fold_credits, "credits", "credits"),
        (_fold_breakdown_clicks, "clicks", "breakdown_clicks"),
        (_fold_breakdown_credits, "credits", "breakdown_credits"),
    ):
        news = db.conn.execute(
            f"SELECT 1 FROM {table} WHERE id > ? LIMIT 1", (_watermark(db, name),)
        )
        if news.fetchone() is None:
            continue  # nothing new: no write transaction (every report calls refresh)
        link_level = table == name  # the breakdowns' rows are the same rows again
        while True:
            with immediate(db):
                n = fold(db)
            folded += n if link_level else 0
            if n < (BATCH if link_level else breakdown_batch()):
                break
    roll_up(db)
    return folded


def rebuild(db: Database) -> int:
    """Recompute every aggregate from the raw tables, e.g. after an erasure."""
    with immediate(db):
        db.execute("DELETE FROM link_day")
        db.execute("DELETE FROM credit_day")
        db.execute("DELETE FROM breakdown_day")
        db.execute("DELETE FROM breakdown_credit_day")
        db.execute("UPDATE aggregate_state SET last_id = 0")
    return refresh(db)


def _period_parts(start: date | None, end: date | None):
    """The period as whole months (first, last 'YYYY-MM', or None) and the
    day ranges around them, so reports read month rows where they can."""
    first = start if start is None or start.day == 1 else _next_month(start)
    after = end + timedelta(days=1) if end else None
    last_end = after if after is None or after.day == 1 else after.replace(day=1)
    if first is not None and last_end is not None and first >= last_end:
        return None, [(start, end)]
    months = (first and first.isoformat()[:7], last_end and _prev_month(last_end).isoformat()[:7])
    days = []
    if start is not None and start < first:
        days.append((start, first - timedelta(days=1)))
    if end is not None and last_end <= end:
        days.append((last_end, end))
    return months, days


def _next_month(day: date) -> date:
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1)


def _prev_month(first_of_month: date) -> date:
    return (first_of_month - timedelta(days=1)).replace(day=1)


def _ranges(column: str, ranges) -> tuple[str, list]:
    clauses, params = [], []
    for low, high in ranges:
        clauses.append(f"({column} >= ? AND {column} <= ?)")
        params += [low.isoformat() if isinstance(low, date) else low,
                   high.isoformat() if isinstance(high, date) else high]  # fmt: skip
    return " OR ".join(clauses) or "0", params


def _rollup_sources(table: str, start, end) -> list[tuple[str, str, list]]:
    """(table, where, params) pairs covering the period from month and day rollups."""
    months, days = _period_parts(start, end)
    sources = []
    if months is not None:
        low, high = months
        where, params = ["TRUE"], []
        if low:
            where.append("month >= ?")
            params.append(low)
        if high:
            where.append("month <= ?")
            params.append(high)
        sources.append((f"{table}_month", " AND ".join(where), params))
    if days:
        where, params = _ranges("day", [(lo or "", hi or "~") for lo, hi in days])
        sources.append((f"{table}_day", where, params))
    return sources


def channel_click_rows(db: Database, start=None, end=None, channel: str | None = None):
    """(channel, clicks, human_clicks, visitors, unique_clicks, qr_scans)
    from the rollups, covering the days start..end (inclusive; None: unbounded)."""
    channel_sql = "channel = ? AND channel != ?" if channel else "TRUE"
    channel_params = [channel, DIRECT_CHANNEL] if channel else []
    keys = ("channel", "clicks", "human_clicks", "visitors", "unique_clicks", "qr_scans")
    for table, where, params in _rollup_sources("channel", start, end):
        for row in db.conn.execute(
            f"SELECT {', '.join(keys)} FROM {table} WHERE ({where}) AND {channel_sql}",
            params + channel_params,
        ):
            yield dict(zip(keys, row, strict=True))


def channel_credit_rows(db: Database, model: str, start=None, end=None, channel=None,
                        goal=None, verified=None):  # fmt: skip
    """(channel, currency, conversions_ppm, revenue_minor, converters) from
    the rollups for one model, covering start..end."""
    where, params = ["model = ?"], [model]
    if channel:
        where.append("channel = ? AND channel != ?")
        params += [channel, DIRECT_CHANNEL]
    if goal:
        where.append("goal = ?")
        params.append(goal)
    if verified is not None:
        where.append("verified = ?")
        params.append(int(verified))
    keys = ("channel", "currency", "conversions_ppm", "revenue_minor", "converters")
    for table, period_sql, period_params in _rollup_sources("channel_credit", start, end):
        for row in db.conn.execute(
            f"SELECT {', '.join(keys)} FROM {table} WHERE {' AND '.join(where)} AND ({period_sql})",
            params + period_params,
        ):
            yield dict(zip(keys, row, strict=True))


def channel_click_totals(db: Database, channel: str | None = None):
    """(channel, clicks, human_clicks, unique_clicks, qr_scans, unique_visitors)
    over all time."""
    where, params = ("channel = ? AND channel != ?", [channel, DIRECT_CHANNEL]) if channel else (
        "TRUE", [])  # fmt: skip
    keys = ("channel", "clicks", "human_clicks", "unique_clicks", "qr_scans", "unique_visitors")
    for row in db.conn.execute(
        "SELECT channel, clicks, human_clicks, unique_clicks, qr_scans, visitor_count"
        f" FROM channel_total WHERE {where}",
        params,
    ):
        yield dict(zip(keys, row, strict=True))


def channel_credit_totals(db: Database, model: str, channel=None, goal=None, verified=None):
    """(channel, currency, conversions_ppm, revenue_minor, converted_visitors)
    over all time, for one model, one goal or all, one source or both."""
    where = ["model = ?", "goal = ?", "verified = ?"]
    params = [model, goal or ALL_GOALS, BOTH_SOURCES if verified is None else int(verified)]
    if channel:
        where.append("channel = ? AND channel != ?")
        params += [channel, DIRECT_CHANNEL]
    keys = ("channel", "currency", "conversions_ppm", "revenue_minor", "converted_visitors")
    for row in db.conn.execute(
        "SELECT channel, currency, conversions_ppm, revenue_minor, converter_count"
        f" FROM channel_credit_total WHERE {' AND '.join(where)}",
        params,
    ):
        yield dict(zip(keys, row, strict=True))
