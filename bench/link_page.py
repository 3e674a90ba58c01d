"""A link's dashboard page and the breakdown API against the link's clicks.

For each size (a link with 100k and with 1M clicks by default) it generates
the traffic of bench/breakdown.py (a year of clicks from a dozen countries,
five device classes, seven referrers, QR scans, bots, 2 % conversion), all
of it on the one link (the other links of that traffic get none: the page
reads one link's rows, and folding a second million clicks would take a
quarter of an hour), folds the aggregates once, then times, through the
Flask test client (no network, no server):

- the busy link's page, signed in, all time and last 30 days (every
  section: figures, activity chart, where the clicks come from, posts);
- `GET /api/reports/breakdown?link=CODE&by=...` for each dimension;
- the breakdown function with and without the distinct-visitor counts
  (`visitors=False`, what the page asks for).

Each is timed over a few rounds: median and slowest, with the machine's
load average printed beside them (the machine is shared: figures move).

Usage: python bench/link_page.py [--sizes 100k,1m] [--rounds 5] [--keep DIR]
"""

import argparse
import os
import re
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from breakdown import BUSY, generate  # noqa: E402
from common import ADMIN_API_KEY, SECRET_KEY, machine, print_table, work_dir  # noqa: E402
from reports import ms, parse_size  # noqa: E402

from conversions.aggregates import refresh  # noqa: E402
from conversions.breakdown import breakdown_rows  # noqa: E402
from dashboard import accounts  # noqa: E402
from dashboard.link_breakdowns import SHOWN  # noqa: E402
from shortener import create_app  # noqa: E402
from shortener.app import init_db  # noqa: E402
from shortener.clock import utcnow  # noqa: E402
from shortener.db import connect  # noqa: E402

CODE = f"b{BUSY:05d}"
USER, PASSWORD = "bench@example.com", "a long enough bench password"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def rounds(fn, n: int) -> tuple[float, float]:
    """(median, slowest) seconds of n calls, after one untimed warm-up."""
    fn()
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2], times[-1]


def signed_in_client(app):
    db = connect(app.config["DATABASE"])
    try:
        if not db.execute("SELECT 1 FROM users WHERE username = ?", [USER]).fetchone():
            accounts.create_user(db, USER, PASSWORD, utcnow())
    finally:
        db.close()
    client = app.test_client()
    token = TOKEN.search(client.get("/dashboard/login").get_data(as_text=True))[1]
    response = client.post(
        "/dashboard/login", data={"username": USER, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303, response.status_code
    return client


def get(client, path: str, **kwargs):
    def fetch():
        response = client.get(path, **kwargs)
        assert response.status_code == 200, (path, response.status_code)

    return fetch


def measure(path: str, n: int) -> dict:
    app = create_app(
        {"DATABASE": path, "SECRET_KEY": SECRET_KEY, "ADMIN_API_KEY": ADMIN_API_KEY,
         "BASE_URL": "http://go.example.test", "TESTING": True}
    )  # fmt: skip
    client = signed_in_client(app)
    auth = {"Authorization": f"Bearer {ADMIN_API_KEY}"}
    r = {
        "page all time": rounds(get(client, f"/dashboard/links/{CODE}?period=all"), n),
        "page 30 days": rounds(get(client, f"/dashboard/links/{CODE}?period=30d"), n),
    }
    for by in SHOWN:
        api = f"/api/reports/breakdown?by={by}&link={CODE}"
        r[f"api {by}"] = rounds(get(client, api, headers=auth), n)
    db = connect(path)
    try:
        for visitors in (True, False):
            r[f"function visitors={visitors}"] = rounds(
                lambda v=visitors: [breakdown_rows(db, by, link=CODE, visitors=v) for by in SHOWN],
                n,
            )
    finally:
        db.close()
    return r


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100k,1m", help="clicks on the busy link, e.g. 100k,1m")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--keep", help="directory to keep the generated databases in")
    args = parser.parse_args(argv)
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    work = work_dir("link-page", args.keep)
    print(f"machine: {machine()}")
    print(f"load average (1/5/15 min) at start: {load()}")
    results, loads = {}, {}
    for size in sizes:
        path = str(work / f"link-page-{size}.db")
        if not Path(path).exists():
            start = time.perf_counter()
            counts = generate(path, size, busy_share=1.0)
            print(f"{size:,} clicks generated in {time.perf_counter() - start:.0f} s"
                  f" ({counts['conversions']:,} conversions)")  # fmt: skip
        init_db(path)
        db = connect(path)
        start = time.perf_counter()
        refresh(db)
        busy = db.conn.execute("SELECT count(*) FROM clicks WHERE link_id = ?", [BUSY]).fetchone()
        db.close()
        print(f"first fold {time.perf_counter() - start:.1f} s; busy link {busy[0]:,} clicks")
        results[size] = measure(path, args.rounds)
        loads[size] = load()
        print(f"{busy[0]:,} clicks on the link: measured; load average {loads[size]}")
    print()
    headers = ["median / slowest"] + [f"{s:,} clicks on the link" for s in sizes]
    table = [
        [name] + [" / ".join(ms(t) for t in results[s][name]) for s in sizes]
        for name in results[sizes[0]]
    ]
    table.append(["load average (1/5/15 min) after"] + [loads[s] for s in sizes])
    print_table(headers, table)
    largest = results[sizes[-1]]
    worst_api = max(largest[f"api {by}"][1] for by in SHOWN)
    print()
    print(
        f"KEY link_page size={sizes[-1]} page_all_time_median_ms="
        f"{largest['page all time'][0] * 1000:.0f} page_all_time_slowest_ms="
        f"{largest['page all time'][1] * 1000:.0f} (target < 300)"
        f" worst_api_breakdown_ms={worst_api * 1000:.0f} load={load()}"
    )


if __name__ == "__main__":
    main()
