"""The breakdown aggregates (breakdown_day, breakdown_credit_day) against
the raw log.

The breakdown report reads aggregates folded incrementally by `refresh`;
here its rows are compared with a straightforward computation over the
clicks, conversions and credits tables, for random logs built through the
real click and intake code: clicks from many countries, devices and
referrers, conversions arriving late and out of time order, pixel orders
replaced by their webhook, refreshes in between and in small batches. And
erasing a person leaves the report of a database in which they never were.
"""

import random
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from geo_fixture import COUNTRY_ADDRESSES, UNKNOWN_ADDRESSES

from conversions import aggregates, privacy
from conversions.aggregates import bitmap, refresh
from conversions.breakdown import BY, COLUMNS, breakdown_rows
from conversions.dimensions import values_of
from conversions.intake import Conversion, Policy, record_conversion
from conversions.reports import Filters, Period, conversions_number, ratio
from shortener.app import init_db
from shortener.clicks import Agent, record_click
from shortener.db import connect

START = datetime(2026, 3, 1, tzinfo=UTC)
LINKS = [("tw-1", "twitter", "spring"), ("tw-2", "twitter", "summer"),
         ("li-1", "linkedin", "spring"), ("nl-1", "newsletter", "may")]  # fmt: skip
AGENTS = [
    Agent("mobile", "Mobile Safari", "iOS", False),
    Agent("mobile", "Chrome Mobile", "Android", False),
    Agent("desktop", "Chrome", "Windows", False),
    Agent("tablet", "Mobile Safari", "iOS", False),
    Agent("bot", "FacebookBot", "Other", True),
]
ADDRESSES = [*COUNTRY_ADDRESSES, *UNKNOWN_ADDRESSES[:2], None]
REFERRERS = [None, "https://t.co/a", "https://T.CO/b", "https://www.linkedin.com/feed/",
             "android-app://com.slack/", "not a url", "http://[broken",
             "https://x.example:8443/"]  # fmt: skip
PERIODS = [
    Period(),
    Period(date(2026, 3, 3), date(2026, 3, 6)),
    Period(None, date(2026, 3, 4)),
    Period(date(2026, 3, 8), None),
]


def new_db(path):
    init_db(str(path))
    db = connect(str(path))
    db.execute("UPDATE goals SET value_minor = 1000, currency = 'EUR' WHERE name = 'signup'")
    for n, (code, channel, campaign) in enumerate(LINKS, start=1):
        db.execute(
            "INSERT INTO links (id, code, url, channel, campaign, created_at, updated_at)"
            " VALUES (?, ?, 'https://shop.example.com/', ?, ?, 'x', 'x')",
            [n, code, channel, campaign],
        )
    return db


def random_events(rng: random.Random, n: int) -> list[tuple]:
    """Clicks, conversions (some pixels replaced later by their webhook) and
    refreshes, at random moments over ten days whatever their order."""
    events, replacements = [], []
    for i in range(n):
        at = START + timedelta(seconds=rng.randrange(10 * 86400))
        visitor = f"p{rng.randrange(8)}"
        roll = rng.random()
        if roll < 0.72:
            agent = rng.randrange(len(AGENTS))
            who = None if AGENTS[agent].is_bot or rng.random() < 0.05 else visitor
            events.append(("click", who, rng.randint(1, len(LINKS)), at, agent,
                           rng.choice(ADDRESSES), rng.choice(REFERRERS),
                           "qr" if rng.random() < 0.2 else None))  # fmt: skip
        elif roll < 0.92:
            goal = rng.choice(["purchase", "purchase", "signup"])
            source = "pixel" if rng.random() < 0.3 else "webhook"
            value, currency = rng.randint(100, 99_999), rng.choice(["EUR", "USD"])
            events.append(("convert", visitor, at, goal, value, currency, f"o{i}", source))
            if source == "pixel" and rng.random() < 0.6:  # its webhook, some events later
                later = at + timedelta(minutes=rng.randrange(1, 600))
                webhook = ("convert", visitor, later, goal, rng.randint(100, 99_999),
                           rng.choice(["EUR", "USD"]), f"o{i}", "webhook")  # fmt: skip
                replacements.append((i + rng.randrange(1, 40), webhook))
        else:
            events.append(("refresh",))
        for due, webhook in [r for r in replacements if r[0] <= i]:
            events.append(webhook)
            replacements.remove((due, webhook))
    return events + [webhook for _, webhook in replacements]


