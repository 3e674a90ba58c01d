"""Figures the dashboard shows that no API report gives in this shape: the
headline totals of a page, numbers and a series per link, and the latest
conversions with their journeys.

Read from `link_day` and `credit_day` -- the same aggregates as
`conversions.reports.channel_rows` -- with one query per table whatever
the number of rows (no query per link or per campaign), and distinct
visitors counted by the same bitmap unions, so a figure here equals the
API's figure for the same period, model and filters.
"""

from collections import defaultdict
from datetime import date

from sqlite_utils import Database

from .aggregates import DIRECT, channel_click_rows, channel_credit_rows, refresh, union
from .analytics import bucket_start as bucket_of
from .analytics import data_span, next_bucket
from .attribution import MODELS
from .journeys import EVERY_TOUCH_MODEL as JOURNEY_MODEL
from .journeys import conversion_where
from .money import format_minor
from .reports import DIRECT_CHANNEL, Filters, Period, conversions_number, ratio

# what a breakdown groups by -> the links column; fixed names, never input
GROUPS = {"channel": "l.channel", "campaign": "l.campaign", "link": "l.id"}
NO_FILTERS = Filters()


def _link_clause(filters: Filters, link_ids) -> tuple[str, list]:
    sql, params = filters.link_where()
    if link_ids is not None:
        ids = list(link_ids) or [-1]
        sql += f" AND l.id IN ({','.join('?' * len(ids))})"
        params = [*params, *ids]
    return sql, params


def click_rows(db: Database, period: Period, filters: Filters, by: str, link_ids=None):
    """(key, day, clicks, human_clicks, visitors bitmap, unique_clicks,
    qr_scans) per link and day."""
    day_sql, day_params = period.where("d.day")
    link_sql, link_params = _link_clause(filters, link_ids)
    return db.query(
        f"SELECT {GROUPS[by]} AS key, d.day, d.clicks, d.human_clicks, d.visitors,"
        " d.unique_clicks, d.qr_scans FROM link_day d JOIN links l ON l.id = d.link_id"
        f" WHERE {day_sql} AND {link_sql}",
        [*day_params, *link_params],
    )


def credit_rows(db: Database, period: Period, filters: Filters, model: str, by: str, link_ids=None):
    """(key, day, currency, conversions_ppm, revenue_minor, converters) rows;
    the key is None for conversions with no credited click (direct)."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}")
    day_sql, day_params = period.where("c.day")
    link_sql, link_params = _link_clause(filters, link_ids)
    if filters.channel or filters.campaign or link_ids is not None:
        link_sql = f"c.link_id != {DIRECT} AND {link_sql}"
    goal_sql, goal_params = ("c.goal = ?", [filters.goal]) if filters.goal else ("TRUE", [])
    return db.query(
        f"SELECT {GROUPS[by]} AS key, c.day, c.currency, c.conversions_ppm, c.revenue_minor,"
        " c.converters FROM credit_day c LEFT JOIN links l ON l.id = c.link_id"
        f" WHERE c.model = ? AND {day_sql} AND {link_sql} AND {goal_sql}",
        [model, *day_params, *link_params, *goal_params],
    )


def link_stats(db: Database, link_ids, period: Period, model: str) -> dict[int, dict]:
    """Clicks, visitors, conversions and revenue (per currency) per link, for
    a page of links in two queries."""
    refresh(db)
    link_ids = list(link_ids)
    stats = {
        i: {"clicks": 0, "human_clicks": 0, "unique_visitors": 0, "conversions": 0,
            "converted_visitors": 0, "revenue": {}, "_v": [], "_c": [], "_ppm": 0}
        for i in link_ids
    }  # fmt: skip
    if not link_ids:
        return stats
    for r in click_rows(db, period, NO_FILTERS, "link", link_ids):
        s = stats[r["key"]]
        s["clicks"] += r["clicks"]
        s["human_clicks"] += r["human_clicks"]
        s["_v"].append(r["visitors"])
    minor = defaultdict(lambda: defaultdict(int))
    for r in credit_rows(db, period, NO_FILTERS, model, "link", link_ids):
        s = stats[r["key"]]
        s["_ppm"] += r["conversions_ppm"]
        s["_c"].append(r["converters"])
        minor[r["key"]][r["currency"]] += r["revenue_minor"]
    for link_id, s in stats.items():
        s["unique_visitors"] = len(union(s.pop("_v")))
        s["converted_visitors"] = len(union(s.pop("_c")))
        s["conversions"] = conversions_number(s.pop("_ppm"))
        s["conversion_rate"] = ratio(s["converted_visitors"], s["unique_visitors"])
        s["revenue"] = {
            currency: format_minor(amount, currency)
            for currency, amount in sorted(minor[link_id].items())
        }
    return stats


def _total_click_rows(db: Database, period: Period, filters: Filters):
    """`click_rows` for headline totals: whole channels read the channel
    rollups (a row per channel and month, days at the edges), which stay
    few however long the period; a campaign reads its links' days."""
    if filters.campaign:
        return click_rows(db, period, filters, "channel")
    channel = filters.channel.lower() if filters.channel else None
    return channel_click_rows(db, period.start, period.end, channel)


