"""Who brings customers: the advocate leaderboard, the referral chain and
whom to invite next.

Per personal link, clicks and reached visitors come from `link_day` and
conversions, revenue and converted visitors from `credit_day` under the
chosen model -- the same aggregates and the same numbers as every other
report. Raw rows are read only per visitor, through their indexes: whether
a reached visitor was seen before (click, page visit or conversion before
their first click on the advocate's link), and who the advocate is
themselves.

An advocate's own visits never count for them: the visitor they were when
referred and every visitor who converted with their customer id are
"self". Their clicks, reach and conversions are left out of the
advocate's figures and the self-conversions are shown apart, so sharing
one's own link to buy is neither a friend nor a customer brought.

The campaign average an advocate is compared with is every visitor of the
campaign's links (all channels, advocates' or not) against those who
converted through them, pooled over the campaigns the advocate shares in.
"""

import json
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import timedelta

from pyroaring import BitMap
from sqlite_utils import Database

from conversions.aggregates import bitmap, refresh
from conversions.costs import advocate_totals
from conversions.customers import (
    CANCEL_GOAL,
    cohort,
    new_customers_of_links,
    observed_until,
    time_bounds,
)
from conversions.figures import money, per, percent
from conversions.money import format_minor
from conversions.reports import Filters, Period, conversions_number, ratio
from conversions.shops import REFUNDED_MINOR
from conversions.stats import against_baseline, days_between, viral_coefficient, wilson_interval
from shortener.clock import to_db

from .rewards import rewards_earned as ledger_earned

ADVOCATE_COLUMNS = [
    "advocate",
    "name",
    "depth",
    "parent",
    "active",
    "currency",
    "links",
    "human_clicks",
    "unique_visitors",
    "new_visitors",
    "converted_visitors",
    "conversion_rate",
    "conversion_rate_low",
    "conversion_rate_high",
    "campaign_conversion_rate",
    "verdict",
    "conversions",
    "revenue",
    "refunded_revenue",
    "self_conversions",
    "invited_friends",
    "rewards_earned",
    # return per creator: what they cost against what they brought
    "fees",
    "cost",
    "new_customers",
    "cac",
    "roi_percent",
    "romi",
]
VERDICTS = {
    "above": "converts above the campaign average",
    "below": "converts below the campaign average",
    "in_line": "in line with the campaign average",
    "too_few": "too few visitors",
    "no_baseline": "no campaign visitors to compare with",
}
REFERRAL_COLUMNS = [
    "campaign",
    "generation",
    "advocates",
    "friends_converted",
    "friends_converted_per_advocate",
    "invitations",
    "invitations_per_converted",
    "invited_visitors",
    "invited_converted",
    "invited_conversion_rate",
    "k",
]
SAVE_GOAL = "save"
CANDIDATE_COLUMNS = [
    "customer",
    "advocate",
    "currency",
    "purchases",
    "repeat_purchases",
    "revenue",
    "first_purchase",
    "tenure_days",
    "saves",
    "cancelled",
    "friends_reached",
    "friends_converted",
    "friends_conversion_low",
    "score",
]


CHUNK = 20_000  # visitors per query: json_each reads a list of any length, but memory


def _json(values) -> str:
    return json.dumps(sorted(values))


# -- figures per personal link -------------------------------------------------


@dataclass
class Figures:
    """What a set of personal links did in a period."""

    human_clicks: int = 0
    reach: BitMap = field(default_factory=BitMap)
    converters: BitMap = field(default_factory=BitMap)
    ppm: dict = field(default_factory=lambda: defaultdict(int))  # currency -> conversions
    revenue: dict = field(default_factory=lambda: defaultdict(int))  # currency -> minor

    def add(self, other: "Figures") -> None:
        self.human_clicks += other.human_clicks
        self.reach |= other.reach
        self.converters |= other.converters
        for currency, value in other.ppm.items():
            self.ppm[currency] += value
        for currency, value in other.revenue.items():
            self.revenue[currency] += value


def personal_links(db: Database, filters: Filters) -> list[dict]:
    link_sql, params = filters.link_where()
    return list(
        db.query(
            "SELECT l.id, l.advocate_id, l.campaign FROM links l"
            f" WHERE l.advocate_id IS NOT NULL AND {link_sql} ORDER BY l.id",
            params,
        )
    )


