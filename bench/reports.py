"""Report times against the size of the click log.

For each size (100k and 1M clicks by default; `--sizes 100k,1m,10m` for
10M) it generates a year of realistic traffic: 2,000 links over 8 channels
and 40 campaigns, each link clicked mostly in the days after it was posted,
visitors who come back through several links (multi-touch), 8 % bots, and
conversions from about 2 % of clicks, a few of them with no click at all.
Conversions go through the intake's own journey and credit code
(`touches`, `credit_rows`), in bulk transactions instead of one durable
transaction each, so the credits are the ones intake would store.

It then folds the aggregates once (timed: what the first report after a
bulk import pays), and times the per-channel report under each attribution
model (median of 5), and a full CSV export of the clicks in a separate
process (time to first byte, total time, peak memory).

Usage: python bench/reports.py [--sizes 100k,1m] [--keep DIR]
"""

import argparse
import json
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from common import machine, median, print_table, work_dir  # noqa: E402

from conversions.aggregates import refresh  # noqa: E402
from conversions.analytics import Query, growth_rows, settings_from  # noqa: E402
from conversions.attribution import MODELS  # noqa: E402
from conversions.intake import Policy, credit_rows, touches  # noqa: E402
from conversions.reports import Filters, Period, channel_rows  # noqa: E402
from shortener.app import init_db  # noqa: E402
from shortener.clock import to_db  # noqa: E402
from shortener.db import connect  # noqa: E402

CHANNELS = ["twitter", "facebook", "linkedin", "instagram", "tiktok", "reddit", "youtube",
            "newsletter"]  # fmt: skip
N_LINKS = 2_000
N_CAMPAIGNS = 40
YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
DEVICES = [("mobile", "Mobile Safari", "iOS"), ("mobile", "Chrome Mobile", "Android"),
           ("desktop", "Chrome", "Windows"), ("desktop", "Safari", "Mac OS X"),
           ("tablet", "Mobile Safari", "iOS")]  # fmt: skip
GOALS = [("purchase", None), ("signup", 1500), ("lead", 4000), ("demo_request", 12000)]
CHUNK = 200_000
PERIOD = Period(
    YEAR_START.date().replace(month=3, day=10), YEAR_START.date().replace(month=4, day=24)
)

EXPORT_CHILD = r"""
import json, sys, time
sys.path.insert(0, sys.argv[2])
from shortener.db import connect
from conversions.exports import clicks_csv
db = connect(sys.argv[1])
start = time.perf_counter()
first = None
rows = size = 0
with open("/dev/null", "w") as out:
    for line in clicks_csv(db):
        if first is None:
            first = time.perf_counter() - start
        out.write(line)
        rows += 1
        size += len(line)
total = time.perf_counter() - start
# VmHWM: this process's own peak (ru_maxrss would count the parent's memory
# from before exec)
peak = next(int(line.split()[1]) for line in open("/proc/self/status")
            if line.startswith("VmHWM")) / 1024
print(json.dumps({"first": first, "total": total, "rows": rows - 1, "mb": size / 1e6,
                  "peak_mb": peak}))
"""
BASELINE_CHILD = r"""
import sys
sys.path.insert(0, sys.argv[2])
from shortener.db import connect
from conversions.exports import clicks_csv
db = connect(sys.argv[1])
print(next(int(line.split()[1]) for line in open("/proc/self/status")
           if line.startswith("VmHWM")) / 1024)
"""


def parse_size(text: str) -> int:
    text = text.strip().lower()
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    return int(float(text.rstrip("km")) * scale)