def _total_credit_rows(db: Database, period: Period, filters: Filters, model: str):
    """`credit_rows` for headline totals, from the channel rollups as above;
    the key is None for direct conversions, as there."""
    if filters.campaign:
        return credit_rows(db, period, filters, model, "channel")
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}")
    channel = filters.channel.lower() if filters.channel else None
    return (
        {**r, "key": None if r["channel"] == DIRECT_CHANNEL else r["channel"]}
        for r in channel_credit_rows(db, model, period.start, period.end, channel, filters.goal)
    )


def totals(db: Database, period: Period, model: str, filters: Filters = NO_FILTERS) -> dict:
    """The headline figures of a page. Visitors are distinct over all the
    links in view (a visitor of two channels counts once); conversions
    include direct ones unless a channel or campaign is chosen."""
    refresh(db)
    clicks = human = 0
    visitor_blobs = []
    for r in _total_click_rows(db, period, filters):
        clicks += r["clicks"]
        human += r["human_clicks"]
        visitor_blobs.append(r["visitors"])
    ppm = 0
    revenue = defaultdict(int)
    converter_blobs, linked_converter_blobs = [], []
    for r in _total_credit_rows(db, period, filters, model):
        ppm += r["conversions_ppm"]
        revenue[r["currency"]] += r["revenue_minor"]
        converter_blobs.append(r["converters"])
        if r["key"] is not None:
            linked_converter_blobs.append(r["converters"])
    visitors = union(visitor_blobs)
    # the rate's numerator: converted visitors who are among the link visitors
    converted_from_links = len(union(linked_converter_blobs) & visitors)
    return {
        "clicks": clicks,
        "human_clicks": human,
        "unique_visitors": len(visitors),
        "conversions": conversions_number(ppm),
        "converted_visitors": len(union(converter_blobs)),
        "conversion_rate": ratio(converted_from_links, len(visitors)),
        "revenue": {c: format_minor(m, c) for c, m in sorted(revenue.items())},
    }


# the longest periods drawn (or listed) by day and by week: a quarter by day
# is 92 points, two years by week 105; a Growth table has that many rows per
# channel (a hundred to a page)
DAYS_BY_DAY = 92
DAYS_BY_WEEK = 731


def bucket_size(start: date, end: date, all_time: bool = False) -> str:
    """Day, week or month, whichever keeps a chart (or a Growth table) of
    the period readable: a quarter by day, two years by week, more by month.
    All time (`start` is then the first day with data) goes by month once it
    is longer than a quarter: it is read for the long trend."""
    span = (end - start).days + 1
    if span <= DAYS_BY_DAY:
        return "day"
    return "week" if span <= DAYS_BY_WEEK and not all_time else "month"


def period_bucket(db: Database, period: Period, today: date) -> str:
    """`bucket_size` of a period whose ends may be open: from the first day
    with data, up to today."""
    start = period.start
    if start is None:
        refresh(db)
        first, _ = data_span(db)
        start = first or today
    end = period.end or today
    return bucket_size(min(start, end), end, all_time=period.start is None)