def link_figures(db: Database, link_ids, q) -> dict[int, Figures]:
    """Figures per link from the aggregates (period, model and goal of q)."""
    figures = defaultdict(Figures)
    ids = _json(set(link_ids))
    day_sql, day_params = q.period.where("day")
    for link_id, human, visitors in db.execute(
        "SELECT link_id, human_clicks, visitors FROM link_day"
        f" WHERE link_id IN (SELECT value FROM json_each(?)) AND {day_sql}",
        [ids, *day_params],
    ):
        f = figures[link_id]
        f.human_clicks += human
        f.reach |= bitmap(visitors)
    goal_sql, goal_params = ("goal = ?", [q.filters.goal]) if q.filters.goal else ("TRUE", [])
    for link_id, currency, ppm, revenue, converters in db.execute(
        "SELECT link_id, currency, conversions_ppm, revenue_minor, converters FROM credit_day"
        f" WHERE link_id IN (SELECT value FROM json_each(?)) AND model = ? AND {day_sql}"
        f" AND {goal_sql}",
        [ids, q.model, *day_params, *goal_params],
    ):
        f = figures[link_id]
        f.ppm[currency] += ppm
        f.revenue[currency] += revenue
        f.converters |= bitmap(converters)
    return figures


@dataclass
class Self:
    """An advocate's own visitors and what they did through their own links."""

    numbers: BitMap
    visitor_ids: set
    human_clicks: int = 0
    conversions: set = field(default_factory=set)
    ppm: dict = field(default_factory=lambda: defaultdict(int))
    revenue: dict = field(default_factory=lambda: defaultdict(int))


def self_figures(db: Database, advocate: dict, link_ids: list[int], q) -> Self:
    visitor_ids = {advocate["visitor_id"]} if advocate["visitor_id"] else set()
    if advocate["customer_id"]:
        visitor_ids |= {
            r[0]
            for r in db.execute(
                "SELECT DISTINCT visitor_id FROM conversions"
                " WHERE customer_id = ? AND visitor_id IS NOT NULL",
                [advocate["customer_id"]],
            )
        }
    numbers = BitMap(
        r[0]
        for r in db.execute(
            "SELECT num FROM visitors WHERE visitor_id IN (SELECT value FROM json_each(?))",
            [_json(visitor_ids)],
        )
    )
    own = Self(numbers, visitor_ids)
    ids = _json(set(link_ids))
    if visitor_ids:
        ts_sql, ts_params = time_bounds(q.period, "ts")
        own.human_clicks = db.execute(
            "SELECT count(*) FROM clicks WHERE visitor_id IN (SELECT value FROM json_each(?))"
            f" AND is_bot = 0 AND link_id IN (SELECT value FROM json_each(?)) AND {ts_sql}",
            [_json(visitor_ids), ids, *ts_params],
        ).fetchone()[0]
    at_sql, at_params = time_bounds(q.period, "co.occurred_at")
    goal_sql, goal_params = ("co.goal = ?", [q.filters.goal]) if q.filters.goal else ("TRUE", [])
    for conversion_id, currency, ppm, revenue in db.execute(
        "SELECT co.id, co.currency, cr.weight_ppm, cr.revenue_minor FROM conversions co"
        " JOIN credits cr ON cr.conversion_id = co.id"
        " WHERE (co.visitor_id IN (SELECT value FROM json_each(?)) OR co.customer_id = ?)"
        " AND cr.model = ? AND cr.weight_ppm > 0"
        f" AND cr.link_id IN (SELECT value FROM json_each(?)) AND {at_sql} AND {goal_sql}",
        [_json(visitor_ids), advocate["customer_id"], q.model, ids, *at_params, *goal_params],
    ):
        own.conversions.add(conversion_id)
        own.ppm[currency] += ppm
        own.revenue[currency] += revenue
    return own


