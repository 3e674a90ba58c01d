"""Advocate report times against the size of the click log.

It reuses bench/reports.py's year of traffic (2,000 links over 40
campaigns) and turns it into an advocate programme: in each campaign the
first link stays the brand's own and every other link becomes the personal
link of its own advocate (1,960 advocates), a third of them referred by an
earlier advocate (depth up to 6), each with a customer id. Then it times
the leaderboard (all time, one quarter, one campaign), the referral chain
and the advocate candidates (median of 3).

Usage: python bench/advocates.py [--sizes 100k,1m] [--keep DIR]
"""

import argparse
import sys
import time
from datetime import date
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from common import machine, print_table, work_dir  # noqa: E402
from reports import generate, parse_size, timed  # noqa: E402

from advocates.reports import advocate_rows, candidate_rows, referral_rows  # noqa: E402
from conversions.aggregates import refresh  # noqa: E402
from conversions.analytics import Query, settings_from  # noqa: E402
from conversions.reports import Filters, Period  # noqa: E402
from shortener.app import init_db  # noqa: E402
from shortener.clock import to_db, utcnow  # noqa: E402
from shortener.db import connect  # noqa: E402


def make_programme(db) -> int:
    """Personal links and advocates over the generated links; returns how
    many advocates there are."""
    now = to_db(utcnow())
    links = db.conn.execute("SELECT id, campaign FROM links ORDER BY id").fetchall()
    source = {}
    n = 0
    with db.conn:
        for link_id, campaign in links:
            if campaign not in source:
                source[campaign] = link_id
                continue
            n += 1
            parent = n // 3 if n % 3 == 0 and n // 3 else None
            depth = 0
            if parent:
                depth = db.conn.execute(
                    "SELECT depth + 1 FROM advocates WHERE id = ?", [parent]
                ).fetchone()[0]
            db.conn.execute(
                "INSERT INTO advocates (id, handle, name, customer_id, parent_advocate_id, depth,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [n, f"adv-{n}", f"Advocate {n}", f"adv-customer-{n}", parent, depth, now, now],
            )
            db.conn.execute(
                "UPDATE links SET advocate_id = ?, parent_link_id = ? WHERE id = ?",
                [n, source[campaign], link_id],
            )
    return n


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k,1m", help="comma-separated, e.g. 100k,1m")
    parser.add_argument("--keep", help="directory to keep the generated databases in")
    args = parser.parse_args(argv)
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    work = work_dir("advocates", args.keep)
    print(f"machine: {machine()}")
    settings = settings_from({})
    results = {}
    for size in sizes:
        path = str(work / f"advocates-{size}.db")
        if not Path(path).exists():
            start = time.perf_counter()
            generate(path, size)
            init_db(path)
            db = connect(path)
            n = make_programme(db)
            db.close()
            took = time.perf_counter() - start
            print(f"{size:,} clicks: generated in {took:.0f} s, {n} advocates")
        init_db(path)
        db = connect(path)
        refresh(db)
        now = utcnow()
        quarter = Period(date(2025, 4, 1), date(2025, 6, 30))
        queries = {
            "all time": (advocate_rows, Query(now=now)),
            "one quarter": (advocate_rows, Query(period=quarter, now=now)),
            "one campaign": (
                advocate_rows,
                Query(filters=Filters(campaign="campaign-07"), now=now),
            ),  # fmt: skip
            "referrals": (referral_rows, Query(now=now)),
            "candidates": (candidate_rows, Query(now=now)),
        }
        results[size] = {
            name: timed(lambda f=rows_of, q=q, d=db: f(d, q, settings))
            for name, (rows_of, q) in queries.items()
        }
        db.close()
    print()
    names = ["all time", "one quarter", "one campaign", "referrals", "candidates"]
    print_table(
        ["report"] + [f"{s:,} clicks" for s in sizes],
        [[name] + [f"{results[s][name] * 1000:.0f} ms" for s in sizes] for name in names],
    )


if __name__ == "__main__":
    main()
