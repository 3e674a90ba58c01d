"""Customer-level analyses: new customers, retention, tenure, cross-sell,
and who belongs to the control group.

A customer is the `customer_id` a conversion carries, else its visitor.
A purchase is a conversion of one of PURCHASE_GOALS. These reports follow
a cohort -- the customers whose first purchase falls in the period --
through everything they did up to `as_of` (default: now), so the report of
a past period reads the same tomorrow. Customers are grouped by the
channel that first touched them (the first-touch credit of their first
purchase), `(direct)` when nothing did, and `(control)` when they were
seen only by the site's visit pixel and never through a short link.

These read the conversions and visits tables, which are small next to the
click log (conversions are about 2 % of clicks), through their time and
visitor indexes.
"""

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlite_utils import Database

from shortener.clock import day_start, to_db

from .aggregates import refresh, union
from .figures import money, per
from .reports import DIRECT_CHANNEL, Filters, Period, ratio
from .stats import days_between, km_median, median

CONTROL = "(control)"
CANCEL_GOAL = "cancel"
UPSELL_GOAL = "upsell"
WINDOWS = (30, 60, 90)
RETENTION_COLUMNS = [
    "channel",
    "customers",
    "repeat_customers",
    *(f"{name}_{n}" for n in WINDOWS for name in ("eligible", "retained", "retention")),
    "median_days_to_second_purchase",
]
TENURE_COLUMNS = [
    "channel",
    "customers",
    "active",
    "churned",
    "median_tenure_days",
    "median_tenure_at_least_days",
]
CROSS_SELL_COLUMNS = [
    "channel",
    "currency",
    "customers",
    "purchases",
    "purchases_per_customer",
    "revenue",
    "revenue_per_customer",
    "upsell_revenue",
    "upsell_share",
    "repeat_revenue",
    "repeat_share",
]
CUSTOMER_KEY = (
    "CASE WHEN customer_id IS NOT NULL THEN 'c:' || customer_id ELSE 'v:' || visitor_id END"
)


class CustomerReportError(ValueError):
    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.message = message
        self.field = field


def moment(stored: str) -> datetime:
    """A stored UTC timestamp ('2025-03-15T12:00:00.000000Z'); fromisoformat
    reads the fixed format several times faster than strptime."""
    return datetime.fromisoformat(stored)


def _json(values) -> str:
    return json.dumps(sorted(set(values)))


def time_bounds(period: Period, column: str) -> tuple[str, list]:
    return period.moments(column)


# -- the control group -------------------------------------------------------


def deleted_clickers(db: Database):
    """The visitors whose raw clicks retention (or an erasure) may have
    deleted: the visitor bitmaps of link_day's days up to the oldest raw
    click left -- or None when link_day counts no more clicks on those days
    than the raw table holds, so nothing was deleted (the usual case)."""
    oldest = db.execute("SELECT substr(min(ts), 1, 10) FROM clicks").fetchone()[0]
    folded_up_to = db.execute(
        "SELECT last_id FROM aggregate_state WHERE name = 'clicks'"
    ).fetchone()[0]
    counted = db.execute(
        "SELECT coalesce(sum(clicks), 0) FROM link_day WHERE ? IS NULL OR day <= ?",
        [oldest, oldest],
    ).fetchone()[0]
    raw = 0
    if oldest is not None:
        raw = db.execute(
            "SELECT count(*) FROM clicks WHERE ts < date(?, '+1 day') AND id <= ?",
            [oldest, folded_up_to],
        ).fetchone()[0]
    if counted <= raw:
        return None
    return union(
        r[0]
        for r in db.execute(
            "SELECT visitors FROM link_day WHERE ? IS NULL OR day <= ?", [oldest, oldest]
        )
    )


def _minus_deleted_clickers(db: Database, visitor_ids: set[str]) -> set[str]:
    gone = deleted_clickers(db) if visitor_ids else None
    if not gone:
        return visitor_ids
    clicked = {
        visitor_id
        for visitor_id, num in db.execute(
            "SELECT visitor_id, num FROM visitors WHERE visitor_id IN"
            " (SELECT value FROM json_each(?))",
            [_json(visitor_ids)],
        )
        if num in gone
    }
    return visitor_ids - clicked