def without_self(figures: Figures, own: Self) -> Figures:
    out = Figures(
        human_clicks=figures.human_clicks - own.human_clicks,
        reach=figures.reach - own.numbers,
        converters=figures.converters - own.numbers,
    )
    for currency, value in figures.ppm.items():
        out.ppm[currency] = value - own.ppm.get(currency, 0)
    for currency, value in figures.revenue.items():
        out.revenue[currency] = value - own.revenue.get(currency, 0)
    return out


def new_visitors(db: Database, reaches: dict[int, BitMap], links: list[dict], q) -> dict:
    """{advocate id: how many of the visitors they reached were never seen --
    no click on any link, page visit or conversion -- before their first
    click (in the period) on one of the advocate's links}.

    Never seen before a click means that click is the visitor's first
    activity of all, so a visitor is new for at most one advocate: the one
    whose link had their first click ever, when it falls in the period and
    nothing (visit, conversion) came earlier. One indexed lookup per reached
    visitor, for all advocates at once."""
    everyone = BitMap.union(BitMap(), *reaches.values())
    if not everyone:
        return {}
    advocate_of = {link["id"]: link["advocate_id"] for link in links}
    start_ts, end_ts = _period_bounds(q.period)
    first = {}  # visitor id -> (first click time, advocate id, visitor number)
    for start in range(0, len(everyone), CHUNK):
        numbers = json.dumps(everyone[start : start + CHUNK].to_array().tolist())
        for num, visitor_id, link_id, ts in db.execute(
            # each visitor's first click, read from the covering (visitor_id, ts) index
            "SELECT v.num, f.visitor_id, f.link_id, f.ts FROM visitors v JOIN clicks f"
            " ON f.id = (SELECT c.id FROM clicks c WHERE c.visitor_id = v.visitor_id"
            " ORDER BY c.ts, c.id LIMIT 1) WHERE v.num IN (SELECT value FROM json_each(?))",
            [numbers],
        ):
            advocate_id = advocate_of.get(link_id)
            if advocate_id is None or num not in reaches.get(advocate_id, ()):
                continue
            if (start_ts and ts < start_ts) or (end_ts and ts >= end_ts):
                continue
            first[visitor_id] = (ts, advocate_id)
    candidates = sorted(first)
    for start in range(0, len(candidates), CHUNK):
        chunk = _json(candidates[start : start + CHUNK])
        for sql in (
            "SELECT visitor_id, min(ts) FROM visits",
            "SELECT visitor_id, min(occurred_at) FROM conversions",
        ):
            for visitor_id, earliest in db.execute(
                f"{sql} WHERE visitor_id IN (SELECT value FROM json_each(?)) GROUP BY visitor_id",
                [chunk],
            ):
                if visitor_id in first and earliest < first[visitor_id][0]:
                    del first[visitor_id]
    counts = defaultdict(int)
    for _, advocate_id in first.values():
        counts[advocate_id] += 1
    return counts


def _period_bounds(period) -> tuple[str | None, str | None]:
    """The period's first moment and the moment after it, as stored text."""
    start = period.start.isoformat() if period.start else None
    end = (period.end + timedelta(days=1)).isoformat() if period.end else None
    return start, end


REFUNDED_AMOUNTS = (
    f"SELECT conversion_id, {REFUNDED_MINOR} AS refunded FROM refund_amounts GROUP BY conversion_id"
)


def refunds(db: Database, links: list[dict], q) -> list[tuple]:
    """(advocate id, currency, minor units, visitor id, customer id): the
    attributed revenue (model, period, goal of q) of conversions refunded
    since (`conversion_refunds`, kept by the rewards ledger) -- or, for one
    a shop refunded in part, that part of it (rounded down)."""
    advocate_of = {link["id"]: link["advocate_id"] for link in links}
    at_sql, at_params = time_bounds(q.period, "co.occurred_at")
    goal_sql, goal_params = ("co.goal = ?", [q.filters.goal]) if q.filters.goal else ("TRUE", [])
    out = []
    for link_id, currency, revenue, visitor_id, customer_id, whole, part, value in db.execute(
        "SELECT cr.link_id, co.currency, cr.revenue_minor, co.visitor_id, co.customer_id,"
        " r.conversion_id IS NOT NULL, coalesce(p.refunded, 0), co.value_minor"
        # only refunded conversions are read: both refund tables are small
        " FROM (SELECT conversion_id FROM conversion_refunds"
        " UNION SELECT conversion_id FROM refund_amounts) ids"
        " JOIN conversions co ON co.id = ids.conversion_id"
        " JOIN credits cr ON cr.conversion_id = co.id"
        " LEFT JOIN conversion_refunds r ON r.conversion_id = co.id"
        f" LEFT JOIN ({REFUNDED_AMOUNTS}) p ON p.conversion_id = co.id"
        f" WHERE cr.model = ? AND cr.weight_ppm > 0 AND {at_sql} AND {goal_sql}",
        [q.model, *at_params, *goal_params],
    ):
        if link_id not in advocate_of:
            continue
        if not whole:
            revenue = revenue * min(part, value) // value if value else 0
        out.append((advocate_of[link_id], currency, revenue, visitor_id, customer_id))
    return out


