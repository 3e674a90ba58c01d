"""Run clicktrail under a real gunicorn on 127.0.0.1 for end-to-end tests."""

import json
import os
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
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


@contextmanager
def gunicorn(config: dict, workers: int = 2, timeout: float = 20.0):
    """Yield the base URL of a gunicorn serving `shortener:create_app()`."""
    port = free_port()
    command = [
        sys.executable, "-m", "gunicorn",
        "--config", str(ROOT / "gunicorn.conf.py"),
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(workers),
        "shortener:create_app()",
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=ROOT, env=server_env(config))
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {process.returncode}")
            try:
                if requests.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # still booting, or busy
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("gunicorn did not become healthy in time")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
