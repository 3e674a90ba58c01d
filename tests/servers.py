"""Run clicktrail under a real gunicorn on 127.0.0.1 for end-to-end tests."""

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

import requests
from leaks import children

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    """A port free a moment ago: another program may take it before it is
    bound. Gunicorn below holds its port instead."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_env(config: dict) -> dict:
    env = dict(os.environ)
    for key, value in config.items():
        if key == "TESTING":
            continue
        # from_prefixed_env parses JSON: repr(False) would arrive as the
        # (true) string "False", and repr of a list is not JSON at all
        env[f"CLICKTRAIL_{key}"] = value if isinstance(value, str) else json.dumps(value)
    return env


class Gunicorn:
    """gunicorn serving `shortener:create_app()`, in a process group of its
    own so that stop() and crash() reach every worker.

    The listening socket is made here and handed to gunicorn as fd://N: the
    port is this server's from the start, never chosen, freed and then bound
    (another program of the machine could take it in between), and it stays
    ours while a crashed server is started again at the same address."""

    def __init__(self, config: dict, log_path: Path | None = None, workers: int = 2):
        self.config, self.workers, self.log_path = config, workers, log_path
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(128)
        self.port = self.listener.getsockname()[1]
        self.base = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 30) -> None:
        fd = self.listener.fileno()
        command = [
            sys.executable, "-m", "gunicorn",
            "--config", str(ROOT / "gunicorn.conf.py"),
            "--bind", f"fd://{fd}",
            "--workers", str(self.workers),
            "shortener:create_app()",
        ]  # fmt: skip
        with open(self.log_path, "ab") if self.log_path else nullcontext() as log:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=server_env(self.config), stdout=log, stderr=log,
                pass_fds=(fd,), start_new_session=True,
            )  # fmt: skip
        try:
            self._wait_healthy(timeout)
        except BaseException:  # never leave a half-started server behind
            self.stop()
            raise

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}")
            try:
                if requests.get(f"{self.base}/healthz", timeout=2).status_code == 200:
                    return
            except (requests.ConnectionError, requests.Timeout):  # still booting, or busy
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not become healthy in time")
            time.sleep(0.1)

    def worker_pids(self) -> list[int]:
        """The master's children: its workers (the master is the process we
        started, `python -m gunicorn`)."""
        return children(self.process.pid)

    def kill_worker(self) -> int:
        """SIGKILL one worker, mid-request under load; the master starts another."""
        victim = random.choice(self.worker_pids())
        os.kill(victim, signal.SIGKILL)
        return victim

    def crash(self) -> None:
        """SIGKILL the master and every worker at once: a crash, no goodbye."""
        self._kill_group()

    def stop(self) -> None:
        """Stop gracefully; whatever is left after 15 s is killed."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pass
        self._kill_group()  # workers outliving their master, if any

    def _kill_group(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:  # the group is gone already
            pass
        self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # workers of the group, gone
            try:
                os.killpg(self.process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)

    def close(self) -> None:
        try:
            self.stop()
        finally:
            self.listener.close()


@contextmanager
def running(config: dict, workers: int = 2, timeout: float = 30.0, log_path: Path | None = None):
    """Yield a started Gunicorn; stopped (and its port closed) on the way
    out, also when the test fails."""
    server = Gunicorn(config, log_path, workers)
    try:
        server.start(timeout)
        yield server
    finally:
        server.close()


@contextmanager
def gunicorn(config: dict, workers: int = 2, timeout: float = 30.0):
    """Yield the base URL of a gunicorn serving `shortener:create_app()`."""
    with running(config, workers, timeout) as server:
        yield server.base