def buckets(start: date, end: date, size: str) -> list[date]:
    """The first day of each step from start to end, stepped as the Growth
    report steps (`conversions.analytics`), so a chart and the report agree."""
    out, current = [], bucket_of(start, size)
    while current <= end:
        out.append(current)
        current = next_bucket(current, size)
    return out


def link_series(db: Database, link_id: int, period: Period, model: str, today: date) -> dict:
    """One link over time: clicks, human clicks, distinct visitors and QR
    scans per day, week or month (as `growth_series` picks), and the
    conversions credited to it under `model`. Visitors are distinct within
    each step (a visitor of two days of one week counts once that week)."""
    refresh(db)
    rows = list(click_rows(db, period, NO_FILTERS, "link", [link_id]))
    credits = list(credit_rows(db, period, NO_FILTERS, model, "link", [link_id]))
    days = [r["day"] for r in rows] + [r["day"] for r in credits]
    start = period.start or (date.fromisoformat(min(days)) if days else today)
    end = period.end or (max(today, date.fromisoformat(max(days))) if days else today)
    size = bucket_size(start, end, all_time=period.start is None)
    labels = buckets(start, end, size)
    index = {b: i for i, b in enumerate(labels)}
    names = ("clicks", "human_clicks", "qr_scans")
    out = {name: [0] * len(labels) for name in names}
    blobs = [[] for _ in labels]
    ppm = [0] * len(labels)
    for r in rows:
        i = index.get(bucket_of(date.fromisoformat(r["day"]), size))
        if i is None:
            continue
        for name in names:
            out[name][i] += r[name]
        blobs[i].append(r["visitors"])
    for r in credits:
        i = index.get(bucket_of(date.fromisoformat(r["day"]), size))
        if i is not None:
            ppm[i] += r["conversions_ppm"]
    return {
        "bucket": size,
        "labels": [b.isoformat() for b in labels],
        **out,
        "unique_visitors": [len(union(b)) for b in blobs],
        "conversions": [conversions_number(p) for p in ppm],
    }


def conversion_list(
    db: Database,
    period: Period,
    filters: Filters,
    limit: int = 50,
    offset: int = 0,
) -> list[dict]:
    """The latest conversions; with a channel or campaign, those whose
    journey touched it (the Journeys report's own selection)."""
    where, params = conversion_where(period, filters)
    return list(
        db.query(
            "SELECT c.id, c.goal, c.value_minor, c.currency, c.order_id, c.source, c.verified,"
            f" c.customer_id, c.occurred_at FROM conversions c WHERE {where}"
            " ORDER BY c.occurred_at DESC, c.id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
    )


def journeys(db: Database, conversion_ids, model: str) -> dict[int, dict]:
    """For each conversion: its touches in order (from the linear model's
    credits, which name every touch) and the credit under `model`."""
    ids = list(conversion_ids)
    out = {i: {"touches": [], "credit": []} for i in ids}
    if not ids:
        return out
    marks = ",".join("?" * len(ids))
    for r in db.query(
        "SELECT cr.conversion_id, cr.model, cr.weight_ppm, k.ts, l.code, l.channel, l.campaign"
        " FROM credits cr LEFT JOIN clicks k ON k.id = cr.click_row"
        " LEFT JOIN links l ON l.id = cr.link_id"
        f" WHERE cr.conversion_id IN ({marks}) AND cr.model IN (?, ?)"
        " ORDER BY cr.conversion_id, k.ts, cr.id",
        [*ids, JOURNEY_MODEL, model],
    ):
        entry = out[r["conversion_id"]]
        if r["model"] == JOURNEY_MODEL and r["code"] is not None:
            entry["touches"].append(
                {"ts": r["ts"], "code": r["code"], "channel": r["channel"],
                 "campaign": r["campaign"]}
            )  # fmt: skip
        if r["model"] == model:
            entry["credit"].append(
                {"channel": r["channel"] or DIRECT_CHANNEL, "share": r["weight_ppm"] / 1_000_000}
            )
    return out
