"""ROI analytics read from the report aggregates: attribution under every
model, conversions by goal, cost and return, earned pay-per-click value,
saves, growth over time, and the control-group comparison.

Per-period and per-channel figures come from `link_day` and `credit_day`
(brought up to date by `aggregates.refresh`), never from the click log,
so they cost the same at ten million clicks as at ten. Money is kept per
currency -- a row per channel and currency, its money columns in that
currency, never summed across currencies -- and each currency is its own
book: a row's conversions, revenue, new customers and cost are those in
its currency. Click and visitor counts are the channel's and repeat on
each of its currency rows.
"""

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from sqlite_utils import Database

from . import costs as ledger
from . import customers, journeys, prices
from .aggregates import DIRECT, channel_click_rows, channel_credit_rows, refresh, union
from .attribution import MODELS, ONE
from .figures import growth, money, per, percent
from .goals import list_goals
from .money import MoneyError, check_currency, exponent, format_minor
from .reports import DIRECT_CHANNEL, Filters, Period, conversions_number, ratio
from .stats import lift, newcombe_difference

BY = ("channel", "campaign")
SIZES = ("day", "week", "month")
MAX_BUCKETS = 1000
ALL_TIME = Period()
NO_FILTERS = Filters()
GROUPS = ("social", "non_social", "control")


class ReportError(ValueError):
    """A request a report cannot answer; `field` names the parameter."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.message = message
        self.field = field


# -- configuration -----------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    default_currency: str = "USD"
    social_channels: tuple[str, ...] = ()
    purchase_goals: tuple[str, ...] = ("purchase", "upsell", "renewal")
    cpc: Mapping = field(default_factory=dict)  # channel or (channel, campaign) -> Decimal
    cpc_currency: str = "USD"


def settings_from(config: Mapping) -> Settings:
    """The analytics settings of an app's config; ValueError names a bad key.
    Called once when the app starts, so a bad price refuses to start
    instead of pricing clicks wrong."""
    default = str(config.get("DEFAULT_CURRENCY") or "USD").upper()
    try:
        cpc_currency = check_currency(config.get("EARNED_CPC_CURRENCY") or default)
    except MoneyError:
        raise ValueError("EARNED_CPC_CURRENCY must be a three-letter currency code") from None
    prices = config.get("EARNED_CPC") or {}
    if not isinstance(prices, Mapping):
        raise ValueError('EARNED_CPC must map channels to prices, e.g. {"twitter": "0.80"}')
    cpc = {}
    for name, value in prices.items():
        channel, _, campaign = str(name).partition("/")
        channel = channel.strip().lower()
        if not channel:
            raise ValueError(f"EARNED_CPC key {name!r} names no channel")
        try:
            price = Decimal(str(value).strip()) if not isinstance(value, float | bool) else None
        except InvalidOperation:
            price = None
        if price is None or not price.is_finite() or price < 0 or price.as_tuple().exponent < -6:
            raise ValueError(
                f'EARNED_CPC[{name!r}] must be a decimal string such as "0.80"'
                " (at most 6 decimal places, not negative)"
            )
        cpc[(channel, campaign.strip()) if campaign.strip() else channel] = price
    goals = config.get("PURCHASE_GOALS") or ("purchase", "upsell", "renewal")
    if isinstance(goals, str) or not all(isinstance(g, str) for g in goals):
        raise ValueError('PURCHASE_GOALS must be a list of goal names, e.g. ["purchase"]')
    return Settings(
        default_currency=default,
        social_channels=tuple(c.strip().lower() for c in config.get("SOCIAL_CHANNELS") or ()),
        purchase_goals=tuple(goals),
        cpc=cpc,
        cpc_currency=cpc_currency,
    )


@dataclass(frozen=True)
class Query:
    """What a report is asked for: the period (UTC days, `end` inclusive),
    attribution model, filters, and per report: `by` (channel or campaign),
    `size` of growth periods, and `as_of`, the last day customer reports
    look at (their cohort is the customers whose first purchase falls in
    the period)."""

    period: Period = ALL_TIME
    model: str = "last_touch"
    filters: Filters = NO_FILTERS
    by: str = "channel"
    size: str = "day"
    as_of: date | None = None
    now: datetime | None = None


# -- small helpers -----------------------------------------------------------


def key_fields(by: str, key) -> dict:
    if by == "channel":
        return {"channel": key}
    return {"channel": key[0], "campaign": key[1]}


def key_order(key):
    channel, campaign = (key, "") if isinstance(key, str) else key
    return (channel == DIRECT_CHANNEL, channel, campaign is not None, campaign or "")


def key_of(by: str, channel: str | None, campaign: str | None):
    if channel is None:
        return DIRECT_CHANNEL if by == "channel" else (DIRECT_CHANNEL, None)
    return channel if by == "channel" else (channel, campaign)


def _filtered(filters: Filters) -> bool:
    return bool(filters.channel or filters.campaign)


def click_rows(db: Database, period: Period, filters: Filters):
    """link_day rows in the period, with their link's channel and campaign."""
    day_sql, day_params = period.where("d.day")
    link_sql, link_params = filters.link_where()
    return db.query(
        "SELECT l.channel, l.campaign, d.day, d.clicks, d.human_clicks, d.visitors"
        f" FROM link_day d JOIN links l ON l.id = d.link_id WHERE {day_sql} AND {link_sql}",
        [*day_params, *link_params],
    )


