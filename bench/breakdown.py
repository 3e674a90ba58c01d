"""Breakdown report times against the size of the click log.

For each size (100k and 1M clicks by default) it generates a year of
traffic on 2,000 links where one link -- a campaign's main link, the one a
marketer opens -- takes half of all clicks and the other 1,999 share the
rest; clicks come from a dozen countries (and unknown), five device
classes, seven referrer hosts (and none), 15 % QR scans, 8 % bots, and
conversions from about 2 % of clicks through the intake's own journey and
credit code, as bench/reports.py does.

It folds the aggregates once (timed: what the first report after a bulk
import pays), then times (median of 5) the breakdown of the busy link by
each dimension, the same under linear and over one month, a typical link,
the whole site by each dimension, one channel, and by link, campaign and
channel. `--sizes 2m` gives a busy link of 1M clicks. It also times the
country lookup the redirect does per click.

Usage: python bench/breakdown.py [--sizes 100k,1m] [--keep DIR]
"""

import argparse
import os
import random
import sys
import time
import timeit
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from common import machine, print_table, work_dir  # noqa: E402
from reports import (  # noqa: E402
    CHANNELS,
    DEVICES,
    GOALS,
    N_CAMPAIGNS,
    N_LINKS,
    YEAR_START,
    ms,
    parse_size,
    timed,
)

from conversions.aggregates import refresh  # noqa: E402
from conversions.breakdown import BY, breakdown_rows  # noqa: E402
from conversions.intake import Policy, credit_rows, touches  # noqa: E402
from conversions.reports import Filters, Period  # noqa: E402
from shortener.app import init_db  # noqa: E402
from shortener.clock import to_db  # noqa: E402
from shortener.db import connect  # noqa: E402
from shortener.geo import country_of  # noqa: E402

CHUNK = 200_000
BUSY = 1  # the link with half of the clicks
TYPICAL = 2
COUNTRIES = ["US"] * 30 + ["DE"] * 12 + ["GB"] * 10 + ["FR"] * 8 + ["IN"] * 8 + ["BR"] * 6 + [
    "JP", "JP", "JP", "CA", "CA", "CA", "AU", "AU", "NL", "NL", "ES", "IT", "", "", ""
]  # fmt: skip
REFERRERS = ["https://t.co/x", "https://www.facebook.com/", "https://l.instagram.com/",
             "https://www.linkedin.com/feed/", "https://www.google.com/", None, None, None,
             "https://news.ycombinator.com/item?id=1", "https://www.reddit.com/r/x/"]  # fmt: skip
MONTH = Period(date(2025, 6, 1), date(2025, 6, 30))