# -- the leaderboard -----------------------------------------------------------


def _advocates(db: Database) -> dict[int, dict]:
    return {
        r["id"]: r
        for r in db.query(
            "SELECT a.id, a.handle, a.name, a.depth, a.active, a.visitor_id, a.customer_id,"
            " a.parent_advocate_id, p.handle AS parent,"
            " (SELECT count(*) FROM advocates c WHERE c.parent_advocate_id = a.id) AS invited"
            " FROM advocates a LEFT JOIN advocates p ON p.id = a.parent_advocate_id"
        )
    }


def _campaign_figures(db: Database, links: list[dict], figures: dict, q) -> dict[str, Figures]:
    """Every link of each campaign of `links` (the channel filter applies):
    reach and converters. The personal links' figures are already read."""
    out = {}
    for campaign in sorted({link["campaign"] for link in links}):
        filters = Filters(q.filters.channel, campaign, q.filters.goal)
        link_sql, params = filters.link_where()
        others = [
            r[0]
            for r in db.execute(
                f"SELECT l.id FROM links l WHERE l.advocate_id IS NULL AND {link_sql}", params
            )
        ]
        total = Figures()
        for f in link_figures(db, others, q).values():
            total.add(f)
        for link in links:
            if link["campaign"] == campaign and link["id"] in figures:
                total.add(figures[link["id"]])
        out[campaign] = total
    return out


def rewards_earned(db: Database, q) -> dict[tuple[int, str], int]:
    """{(advocate id, currency): minor units} the advocates earned as advocates
    (pending, approved or paid; not voided or refused) for conversions in the
    report's period and campaign: the rewards ledger's own sum."""
    earned = ledger_earned(db, start=q.period.start, end=q.period.end, campaign=q.filters.campaign)
    return {(a, c): minor for a, by in earned.items() for c, minor in by.items()}


def new_customers(db: Database, links: list[dict], advocates: dict, selves: dict, q, s) -> dict:
    """{(advocate id, currency): ppm}: customers whose first purchase ever
    falls in the period, credited to the advocate's links under the model;
    the advocate buying through their own link is not a customer brought."""
    advocate_of = {link["id"]: link["advocate_id"] for link in links}
    out = defaultdict(int)
    for link_id, currency, ppm, visitor_id, customer_id in new_customers_of_links(
        db, q.period, q.model, list(advocate_of), s.purchase_goals
    ):
        advocate_id = advocate_of[link_id]
        own = selves.get(advocate_id)
        if own is None or visitor_id in own.visitor_ids:
            continue
        if customer_id and customer_id == advocates[advocate_id]["customer_id"]:
            continue
        out[(advocate_id, currency)] += ppm
    return out


def return_figures(
    fees: dict | None, rewards: int | None, revenue: int, new_ppm: int, currency: str
) -> dict:
    """An advocate's cost against what they brought, by the cost-and-return
    report's rules: cost = their fees in the period (cost rows naming them)
    + the rewards they earned; nothing entered (no fee row, no reward) is an
    empty cost, never zero; ROMI counts rewards as pay for people (labor)."""
    if fees is None and rewards is None:
        return dict.fromkeys(("fees", "cost", "cac", "roi_percent", "romi")) | {
            "new_customers": conversions_number(new_ppm)
        }
    fee = sum(fees.values()) if fees is not None else None
    cost = (fee or 0) + (rewards or 0)
    people = (fees or {}).get("labor", 0) + (fees or {}).get("platform", 0) + (rewards or 0)
    return {
        "fees": money(fee, currency),
        "cost": money(cost, currency),
        "new_customers": conversions_number(new_ppm),
        "cac": money(per(cost, new_ppm), currency),
        "roi_percent": percent(revenue - cost, cost),
        "romi": ratio(revenue, people),
    }