def credit_rows(db: Database, period: Period, filters: Filters, models, goal=None):
    """credit_day rows (with their converter bitmaps) for the models in the
    period; channel is None for (direct), which a channel or campaign
    filter leaves out."""
    where, params = _credit_where(period, filters, models, goal)
    return db.query(
        "SELECT l.channel, l.campaign, c.day, c.model, c.goal, c.currency,"
        " c.conversions_ppm, c.revenue_minor, c.converters"
        f" FROM credit_day c LEFT JOIN links l ON l.id = c.link_id WHERE {where}",
        params,
    )


def _credit_where(period: Period, filters: Filters, models, goal) -> tuple[str, list]:
    day_sql, day_params = period.where("c.day")
    link_sql, link_params = filters.link_where()
    if _filtered(filters):
        link_sql = f"c.link_id != {DIRECT} AND {link_sql}"
    goal = goal if goal is not None else filters.goal
    goal_sql, goal_params = ("c.goal = ?", [goal]) if goal else ("TRUE", [])
    models = list(models)
    return (
        f"c.model IN ({','.join('?' * len(models))}) AND {day_sql} AND {link_sql} AND {goal_sql}",
        [*models, *day_params, *link_params, *goal_params],
    )


def credit_sums(db: Database, period: Period, filters: Filters, models, goal=None, by_day=False):
    """Like `credit_rows` without the bitmaps, summed by SQLite per link,
    model, goal and currency (and day): far fewer rows to bring into Python."""
    where, params = _credit_where(period, filters, models, goal)
    day = ", c.day" if by_day else ""
    return db.query(
        f"SELECT l.channel, l.campaign{day}, c.model, c.goal, c.currency,"
        " sum(c.conversions_ppm) AS conversions_ppm, sum(c.revenue_minor) AS revenue_minor"
        f" FROM credit_day c LEFT JOIN links l ON l.id = c.link_id WHERE {where}"
        # the link's channel and campaign follow from its id; PostgreSQL wants them named
        f" GROUP BY c.link_id, l.channel, l.campaign, c.model, c.goal, c.currency{day}",
        params,
    )


def click_sums(db: Database, period: Period, filters: Filters):
    """Human clicks per link in the period (no bitmaps read)."""
    day_sql, day_params = period.where("d.day")
    link_sql, link_params = filters.link_where()
    return db.query(
        "SELECT l.channel, l.campaign, sum(d.human_clicks) AS human_clicks"
        f" FROM link_day d JOIN links l ON l.id = d.link_id WHERE {day_sql} AND {link_sql}"
        " GROUP BY d.link_id, l.channel, l.campaign",
        [*day_params, *link_params],
    )


def click_keys(db: Database, q: Query) -> set:
    """The channels (or campaigns) with clicks in the period (read from the
    primary-key index of link_day alone)."""
    day_sql, day_params = q.period.where("d.day")
    link_sql, link_params = q.filters.link_where()
    rows = db.query(
        "SELECT l.channel, l.campaign FROM links l WHERE l.id IN"
        f" (SELECT DISTINCT d.link_id FROM link_day d WHERE {day_sql}) AND {link_sql}",
        [*day_params, *link_params],
    )
    return {key_of(q.by, r["channel"], r["campaign"]) for r in rows}


def check_model(model: str) -> None:
    if model not in MODELS:
        raise ReportError(f"model must be one of {', '.join(MODELS)}", "model")


# -- attribution -------------------------------------------------------------


def attribution_columns(by: str) -> list[str]:
    columns = [*key_fields(by, ("", "")), "currency", "conversions", "revenue"]
    for m in MODELS:
        columns += [f"{m}_conversions", f"{m}_revenue"]
    return columns


def attribution_sums(db: Database, q: Query):
    """`credit_sums` under every model; by whole channels from the channel
    rollups (a row per channel and month, days at the edges), which stay few
    however long the period, else from every link's days."""
    if q.by != "channel" or q.filters.campaign:
        yield from credit_sums(db, q.period, q.filters, MODELS)
        return
    channel = q.filters.channel.lower() if q.filters.channel else None
    for model in MODELS:
        for r in channel_credit_rows(
            db, model, q.period.start, q.period.end, channel, q.filters.goal
        ):
            yield {**r, "campaign": None, "model": model}