NEVER_CLICKED = (
    "NOT EXISTS (SELECT 1 FROM clicks c WHERE c.visitor_id = v.visitor_id AND c.is_bot = 0)"
)


def control_visitors(db: Database, period: Period, until: datetime | None = None) -> set[str]:
    """Visitors the visit pixel saw in the period who never came through a
    short link (a human click, including clicks whose raw rows retention
    has deleted: those still stand in link_day's visitor bitmaps)."""
    where, params = time_bounds(period, "v.ts")
    if until is not None:
        where += " AND v.ts < ?"
        params.append(to_db(until))
    seen = {
        r[0]
        for r in db.execute(
            f"SELECT DISTINCT v.visitor_id FROM visits v WHERE {where} AND {NEVER_CLICKED}",
            params,
        )
    }
    return _minus_deleted_clickers(db, seen)


def visited_only(db: Database, visitor_ids, until: datetime) -> set[str]:
    """The visitors among `visitor_ids` the visit pixel saw before `until`
    who never came through a short link."""
    ids = set(visitor_ids)
    if not ids:
        return set()
    seen = {
        r[0]
        for r in db.execute(
            "SELECT DISTINCT v.visitor_id FROM visits v"
            f" WHERE v.visitor_id IN (SELECT value FROM json_each(?)) AND v.ts < ?"
            f" AND {NEVER_CLICKED}",
            [_json(ids), to_db(until)],
        )
    }
    return _minus_deleted_clickers(db, seen)


# -- new customers -----------------------------------------------------------


# every purchase with its place among its customer's purchases (nth = 1: the first)
FIRST_PURCHASES = (
    "WITH p AS (SELECT id, occurred_at, currency, visitor_id, customer_id, row_number() OVER"
    f" (PARTITION BY {CUSTOMER_KEY} ORDER BY occurred_at, id) AS nth FROM conversions"
    " WHERE goal IN (SELECT value FROM json_each(?))"
    " AND (customer_id IS NOT NULL OR visitor_id IS NOT NULL))"
)


def new_customer_credits(
    db: Database, period: Period, model: str, filters: Filters, by: str, purchase_goals
) -> dict[tuple, int]:
    """{(key, currency): ppm}: the customers whose first purchase ever falls
    in the period, credited to channels (or campaigns) as that purchase was
    under `model` -- whole customers under single-touch models, shares
    under the others -- in the currency of that purchase."""
    where, params = time_bounds(period, "p.occurred_at")
    link_sql, link_params = filters.link_where("l")
    if filters.channel or filters.campaign:
        link_sql = f"cr.link_id IS NOT NULL AND {link_sql}"
    out = defaultdict(int)
    for r in db.query(
        f"{FIRST_PURCHASES} SELECT p.currency, l.channel, l.campaign, cr.weight_ppm FROM p"
        " JOIN credits cr ON cr.conversion_id = p.id AND cr.model = ?"
        " LEFT JOIN links l ON l.id = cr.link_id"
        f" WHERE p.nth = 1 AND {where} AND {link_sql}",
        [_json(purchase_goals), model, *params, *link_params],
    ):
        if r["channel"] is None:
            key = DIRECT_CHANNEL if by == "channel" else (DIRECT_CHANNEL, None)
        else:
            key = r["channel"] if by == "channel" else (r["channel"], r["campaign"])
        out[(key, r["currency"])] += r["weight_ppm"]
    return dict(out)


def new_customers_of_links(
    db: Database, period: Period, model: str, link_ids, purchase_goals
) -> list[tuple]:
    """(link id, currency, ppm, visitor id, customer id) of the customers
    whose first purchase ever falls in the period, credited to these links
    as that purchase was under `model` (so a report can leave out whom it
    must, such as an advocate buying through their own link)."""
    where, params = time_bounds(period, "p.occurred_at")
    return db.execute(
        f"{FIRST_PURCHASES} SELECT cr.link_id, p.currency, cr.weight_ppm, p.visitor_id,"
        " p.customer_id FROM p JOIN credits cr ON cr.conversion_id = p.id AND cr.model = ?"
        f" WHERE p.nth = 1 AND cr.weight_ppm > 0 AND {where}"
        " AND cr.link_id IN (SELECT value FROM json_each(?))",
        [_json(purchase_goals), model, *params, _json(link_ids)],
    ).fetchall()


