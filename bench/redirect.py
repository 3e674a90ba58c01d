"""Redirect throughput: clicktrail against a bare Flask redirect, side by side.

Builds a database of 100,000 links, serves (a) bench/bare_app.py and (b)
clicktrail under the same gunicorn settings, and loads each in turn with
`wrk -t2 -c32 -d10s` on 1,000 real codes with several hundred distinct user
agents (some bots, some returning visitors with a valid cookie), three times
alternately. Then it checks the click log against what wrk saw answered:
every redirect wrk received carries a click id that must be stored, and a
last run SIGKILLs a worker in the middle to show no answered click is lost.

Usage: python bench/redirect.py [--rounds 3] [--seconds 10] [--links 100000]
"""

import argparse
import os
import random
import signal
import sqlite3
import string
import sys
import threading
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from common import (  # noqa: E402
    LUA_REPORT,
    SECRET_KEY,
    Server,
    clicktrail_env,
    lua_list,
    machine,
    median,
    print_table,
    work_dir,
    wrk,
)
from intake import worker_cpu  # noqa: E402
from itsdangerous import URLSafeTimedSerializer  # noqa: E402
from useragents import BOTS, spread  # noqa: E402

from shortener.app import init_db  # noqa: E402
from shortener.cookie import SALT  # noqa: E402
from shortener.db import connect  # noqa: E402
from shortener.journal import replay_all  # noqa: E402

CHANNELS = ["twitter", "facebook", "linkedin", "instagram", "tiktok", "reddit", "newsletter"]
REFERRERS = [
    "https://t.co/",
    "https://www.facebook.com/",
    "https://l.facebook.com/",
    "https://www.linkedin.com/",
    "https://l.instagram.com/",
    "https://www.reddit.com/",
    "",
    "",
]

LUA_REQUESTS = r"""
local counter = 0
function setup_thread(thread)
  counter = counter + 1
  thread:set("tid", counter)
end
local base_setup = setup
function setup(thread)
  base_setup(thread)
  setup_thread(thread)
end

ids = {}
local collect = os.getenv("CT_IDS_OUT") ~= nil

function init(args)
  math.randomseed(1000 + tid)
end

function request()
  local headers = {
    ["User-Agent"] = UAS[math.random(#UAS)],
    ["Accept"] = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    ["Accept-Language"] = "en-US,en;q=0.9",
  }
  local referrer = REFERRERS[math.random(#REFERRERS)]
  if referrer ~= "" then headers["Referer"] = referrer end
  if math.random() < 0.3 then
    headers["Cookie"] = "ct_vid=" .. COOKIES[math.random(#COOKIES)]
  end
  return wrk.format("GET", PATHS[math.random(#PATHS)], headers)
end

function response(status, headers, body)
  count_status(status)
  if collect and status == 302 then
    local id = string.match(headers["Location"] or "", "ct_click=([%w_%-]+)")
    if id then ids[#ids + 1] = id end
  end
end

function finish(threads)
  local path = os.getenv("CT_IDS_OUT")
  if not path then return end
  local f = io.open(path, "w")
  for _, t in ipairs(threads) do
    for _, id in ipairs(t:get("ids")) do f:write(id, "\n") end
  end
  f:close()
end
"""


def random_code(rng: random.Random) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(7))


def build_database(path: str, n_links: int, rng: random.Random) -> list[str]:
    """n_links campaign links; returns their codes."""
    init_db(path)
    db = connect(path)
    codes = set()
    while len(codes) < n_links:
        codes.add(random_code(rng))
    codes = sorted(codes)
    rng.shuffle(codes)
    now = "2026-01-01T00:00:00.000000Z"
    rows = []
    for i, code in enumerate(codes):
        query = "?ref=bio" if i % 5 == 0 else ""
        rows.append(
            (
                code,
                f"https://shop.example.com/p/{i}{query}",
                CHANNELS[i % len(CHANNELS)],
                f"campaign-{i % 97}",
                "email" if CHANNELS[i % len(CHANNELS)] == "newsletter" else None,
                f"post-{i % 13}" if i % 3 == 0 else None,
                now,
                now,
            )
        )
    with db.conn:
        db.conn.executemany(
            "INSERT INTO links (code, url, channel, campaign, medium, content, created_at,"
            " updated_at) VALUES (?,?,?,?,?,?,?,?)",
            rows,
        )
    db.close()
    return codes