def attribution_rows(db: Database, q: Query, s: Settings) -> list[dict]:
    """Attributed conversions and revenue per channel (or campaign) and
    currency under the chosen model, and side by side under every model."""
    check_model(q.model)
    refresh(db)
    totals = defaultdict(lambda: defaultdict(lambda: [0, 0]))
    currencies = defaultdict(set)
    for r in attribution_sums(db, q):
        key = key_of(q.by, r["channel"], r["campaign"])
        t = totals[(key, r["currency"])][r["model"]]
        t[0] += r["conversions_ppm"]
        t[1] += r["revenue_minor"]
        currencies[key].add(r["currency"])
    keys = set(currencies) | set(click_keys(db, q))
    rows = []
    for key in sorted(keys, key=key_order):
        for currency in sorted(currencies[key]) or [s.default_currency]:
            by_model = totals[(key, currency)]
            row = {**key_fields(q.by, key), "currency": currency}
            ppm, revenue = by_model[q.model]
            row["conversions"] = conversions_number(ppm)
            row["revenue"] = format_minor(revenue, currency)
            for m in MODELS:
                ppm, revenue = by_model[m]
                row[f"{m}_conversions"] = conversions_number(ppm)
                row[f"{m}_revenue"] = format_minor(revenue, currency)
            rows.append(row)
    return rows


# -- conversions by goal -----------------------------------------------------

GOAL_COLUMNS = [
    "goal",
    "currency",
    "conversions",
    "value",
    "average_value",
    "catalogue_value",
    "catalogue_currency",
]


def goal_rows(db: Database, q: Query, s: Settings) -> list[dict]:
    """Every goal of the catalogue with its conversions and the value they
    carry, per currency (attributed shares when a channel is chosen)."""
    check_model(q.model)
    refresh(db)
    totals = defaultdict(lambda: [0, 0])
    for r in credit_sums(db, q.period, q.filters, [q.model]):
        t = totals[(r["goal"], r["currency"])]
        t[0] += r["conversions_ppm"]
        t[1] += r["revenue_minor"]
    rows = []
    for goal in list_goals(db):
        if q.filters.goal and goal["name"] != q.filters.goal:
            continue
        catalogue_currency = goal["currency"] or s.default_currency
        currencies = sorted(c for g, c in totals if g == goal["name"]) or [catalogue_currency]
        for currency in currencies:
            ppm, value = totals.get((goal["name"], currency), (0, 0))
            rows.append(
                {
                    "goal": goal["name"],
                    "currency": currency,
                    "conversions": conversions_number(ppm),
                    "value": format_minor(value, currency),
                    "average_value": money(per(value, ppm), currency),
                    "catalogue_value": format_minor(goal["value_minor"], catalogue_currency),
                    "catalogue_currency": catalogue_currency,
                }
            )
    return rows


# -- cost and return ---------------------------------------------------------


def roi_columns(by: str) -> list[str]:
    return [
        *key_fields(by, ("", "")),
        "currency",
        "cost",
        *(f"{kind}_cost" for kind in ledger.KINDS),
        "conversions",
        "cost_per_conversion",
        "revenue",
        "new_customers",
        "cac",
        "roi_percent",
        "romi",
    ]


def roi_figures(db: Database, q: Query, s: Settings) -> dict[tuple, dict]:
    """{(key, currency): {"ppm", "revenue", "new_ppm", "kinds"}} per channel
    (or campaign) and currency, money in minor units; `kinds` (the cost per
    kind) is None where no cost row falls on that key and currency: no cost
    entered, which is not a cost of zero."""
    check_model(q.model)
    refresh(db)
    revenue = defaultdict(lambda: [0, 0])
    for r in credit_sums(db, q.period, q.filters, [q.model]):
        t = revenue[(key_of(q.by, r["channel"], r["campaign"]), r["currency"])]
        t[0] += r["conversions_ppm"]
        t[1] += r["revenue_minor"]
    spent = ledger.cost_totals(db, q.period, q.filters, q.by)
    new = customers.new_customer_credits(db, q.period, q.model, q.filters, q.by, s.purchase_goals)
    pairs = set(revenue) | set(spent) | set(new)
    currencies = defaultdict(set)
    for key, currency in pairs:
        currencies[key].add(currency)
    figures = {}
    for key in sorted(set(currencies) | set(click_keys(db, q)), key=key_order):
        for currency in sorted(currencies[key]) or [s.default_currency]:
            ppm, earned = revenue.get((key, currency), (0, 0))
            figures[(key, currency)] = {
                "ppm": ppm,
                "revenue": earned,
                "new_ppm": new.get((key, currency), 0),
                "kinds": spent.get((key, currency)),
            }
    return figures