# -- cohorts -----------------------------------------------------------------


@dataclass
class Purchase:
    id: int
    at: datetime
    goal: str
    value_minor: int
    currency: str
    visitor_id: str | None


@dataclass
class Customer:
    key: str
    group: str
    purchases: list[Purchase]


def observed_until(q) -> datetime:
    """The last moment the customer reports look at: the end of the as_of
    day, and never later than now."""
    if q.as_of and q.period.end and q.as_of < q.period.end:
        raise CustomerReportError("as_of must not be before to", "as_of")
    if q.as_of and q.period.start and q.as_of < q.period.start:
        raise CustomerReportError("as_of must not be before from", "as_of")
    ends = [m for m in (q.as_of and day_start(q.as_of + timedelta(days=1)), q.now) if m]
    if not ends:
        raise ValueError("a customer report needs as_of or now")
    return min(ends)


def cohort(db: Database, q, purchase_goals, until: datetime) -> list[Customer]:
    """The customers whose first purchase falls in the period (and before
    `until`), with their purchases up to `until` and their group."""
    refresh(db)  # the control test reads link_day for clicks retention deleted
    purchases = defaultdict(list)
    for customer, *fields in db.execute(
        f"SELECT {CUSTOMER_KEY}, id, occurred_at, goal, value_minor, currency, visitor_id"
        " FROM conversions WHERE goal IN (SELECT value FROM json_each(?))"
        " AND (customer_id IS NOT NULL OR visitor_id IS NOT NULL) AND occurred_at < ?"
        " ORDER BY occurred_at, id",
        [_json(purchase_goals), to_db(until)],
    ):
        fields[1] = moment(fields[1])
        purchases[customer].append(Purchase(*fields))
    start, end = q.period.start, q.period.end
    members = {
        key: bought
        for key, bought in purchases.items()
        if (not start or bought[0].at.date() >= start) and (not end or bought[0].at.date() <= end)
    }
    first_ids = [bought[0].id for bought in members.values()]
    touch = {
        r["conversion_id"]: r
        for r in db.query(
            "SELECT cr.conversion_id, l.channel, l.campaign FROM credits cr"
            " LEFT JOIN links l ON l.id = cr.link_id"
            " WHERE cr.model = 'first_touch' AND cr.conversion_id IN"
            " (SELECT value FROM json_each(?))",
            [json.dumps(first_ids)],
        )
    }
    untouched = {
        bought[0].visitor_id
        for bought in members.values()
        if touch.get(bought[0].id, {}).get("channel") is None and bought[0].visitor_id
    }
    control = visited_only(db, untouched, until)
    out = []
    for key, bought in members.items():
        first = touch.get(bought[0].id) or {"channel": None, "campaign": None}
        if first["channel"] is None:
            if q.filters.channel or q.filters.campaign:
                continue
            group = CONTROL if bought[0].visitor_id in control else DIRECT_CHANNEL
        else:
            if q.filters.channel and first["channel"] != q.filters.channel.lower():
                continue
            if q.filters.campaign and first["campaign"] != q.filters.campaign:
                continue
            group = first["channel"]
        out.append(Customer(key, group, bought))
    return out


def group_order(group: str):
    return (group == CONTROL, group == DIRECT_CHANNEL, group)


def by_group(customers: list[Customer]) -> dict[str, list[Customer]]:
    groups = defaultdict(list)
    for c in customers:
        groups[c.group].append(c)
    return {g: groups[g] for g in sorted(groups, key=group_order)}


