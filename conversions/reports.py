"""Reports, as plain functions returning rows of dicts.

The HTTP views and the CLI call the same row functions, and CSV is written
by one streaming writer, so a spreadsheet and the JSON API never disagree.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlite_utils import Database

from .aggregates import (
    DIRECT,
    channel_click_rows,
    channel_click_totals,
    channel_credit_rows,
    channel_credit_totals,
    refresh,
    union,
)
from .attribution import MODELS, ONE
from .money import format_minor

DIRECT_CHANNEL = "(direct)"
CLICK_COUNTS = ("clicks", "human_clicks", "unique_clicks", "qr_scans")
CHANNEL_COLUMNS = [
    "channel",
    "currency",
    "clicks",
    "human_clicks",
    "unique_clicks",
    "qr_scans",
    "unique_visitors",
    "conversions",
    "converted_visitors",
    "conversion_rate",
    "revenue",
]


@dataclass(frozen=True)
class Period:
    start: date | None = None
    end: date | None = None  # inclusive

    def where(self, column: str = "day") -> tuple[str, list]:
        clauses, params = [], []
        if self.start:
            clauses.append(f"{column} >= ?")
            params.append(self.start.isoformat())
        if self.end:
            clauses.append(f"{column} <= ?")
            params.append(self.end.isoformat())
        return " AND ".join(clauses) or "TRUE", params

    def moments(self, column: str) -> tuple[str, list]:
        """`where` for a stored timestamp column: the period's whole UTC days
        (a timestamp text sorts after its day's date and before the next)."""
        clauses, params = [], []
        if self.start:
            clauses.append(f"{column} >= ?")
            params.append(self.start.isoformat())
        if self.end:
            clauses.append(f"{column} < ?")
            params.append((self.end + timedelta(days=1)).isoformat())
        return " AND ".join(clauses) or "TRUE", params


@dataclass(frozen=True)
class Filters:
    channel: str | None = None
    campaign: str | None = None
    goal: str | None = None

    def link_where(self, alias: str = "l") -> tuple[str, list]:
        clauses, params = [], []
        if self.channel:
            clauses.append(f"{alias}.channel = ?")
            params.append(self.channel.lower())
        if self.campaign:
            clauses.append(f"{alias}.campaign = ?")
            params.append(self.campaign)
        return " AND ".join(clauses) or "TRUE", params


def conversions_number(ppm: int) -> int | float:
    """Attributed conversions: whole under single-touch models, fractional
    (to six places) under the others."""
    return ppm // ONE if ppm % ONE == 0 else round(ppm / ONE, 6)


def ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 6) if denominator else None


def _channel(filters: Filters) -> str | None:
    return filters.channel.lower() if filters.channel else None


def click_totals(db: Database, period: Period, filters: Filters) -> dict[str, dict]:
    day_sql, day_params = period.where("d.day")
    link_sql, link_params = filters.link_where()
    sql = (
        "SELECT l.channel, d.clicks, d.human_clicks, d.visitors, d.unique_clicks, d.qr_scans"
        " FROM link_day d"
        f" JOIN links l ON l.id = d.link_id WHERE {day_sql} AND {link_sql}"
    )
    if filters.campaign:
        rows = db.query(sql, day_params + link_params)
    elif period.start is None and period.end is None:  # all time: a row per channel, counted
        return {r.pop("channel"): r for r in channel_click_totals(db, _channel(filters))}
    else:  # whole channels: their rollups, a row per month or day
        rows = channel_click_rows(db, period.start, period.end, _channel(filters))
    totals = {}
    blobs = defaultdict(list)
    for row in rows:
        t = totals.setdefault(row["channel"], dict.fromkeys(CLICK_COUNTS, 0))
        for count in CLICK_COUNTS:
            t[count] += row[count]
        blobs[row["channel"]].append(row["visitors"])
    for channel, t in totals.items():
        t["unique_visitors"] = len(union(blobs[channel]))
    return totals


