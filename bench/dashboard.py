"""Every dashboard page against the size of the click log.

For each size (100k and 1M clicks by default; `--sizes` or the SIZES
environment variable, 10m allowed) it generates bench/reports.py's year of
traffic, ending yesterday (so "last 30 days" has data), in a fresh
database, folds the aggregates once, signs in as a user created the way the
tests create one, and walks every dashboard page:

- every GET route of the dashboard without a path parameter (read from the
  app's url_map, so a page added later is walked too),
- a link's page (the busiest link), a channel's and a campaign's page,
- the report page of every report the catalogue lists,

each for the last 30 days and for all time, through the Flask test client
(no network: the time is the server's). Per page it prints the median of
`--rounds` requests after one untimed warm-up, the slowest, and the HTML
bytes, with the load average beside them; a page at or over 300 ms or 1 MB
is flagged. The machine is shared: figures move with its load.

Usage: python bench/dashboard.py [--sizes 100k,1m] [--rounds 3] [--keep DIR]
"""

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from common import ADMIN_API_KEY, SECRET_KEY, machine, print_table, work_dir  # noqa: E402
from link_page import load, signed_in_client  # noqa: E402
from reports import generate, ms, parse_size  # noqa: E402

from conversions.aggregates import refresh  # noqa: E402
from shortener import create_app  # noqa: E402
from shortener.app import init_db  # noqa: E402
from shortener.db import connect  # noqa: E402

PERIODS = ("30d", "all")
SLOW_SECONDS = 0.3
HEAVY_BYTES = 1_000_000
# GET routes that are not pages to read: the sign-in form (signed in, it
# sends you on) and the form for a new link
SKIP = {"dashboard.sign_in", "dashboard.static"}


def pages(app, db) -> list[str]:
    """Every page to walk, without its period."""
    paths = sorted(
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/dashboard")
        and "GET" in rule.methods
        and not rule.arguments
        and rule.endpoint not in SKIP
    )
    busiest = db.execute(
        "SELECT l.code, l.channel, l.campaign FROM links l JOIN"
        " (SELECT link_id, count(*) AS n FROM clicks GROUP BY link_id ORDER BY n DESC LIMIT 1)"
        " b ON b.link_id = l.id"
    ).fetchone()
    code, channel, campaign = busiest
    paths += [f"/dashboard/links/{code}", f"/dashboard/channels/{channel}",
              f"/dashboard/campaigns/{campaign}"]  # fmt: skip
    with app.test_request_context("/dashboard/reports"):
        from dashboard.report_catalogue import report_names

        paths += [f"/dashboard/reports/{name}" for name in report_names()]
    return paths


def measure(client, path: str, n: int) -> tuple[float, float, int]:
    """(median, slowest seconds, HTML bytes) of n requests after a warm-up."""
    first = client.get(path)
    assert first.status_code == 200, (path, first.status_code)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    times.sort()
    return times[len(times) // 2], times[-1], len(first.data)


def walk(path: str, n: int, skip: str = "") -> dict[str, tuple[float, float, int]]:
    app = create_app(
        {"DATABASE": path, "SECRET_KEY": SECRET_KEY, "ADMIN_API_KEY": ADMIN_API_KEY,
         "BASE_URL": "http://go.example.test", "TESTING": True}
    )  # fmt: skip
    client = signed_in_client(app)
    db = connect(path)
    try:
        found = pages(app, db.conn)
    finally:
        db.close()
    results = {}
    for page in found:
        for period in PERIODS:
            address = f"{page}?period={period}"
            if skip and skip in address:
                continue
            results[address] = median, slowest, size = measure(client, address, n)
            print(f"  {address}: {ms(median)} / {ms(slowest)}, {kb(size)} {flag(median, size)}")
    return results


def build(path: str, size: int) -> None:
    """A fresh database of `size` clicks over the year that ended yesterday."""
    for leftover in Path(path).parent.glob(Path(path).name + "*"):
        leftover.unlink()
    today = datetime.combine(datetime.now(UTC).date(), clock_time(), tzinfo=UTC)
    start = time.perf_counter()
    counts = generate(path, size, start=today - timedelta(days=369))
    print(f"{size:,} clicks generated in {time.perf_counter() - start:.0f} s"
          f" ({counts['conversions']:,} conversions)")  # fmt: skip
    init_db(path)
    db = connect(path)
    try:
        start = time.perf_counter()
        refresh(db)
        print(f"first fold {time.perf_counter() - start:.1f} s")
    finally:
        db.close()


def flag(median: float, size: int) -> str:
    marks = []
    if median >= SLOW_SECONDS:
        marks.append("SLOW")
    if size >= HEAVY_BYTES:
        marks.append("HEAVY")
    return " ".join(marks)


def kb(size: int) -> str:
    return f"{size / 1000:,.0f} kB" if size >= 10_000 else f"{size / 1000:.1f} kB"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes", default=os.environ.get("SIZES", "100k,1m"), help="clicks, e.g. 100k,1m,10m"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", help="directory for the generated databases (rebuilt)")
    parser.add_argument(
        "--database", help="walk this database as it is (one size; to compare two versions)"
    )
    parser.add_argument("--skip", default="", help="leave out pages whose address has this")
    args = parser.parse_args(argv)
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    work = work_dir("dashboard", args.keep)
    print(f"machine: {machine()}")
    print(f"load average (1/5/15 min) at start: {load()}")
    results, loads = {}, {}
    for size in sizes:
        path = args.database or str(work / f"dashboard-{size}.db")
        if not args.database:
            build(path, size)
        results[size] = walk(path, args.rounds, args.skip)
        loads[size] = load()
        print(f"{size:,} clicks: {len(results[size])} pages walked; load average {loads[size]}")
    print()
    headers = ["page (median / slowest, HTML)"] + [f"{s:,} clicks" for s in sizes]
    table = []
    for page in results[sizes[0]]:
        cells = []
        for s in sizes:
            median, slowest, size = results[s].get(page, (0, 0, 0))
            cells.append(f"{ms(median)} / {ms(slowest)}, {kb(size)} {flag(median, size)}".strip())
        table.append([page.removeprefix("/dashboard"), *cells])
    table.append(["load average (1/5/15 min) after"] + [loads[s] for s in sizes])
    print_table(headers, table)
    largest = results[sizes[-1]]
    over = [p for p, (m, _, b) in largest.items() if flag(m, b)]
    slowest = max(largest, key=lambda p: largest[p][0])
    heaviest = max(largest, key=lambda p: largest[p][2])
    busy = " (under load)" if os.getloadavg()[0] > (os.cpu_count() or 1) else ""
    print()
    print(
        f"KEY dashboard size={sizes[-1]} slowest={slowest} {largest[slowest][0] * 1000:.0f} ms"
        f" heaviest={heaviest} {largest[heaviest][2] / 1e6:.2f} MB pages_over={len(over)}"
        f" (target 0: < 300 ms and < 1 MB) load={load()}{busy}"
    )


if __name__ == "__main__":
    main()