def advocate_rows(db: Database, q, s) -> list[dict]:
    """One row per advocate and currency, best first (converted visitors,
    then revenue): what their personal links brought in the period."""
    refresh(db)
    advocates = _advocates(db)
    links = personal_links(db, q.filters)
    by_advocate = defaultdict(list)
    for link in links:
        by_advocate[link["advocate_id"]].append(link)
    figures = link_figures(db, [link["id"] for link in links], q)
    campaigns = _campaign_figures(db, links, figures, q)
    rewards = rewards_earned(db, q)
    refunded = defaultdict(list)
    for advocate_id, *refund in refunds(db, links, q):
        refunded[advocate_id].append(refund)
    figured = defaultdict(set)  # advocate id -> currencies with a figure besides revenue
    for advocate_id, currency in rewards:
        figured[advocate_id].add(currency)
    filtered = bool(q.filters.channel or q.filters.campaign)
    keys = by_advocate if filtered else advocates
    theirs, selves = {}, {}
    for advocate_id in keys:
        link_ids = [link["id"] for link in by_advocate.get(advocate_id, [])]
        total = Figures()
        for link_id in link_ids:
            if link_id in figures:
                total.add(figures[link_id])
        selves[advocate_id] = self_figures(db, advocates[advocate_id], link_ids, q)
        theirs[advocate_id] = without_self(total, selves[advocate_id])
    new = new_visitors(db, {a: f.reach for a, f in theirs.items()}, links, q)
    fees = advocate_totals(db, q.period, q.filters)
    customers = new_customers(db, links, advocates, selves, q, s)
    for advocate_id, currency in [*fees, *customers]:
        figured[advocate_id].add(currency)
    ranked = []
    for advocate_id in keys:
        advocate = advocates[advocate_id]
        own_links = by_advocate.get(advocate_id, [])
        own, mine = selves[advocate_id], theirs[advocate_id]
        pool = Figures()
        for campaign in {link["campaign"] for link in own_links}:
            pool.add(campaigns[campaign])
        n, converted = len(mine.reach), len(mine.converters)
        baseline = ratio(len(pool.converters), len(pool.reach))
        verdict, interval = against_baseline(converted, n, baseline)
        base = {
            "advocate": advocate["handle"],
            "name": advocate["name"],
            "depth": advocate["depth"],
            "parent": advocate["parent"],
            "active": bool(advocate["active"]),
        }
        figures_row = {
            "links": len(own_links),
            "human_clicks": mine.human_clicks,
            "unique_visitors": n,
            "new_visitors": new.get(advocate_id, 0),
            "converted_visitors": converted,
            "conversion_rate": ratio(converted, n),
            "conversion_rate_low": None if interval is None else round(interval[0], 6),
            "conversion_rate_high": None if interval is None else round(interval[1], 6),
            "campaign_conversion_rate": baseline,
            "verdict": VERDICTS[verdict],
        }
        currencies = {c for c, v in mine.ppm.items() if v} | figured[advocate_id]
        for currency in sorted(currencies) or [s.default_currency]:
            ranked.append(
                {
                    **base,
                    "currency": currency,
                    **figures_row,
                    "conversions": conversions_number(mine.ppm.get(currency, 0)),
                    "revenue": format_minor(mine.revenue.get(currency, 0), currency),
                    "refunded_revenue": format_minor(
                        sum(
                            minor
                            for cur, minor, visitor_id, customer_id in refunded[advocate_id]
                            if cur == currency
                            and visitor_id not in own.visitor_ids
                            and not (customer_id and customer_id == advocate["customer_id"])
                        ),
                        currency,
                    ),
                    "self_conversions": len(own.conversions),
                    "invited_friends": advocate["invited"],
                    "rewards_earned": format_minor(
                        rewards.get((advocate_id, currency), 0), currency
                    ),
                    **return_figures(
                        fees.get((advocate_id, currency)),
                        rewards.get((advocate_id, currency)),
                        mine.revenue.get(currency, 0),
                        customers.get((advocate_id, currency), 0),
                        currency,
                    ),
                    "_order": (-converted, -mine.revenue.get(currency, 0), advocate["handle"]),
                }
            )
    ranked.sort(key=lambda r: r["_order"])
    for row in ranked:
        del row["_order"]
    return ranked