def write_script(path: Path, codes: list[str], user_agents: list[str], cookies: list[str]):
    path.write_text(
        f"PATHS = {lua_list('/' + c for c in codes)}\n"
        f"UAS = {lua_list(user_agents)}\n"
        f"REFERRERS = {lua_list(REFERRERS)}\n"
        f"COOKIES = {lua_list(cookies)}\n" + LUA_REPORT + LUA_REQUESTS
    )


def answered(result: dict) -> int:
    return sum(n for status, n in result["statuses"].items() if 200 <= int(status) < 400)


def failed(result: dict) -> int:
    """Responses that were not 2xx/3xx, and requests that got no response."""
    bad = sum(n for status, n in result["statuses"].items() if not 200 <= int(status) < 400)
    errors = result["errors"]
    return bad + errors["connect"] + errors["read"] + errors["write"] + errors["timeout"]


def stored_ids(database: str) -> set[str]:
    db = connect(database)
    replay_all(db)  # the clicks still in the workers' journals, as any reader does
    db.close()
    conn = sqlite3.connect(database)
    try:
        return {r[0] for r in conn.execute("SELECT click_id FROM clicks")}
    finally:
        conn.close()


def bot_misclassified(database: str) -> tuple[int, int]:
    """(bot agents stored as people, human agents stored as bots)."""
    conn = sqlite3.connect(database)
    try:
        bots = set(BOTS)
        wrong_bots = wrong_people = 0
        for ua, is_bot, visitor in conn.execute(
            "SELECT user_agent, is_bot, visitor_id FROM clicks"
        ):
            if ua in bots:
                wrong_bots += not is_bot or visitor is not None
            else:
                wrong_people += bool(is_bot) or visitor is None
        return wrong_bots, wrong_people
    finally:
        conn.close()


def kill_run(server: Server, script: Path, ids_file: Path, seconds: int) -> dict:
    """wrk against clicktrail while one worker is SIGKILLed half-way."""
    killed = []

    def kill_one():
        time.sleep(seconds / 2)
        pid = server.workers()[0]
        os.kill(pid, signal.SIGKILL)
        killed.append(pid)

    killer = threading.Thread(target=kill_one)
    killer.start()
    result = wrk(server.url, script, seconds=seconds, env={"CT_IDS_OUT": str(ids_file)})
    killer.join()
    result["killed"] = killed
    return result