def roi_rows(db: Database, q: Query, s: Settings) -> list[dict]:
    """Cost, attributed revenue and new customers per channel (or campaign)
    and currency, with CAC, ROI %, ROMI and cost per conversion. A row with
    no cost entered has every cost figure empty (null), never 0.00."""
    rows = []
    for (key, currency), f in roi_figures(db, q, s).items():
        row = {**key_fields(q.by, key), "currency": currency}
        kinds = f["kinds"]
        cost = None if kinds is None else sum(kinds.values())
        row["cost"] = money(cost, currency)
        for kind in ledger.KINDS:
            row[f"{kind}_cost"] = None if kinds is None else money(kinds[kind], currency)
        row.update(
            {
                "conversions": conversions_number(f["ppm"]),
                "cost_per_conversion": None
                if cost is None
                else money(per(cost, f["ppm"]), currency),
                "revenue": money(f["revenue"], currency),
                "new_customers": conversions_number(f["new_ppm"]),
                "cac": None if cost is None else money(per(cost, f["new_ppm"]), currency),
                "roi_percent": None if cost is None else percent(f["revenue"] - cost, cost),
                "romi": None
                if kinds is None
                else ratio(f["revenue"], kinds["labor"] + kinds["platform"]),
            }
        )
        rows.append(row)
    return rows


def roi_totals(db: Database, q: Query, s: Settings) -> list[dict]:
    """The headline money figures per currency: all the cost entered and all
    the attributed revenue, and ROI % and CAC over the channels (or
    campaigns) that have a cost entered -- revenue where nothing was entered
    as spent would otherwise read as free return. Channels without a cost
    are listed so a page can say so."""
    totals = {}
    for (key, currency), f in roi_figures(db, q, s).items():
        t = totals.setdefault(
            currency,
            {"cost": None, "revenue": 0, "costed_revenue": 0, "costed_new_ppm": 0,
             "without_cost": []},
        )  # fmt: skip
        t["revenue"] += f["revenue"]
        if f["kinds"] is None:
            if key != DIRECT_CHANNEL and key != (DIRECT_CHANNEL, None):
                t["without_cost"].append(key)
            continue
        t["cost"] = (t["cost"] or 0) + sum(f["kinds"].values())
        t["costed_revenue"] += f["revenue"]
        t["costed_new_ppm"] += f["new_ppm"]
    out = []
    for currency, t in sorted(totals.items()):
        cost = t["cost"]
        out.append(
            {
                "currency": currency,
                "cost": money(cost, currency),
                "revenue": money(t["revenue"], currency),
                "costed_revenue": money(t["costed_revenue"], currency),
                "costed_new_customers": conversions_number(t["costed_new_ppm"]),
                "cac": None if cost is None else money(per(cost, t["costed_new_ppm"]), currency),
                "roi_percent": None if cost is None else percent(t["costed_revenue"] - cost, cost),
                "without_cost": t["without_cost"],
            }
        )
    return out


# -- earned pay-per-click value -----------------------------------------------


def earned_columns(by: str) -> list[str]:
    return [*key_fields(by, ("", "")), "currency", "human_clicks", "cpc", "earned_value", "cost"]


def price_of(s: Settings, channel: str, campaign: str | None) -> Decimal | None:
    if campaign is not None and (channel, campaign) in s.cpc:
        return s.cpc[(channel, campaign)]
    return s.cpc.get(channel)


