"""Outbound webhooks against the redirect: does delivering `click.created`
slow the redirects that create the clicks?

Three servers over copies of one database of 1,000 links, loaded in turn
with `wrk -t2 -c32` (browser user agents, so every request is a human
click), several rounds alternately:

- `none`: no webhook endpoint (the deliverer thread idles);
- `thread`: one endpoint subscribed to click.created, delivered by the
  gunicorn worker thread (the default);
- `process`: the same endpoint, WEBHOOK_DELIVERY_THREAD off and
  `flask webhooks deliver` running as its own process.

The endpoint is a local HTTP receiver in this process answering 204. The
table gives req/s and latency per run, deliveries made during it and the
backlog left when the load stopped.

Every run starts from a fresh copy in a directory of its own: SQLite would
apply a previous run's `-wal` and `-shm` (and the click journal its
`-clicks` files) to a new file of the same name and call it malformed.

Usage: python bench/outbound.py [--rounds 2] [--seconds 8]
"""

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from common import (  # noqa: E402
    LUA_REPORT,
    ROOT,
    Server,
    clicktrail_env,
    lua_list,
    machine,
    median,
    print_table,
    wrk,
)

from conversions import outbound  # noqa: E402
from shortener.app import init_db  # noqa: E402
from shortener.clock import utcnow  # noqa: E402
from shortener.db import connect  # noqa: E402

BROWSER = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
SCRIPT = """
codes = %s
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", "/" .. codes[(counter %% #codes) + 1], {["User-Agent"] = "%s"})
end
response = function(status, headers, body) count_status(status) end
"""


class Receiver:
    """A local HTTP/1.1 receiver answering 204 on kept-alive connections. It
    stands for a remote system, so it is kept lean (asyncio, no header
    parsing beyond Content-Length): http.server spent about as much CPU
    receiving as the deliverer sending, on the cores being measured."""

    def __init__(self):
        self.count = 0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        def serve():
            asyncio.set_event_loop(self.loop)
            server = self.loop.run_until_complete(
                asyncio.start_server(self._client, "127.0.0.1", 0)
            )
            self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook"
            ready.set()
            self.loop.run_forever()

        threading.Thread(target=serve, daemon=True).start()
        ready.wait()

    async def _client(self, reader, writer):
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                await reader.readexactly(length)
                self.count += 1
                writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the deliverer closed the connection (its round ended, or it stopped)
        finally:
            writer.close()


def build(path: str, n_links: int) -> list[str]:
    init_db(path)
    db = connect(path)
    now = "2026-01-01T00:00:00.000000Z"
    codes = [f"bench{i:05d}" for i in range(n_links)]
    with db.conn:
        db.conn.executemany(
            "INSERT INTO links (code, url, channel, campaign, created_at, updated_at)"
            " VALUES (?, ?, 'twitter', 'bench', ?, ?)",
            [(c, f"https://shop.example.com/{c}", now, now) for c in codes],
        )
    db.close()
    return codes


def pending(path: str) -> int:
    db = connect(path)
    try:
        queued = db.execute(
            "SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'"
        ).fetchone()[0]
        endpoint = db.execute("SELECT click_cursor FROM webhook_endpoints").fetchone()
        unread = 0
        if endpoint:
            unread = db.execute(
                "SELECT count(*) FROM clicks WHERE id > ?", [endpoint[0]]
            ).fetchone()[0]
        errors = db.execute(
            "SELECT last_error, count(*) FROM webhook_deliveries"
            " WHERE last_error IS NOT NULL GROUP BY last_error LIMIT 3"
        ).fetchall()
        for error, n in errors:
            print(f"  {n} deliveries last failed with: {error}", file=sys.stderr)
        return queued + unread
    finally:
        db.close()


def load_text() -> str:
    """The load average now, flagged when it is above the core count (the
    figures beside it were then measured on a busy machine)."""
    load = os.getloadavg()
    busy = " under load" if load[0] > (os.cpu_count() or 1) else ""
    return "/".join(f"{x:.1f}" for x in load) + busy


def run(mode: str, base: str, work: Path, receiver: Receiver, script: Path, seconds: int):
    fresh = Path(tempfile.mkdtemp(prefix=f"{mode}-", dir=work))
    path = str(fresh / f"{mode}.db")
    shutil.copy(base, path)
    if mode != "none":
        db = connect(path)
        outbound.create_endpoint(
            db, {"url": receiver.url, "events": ["click.created"]}, True, utcnow()
        )
        db.close()
    env = clicktrail_env(path)
    env["CLICKTRAIL_WEBHOOK_ALLOW_PRIVATE_TARGETS"] = "true"
    env["CLICKTRAIL_WEBHOOK_POLL_SECONDS"] = "0.2"
    deliverer = None
    if mode == "process":
        env["CLICKTRAIL_WEBHOOK_DELIVERY_THREAD"] = "false"
        deliverer = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "shortener", "webhooks", "deliver",
             "--poll", "0.2"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
    server = Server("shortener:create_app()", env)
    try:
        server.wait_ready()
        wrk(server.url, script, seconds=2)  # warm up
        before = receiver.count
        result = wrk(server.url, script, seconds=seconds)
        delivered = receiver.count - before
        backlog = pending(path)
    finally:
        try:
            server.stop()
        finally:
            if deliverer:
                deliverer.terminate()
                try:
                    deliverer.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    deliverer.kill()
                    deliverer.wait()
    return {
        "rps": result["requests"] / result["seconds"],
        "p50": result["p50_ms"],
        "p99": result["p99_ms"],
        "delivered": delivered,
        "per_second": delivered / seconds,
        "backlog": backlog,
        "load": load_text(),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=int, default=8)
    parser.add_argument("--links", type=int, default=1000)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-outbound-"))
    try:
        base = str(work / "base.db")
        codes = build(base, args.links)
        script = work / "load.lua"
        script.write_text(SCRIPT % (lua_list(codes), BROWSER) + LUA_REPORT)
        receiver = Receiver()
        rows, by_mode = [], {}
        for n in range(1, args.rounds + 1):
            for mode in ("none", "thread", "process"):
                r = run(mode, base, work, receiver, script, args.seconds)
                by_mode.setdefault(mode, []).append(r)
                rows.append([n, mode, f"{r['rps']:.0f}", f"{r['p50']:.2f}", f"{r['p99']:.2f}",
                             r["delivered"], f"{r['per_second']:.0f}", r["backlog"],
                             r["load"]])  # fmt: skip
        print(machine())
        print_table(["round", "deliverer", "req/s", "p50 ms", "p99 ms", "delivered",
                     "deliveries/s", "backlog", "load 1/5/15"], rows)  # fmt: skip
        none = median([r["rps"] for r in by_mode["none"]])
        ratios = {m: median([r["rps"] for r in by_mode[m]]) / none for m in ("thread", "process")}
        print(f"KEY thread/none {ratios['thread']:.2f} process/none {ratios['process']:.2f}"
              f" load {load_text()}")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