def _days(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


# -- retention ---------------------------------------------------------------


def retention_rows(db: Database, q, s) -> list[dict]:
    """Per first-touch channel: customers, those who bought again, the share
    who bought again within 30/60/90 days of their first purchase (among the
    customers whose first purchase is at least that old), and the median
    days to the second purchase (among those who made one)."""
    until = observed_until(q)
    rows = []
    for group, members in by_group(cohort(db, q, s.purchase_goals, until)).items():
        gaps = [days_between(c.purchases[0].at, c.purchases[1].at) for c in members
                if len(c.purchases) > 1]  # fmt: skip
        row = {"channel": group, "customers": len(members), "repeat_customers": len(gaps)}
        for n in WINDOWS:
            eligible = [c for c in members if c.purchases[0].at + timedelta(days=n) <= until]
            retained = [
                c for c in eligible
                if len(c.purchases) > 1
                and c.purchases[1].at - c.purchases[0].at <= timedelta(days=n)
            ]  # fmt: skip
            row[f"eligible_{n}"] = len(eligible)
            row[f"retained_{n}"] = len(retained)
            row[f"retention_{n}"] = ratio(len(retained), len(eligible))
        row["median_days_to_second_purchase"] = _days(median(gaps))
        rows.append(row)
    return rows


# -- tenure ------------------------------------------------------------------


def tenure_rows(db: Database, q, s) -> list[dict]:
    """Per first-touch channel: customers still active and churned (a
    `cancel` conversion ends a tenure), and the Kaplan-Meier median tenure
    in days -- active customers count as censored, never as churned; when
    fewer than half have churned the median is given as "at least"."""
    until = observed_until(q)
    members = cohort(db, q, s.purchase_goals, until)
    cancels = defaultdict(list)
    for r in db.query(
        f"SELECT {CUSTOMER_KEY} AS customer, occurred_at FROM conversions"
        " WHERE goal = ? AND occurred_at < ? AND (customer_id IS NOT NULL"
        " OR visitor_id IS NOT NULL) ORDER BY occurred_at, id",
        [CANCEL_GOAL, to_db(until)],
    ):
        cancels[r["customer"]].append(moment(r["occurred_at"]))
    rows = []
    for group, people in by_group(members).items():
        observations = []
        for c in people:
            start = c.purchases[0].at
            ended = next((t for t in cancels.get(c.key, []) if t >= start), None)
            observations.append((days_between(start, ended or until), ended is not None))
        median_days, at_least = km_median(observations)
        churned = sum(1 for _, ended in observations if ended)
        rows.append(
            {
                "channel": group,
                "customers": len(people),
                "active": len(people) - churned,
                "churned": churned,
                "median_tenure_days": _days(median_days),
                "median_tenure_at_least_days": _days(at_least),
            }
        )
    return rows


# -- cross-sell and upsell ---------------------------------------------------


def cross_sell_rows(db: Database, q, s) -> list[dict]:
    """Per first-touch channel and currency: purchases and revenue per
    customer, and the share of revenue from `upsell` conversions and from
    repeat purchases (every purchase after a customer's first)."""
    until = observed_until(q)
    rows = []
    for group, people in by_group(cohort(db, q, s.purchase_goals, until)).items():
        books = defaultdict(lambda: {"customers": set(), "purchases": 0, "revenue": 0,
                                     "upsell": 0, "repeat": 0})  # fmt: skip
        for c in people:
            for i, p in enumerate(c.purchases):
                book = books[p.currency]
                book["customers"].add(c.key)
                book["purchases"] += 1
                book["revenue"] += p.value_minor
                book["upsell"] += p.value_minor if p.goal == UPSELL_GOAL else 0
                book["repeat"] += p.value_minor if i > 0 else 0
        for currency in sorted(books):
            book = books[currency]
            n = len(book["customers"])
            rows.append(
                {
                    "channel": group,
                    "currency": currency,
                    "customers": n,
                    "purchases": book["purchases"],
                    "purchases_per_customer": ratio(book["purchases"], n),
                    "revenue": money(book["revenue"], currency),
                    "revenue_per_customer": money(per(book["revenue"], n * 1_000_000), currency),
                    "upsell_revenue": money(book["upsell"], currency),
                    "upsell_share": ratio(book["upsell"], book["revenue"]),
                    "repeat_revenue": money(book["repeat"], currency),
                    "repeat_share": ratio(book["repeat"], book["revenue"]),
                }
            )
    return rows
