"""The breakdown report: clicks, visitors, conversions and revenue per value
of one thing the clicks carried -- their country, device, browser, OS,
referrer host or source (link or QR scan), or their link, campaign or
channel.

Conversions and revenue are those credited, under the chosen attribution
model, to the clicks that carried the value: "revenue from German visitors"
is the revenue credited to clicks from Germany. A conversion credited to no
click ((direct) in the channels report) is in no row. Clicks count on the
day they happened and conversions on the day they happened, as in every
report, so with a period a value can have conversions whose clicks came
before it.

Read from the aggregates: `breakdown_day` / `breakdown_credit_day` for the
click dimensions, `link_day` / `credit_day` for link and campaign (and
channel within one link), the channels report's rollups for channel. One
function returns the rows as dicts, for the API, the CLI and dashboard
pages alike.
"""

from collections import defaultdict

from sqlite_utils import Database

from .aggregates import ALL_LINKS, refresh, union
from .attribution import MODELS
from .dimensions import DIMENSIONS
from .money import format_minor
from .reports import (
    DIRECT_CHANNEL,
    Filters,
    Period,
    click_totals,
    conversions_number,
    credit_totals,
    ratio,
)

BY = (*DIMENSIONS, "link", "campaign", "channel")
COLUMNS = [
    "value",
    "currency",
    "clicks",
    "human_clicks",
    "unique_visitors",
    "conversions",
    "converted_visitors",
    "conversion_rate",
    "revenue",
]
ALL_TIME = Period()
NO_FILTERS = Filters()
LINK_VALUES = {"link": "l.code", "campaign": "l.campaign", "channel": "l.channel"}
# the columns read after the value: with the visitor bitmaps, a row per
# day; without them, summed per value (and currency) in SQL -- fixed text
FIGURES = {
    True: ("d.clicks, d.human_clicks, d.visitors", ""),
    False: ("sum(d.clicks), sum(d.human_clicks), NULL", " GROUP BY 1"),
}
CREDIT_FIGURES = {
    True: ("c.currency, c.conversions_ppm, c.revenue_minor, c.converters", ""),
    False: ("c.currency, sum(c.conversions_ppm), sum(c.revenue_minor), NULL", " GROUP BY 1, 2"),
}