def replay(db, events, skip: str | None = None) -> None:
    for event in events:
        kind, *rest = event
        if kind == "refresh":
            refresh(db)
        elif rest[0] == skip and skip is not None:
            continue
        elif kind == "click":
            visitor, link_id, at, agent, address, referrer, source = rest
            record_click(db, link_id=link_id, visitor_id=visitor, now=at, agent=AGENTS[agent],
                         is_bot=AGENTS[agent].is_bot, ip=address, referrer=referrer,
                         source=source)  # fmt: skip
        else:
            visitor, at, goal, value, currency, order, source = rest
            webhook_id = f"msg-{order}" if source == "webhook" else None
            conversion = Conversion(goal=goal, source=source, occurred_at=at, received_at=at,
                                    value_minor=value, currency=currency, order_id=order,
                                    visitor_id=visitor, webhook_id=webhook_id)  # fmt: skip
            record_conversion(db, conversion, Policy(window_days=5))


def in_period(day: str, period: Period) -> bool:
    return (not period.start or day >= period.start.isoformat()) and (
        not period.end or day <= period.end.isoformat()
    )


def value_of(by: str, row) -> str:
    if by in ("link", "campaign", "channel"):
        return row[{"link": "code", "campaign": "campaign", "channel": "channel"}[by]]
    return dict(values_of(row))[by]


ALL_TIME, NO_FILTERS = Period(), Filters()


def raw_breakdown(db, by, model="last_touch", period=ALL_TIME, filters=NO_FILTERS, link=None,
                  default_currency="USD") -> list[dict]:  # fmt: skip
    """The breakdown report computed straight from the raw tables."""

    def wanted(row) -> bool:
        return (
            (link is None or row["code"] == link)
            and (not filters.channel or row["channel"] == filters.channel.lower())
            and (not filters.campaign or row["campaign"] == filters.campaign)
        )

    clicks = defaultdict(lambda: [0, 0, set()])
    for row in db.query(
        "SELECT c.*, l.code, l.channel, l.campaign FROM clicks c JOIN links l ON l.id = c.link_id"
    ):
        if not in_period(row["ts"][:10], period) or not wanted(row):
            continue
        c = clicks[value_of(by, row)]
        c[0] += 1
        if not row["is_bot"]:
            c[1] += 1
            if row["visitor_id"]:
                c[2].add(row["visitor_id"])
    credits = defaultdict(lambda: [0, 0, set()])
    for row in db.query(
        "SELECT cr.weight_ppm, cr.revenue_minor, co.occurred_at, co.goal, co.currency,"
        " co.visitor_id, c.country, c.device, c.browser, c.os, c.referrer, c.source, c.post,"
        " l.code, l.channel, l.campaign FROM credits cr"
        " JOIN conversions co ON co.id = cr.conversion_id"
        " JOIN clicks c ON c.id = cr.click_row JOIN links l ON l.id = cr.link_id"
        " WHERE cr.model = ?",
        [model],
    ):
        if not in_period(row["occurred_at"][:10], period) or not wanted(row):
            continue
        if filters.goal and row["goal"] != filters.goal:
            continue
        c = credits[(value_of(by, row), row["currency"])]
        c[0] += row["weight_ppm"]
        c[1] += row["revenue_minor"]
        if row["weight_ppm"] and row["visitor_id"]:
            c[2].add(row["visitor_id"])
    values = set(clicks) | {value for value, _ in credits}
    order = sorted(values, key=lambda v: (-clicks[v][1], -clicks[v][0], v) if v in clicks
                   else (0, 0, v))  # fmt: skip
    rows = []
    for value in order:
        n, human, visitors = clicks.get(value, (0, 0, set()))
        for currency in sorted(cur for v, cur in credits if v == value) or [default_currency]:
            ppm, revenue, converted = credits.get((value, currency), (0, 0, set()))
            rows.append(dict(zip(COLUMNS, [
                value, currency, n, human, len(visitors), conversions_number(ppm),
                len(converted), ratio(len(converted), len(visitors)),
                # EUR and USD have two decimals
                f"{revenue // 100}.{revenue % 100:02d}",
            ], strict=True)))  # fmt: skip
    return rows


def assert_matches_raw(db, bys=BY):
    for by in bys:
        for model in ("last_touch", "linear", "time_decay"):
            for period in PERIODS:
                got = breakdown_rows(db, by, period, model)
                assert got == raw_breakdown(db, by, model, period), (by, model, period)
        for filters, link in [
            (Filters(channel="Twitter"), None),
            (Filters(campaign="spring", goal="purchase"), None),
            (Filters(), "li-1"),
            (Filters(goal="signup"), "tw-1"),
        ]:
            got = breakdown_rows(db, by, PERIODS[1], "position_based", filters, link)
            want = raw_breakdown(db, by, "position_based", PERIODS[1], filters, link)
            assert got == want, (by, filters, link)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_log_equals_raw_computation_through_batches_and_late_arrivals(
    tmp_path, monkeypatch, seed
):
    rng = random.Random(seed)
    monkeypatch.setattr(aggregates, "BATCH", rng.choice([3, 7, 50]))
    db = new_db(tmp_path / "log.db")
    replay(db, random_events(rng, 250))
    assert_matches_raw(db)
    # late arrivals: conversions dated before everything folded so far, and
    # clicks on days already folded
    replay(db, random_events(random.Random(seed + 100), 80))
    assert_matches_raw(db, ("country", "referrer", "source", "channel"))
    db.close()