def generate(path: str, n_clicks: int, seed: int = 7, busy_share: float = 0.5) -> dict:
    """A year of traffic; the busy link takes `busy_share` of the clicks."""
    rng = random.Random(seed)
    init_db(path)
    db = connect(path)
    db.conn.execute("PRAGMA cache_size = -500000")  # generation only
    db.conn.execute("PRAGMA synchronous = OFF")
    posted = {}
    with db.conn:
        for n in range(1, N_LINKS + 1):
            posted[n] = rng.randrange(365)
            db.conn.execute(
                "INSERT INTO links (id, code, url, channel, campaign, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [n, f"b{n:05d}", f"https://shop.example.com/p/{n}",
                 CHANNELS[rng.randrange(len(CHANNELS))],
                 f"campaign-{rng.randrange(N_CAMPAIGNS):02d}", to_db(YEAR_START),
                 to_db(YEAR_START)],
            )  # fmt: skip
    n_visitors = max(1, n_clicks // 3)
    written = 0
    while written < n_clicks:
        rows = []
        for n in range(written, min(n_clicks, written + CHUNK)):
            if rng.random() < busy_share:  # the busy link: clicked all year round
                link_id, seconds = BUSY, rng.randrange(365 * 86400)
            else:  # the others: decaying over the days after each was posted
                link_id = rng.randrange(2, N_LINKS + 1)
                seconds = posted[link_id] * 86400 + int(rng.expovariate(1 / (2.5 * 86400)))
            at = YEAR_START + timedelta(seconds=min(seconds, 365 * 86400 - 1))
            if rng.random() < 0.08:
                visitor, bot, device = None, 1, ("bot", "FacebookBot", "Other")
            else:
                visitor = f"visitor{int(n_visitors * rng.random() ** 2):09d}"
                bot, device = 0, DEVICES[rng.randrange(len(DEVICES))]
            rows.append((f"c{n:015d}", link_id, visitor, to_db(at), rng.choice(REFERRERS),
                         "203.0.113.0/24", "Mozilla/5.0", *device, bot,
                         "qr" if rng.random() < 0.15 else None, rng.choice(COUNTRIES)))  # fmt: skip
        with db.conn:
            db.conn.executemany(
                "INSERT INTO clicks (click_id, link_id, visitor_id, ts, referrer, ip_prefix,"
                " user_agent, device, browser, os, is_bot, source, country)"
                " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
        written += len(rows)
    policy = Policy(window_days=30)
    conversions = credits = 0
    for k in range(n_clicks // 50):
        if k % 5000 == 0:
            db.conn.commit()
        row = db.conn.execute(
            "SELECT visitor_id, ts FROM clicks WHERE id = ?", [rng.randrange(1, n_clicks + 1)]
        ).fetchone()
        if row[0] is None:
            continue  # a bot's click
        at = datetime.strptime(row[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        at += timedelta(seconds=rng.randrange(3 * 86400))
        goal, value = GOALS[rng.randrange(len(GOALS))]
        value = value if value is not None else rng.randint(1_000, 40_000)
        currency = "USD" if rng.random() < 0.1 else "EUR"
        cursor = db.conn.execute(
            "INSERT INTO conversions (goal, value_minor, currency, order_id, webhook_id,"
            " visitor_id, source, verified, occurred_at, received_at)"
            " VALUES (?,?,?,?,?,?,'webhook',1,?,?)",
            [goal, value, currency, f"order{k}", f"msg{k}", row[0], to_db(at), to_db(at)],
        )
        journey = touches(db, row[0], at, policy.window_days)
        rows = list(credit_rows(cursor.lastrowid, journey, at, value, policy))
        db.conn.executemany(
            "INSERT INTO credits (conversion_id, model, click_row, link_id, weight_ppm,"
            " revenue_minor) VALUES (?,?,?,?,?,?)",
            rows,
        )
        conversions += 1
        credits += len(rows)
    db.conn.commit()
    db.close()
    return {"conversions": conversions, "credits": credits}


def lookup_cost() -> float:
    """Microseconds per country lookup, over addresses of many networks."""
    rng = random.Random(1)
    addresses = [".".join(str(rng.randrange(1, 224)) for _ in range(4)) for _ in range(20_000)]
    seconds = timeit.timeit(lambda: [country_of(a) for a in addresses], number=5)
    return seconds / (5 * len(addresses)) * 1e6


def measure(db) -> dict:
    """Median times of the breakdowns the table shows."""
    busy, typical = "b00001", "b00002"
    r = {}
    for by in BY:
        r[f"link {by}"] = timed(lambda b=by: breakdown_rows(db, b, link=busy))
        r[f"site {by}"] = timed(lambda b=by: breakdown_rows(db, b))
    r["link linear"] = timed(lambda: breakdown_rows(db, "country", model="linear", link=busy))
    r["link month"] = timed(lambda: breakdown_rows(db, "country", MONTH, link=busy))
    r["typical"] = timed(lambda: breakdown_rows(db, "country", link=typical))
    twitter = Filters(channel="twitter")
    r["channel"] = timed(lambda: breakdown_rows(db, "country", filters=twitter))
    return r


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k,1m", help="comma-separated, e.g. 100k,1m,2m")
    parser.add_argument("--keep", help="directory to keep the generated databases in")
    args = parser.parse_args(argv)
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    work = work_dir("breakdown", args.keep)
    print(f"machine: {machine()}")
    print(f"load average (1/5/15 min) at start: {load()}")
    print(f"country lookup: {lookup_cost():.2f} us per address")
    results = {}
    for size in sizes:
        path = str(work / f"breakdown-{size}.db")
        if not Path(path).exists():
            start = time.perf_counter()
            counts = generate(path, size)
            print(
                f"{size:,} clicks: generated in {time.perf_counter() - start:.0f} s"
                f" ({counts['conversions']:,} conversions, {counts['credits']:,} credits)"
            )
        init_db(path)
        db = connect(path)
        start = time.perf_counter()
        refresh(db)
        r = {"fold": time.perf_counter() - start}
        r["busy_clicks"] = db.conn.execute(
            "SELECT count(*) FROM clicks WHERE link_id = ?", [BUSY]
        ).fetchone()[0]
        r["rows"] = db.conn.execute("SELECT count(*) FROM breakdown_day").fetchone()[0]
        r["credit_rows"] = db.conn.execute("SELECT count(*) FROM breakdown_credit_day").fetchone()[
            0
        ]
        r.update(measure(db))
        results[size] = r
        print(
            f"{size:,} clicks: first fold {r['fold']:.1f} s; busy link {r['busy_clicks']:,}"
            f" clicks; {r['rows']:,} breakdown_day rows, {r['credit_rows']:,}"
            f" breakdown_credit_day rows; load average {load()}"
        )
        db.close()

    print()
    headers = ["breakdown (last touch, all time unless said)"] + [f"{s:,} clicks" for s in sizes]
    table = [[f"busy link ({results[sizes[-1]]['busy_clicks']:,} clicks at the largest), by"]
             + ["" for _ in sizes]]  # fmt: skip
    table += [[f"  {by}"] + [ms(results[s][f"link {by}"]) for s in sizes] for by in BY]
    table.append(["  country, linear"] + [ms(results[s]["link linear"]) for s in sizes])
    table.append(["  country, June only"] + [ms(results[s]["link month"]) for s in sizes])
    table.append(["typical link, by country"] + [ms(results[s]["typical"]) for s in sizes])
    table.append(["whole site, by"] + ["" for _ in sizes])
    table += [[f"  {by}"] + [ms(results[s][f"site {by}"]) for s in sizes] for by in BY]
    table.append(["one channel, by country"] + [ms(results[s]["channel"]) for s in sizes])
    table.append(["first fold (one-off)"] + [f"{results[s]['fold']:.1f} s" for s in sizes])
    print_table(headers, table)
    largest = results[sizes[-1]]
    worst_link = max(largest[f"link {by}"] for by in BY)
    worst_site = max(largest[f"site {by}"] for by in BY)
    print()
    print(
        f"KEY breakdown size={sizes[-1]} busy_link_clicks={largest['busy_clicks']}"
        f" worst_link_breakdown_ms={worst_link * 1000:.0f} (target < 300)"
        f" worst_site_breakdown_ms={worst_site * 1000:.0f} load={load()}"
    )


if __name__ == "__main__":
    main()