def to_minor_units(amount: Decimal, currency: str) -> int:
    return int(amount.scaleb(exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def earned_rows(db: Database, q: Query, s: Settings) -> list[dict]:
    """Human clicks priced at the cost per click set in the dashboard (or
    the API), else in the EARNED_CPC setting (a campaign's own price before
    its channel's), next to the actual cost."""
    refresh(db)
    s = replace(s, cpc={**s.cpc, **prices.stored_prices(db, s.cpc_currency)})
    clicks = defaultdict(int)  # (channel, campaign) -> human clicks
    for r in click_sums(db, q.period, q.filters):
        clicks[(r["channel"], r["campaign"])] += r["human_clicks"]
    human = defaultdict(int)
    value = {}
    for (channel, campaign), n in clicks.items():
        key = key_of(q.by, channel, campaign)
        human[key] += n
        price = price_of(s, channel, campaign)
        if price is not None:
            value[key] = value.get(key, Decimal(0)) + n * price
    spent = ledger.cost_totals(db, q.period, q.filters, q.by)
    currencies = defaultdict(set)
    for key, currency in spent:
        currencies[key].add(currency)
    keys = set(human) | set(currencies)
    rows = []
    for key in sorted(keys, key=key_order):
        channel, campaign = (key, None) if q.by == "channel" else key
        price = price_of(s, channel, campaign)
        row_currencies = set(currencies[key])
        if key in value:
            row_currencies.add(s.cpc_currency)
        for currency in sorted(row_currencies) or [s.default_currency]:
            priced = key in value and currency == s.cpc_currency
            kinds = spent.get((key, currency))  # None: no cost entered, not a cost of zero
            rows.append(
                {
                    **key_fields(q.by, key),
                    "currency": currency,
                    "human_clicks": human.get(key, 0),
                    "cpc": str(price) if priced and price is not None else None,
                    "earned_value": (
                        format_minor(to_minor_units(value[key], currency), currency)
                        if priced
                        else None
                    ),
                    "cost": None if kinds is None else format_minor(sum(kinds.values()), currency),
                }
            )
    return rows


# -- saves -------------------------------------------------------------------


def saves_columns(by: str) -> list[str]:
    return [*key_fields(by, ("", "")), "currency", "saves", "saved_visitors", "saved_value"]


SAVE_GOAL = "save"


def saves_rows(db: Database, q: Query, s: Settings) -> list[dict]:
    """Conversions of goal `save` (a customer kept from cancelling) credited
    per channel (or campaign), and the value they saved."""
    check_model(q.model)
    refresh(db)
    totals = defaultdict(lambda: [0, 0, []])
    for r in credit_rows(db, q.period, q.filters, [q.model], goal=SAVE_GOAL):
        t = totals[(key_of(q.by, r["channel"], r["campaign"]), r["currency"])]
        t[0] += r["conversions_ppm"]
        t[1] += r["revenue_minor"]
        t[2].append(r["converters"])
    currencies = defaultdict(set)
    for key, currency in totals:
        currencies[key].add(currency)
    keys = set(currencies) | set(click_keys(db, q))
    rows = []
    for key in sorted(keys, key=key_order):
        for currency in sorted(currencies[key]) or [s.default_currency]:
            ppm, value, blobs = totals.get((key, currency), (0, 0, []))
            rows.append(
                {
                    **key_fields(q.by, key),
                    "currency": currency,
                    "saves": conversions_number(ppm),
                    "saved_visitors": len(union(blobs)),
                    "saved_value": format_minor(value, currency),
                }
            )
    return rows


# -- growth ------------------------------------------------------------------

GROWTH_COLUMNS = [
    "channel",
    "currency",
    "period",
    "days",
    "human_clicks",
    "visitors",
    "conversions",
    "revenue",
    "cost",
    "human_clicks_growth",
    "visitors_growth",
    "conversions_growth",
    "revenue_growth",
    "cost_growth",
]


def bucket_start(day: date, size: str) -> date:
    if size == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if size == "month":
        return day.replace(day=1)
    return day


def next_bucket(start: date, size: str) -> date:
    if size == "day":
        return start + timedelta(days=1)
    if size == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def buckets(start: date, end: date, size: str) -> list[tuple[date, date, date]]:
    """(label, first day, last day) per period from start to end, the first
    and last cut to the range."""
    out = []
    label = bucket_start(start, size)
    while label <= end:
        following = next_bucket(label, size)
        out.append((label, max(label, start), min(following - timedelta(days=1), end)))
        if len(out) > MAX_BUCKETS:
            raise ReportError(
                f"more than {MAX_BUCKETS} periods: choose a shorter range or a longer period",
                "period",
            )
        label = following
    return out


def data_span(db: Database) -> tuple[date | None, date | None]:
    """The first and last day with clicks, conversions or costs."""
    days = []
    for table in ("link_day", "credit_day"):
        # two subqueries: SQLite answers a lone min() or max() from the index,
        # min() and max() in one SELECT by reading every row
        row = next(
            db.query(
                f"SELECT (SELECT min(day) FROM {table}) AS lo, (SELECT max(day) FROM {table}) AS hi"
            )
        )
        days += [d for d in (row["lo"], row["hi"]) if d]
    row = next(db.query("SELECT min(start_day) AS lo, max(end_day) AS hi FROM costs"))
    days += [d for d in (row["lo"], row["hi"]) if d]
    if not days:
        return None, None
    return date.fromisoformat(min(days)), date.fromisoformat(max(days))


def growth_rows(db: Database, q: Query, s: Settings) -> list[dict]:
    """Per channel, currency and period: human clicks, visitors,
    conversions, revenue and cost, with growth % against the previous
    period. Periods with nothing in them are rows of zeros."""
    check_model(q.model)
    if q.size not in SIZES:
        raise ReportError(f"period must be one of {', '.join(SIZES)}", "period")
    refresh(db)
    first, last = data_span(db)
    start = q.period.start or first
    end = q.period.end or (q.now.date() if q.now else last)
    if start is None or end is None or end < start:
        return []
    periods = buckets(start, end, q.size)
    index = {}
    for i, (_, lo, hi) in enumerate(periods):
        for n in range((hi - lo).days + 1):
            index[(lo + timedelta(days=n)).isoformat()] = i
    period = Period(start, end)
    if q.filters.campaign:  # a campaign's links: the link-level rows
        clicks, credits = _growth_by_link(db, q, period, index)
    else:  # whole channels: their rollups, a row per channel and month (or day)
        clicks, credits = _growth_by_channel(db, q, periods, index)
    channels = {channel for channel, _ in clicks} | {channel for channel, _, _ in credits}
    currencies = defaultdict(set)
    for channel, currency, _ in credits:
        currencies[channel].add(currency)
    spent = ledger.cost_by_bucket(db, period, q.filters, [(lo, hi) for _, lo, hi in periods])
    for channel, currency, _ in spent:
        channels.add(channel)
        currencies[channel].add(currency)
    rows = []
    for channel in sorted(channels, key=key_order):
        for currency in sorted(currencies[channel]) or [s.default_currency]:
            previous = None
            for i, (label, lo, hi) in enumerate(periods):
                human, visitors = clicks.get((channel, i), (0, 0))
                ppm, revenue = credits.get((channel, currency, i), (0, 0))
                cost = spent.get((channel, currency, i), 0)
                current = {
                    "human_clicks": human,
                    "visitors": visitors,
                    "conversions": ppm,
                    "revenue": revenue,
                    "cost": cost,
                }
                row = {
                    "channel": channel,
                    "currency": currency,
                    "period": label.isoformat(),
                    "days": (hi - lo).days + 1,
                    "human_clicks": current["human_clicks"],
                    "visitors": current["visitors"],
                    "conversions": conversions_number(ppm),
                    "revenue": format_minor(revenue, currency),
                    "cost": format_minor(cost, currency),
                }
                for name, value in current.items():
                    row[f"{name}_growth"] = growth(value, previous[name] if previous else None)
                rows.append(row)
                previous = current
    return rows


def _growth_by_link(db: Database, q: Query, period: Period, index: dict):
    """Growth's {(channel, i): (human clicks, visitors)} and {(channel,
    currency, i): [ppm, revenue]} from link_day and credit_day."""
    clicks = defaultdict(lambda: [0, []])
    credits = defaultdict(lambda: [0, 0])
    day_sql, day_params = period.where("d.day")
    link_sql, link_params = q.filters.link_where()
    for channel, day, human, blob in db.execute(
        "SELECT l.channel, d.day, d.human_clicks, d.visitors FROM link_day d"
        f" JOIN links l ON l.id = d.link_id WHERE {day_sql} AND {link_sql}",
        [*day_params, *link_params],
    ):
        c = clicks[(channel, index[day])]
        c[0] += human
        c[1].append(blob)
    for r in credit_sums(db, period, q.filters, [q.model], by_day=True):
        c = credits[(r["channel"] or DIRECT_CHANNEL, r["currency"], index[r["day"]])]
        c[0] += r["conversions_ppm"]
        c[1] += r["revenue_minor"]
    # distinct visitors once per channel and period, whatever its currency rows
    return {k: (human, len(union(blobs))) for k, (human, blobs) in clicks.items()}, credits


def _growth_by_channel(db: Database, q: Query, periods: list, index: dict):
    """The same from the channel rollups: a period that is a whole month
    reads that month's row (its visitors counted when it was rolled up),
    any other period its days' rows; so the work grows with channels and
    periods, not with links or clicks."""
    months = {}  # 'YYYY-MM' -> period number
    day_ranges = []
    for i, (_, lo, hi) in enumerate(periods):
        if q.size == "month" and lo.day == 1 and (hi + timedelta(days=1)).day == 1:
            months[lo.isoformat()[:7]] = i
        else:
            day_ranges.append((lo.isoformat(), hi.isoformat()))
    channel = q.filters.channel.lower() if q.filters.channel else None
    channel_sql = "channel = ? AND channel != ?" if channel else "TRUE"
    channel_params = [channel, DIRECT_CHANNEL] if channel else []
    goal_sql, goal_params = ("goal = ?", [q.filters.goal]) if q.filters.goal else ("TRUE", [])
    day_sql, day_params = _day_ranges(day_ranges)
    month_sql = f"month IN ({','.join('?' * len(months))})"

    clicks = defaultdict(lambda: [0, 0, []])  # (channel, i): human, rows' count, bitmaps
    sources = [
        (f"SELECT channel, month, human_clicks, visitor_count, NULL FROM channel_month"
         f" WHERE {month_sql}", list(months), months.get),
        # one day per period: its count; longer periods: merge the days' bitmaps
        (f"SELECT channel, day, human_clicks, visitor_count,"
         f" {'NULL' if q.size == 'day' else 'visitors'} FROM channel_day WHERE {day_sql}",
         day_params, index.get),
    ]  # fmt: skip
    for sql, params, bucket in sources:
        for name, when, human, count, blob in db.execute(
            f"{sql} AND {channel_sql}", [*params, *channel_params]
        ):
            c = clicks[(name, bucket(when))]
            c[0] += human
            c[1] = count
            c[2].append(blob)
    click_totals = {
        k: (human, count if len(blobs) == 1 else len(union(blobs)))
        for k, (human, count, blobs) in clicks.items()
    }
    credits = defaultdict(lambda: [0, 0])
    for table, column, params, bucket in (
        ("channel_credit_month", "month", list(months), months.get),
        ("channel_credit_day", "day", day_params, index.get),
    ):
        where = month_sql if column == "month" else day_sql
        for name, when, currency, ppm, revenue in db.execute(
            f"SELECT channel, {column}, currency, sum(conversions_ppm), sum(revenue_minor)"
            f" FROM {table} WHERE model = ? AND ({where}) AND {channel_sql} AND {goal_sql}"
            f" GROUP BY channel, {column}, currency",
            [q.model, *params, *channel_params, *goal_params],
        ):
            c = credits[(name, currency, bucket(when))]
            c[0] += ppm
            c[1] += revenue
    return click_totals, credits


def _day_ranges(ranges) -> tuple[str, list]:
    merged = []
    for lo, hi in ranges:  # consecutive periods: one range
        previous = merged[-1][1] if merged else None
        if previous and date.fromisoformat(previous) + timedelta(days=1) == date.fromisoformat(lo):
            merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    clauses, params = [], []
    for lo, hi in merged:
        clauses.append("(day >= ? AND day <= ?)")
        params += [lo, hi]
    return " OR ".join(clauses) or "0", params


# -- control group -----------------------------------------------------------

CONTROL_COLUMNS = [
    "group",
    "currency",
    "visitors",
    "converted_visitors",
    "conversion_rate",
    "revenue",
    "revenue_per_visitor",
    "revenue_per_customer",
    "repeat_purchase_rate",
    "lift",
    "difference",
    "difference_low",
    "difference_high",
    "verdict",
]
GROUP_NAMES = {"social": "social", "non_social": "non-social", "control": "control"}


def verdict(group: str, n: int, control_n: int, interval) -> str | None:
    """The comparison with the control group in plain words."""
    if group == "control":
        return None
    name = GROUP_NAMES[group]
    sizes = f"n = {n} {name} / {control_n} control visitors"
    if interval is None:
        return f"no comparison yet: {sizes}"
    _, low, high = interval
    if low > 0:
        return (
            f"{name} visitors convert more often than control visitors "
            f"(95 % interval of the difference above zero), {sizes}"
        )
    if high < 0:
        return (
            f"{name} visitors convert less often than control visitors "
            f"(95 % interval of the difference below zero), {sizes}"
        )
    return f"not significant yet, {sizes}"


def control_rows(db: Database, q: Query, s: Settings) -> list[dict]:
    """Social, non-social and control visitors of the period: conversion
    rate, revenue per visitor and per customer, repeat purchases, and each
    group's lift over control with a 95 % interval for the difference."""
    refresh(db)
    social_blobs, other_blobs = [], []
    # the channel rollups (a row per channel and month, days at the edges):
    # few bitmaps to merge however long the period
    for r in channel_click_rows(db, q.period.start, q.period.end):
        (social_blobs if r["channel"] in s.social_channels else other_blobs).append(r["visitors"])
    social = union(social_blobs)
    non_social = union(other_blobs) - social
    control = customers.control_visitors(db, q.period)
    members = {"social": len(social), "non_social": len(non_social), "control": len(control)}
    converted = {g: set() for g in GROUPS}
    revenue = {g: defaultdict(int) for g in GROUPS}
    purchases = {g: defaultdict(int) for g in GROUPS}
    where, params = q.period.moments("c.occurred_at")
    for visitor_id, num, goal, value_minor, currency in db.execute(
        "SELECT c.visitor_id, v.num, c.goal, c.value_minor, c.currency FROM conversions c"
        " LEFT JOIN visitors v ON v.visitor_id = c.visitor_id"
        f" WHERE c.visitor_id IS NOT NULL AND {where}",
        params,
    ):
        if num is not None and num in social:
            group = "social"
        elif num is not None and num in non_social:
            group = "non_social"
        elif visitor_id in control:
            group = "control"
        else:
            continue
        if not q.filters.goal or goal == q.filters.goal:
            converted[group].add(visitor_id)
            revenue[group][currency] += value_minor
        if goal in s.purchase_goals:
            purchases[group][visitor_id] += 1
    rate = {g: ratio(len(converted[g]), members[g]) for g in GROUPS}
    rows = []
    for group in GROUPS:
        interval = None
        if group != "control":
            interval = newcombe_difference(
                len(converted[group]), members[group], len(converted["control"]),
                members["control"],
            )  # fmt: skip
        buyers = purchases[group]
        for currency in sorted(revenue[group]) or [s.default_currency]:
            amount = revenue[group][currency]
            lifted = None
            if group != "control" and members[group] and members["control"]:
                # from the counts, not the rounded rates
                lifted = lift(
                    len(converted[group]) / members[group],
                    len(converted["control"]) / members["control"],
                )
            rows.append(
                {
                    "group": group,
                    "currency": currency,
                    "visitors": members[group],
                    "converted_visitors": len(converted[group]),
                    "conversion_rate": rate[group],
                    "revenue": format_minor(amount, currency),
                    "revenue_per_visitor": money(per(amount, members[group] * ONE), currency),
                    "revenue_per_customer": money(
                        per(amount, len(converted[group]) * ONE), currency
                    ),
                    "repeat_purchase_rate": ratio(
                        sum(1 for n in buyers.values() if n >= 2), len(buyers)
                    ),
                    "lift": None if lifted is None else round(lifted, 6),
                    "difference": None if interval is None else round(interval[0], 6),
                    "difference_low": None if interval is None else round(interval[1], 6),
                    "difference_high": None if interval is None else round(interval[2], 6),
                    "verdict": verdict(group, members[group], members["control"], interval),
                }
            )
    return rows


# -- the catalogue of reports ------------------------------------------------


@dataclass(frozen=True)
class Report:
    """A report as the API and the CLI offer it; `uses` lists the query
    parameters it reads (the others are accepted and make no difference)."""

    name: str
    rows: object
    columns: object
    uses: tuple[str, ...]
    help: str


REPORTS = {
    r.name: r
    for r in [
        Report("attribution", attribution_rows, attribution_columns,
               ("from", "to", "model", "channel", "campaign", "goal", "by"),
               "Attributed conversions and revenue per channel, every model side by side."),
        Report("journeys", journeys.journey_rows, lambda by: journeys.COLUMNS,
               ("from", "to", "channel", "campaign", "goal"),
               "Conversions with their full campaign history: first, middle and last touch."),
        Report("goals", goal_rows, lambda by: GOAL_COLUMNS,
               ("from", "to", "model", "channel", "campaign", "goal"),
               "Conversions per goal and the value they carry."),
        Report("roi", roi_rows, roi_columns,
               ("from", "to", "model", "channel", "campaign", "goal", "by"),
               "Cost, revenue, new customers, CAC, ROI %, ROMI and cost per conversion."),
        Report("earned", earned_rows, earned_columns,
               ("from", "to", "channel", "campaign", "by"),
               "Human clicks priced as if bought (the prices per click set for it, EARNED_CPC"
               " by default), next to actual cost."),
        Report("saves", saves_rows, saves_columns,
               ("from", "to", "model", "channel", "campaign", "by"),
               "Saves (goal save) credited per channel, and the value they saved."),
        Report("growth", growth_rows, lambda by: GROWTH_COLUMNS,
               ("from", "to", "model", "channel", "campaign", "goal", "period"),
               "Per channel and day, week or month, with growth % on the previous period."),
        Report("control", control_rows, lambda by: CONTROL_COLUMNS,
               ("from", "to", "goal"),
               "Social vs non-social vs control visitors, lift with a 95 % interval."),
        Report("retention", customers.retention_rows, lambda by: customers.RETENTION_COLUMNS,
               ("from", "to", "channel", "campaign", "as_of"),
               "Share of customers who buy again within 30/60/90 days, per first touch."),
        Report("tenure", customers.tenure_rows, lambda by: customers.TENURE_COLUMNS,
               ("from", "to", "channel", "campaign", "as_of"),
               "Active and churned customers, Kaplan-Meier median tenure, per first touch."),
        Report("cross-sell", customers.cross_sell_rows, lambda by: customers.CROSS_SELL_COLUMNS,
               ("from", "to", "channel", "campaign", "as_of"),
               "Purchases and revenue per customer, share from upsells and repeat purchases."),
    ]
}  # fmt: skip


def run(name: str, db: Database, q: Query, s: Settings) -> tuple[list[str], list[dict]]:
    report = REPORTS[name]
    if q.by not in BY:
        raise ReportError("by must be channel or campaign", "by")
    return report.columns(q.by), report.rows(db, q, s)


# reports whose rows grow with the data (a row per conversion), read a page
# at a time in SQL: (the rows from an offset, how many rows in all)
PAGED = {"journeys": (journeys.journey_page, journeys.journey_count)}


def run_page(
    name: str, db: Database, q: Query, limit: int, offset: int
) -> tuple[list[str], list[dict], int]:
    """(columns, rows offset to offset + limit, how many rows in all) of a
    report in PAGED, with the rows `run` gives."""
    page, count = PAGED[name]
    return REPORTS[name].columns(q.by), page(db, q, limit, offset), count(db, q)