def breakdown_tables(db) -> tuple[list, list]:
    return (
        [dict(r) for r in db.query("SELECT * FROM breakdown_day ORDER BY 1, 2, 3, 4")],
        [
            dict(r)
            for r in db.query("SELECT * FROM breakdown_credit_day ORDER BY 1, 2, 3, 4, 5, 6, 7, 8")
        ],  # fmt: skip
    )


def test_incremental_folding_equals_a_rebuild_from_scratch(tmp_path, monkeypatch):
    monkeypatch.setattr(aggregates, "BATCH", 4)
    db = new_db(tmp_path / "log.db")
    replay(db, random_events(random.Random(11), 200))
    refresh(db)
    incremental = breakdown_tables(db)
    assert incremental[0] and incremental[1]
    monkeypatch.setattr(aggregates, "BATCH", 100_000)
    aggregates.rebuild(db)
    assert breakdown_tables(db) == incremental
    # the ALL_LINKS rows are the sums of the links' rows
    clicks, _ = incremental
    sums = defaultdict(lambda: [0, 0, set()])
    for r in clicks:
        if r["link_id"]:
            s = sums[(r["dimension"], r["day"], r["value"])]
            s[0] += r["clicks"]
            s[1] += r["human_clicks"]
            s[2] |= set(bitmap(r["visitors"]))
    assert {
        (r["dimension"], r["day"], r["value"]): [r["clicks"], r["human_clicks"],
                                                 set(bitmap(r["visitors"]))]
        for r in clicks if r["link_id"] == aggregates.ALL_LINKS
    } == sums  # fmt: skip
    db.close()


@pytest.mark.parametrize("seed", [21, 22, 23])
def test_after_erasure_the_breakdowns_equal_a_log_without_the_person(tmp_path, seed):
    rng = random.Random(seed)
    events = random_events(rng, 200)
    erased, never = new_db(tmp_path / "erased.db"), new_db(tmp_path / "never.db")
    replay(erased, events)
    replay(never, events, skip="p0")
    privacy.erase(erased, visitor_id="p0")
    for by in BY:
        for model in ("last_touch", "linear"):
            for period in PERIODS[:2]:
                assert breakdown_rows(erased, by, period, model) == breakdown_rows(
                    never, by, period, model
                ), (by, model, period)
    # and new rows fold on top of the corrected aggregates
    more = random_events(random.Random(seed + 1), 60)
    replay(erased, more, skip="p0")
    replay(never, more, skip="p0")
    assert breakdown_rows(erased, "country", model="linear") == breakdown_rows(
        never, "country", model="linear"
    )
    erased.close()
    never.close()


def test_erasure_after_retention_takes_the_person_out_of_every_bitmap(tmp_path):
    db = new_db(tmp_path / "log.db")
    now = START + timedelta(days=200)
    old = now - timedelta(days=100)
    for visitor, address in (("ann", "193.99.144.80"), ("bob", "193.99.144.80")):
        record_click(db, link_id=1, visitor_id=visitor, now=old, agent=AGENTS[0],
                     is_bot=False, ip=address)  # fmt: skip
        conversion = Conversion(goal="purchase", source="webhook", occurred_at=old,
                                received_at=old, value_minor=500, currency="EUR",
                                order_id=f"o-{visitor}", visitor_id=visitor,
                                webhook_id=f"m-{visitor}")  # fmt: skip
        record_conversion(db, conversion, Policy(window_days=5))
    privacy.apply_retention(db, 30, now)
    assert db.execute("SELECT count(*) FROM clicks").fetchone() == (0,)
    [row] = breakdown_rows(db, "country", default_currency="EUR")
    assert (row["value"], row["unique_visitors"], row["converted_visitors"]) == ("DE", 2, 2)
    ann = db.execute("SELECT num FROM visitors WHERE visitor_id = 'ann'").fetchone()[0]
    privacy.erase(db, visitor_id="ann")
    # ann's raw click is long gone, so its count stays (anonymous now), and her
    # conversion's credited amount too; but she is no longer a visitor or converter
    [row] = breakdown_rows(db, "country", default_currency="EUR")
    assert (row["clicks"], row["unique_visitors"], row["converted_visitors"]) == (2, 1, 1)
    for (blob,) in db.execute("SELECT visitors FROM breakdown_day").fetchall():
        assert ann not in bitmap(blob)
    for (blob,) in db.execute("SELECT converters FROM breakdown_credit_day").fetchall():
        assert ann not in bitmap(blob)
    db.close()