def generate(path: str, n_clicks: int, seed: int = 5, start: datetime = YEAR_START) -> dict:
    """Write a year of traffic from `start`; returns counts."""
    rng = random.Random(seed)
    init_db(path)
    db = connect(path)
    db.conn.execute("PRAGMA cache_size = -500000")  # generation only: 500 MB of page cache
    db.conn.execute("PRAGMA synchronous = OFF")
    links = []
    with db.conn:
        for n in range(1, N_LINKS + 1):
            posted = rng.randrange(365)
            channel = CHANNELS[rng.randrange(len(CHANNELS))]
            campaign = f"campaign-{rng.randrange(N_CAMPAIGNS):02d}"
            links.append((n, posted))
            db.conn.execute(
                "INSERT INTO links (id, code, url, channel, campaign, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    n,
                    f"r{n:05d}",
                    f"https://shop.example.com/p/{n}",
                    channel,
                    campaign,
                    to_db(start),
                    to_db(start),
                ],  # fmt: skip
            )
    n_visitors = max(1, n_clicks // 3)
    written = 0
    while written < n_clicks:
        rows = []
        for n in range(written, min(n_clicks, written + CHUNK)):
            link_id, posted = links[rng.randrange(N_LINKS)]
            # a post's clicks decay over the days after it went out
            seconds = posted * 86400 + int(rng.expovariate(1 / (2.5 * 86400)))
            at = start + timedelta(seconds=min(seconds, 365 * 86400 - 1))
            if rng.random() < 0.08:
                visitor, bot, device = None, 1, ("bot", "FacebookBot", "Other")
            else:
                # a few visitors click a lot (multi-touch), most once or twice
                visitor = f"visitor{int(n_visitors * rng.random() ** 2):09d}"
                bot, device = 0, DEVICES[rng.randrange(len(DEVICES))]
            rows.append(
                (
                    f"c{n:015d}",
                    link_id,
                    visitor,
                    to_db(at),
                    "https://t.co/",
                    "203.0.113.0/24",
                    "Mozilla/5.0",
                    *device,
                    bot,
                )  # fmt: skip
            )
        with db.conn:
            db.conn.executemany(
                "INSERT INTO clicks (click_id, link_id, visitor_id, ts, referrer, ip_prefix,"
                " user_agent, device, browser, os, is_bot) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
        written += len(rows)

    # ~2 % of clicks convert: a human click's visitor, within three days;
    # one conversion in twenty comes from a visitor with no click (direct)
    policy = Policy(window_days=30)
    n_conversions = n_clicks // 50
    conversions = 0
    credits = 0
    done = 0
    while done < n_conversions:
        batch = min(5_000, n_conversions - done)
        with db.conn:
            for k in range(done, done + batch):
                if rng.random() < 0.05:
                    visitor = f"direct{k:09d}"
                    at = start + timedelta(seconds=rng.randrange(365 * 86400))
                else:
                    row = db.conn.execute(
                        "SELECT visitor_id, ts FROM clicks WHERE id = ?",
                        [rng.randrange(1, n_clicks + 1)],
                    ).fetchone()
                    if row[0] is None:
                        continue  # a bot's click: no conversion
                    visitor = row[0]
                    at = datetime.strptime(row[1], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
                    at += timedelta(seconds=rng.randrange(3 * 86400))
                goal, value = GOALS[rng.randrange(len(GOALS))]
                value = value if value is not None else rng.randint(1_000, 40_000)
                currency = "USD" if rng.random() < 0.1 else "EUR"
                cursor = db.conn.execute(
                    "INSERT INTO conversions (goal, value_minor, currency, order_id, webhook_id,"
                    " visitor_id, source, verified, occurred_at, received_at)"
                    " VALUES (?,?,?,?,?,?,'webhook',1,?,?)",
                    [goal, value, currency, f"order{k}", f"msg{k}", visitor, to_db(at), to_db(at)],
                )
                journey = touches(db, visitor, at, policy.window_days)
                rows = list(credit_rows(cursor.lastrowid, journey, at, value, policy))
                db.conn.executemany(
                    "INSERT INTO credits (conversion_id, model, click_row, link_id, weight_ppm,"
                    " revenue_minor) VALUES (?,?,?,?,?,?)",
                    rows,
                )
                conversions += 1
                credits += len(rows)
        done += batch
    db.close()
    return {"clicks": n_clicks, "conversions": conversions, "credits": credits}


def ms(seconds: float) -> str:
    """Milliseconds, with a decimal under 10 (reports that read a few rows)."""
    return f"{seconds * 1000:.1f} ms" if seconds < 0.01 else f"{seconds * 1000:.0f} ms"


def timed(fn, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return median(times)


def export(path: str) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", EXPORT_CHILD, path, str(BENCH.parent)],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout)
    base = subprocess.run(
        [sys.executable, "-c", BASELINE_CHILD, path, str(BENCH.parent)],
        capture_output=True,
        text=True,
        check=True,
    )
    result["baseline_mb"] = float(base.stdout)
    return result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k,1m", help="comma-separated, e.g. 100k,1m,10m")
    parser.add_argument("--keep", help="directory to keep the generated databases in")
    args = parser.parse_args(argv)
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    work = work_dir("reports", args.keep)
    print(f"machine: {machine()}")
    results = {}
    for size in sizes:
        path = str(work / f"clicks-{size}.db")
        start = time.perf_counter()
        if not Path(path).exists():
            counts = generate(path, size)
            print(
                f"{size:,} clicks: generated in {time.perf_counter() - start:.0f} s"
                f" ({counts['conversions']:,} conversions, {counts['credits']:,} credit rows)"
            )
        init_db(path)  # a kept database gets any newer migrations
        db = connect(path)
        start = time.perf_counter()
        refresh(db)
        fold = time.perf_counter() - start
        link_days = db.conn.execute("SELECT count(*) FROM link_day").fetchone()[0]
        credit_days = db.conn.execute("SELECT count(*) FROM credit_day").fetchone()[0]
        # what an exact distinct count over the ragged period has to merge
        period_bytes = db.conn.execute(
            "SELECT coalesce(sum(length(visitors)), 0) FROM channel_day"
            " WHERE day >= ? AND day <= ?",
            [PERIOD.start.isoformat(), PERIOD.end.isoformat()],
        ).fetchone()[0]
        r = {"fold": fold, "link_day": link_days, "credit_day": credit_days,
             "period_bytes": period_bytes}  # fmt: skip
        for model in MODELS:
            r[model] = timed(lambda m=model, d=db: channel_rows(d, model=m, default_currency="EUR"))
        # a period with ragged edges (day rows around whole months), and one
        # campaign (link-level rows: grows with the links and days it spans)
        r["period"] = timed(lambda d=db: channel_rows(d, PERIOD, default_currency="EUR"))
        r["growth"] = timed(lambda d=db: growth_rows(d, Query(size="month"), settings_from({})))
        r["campaign"] = timed(
            lambda d=db: channel_rows(
                d, filters=Filters(campaign="campaign-07"), default_currency="EUR"
            )
        )
        db.close()
        r["export"] = export(path)
        results[size] = r
        print(
            f"{size:,} clicks: first fold {fold:.1f} s; {link_days:,} link_day rows,"
            f" {credit_days:,} credit_day rows"
        )

    print()
    headers = ["report"] + [f"{s:,} clicks" for s in sizes]
    rows = [[f"channels, {m}"] + [ms(results[s][m]) for s in sizes] for m in MODELS]
    rows.append(["channels, 10 Mar-24 Apr"] + [ms(results[s]["period"]) for s in sizes])
    rows.append(["  visitor bitmaps it merges"] + [
        f"{results[s]['period_bytes'] / 1e6:.1f} MB" for s in sizes])  # fmt: skip
    rows.append(["growth, by month"] + [ms(results[s]["growth"]) for s in sizes])
    rows.append(["channels, one campaign"] + [ms(results[s]["campaign"]) for s in sizes])
    rows.append(["CSV export, first byte"] + [
        f"{results[s]['export']['first'] * 1000:.0f} ms" for s in sizes])  # fmt: skip
    rows.append(["CSV export, all rows"] + [
        f"{results[s]['export']['total']:.1f} s" for s in sizes])  # fmt: skip
    rows.append(["CSV export, peak memory"] + [
        f"{results[s]['export']['peak_mb']:.0f} MB" for s in sizes])  # fmt: skip
    rows.append(["first fold (one-off)"] + [f"{results[s]['fold']:.1f} s" for s in sizes])
    print_table(headers, rows)
    print()
    print(
        "peak memory is the export process's maximum RSS; the same process before"
        f" exporting: {results[sizes[0]]['export']['baseline_mb']:.0f} MB"
    )
    largest, smallest = sizes[-1], sizes[0]
    reference = 1_000_000 if 1_000_000 in results and largest > 1_000_000 else smallest
    worst = max(results[largest][m] for m in [*MODELS, "period"])

    def ratio(names) -> float:
        return max(results[largest][m] / results[reference][m] for m in names)

    e = results[largest]["export"]
    print(
        f"KEY reports size={largest} worst_report_ms={worst * 1000:.0f} (target < 1000)"
        f" models_vs_{reference}={ratio(MODELS):.2f} (target <= 1.5 vs 1M)"
        f" period_vs_{reference}={ratio(['period']):.2f} growth_report_vs_{reference}="
        f"{ratio(['growth']):.2f} export_first_byte_ms={e['first'] * 1000:.0f}"
        f" export_peak_mb={e['peak_mb']:.0f} (target < 150)"
    )


if __name__ == "__main__":
    main()