class BreakdownError(ValueError):
    """A request the report cannot answer; `field` names the parameter."""

    def __init__(self, message: str, field: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


def link_id_of(db: Database, code: str) -> int:
    row = db.conn.execute("SELECT id FROM links WHERE code = ?", (code,)).fetchone()
    if row is None:
        raise BreakdownError(f"no link {code!r}", "link", 404)
    return row[0]


def _where(period: Period, filters: Filters, link_id: int | None, alias: str):
    """(join, where, params) picking the rows of the period and the links
    asked for: one link, the links of a channel or campaign, or all."""
    day_sql, params = period.where(f"{alias}.day")
    if link_id is not None:
        link_sql, link_params = filters.link_where()
        return (
            f"JOIN links l ON l.id = {alias}.link_id",
            f"{alias}.link_id = ? AND {day_sql} AND {link_sql}",
            [link_id, *params, *link_params],
        )
    if filters.channel or filters.campaign:
        link_sql, link_params = filters.link_where()
        return (
            f"JOIN links l ON l.id = {alias}.link_id",
            f"{alias}.link_id != {ALL_LINKS} AND {day_sql} AND {link_sql}",
            [*params, *link_params],
        )
    return "", f"{alias}.link_id = {ALL_LINKS} AND {day_sql}", params


def _click_rows(db: Database, by: str, period: Period, filters: Filters, link_id, visitors=True):
    """(value, clicks, human_clicks, visitors bitmap) rows: per day, or
    without `visitors` already summed per value, with no bitmap (none is
    read from disk, and SQLite adds up the days)."""
    figures, group = FIGURES[visitors]
    if by in LINK_VALUES:
        day_sql, params = period.where("d.day")
        link_sql, link_params = filters.link_where()
        one = "d.link_id = ?" if link_id is not None else "TRUE"
        return db.conn.execute(
            f"SELECT {LINK_VALUES[by]}, {figures} FROM link_day d"
            f" JOIN links l ON l.id = d.link_id WHERE {one} AND {day_sql} AND {link_sql}{group}",
            [*([link_id] if link_id is not None else []), *params, *link_params],
        )
    join, where, params = _where(period, filters, link_id, "d")
    return db.conn.execute(
        f"SELECT d.value, {figures} FROM breakdown_day d {join}"
        f" WHERE d.dimension = ? AND {where}{group}",
        [by, *params],
    )


def _credit_rows(
    db: Database, by: str, period: Period, filters: Filters, model, link_id, visitors=True
):
    """(value, currency, conversions_ppm, revenue_minor, converters bitmap)
    rows: per day, or without `visitors` summed per value and currency."""
    figures, group = CREDIT_FIGURES[visitors]
    goal_sql, goal_params = ("c.goal = ?", [filters.goal]) if filters.goal else ("TRUE", [])
    if by in LINK_VALUES:
        day_sql, params = period.where("c.day")
        link_sql, link_params = filters.link_where()
        one = "c.link_id = ?" if link_id is not None else "TRUE"
        return db.conn.execute(
            f"SELECT {LINK_VALUES[by]}, {figures} FROM credit_day c"
            " JOIN links l ON l.id = c.link_id"
            f" WHERE c.model = ? AND {one} AND {day_sql} AND {link_sql} AND {goal_sql}{group}",
            [model, *([link_id] if link_id is not None else []), *params, *link_params,
             *goal_params],
        )  # fmt: skip
    join, where, params = _where(period, filters, link_id, "c")
    return db.conn.execute(
        f"SELECT c.value, {figures} FROM breakdown_credit_day c {join}"
        f" WHERE c.dimension = ? AND c.model = ? AND {where} AND {goal_sql}{group}",
        [by, model, *params, *goal_params],
    )


def _distinct(blobs: list, visitors: bool) -> int | None:
    """Visitors in the union of the day bitmaps; None when not asked for
    (the union is most of the report's work over a long period)."""
    return len(union(blobs)) if visitors else None


def _totals(
    db: Database, by: str, period: Period, filters: Filters, model: str, link_id, visitors=True
):
    """{value: (clicks, human_clicks, unique_visitors)} and {(value,
    currency): (conversions_ppm, revenue_minor, converted_visitors)}; the
    visitor counts are None without `visitors`."""
    clicks = defaultdict(lambda: [0, 0, []])
    for value, n, human, blob in _click_rows(db, by, period, filters, link_id, visitors):
        c = clicks[value]
        c[0] += n
        c[1] += human
        if visitors:
            c[2].append(blob)
    credits = defaultdict(lambda: [0, 0, []])
    for value, currency, ppm, revenue, blob in _credit_rows(
        db, by, period, filters, model, link_id, visitors
    ):
        c = credits[(value, currency)]
        c[0] += ppm
        c[1] += revenue
        if visitors:
            c[2].append(blob)
    return (
        {v: (n, human, _distinct(blobs, visitors)) for v, (n, human, blobs) in clicks.items()},
        {
            key: (ppm, revenue, _distinct(blobs, visitors))
            for key, (ppm, revenue, blobs) in credits.items()
        },
    )


def _channel_totals(db: Database, period: Period, filters: Filters, model: str):
    """`_totals` by channel from the channels report's rollups (a row per
    channel and month or day, or its all-time row), without (direct)."""
    clicks = {
        channel: (t["clicks"], t["human_clicks"], t["unique_visitors"])
        for channel, t in click_totals(db, period, filters).items()
    }
    credits = {
        (channel, currency): (t["ppm"], t["revenue_minor"], t["converted_visitors"])
        for (channel, currency), t in credit_totals(db, period, filters, model).items()
        if channel != DIRECT_CHANNEL
    }
    return clicks, credits


def breakdown_rows(
    db: Database,
    by: str,
    period: Period = ALL_TIME,
    model: str = "last_touch",
    filters: Filters = NO_FILTERS,
    link: str | None = None,
    default_currency: str = "USD",
    visitors: bool = True,
) -> list[dict]:
    """One row per value and currency of its revenue (click columns are the
    value's and repeat on each of its currency rows), most human clicks
    first. `link` (a code) narrows it to one link; `filters` to a channel,
    campaign and goal (the goal narrows conversions only). Without
    `visitors`, the columns that count distinct visitors (unique_visitors,
    converted_visitors, conversion_rate) are None and cost nothing; the
    others are the same."""
    if by not in BY:
        raise BreakdownError(f"by must be one of {', '.join(BY)}", "by")
    if model not in MODELS:
        raise BreakdownError(f"model must be one of {', '.join(MODELS)}", "model")
    refresh(db)
    link_id = link_id_of(db, link) if link else None
    if by == "channel" and link_id is None:
        totals, credits = _channel_totals(db, period, filters, model)
    else:
        totals, credits = _totals(db, by, period, filters, model, link_id, visitors)
    currencies = defaultdict(list)
    for value, currency in credits:
        currencies[value].append(currency)
    order = sorted(
        set(totals) | set(currencies),
        key=lambda v: (-totals.get(v, (0, 0))[1], -totals.get(v, (0, 0))[0], v),
    )
    rows = []
    for value in order:
        n, human, seen = totals.get(value, (0, 0, 0))
        for currency in sorted(currencies[value]) or [default_currency]:
            ppm, revenue, converted = credits.get((value, currency), (0, 0, 0))
            if not visitors:
                seen = converted = None
            rows.append(
                {
                    "value": value,
                    "currency": currency,
                    "clicks": n,
                    "human_clicks": human,
                    "unique_visitors": seen,
                    "conversions": conversions_number(ppm),
                    "converted_visitors": converted,
                    "conversion_rate": ratio(converted, seen) if visitors else None,
                    "revenue": format_minor(revenue, currency),
                }
            )
    return rows