# a 1-minute load average above this on 2 cores means other work shared the
# CPUs: the ratio still compares like with like, the absolute figures do not
BUSY_LOAD = 1.5


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def load_text(load: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.2f}" for x in load)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--links", type=int, default=100_000)
    args = parser.parse_args(argv)

    load_start = load_average()
    rng = random.Random(42)
    work = work_dir("redirect")
    database = str(work / "clicktrail.db")
    started = time.monotonic()
    codes = build_database(database, args.links, rng)
    sample = rng.sample(codes, 1000)
    signer = URLSafeTimedSerializer([SECRET_KEY], salt=SALT)
    cookies = [signer.dumps(f"bench-visitor-{n:010d}") for n in range(300)]
    user_agents = spread()
    script = work / "redirect.lua"
    write_script(script, sample, user_agents, cookies)
    print(f"machine: {machine()}")
    print(f"load average (1/5/15 min) at start: {load_text(load_start)}")
    print(
        f"{args.links:,} links in {time.monotonic() - started:.1f} s; {len(sample)} codes,"
        f" {len(set(user_agents))} distinct user agents ({len(BOTS)} bots),"
        " 30 % of requests with a returning visitor's cookie"
    )

    bare = Server("bare_app:app", clicktrail_env(database), pythonpath=str(BENCH))
    clicktrail = Server("shortener:create_app()", clicktrail_env(database))
    runs = {"bare": [], "clicktrail": []}
    ids_file = work / "ids.txt"
    answered_ids: set[str] = set()
    rows = []
    try:
        bare.wait_ready()
        clicktrail.wait_ready()
        for server in (bare, clicktrail):  # warm-up: imports, caches, connections
            wrk(server.url, script, seconds=5)
        warm = len(stored_ids(database))
        for n in range(1, args.rounds + 1):
            for name, server in (("bare", bare), ("clicktrail", clicktrail)):
                env = {"CT_IDS_OUT": str(ids_file)} if name == "clicktrail" else {}
                cpu_before = worker_cpu(server)
                result = wrk(server.url, script, seconds=args.seconds, env=env)
                result["cpu_ms"] = (worker_cpu(server) - cpu_before) / max(answered(result), 1)
                result["cpu_ms"] *= 1000
                if name == "clicktrail":
                    answered_ids |= set(ids_file.read_text().split())
                result["rps"] = answered(result) / result["seconds"]
                runs[name].append(result)
                rows.append(
                    [
                        n,
                        name,
                        f"{result['rps']:.0f}",
                        f"{result['p50_ms']:.2f}",
                        f"{result['p99_ms']:.2f}",
                        f"{result['cpu_ms']:.3f}",
                        failed(result),
                    ]
                )
        stored_after_rounds = stored_ids(database)
        kill_ids = work / "kill-ids.txt"
        kill = kill_run(clicktrail, script, kill_ids, seconds=max(4, args.seconds // 2))
        kill_answered = set(kill_ids.read_text().split())
    finally:
        bare.stop()
        clicktrail.stop()

    load_end = load_average()
    busy = max(load_start[0], load_end[0]) > BUSY_LOAD
    print()
    print_table(["round", "server", "req/s", "p50 ms", "p99 ms", "cpu ms/req", "failed"], rows)
    print("cpu ms/req = CPU time of the gunicorn workers per redirect answered")
    print()
    ratios = [c["rps"] / b["rps"] for b, c in zip(runs["bare"], runs["clicktrail"], strict=True)]
    p99s = [
        c["p99_ms"] / b["p99_ms"] for b, c in zip(runs["bare"], runs["clicktrail"], strict=True)
    ]
    cpus = [
        b["cpu_ms"] / c["cpu_ms"] for b, c in zip(runs["bare"], runs["clicktrail"], strict=True)
    ]
    ratio, p99_ratio, cpu_ratio = median(ratios), median(p99s), median(cpus)
    med = {k: median([r["rps"] for r in v]) for k, v in runs.items()}
    print(
        f"median req/s: bare {med['bare']:.0f}, clicktrail {med['clicktrail']:.0f};"
        f" ratio clicktrail/bare per round {', '.join(f'{r:.2f}' for r in ratios)}"
        f" -> median {ratio:.2f} (target >= 0.80)"
    )
    print(
        f"CPU per redirect, bare/clicktrail per round {', '.join(f'{r:.2f}' for r in cpus)}"
        f" -> median {cpu_ratio:.2f} (the throughput ratio the workers' own work allows)"
    )
    print(
        f"p99 clicktrail/bare per round {', '.join(f'{r:.2f}' for r in p99s)}"
        f" -> median {p99_ratio:.2f} (target <= 2.0)"
    )

    timed_stored = len(stored_after_rounds) - warm
    redirects = sum(answered(r) for r in runs["clicktrail"])
    missing = len(answered_ids - stored_after_rounds)
    in_flight = timed_stored - redirects
    print(
        f"clicks: {redirects:,} redirects answered, {timed_stored:,} clicks stored"
        f" ({in_flight:+,} = requests the server answered after wrk stopped reading);"
        f" answered but not stored: {missing};"
        f" non-2xx/3xx or failed: {sum(failed(r) for r in runs['clicktrail'])}"
    )
    all_stored = stored_ids(database)
    kill_missing = len(kill_answered - all_stored)
    print(
        f"SIGKILL of worker {kill['killed']} mid-run: {len(kill_answered):,} redirects"
        f" answered, answered but not stored: {kill_missing};"
        f" connections cut by the kill: {failed(kill)}"
    )
    wrong_bots, wrong_people = bot_misclassified(database)
    print(
        f"bots stored as people: {wrong_bots}; people stored as bots or without visitor:"
        f" {wrong_people} (of {len(all_stored):,} clicks)"
    )
    lost = missing + kill_missing
    print(
        f"load average (1/5/15 min) at start {load_text(load_start)}, at end"
        f" {load_text(load_end)}" + (" -- under load" if busy else "")
    )
    print(
        f"KEY redirect ratio={ratio:.2f} p99_ratio={p99_ratio:.2f} cpu_ratio={cpu_ratio:.2f}"
        f" bare_rps={med['bare']:.0f} clicktrail_rps={med['clicktrail']:.0f}"
        f" answered={redirects} stored={timed_stored} lost={lost}"
        f" misclassified={wrong_bots + wrong_people}"
        f" load={load_start[0]:.2f}->{load_end[0]:.2f}{' under load' if busy else ''}"
    )
    return 0 if lost == 0 and wrong_bots + wrong_people == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