def credit_totals(
    db: Database, period: Period, filters: Filters, model: str, verified: bool | None = None
) -> dict[tuple[str, str], dict]:
    day_sql, day_params = period.where("c.day")
    if verified is not None:  # webhook (verified) or pixel (unverified) conversions only
        day_sql, day_params = f"{day_sql} AND c.verified = ?", [*day_params, int(verified)]
    link_sql, link_params = filters.link_where()
    goal_sql = "c.goal = ?" if filters.goal else "TRUE"
    goal_params = [filters.goal] if filters.goal else []
    if filters.channel or filters.campaign:
        link_sql = f"c.link_id != {DIRECT} AND {link_sql}"
    sql = (
        "SELECT coalesce(l.channel, ?) AS channel, c.currency, c.conversions_ppm,"
        " c.revenue_minor, c.converters FROM credit_day c"
        " LEFT JOIN links l ON l.id = c.link_id"
        f" WHERE c.model = ? AND {day_sql} AND {link_sql} AND {goal_sql}"
    )
    if filters.campaign:
        rows = db.query(sql, [DIRECT_CHANNEL, model, *day_params, *link_params, *goal_params])
    elif period.start is None and period.end is None:  # all time: a row per channel, counted
        return {
            (r["channel"], r["currency"]): {
                "ppm": r["conversions_ppm"],
                "revenue_minor": r["revenue_minor"],
                "converted_visitors": r["converted_visitors"],
            }
            for r in channel_credit_totals(db, model, _channel(filters), filters.goal, verified)
        }
    else:  # whole channels: their rollups, a row per month or day
        rows = channel_credit_rows(
            db, model, period.start, period.end, _channel(filters), filters.goal, verified
        )
    totals = {}
    blobs = defaultdict(list)
    for row in rows:
        key = (row["channel"], row["currency"])
        t = totals.setdefault(key, {"ppm": 0, "revenue_minor": 0})
        t["ppm"] += row["conversions_ppm"]
        t["revenue_minor"] += row["revenue_minor"]
        blobs[key].append(row["converters"])
    for key, t in totals.items():
        t["converted_visitors"] = len(union(blobs[key]))
    return totals


def channel_rows(
    db: Database,
    period: Period = Period(),
    model: str = "last_touch",
    filters: Filters = Filters(),
    default_currency: str = "USD",
    verified: bool | None = None,
) -> list[dict]:
    """One row per channel and currency of its revenue (click columns are the
    channel's and repeat on each of its currency rows). `verified` counts
    only webhook (True) or only pixel (False) conversions."""
    if model not in MODELS:
        raise ValueError(f"unknown model {model!r}")
    refresh(db)
    clicks = click_totals(db, period, filters)
    credits = credit_totals(db, period, filters, model, verified)
    currencies = defaultdict(list)
    for channel, currency in credits:
        currencies[channel].append(currency)
    rows = []
    for channel in sorted(set(clicks) | set(currencies), key=_channel_order):
        c = clicks.get(channel, {**dict.fromkeys(CLICK_COUNTS, 0), "unique_visitors": 0})
        for currency in sorted(currencies[channel]) or [default_currency]:
            credit = credits.get((channel, currency), {})
            converted = credit.get("converted_visitors", 0)
            rows.append(
                {
                    "channel": channel,
                    "currency": currency,
                    "clicks": c["clicks"],
                    "human_clicks": c["human_clicks"],
                    "unique_clicks": c["unique_clicks"],
                    "qr_scans": c["qr_scans"],
                    "unique_visitors": c["unique_visitors"],
                    "conversions": conversions_number(credit.get("ppm", 0)),
                    "converted_visitors": converted,
                    "conversion_rate": ratio(converted, c["unique_visitors"]),
                    "revenue": format_minor(credit.get("revenue_minor", 0), currency),
                }
            )
    return rows


def _channel_order(channel: str):
    return (channel == DIRECT_CHANNEL, channel)
