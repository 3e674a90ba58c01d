"""What the benchmarks share: a gunicorn server under the project's own
settings, wrk runs driven by a Lua script, and small statistics.

Everything runs on this machine side by side, because absolute figures on a
shared 2-core machine move by a quarter between runs; only ratios measured
in one run mean something.
"""

import atexit
import base64
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN_CONF = ROOT / "gunicorn.conf.py"
BIN = Path(sys.executable).parent
SECRET_KEY = "bench-secret-key-not-for-production"
ADMIN_API_KEY = "bench-admin-key"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"clicktrail-bench-webhook-secret!").decode()


def machine() -> str:
    """One line naming the machine the figures were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cores {cpu}, {mem_gb:.0f} GB RAM, Python {platform.python_version()},"
        f" {platform.system()} {platform.release()}"
    )


def work_dir(name: str, keep: str | None = None) -> Path:
    """A folder for a run's databases, removed at exit (they are big) unless
    the caller asked to keep them in `keep`."""
    if keep:
        work = Path(keep)
        work.mkdir(parents=True, exist_ok=True)
        return work
    work = Path(tempfile.mkdtemp(prefix=f"clicktrail-bench-{name}-"))
    atexit.register(shutil.rmtree, work, True)
    return work


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clicktrail_env(database: str) -> dict[str, str]:
    """Configuration for a throwaway clicktrail instance, by environment
    (the CLICKTRAIL_* variables override instance/config.py)."""
    env = dict(os.environ)
    env.update(
        CLICKTRAIL_SECRET_KEY=SECRET_KEY,
        CLICKTRAIL_ADMIN_API_KEY=ADMIN_API_KEY,
        CLICKTRAIL_WEBHOOK_SECRET=WEBHOOK_SECRET,
        CLICKTRAIL_DATABASE=database,
        CLICKTRAIL_BASE_URL="http://go.bench.test",
    )
    return env


class Server:
    """gunicorn serving `app` with gunicorn.conf.py, as `make run` does."""

    def __init__(self, app: str, env: dict[str, str], pythonpath: str = str(ROOT)):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="bench-gunicorn-", suffix=".log")
        self.process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "--config",
                str(GUNICORN_CONF),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--pythonpath",
                pythonpath,
                app,
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a group of its own: stop() reaches every worker
        )

    def wait_ready(self, path: str = "/healthz", timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.output()}")
            try:
                with urllib.request.urlopen(self.url + path, timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"gunicorn did not answer {path} in {timeout} s:\n{self.output()}")

    def workers(self) -> list[int]:
        """Process ids of the master's worker children."""
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in children.read_text().split()]

    def output(self) -> str:
        return Path(self.log.name).read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        try:  # whatever is left of master and workers
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        self.log.close()


@contextmanager
def serving(app: str, env: dict[str, str], ready_path: str = "/healthz"):
    server = Server(app, env)
    try:
        server.wait_ready(ready_path)
        yield server
    finally:
        server.stop()


def wrk(
    url: str,
    script: Path,
    *,
    threads: int = 2,
    connections: int = 32,
    seconds: int = 10,
    env: dict[str, str] | None = None,
) -> dict:
    """Run wrk; the Lua script's done() prints one JSON line of results."""
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        check=True,
    )
    for line in result.stdout.splitlines():
        if line.startswith("{"):
            return json.loads(line)
    raise RuntimeError(f"wrk printed no result:\n{result.stdout}\n{result.stderr}")


# Shared Lua: per-thread status counts, and done() printing one JSON line.
LUA_REPORT = r"""
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

statuses = {}
function count_status(status)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local parts = {}
  local counts = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local out = {}
  for status, n in pairs(counts) do
    table.insert(out, string.format('"%d": %d', status, n))
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p99_ms": %.3f,'
    .. ' "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d},'
    .. ' "statuses": {%s}}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(out, ", ")))
  if finish then finish(threads) end
end
"""


def lua_string(value: str) -> str:
    """A Lua string literal (long strings are awkward with arbitrary bytes)."""
    escaped = "".join(
        c if 32 <= ord(c) < 127 and c not in '"\\' else f"\\{ord(c):03d}"
        for c in value.encode("utf-8").decode("latin-1")
    )
    return f'"{escaped}"'


def lua_list(values) -> str:
    return "{\n" + ",\n".join(lua_string(v) for v in values) + "\n}"


def median(values):
    ordered = sorted(values)
    n = len(ordered)
    mid = n // 2
    return ordered[mid] if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def print_table(headers: list[str], rows: list[list]) -> None:
    cells = [[str(h) for h in headers]] + [[str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