# -- the referral chain --------------------------------------------------------


def referral_rows(db: Database, q, s) -> list[dict]:
    """Per campaign and generation g (1 = the friends of the advocates who
    were invited first): the advocates of depth g-1 sharing in the campaign,
    the friends who converted through their links, the invitations those
    friends went on to create (personal links of depth-g advocates), the
    visitors those invitations reached and converted, and the viral
    coefficient k = invitations per converted friend x conversion rate of
    the invited. Invitations count whenever they were made; clicks and
    conversions only in the period."""
    refresh(db)
    advocates = _advocates(db)
    links = personal_links(db, q.filters)
    figures = link_figures(db, [link["id"] for link in links], q)
    selves = {}

    def mine(advocate_id, campaign) -> Figures:
        link_ids = [
            link["id"]
            for link in links
            if link["advocate_id"] == advocate_id and link["campaign"] == campaign
        ]
        if (advocate_id, campaign) not in selves:
            selves[(advocate_id, campaign)] = self_figures(db, advocates[advocate_id], link_ids, q)
        total = Figures()
        for link_id in link_ids:
            if link_id in figures:
                total.add(figures[link_id])
        return without_self(total, selves[(advocate_id, campaign)])

    sharing = defaultdict(lambda: defaultdict(set))  # campaign -> depth -> advocate ids
    invitations = defaultdict(lambda: defaultdict(int))  # campaign -> depth -> links
    for link in links:
        depth = advocates[link["advocate_id"]]["depth"]
        sharing[link["campaign"]][depth].add(link["advocate_id"])
        invitations[link["campaign"]][depth] += 1
    rows = []
    for campaign in sorted(sharing):
        depths = sharing[campaign]
        for depth in range(0, max(depths) + 1):
            sharers = depths.get(depth, set())
            if not sharers:
                continue
            friends = Figures()
            for advocate_id in sharers:
                friends.add(mine(advocate_id, campaign))
            invited = Figures()
            for advocate_id in depths.get(depth + 1, set()):
                invited.add(mine(advocate_id, campaign))
            converted = len(friends.converters)
            sent = invitations[campaign].get(depth + 1, 0)
            k = viral_coefficient(sent, converted, len(invited.reach), len(invited.converters))
            rows.append(
                {
                    "campaign": campaign,
                    "generation": depth + 1,
                    "advocates": len(sharers),
                    "friends_converted": converted,
                    "friends_converted_per_advocate": ratio(converted, len(sharers)),
                    "invitations": sent,
                    "invitations_per_converted": ratio(sent, converted),
                    "invited_visitors": len(invited.reach),
                    "invited_converted": len(invited.converters),
                    "invited_conversion_rate": ratio(len(invited.converters), len(invited.reach)),
                    "k": None if k is None else round(k, 6),
                }
            )
    return rows


# -- whom to invite next -----------------------------------------------------------

# The score, in points (documented in the README):
REPEAT_POINTS, REPEAT_CAP = 2, 10  # per purchase after the first
REVENUE_POINTS_CAP = 5  # revenue / the median customer's revenue (same currency)
TENURE_DAYS_PER_POINT, TENURE_CAP = 30, 6  # per 30 days since the first purchase
SAVE_POINTS = -2  # per save: they were about to leave
FRIENDS_POINTS = 10  # x the lower 95 % bound of their friends' conversion rate


