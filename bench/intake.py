"""Conversion intake throughput: signed webhooks and pixel hits per second.

Serves clicktrail under the project's gunicorn settings on a database with
clicks (so every conversion gets its five models' credits from a real
journey), and loads it with `wrk -t2 -c32` twice each:

- webhooks: requests signed (Standard Webhooks) right before each run, so
  their timestamps are fresh; one in ten repeats an earlier one (the same
  webhook-id, as a sender's retry, or the same order under a new id);
- pixels: /t/pixel.gif?goal=...&order_id=...&click=..., one in ten a reload.

Afterwards it checks nothing was lost and duplicates were stored once:
every order wrk saw accepted is stored exactly once, and the stored count
differs from the answered count only by requests still in flight when wrk
stopped reading.

Usage: python bench/intake.py [--seconds 10] [--runs 2]
"""

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import sqlite3
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from common import (  # noqa: E402
    LUA_REPORT,
    WEBHOOK_SECRET,
    Server,
    clicktrail_env,
    lua_string,
    machine,
    median,
    print_table,
    work_dir,
    wrk,
)

from shortener.app import init_db  # noqa: E402
from shortener.db import connect  # noqa: E402

GOALS = ["purchase", "signup", "lead", "demo_request"]
CONNECTIONS = 32

LUA_LOAD = r"""
REQS = {}
for line in io.lines(REQUESTS_FILE) do
  local method, target, fields, body = line:match("^([^\t]*)\t([^\t]*)\t([^\t]*)\t(.*)$")
  local headers = {}
  for field in (fields .. "\31"):gmatch("([^\31]*)\31") do
    local k, v = field:match("^(.-): (.*)$")
    if k then headers[k] = v end
  end
  if body == "" then body = nil end
  REQS[#REQS + 1] = {method, target, headers, body}
end
"""

LUA_SEND = r"""
local counter = 0
local base_setup = setup
function setup(thread)
  base_setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

orders = {}
local i = 0
function init(args)
  i = tid - 2  -- thread 1 sends requests 1, 3, 5...; thread 2 sends 2, 4, 6...
end

function request()
  i = i + 2
  local r = REQS[(i - 1) % #REQS + 1]
  return wrk.format(r[1], r[2], r[3], r[4])
end

function response(status, headers, body)
  count_status(status)
  if status == 201 then
    local order = string.match(body, '"order_id": ?"([^"]+)"')
    if order then orders[#orders + 1] = order end
  end
end

function finish(threads)
  local path = os.getenv("CT_ORDERS_OUT")
  if not path then return end
  local f = io.open(path, "w")
  for _, t in ipairs(threads) do
    for _, o in ipairs(t:get("orders")) do f:write(o, "\n") end
    f:write("#thread ", t:get("tid"), " ", (t:get("statuses")[200] or 0), "\n")
  end
  f:close()
end
"""


def build_database(path: str, rng: random.Random, n_links=1000, n_clicks=50_000) -> list[str]:
    """Links and human clicks over the last 20 days; returns the click ids."""
    init_db(path)
    db = connect(path)
    now = time.time()
    with db.conn:
        db.conn.executemany(
            "INSERT INTO links (code, url, channel, campaign, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, '2026-01-01T00:00:00.000000Z', '2026-01-01T00:00:00.000000Z')",
            [
                (f"L{i:05d}", f"https://shop.example.com/p/{i}", ch, f"c{i % 20}")
                for i, ch in enumerate(
                    rng.choice(["twitter", "facebook", "linkedin", "newsletter"])
                    for _ in range(n_links)
                )
            ],
        )
        clicks = []
        for n in range(n_clicks):
            ts = now - rng.uniform(60, 20 * 86400)
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + ".000000Z"
            clicks.append(
                (
                    f"k{n:09d}",
                    rng.randint(1, n_links),
                    f"visitor{rng.randint(0, 20_000):08d}",
                    stamp,
                )
            )
        db.conn.executemany(
            "INSERT INTO clicks (click_id, link_id, visitor_id, ts, device, browser, os, is_bot)"
            " VALUES (?, ?, ?, ?, 'mobile', 'Mobile Safari', 'iOS', 0)",
            sorted(clicks, key=lambda c: c[3]),
        )
    db.close()
    return [c[0] for c in clicks]


def sign(msg_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(WEBHOOK_SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def webhook_requests(run: int, n: int, click_ids: list[str], rng: random.Random) -> list:
    """(method, path, headers, body) tuples, signed now; one in ten a repeat."""
    now = int(time.time())
    sent = []
    requests = []
    for i in range(n):
        if i % 10 == 9 and sent:
            msg_id, body = rng.choice(sent)
            if i % 20 == 19:  # the same order reported again under a new id
                msg_id = f"msg_{run}_{i}"
        else:
            msg_id = f"msg_{run}_{i}"
            body = json.dumps(
                {
                    "goal": rng.choice(GOALS),
                    "value": f"{rng.randint(5, 400)}.{rng.randint(0, 99):02d}",
                    "currency": "EUR",
                    "order_id": f"W{run}-{i:07d}",
                    "click_id": rng.choice(click_ids),
                }
            ).encode()
            sent.append((msg_id, body))
        headers = {
            "Content-Type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(now),
            "webhook-signature": sign(msg_id, now, body),
        }
        requests.append(("POST", "/t/webhook", headers, body.decode()))
    return requests


def pixel_requests(run: int, n: int, click_ids: list[str], rng: random.Random) -> list:
    requests = []
    for i in range(n):
        order = f"P{run}-{pixel_order(i):07d}"
        path = (
            f"/t/pixel.gif?goal=signup&order_id={order}&click={rng.choice(click_ids)}"
            f"&value=19.90&currency=EUR"
        )
        headers = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X)"}
        requests.append(("GET", path, headers, None))
    return requests


def pixel_order(i: int) -> int:
    """One request in ten reloads the order its thread sent two requests
    before (the two wrk threads take alternate requests)."""
    return i - 2 if i % 10 == 4 else i


def write_script(path: Path, requests: list) -> None:
    """The requests go to a data file the Lua script reads at start (a table
    literal of tens of thousands of requests is more than LuaJIT compiles)."""
    data = path.with_suffix(".tsv")
    with open(data, "w") as f:
        for method, target, headers, body in requests:
            fields = "\x1f".join(f"{k}: {v}" for k, v in headers.items())
            f.write(f"{method}\t{target}\t{fields}\t{body or ''}\n")
    path.write_text(f"REQUESTS_FILE = {lua_string(str(data))}\n" + LUA_LOAD + LUA_REPORT + LUA_SEND)


def stored(database: str, prefix: str) -> tuple[int, int, int]:
    """(conversions, distinct orders, credit rows) stored for orders with this prefix."""
    conn = sqlite3.connect(database)
    try:
        conversions, orders = conn.execute(
            "SELECT count(*), count(DISTINCT goal || '/' || order_id) FROM conversions"
            " WHERE order_id LIKE ?",
            [prefix + "%"],
        ).fetchone()
        credits = conn.execute(
            "SELECT count(*) FROM credits WHERE conversion_id IN"
            " (SELECT id FROM conversions WHERE order_id LIKE ?)",
            [prefix + "%"],
        ).fetchone()[0]
        return conversions, orders, credits
    finally:
        conn.close()


def ok(result: dict) -> int:
    return sum(n for s, n in result["statuses"].items() if 200 <= int(s) < 300)


def failed(result: dict) -> int:
    bad = sum(n for s, n in result["statuses"].items() if not 200 <= int(s) < 300)
    e = result["errors"]
    return bad + e["connect"] + e["read"] + e["write"] + e["timeout"]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args(argv)

    rng = random.Random(11)
    work = work_dir("intake")
    database = str(work / "clicktrail.db")
    click_ids = build_database(database, rng)
    print(f"machine: {machine()}")
    print(f"database: 1,000 links, {len(click_ids):,} human clicks by 20,000 visitors")
    per_run = 3000 * args.seconds  # more than can be sent: none is sent twice by wrk
    rows, figures, problems = [], {"webhook": [], "pixel": []}, []
    cpu_ms = {"webhook": [], "pixel": []}
    server = Server("shortener:create_app()", clicktrail_env(database))
    try:
        server.wait_ready()
        for run in range(1, args.runs + 1):
            for kind, make, prefix in (
                ("webhook", webhook_requests, f"W{run}-"),
                ("pixel", pixel_requests, f"P{run}-"),
            ):
                script = work / f"{kind}.lua"
                write_script(script, make(run, per_run, click_ids, rng))
                orders_file = work / "orders.txt"
                cpu_before = worker_cpu(server)
                result = wrk(
                    server.url,
                    script,
                    connections=CONNECTIONS,
                    seconds=args.seconds,
                    env={"CT_ORDERS_OUT": str(orders_file)},
                )
                cpu = worker_cpu(server) - cpu_before
                conversions, distinct, credits = stored(database, prefix)
                answered = ok(result)
                rate = answered / result["seconds"]
                figures[kind].append(rate)
                cpu_ms[kind].append(cpu / max(result["requests"], 1) * 1000)
                lines = orders_file.read_text().splitlines()
                created = [line for line in lines if not line.startswith("#")]
                per_thread = [int(line.split()[2]) for line in lines if line.startswith("#")]
                if kind == "webhook":
                    # each order wrk saw created (201) is stored exactly once
                    missing = set(created) - stored_orders(database, prefix)
                    twice = len(created) - len(set(created))
                    if missing or twice:
                        problems.append(f"{kind} run {run}: {len(missing)} lost, {twice} twice")
                    expected = len(set(created))
                else:
                    expected = distinct_pixel_orders(per_thread)
                in_flight = conversions - expected
                if conversions != distinct or not 0 <= in_flight <= CONNECTIONS:
                    problems.append(
                        f"{kind} run {run}: {conversions} stored for {expected} answered orders"
                    )
                rows.append(
                    [
                        run,
                        kind,
                        f"{rate:.0f}",
                        f"{result['p50_ms']:.1f}",
                        f"{result['p99_ms']:.1f}",
                        answered,
                        conversions,
                        f"{credits / max(conversions, 1):.1f}",
                        f"{cpu / max(result['requests'], 1) * 1000:.2f}",
                        failed(result),
                    ]
                )
    finally:
        server.stop()

    print()
    print_table(
        [
            "run",
            "kind",
            "req/s",
            "p50 ms",
            "p99 ms",
            "answered",
            "stored",
            "credits/conv",
            "cpu ms/req",
            "failed",
        ],
        rows,
    )
    print()
    print(
        "answered = 2xx responses wrk read (10 % of them repeats, answered 200 as duplicates);"
        " stored = conversions in the database, each order once; stored may exceed the"
        " distinct orders answered only by requests in flight when wrk stopped (<= 32);"
        " cpu ms/req = CPU time of the gunicorn workers per request wrk completed."
    )
    for p in problems:
        print("PROBLEM:", p)
    webhooks, pixels = median(figures["webhook"]), median(figures["pixel"])
    print(
        f"KEY intake webhooks_per_s={webhooks:.0f} (target >= 1000) pixels_per_s={pixels:.0f}"
        f" webhook_cpu_ms={median(cpu_ms['webhook']):.2f} lost_or_doubled={len(problems)}"
    )
    return 0 if not problems else 1


def worker_cpu(server: Server) -> float:
    """CPU seconds the gunicorn workers have used so far: per request, the
    figure that does not depend on what else the shared machine is doing
    (requests per second do, by a lot)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in server.workers():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def stored_orders(database: str, prefix: str) -> set[str]:
    conn = sqlite3.connect(database)
    try:
        return {
            r[0]
            for r in conn.execute(
                "SELECT order_id FROM conversions WHERE order_id LIKE ?", [prefix + "%"]
            )
        }
    finally:
        conn.close()


def distinct_pixel_orders(per_thread: list[int]) -> int:
    """Distinct orders among the pixel requests answered: thread t sent
    requests t-1, t+1, t+3... in order, and wrk read the first n of them."""
    orders = set()
    for t, answered in enumerate(per_thread):
        orders.update(pixel_order(t + 2 * k) for k in range(answered))
    return len(orders)


if __name__ == "__main__":
    sys.exit(main())