def candidate_score(
    repeat_purchases: int,
    revenue_ratio: float | None,
    tenure_days: float,
    saves: int,
    friends_low: float | None,
    cancelled: bool,
) -> float:
    """Points for how much a customer is worth inviting as an advocate: a
    pure function of the figures, rounded to two places. A customer who
    cancelled scores 0: they are not going to recommend what they left."""
    if cancelled:
        return 0.0
    points = min(REPEAT_CAP, REPEAT_POINTS * repeat_purchases)
    points += min(REVENUE_POINTS_CAP, revenue_ratio or 0)
    points += min(TENURE_CAP, int(tenure_days // TENURE_DAYS_PER_POINT))
    points += SAVE_POINTS * saves
    points += FRIENDS_POINTS * (friends_low or 0)
    return round(max(0.0, points), 2)


def candidate_rows(db: Database, q, s) -> list[dict]:
    """Customers whose first purchase falls in the period (all of them
    without one), ranked by `candidate_score`; one row per customer in
    their main currency (the one they spent most in)."""
    refresh(db)
    until = observed_until(q)
    customers = cohort(db, q, s.purchase_goals, until)
    events = defaultdict(lambda: defaultdict(int))
    for key, goal in db.execute(
        "SELECT CASE WHEN customer_id IS NOT NULL THEN 'c:' || customer_id"
        " ELSE 'v:' || visitor_id END, goal FROM conversions"
        " WHERE goal IN (?, ?) AND occurred_at < ?",
        [SAVE_GOAL, CANCEL_GOAL, to_db(until)],
    ):
        events[key][goal] += 1
    advocates = {
        f"c:{r['customer_id']}": r
        for r in db.query("SELECT * FROM advocates WHERE customer_id IS NOT NULL ORDER BY id")
    }
    links = personal_links(db, Filters())
    figures = link_figures(db, [link["id"] for link in links], _all_time(q))
    spend = {}
    for c in customers:
        totals = defaultdict(int)
        for p in c.purchases:
            totals[p.currency] += p.value_minor
        currency = max(sorted(totals), key=lambda cur: totals[cur])
        spend[c.key] = (currency, totals[currency])
    medians = {}
    for currency in {cur for cur, _ in spend.values()}:
        amounts = sorted(v for cur, v in spend.values() if cur == currency)
        medians[currency] = amounts[(len(amounts) - 1) // 2]  # the lower median
    rows = []
    for c in customers:
        currency, revenue = spend[c.key]
        advocate = advocates.get(c.key)
        reached = converted = None
        low = None
        if advocate is not None:
            link_ids = [link["id"] for link in links if link["advocate_id"] == advocate["id"]]
            total = Figures()
            for link_id in link_ids:
                if link_id in figures:
                    total.add(figures[link_id])
            own = self_figures(db, advocate, link_ids, _all_time(q))
            mine = without_self(total, own)
            reached, converted = len(mine.reach), len(mine.converters)
            interval = wilson_interval(min(converted, reached), reached)
            low = None if interval is None else round(interval[0], 6)
        tenure = days_between(c.purchases[0].at, until)
        saves = events[c.key][SAVE_GOAL]
        cancelled = events[c.key][CANCEL_GOAL] > 0
        revenue_ratio = revenue / medians[currency] if medians[currency] else None
        rows.append(
            {
                "customer": c.key[2:] if c.key.startswith("c:") else f"visitor:{c.key[2:]}",
                "advocate": advocate["handle"] if advocate else None,
                "currency": currency,
                "purchases": len(c.purchases),
                "repeat_purchases": len(c.purchases) - 1,
                "revenue": money(revenue, currency),
                "first_purchase": c.purchases[0].at.date().isoformat(),
                "tenure_days": round(tenure, 6),
                "saves": saves,
                "cancelled": cancelled,
                "friends_reached": reached,
                "friends_converted": converted,
                "friends_conversion_low": low,
                "score": candidate_score(
                    len(c.purchases) - 1, revenue_ratio, tenure, saves, low, cancelled
                ),
            }
        )
    rows.sort(key=lambda r: (-r["score"], r["customer"]))
    return rows


def _all_time(q):
    """Friends' figures for candidates: everything up to as_of."""
    end = (observed_until(q) - timedelta(microseconds=1)).date()
    return replace(q, period=Period(None, end))
