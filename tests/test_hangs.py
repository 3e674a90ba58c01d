"""The test suite never hangs: a hanging test fails, named, and the run goes
on (pytest-timeout, as pyproject.toml configures it); whatever a test
leaves running fails it (tests/leaks.py); gunicorn's workers are its
master's children and its port is held for as long as the test runs.

The first three run small test files in a pytest of their own."""

import os
import signal
import socket
import subprocess
import threading
import time
import tomllib
from pathlib import Path

import pytest
import requests

from conftest import BROWSER_UA, app_config
from servers import ROOT, Gunicorn, running
from shortener.app import init_db

pytest_plugins = ["pytester"]

TESTS = Path(__file__).resolve().parent


def our_settings(**changes) -> str:
    """pyproject.toml's [tool.pytest.ini_options], with `changes`."""
    with open(ROOT / "pyproject.toml", "rb") as f:
        options = tomllib.load(f)["tool"]["pytest"]["ini_options"]
    options = {k: v for k, v in options.items() if k.startswith("timeout")} | changes
    lines = "\n".join(f"{k} = {v!r}" for k, v in options.items()).replace("'", '"')
    return f"[tool.pytest.ini_options]\n{lines}\n"


def test_the_suite_has_a_time_limit_that_lets_teardown_run():
    settings = our_settings()
    assert 'timeout_method = "signal"' in settings
    assert "timeout = 120" in settings


def test_a_hanging_test_fails_named_and_the_run_goes_on(pytester):
    pytester.makepyprojecttoml(our_settings(timeout=2))
    pytester.makepyfile(
        test_stuck="""
        import threading

        def test_waits_forever(tmp_path):
            stop = threading.Event()
            client = threading.Thread(target=stop.wait, name="client")
            client.start()
            try:
                threading.Event().wait()  # nobody ever sets it
            finally:
                stop.set()  # the time limit raised here: the client is stopped
                client.join()
                (tmp_path.parent / "stopped").write_text("yes")

        def test_the_next_one_still_runs():
            assert True
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=60)
    result.assert_outcomes(failed=1, passed=1)
    output = result.stdout.str()
    assert "FAILED test_stuck.py::test_waits_forever - Failed: Timeout (>2.0s)" in output
    assert [p.read_text() for p in pytester.path.rglob("stopped")] == ["yes"]


def test_a_thread_left_running_fails_its_test_and_cannot_keep_the_run_alive(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    pytester.makepyprojecttoml(our_settings(timeout=30))
    pytester.makepyfile(
        test_left="""
        import threading

        def test_forgets_its_client():
            threading.Thread(target=threading.Event().wait, args=(600,), name="client").start()

        def test_the_next_one():
            assert True
        """
    )
    started = time.monotonic()
    result = pytester.runpytest_subprocess("-p", "leaks", "-p", "no:cacheprovider", timeout=60)
    # the thread waits 600 s; the run ends long before, failed, naming it
    assert time.monotonic() - started < 60
    output = result.stdout.str()
    assert "ERROR test_left.py::test_forgets_its_client" in output
    assert "threads this test started are still running: ['client']" in output
    assert "2 passed, 1 error" in output  # failed at its teardown; the next one ran
    assert "threads still running at the end of the run: ['client']" in result.stderr.str()
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_a_process_left_running_is_named_killed_and_fails_the_run(pytester, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(TESTS))
    pytester.makepyfile(
        test_server="""
        import subprocess, sys

        def test_starts_a_server_and_forgets_it(tmp_path):
            process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
            (tmp_path.parent / "pid").write_text(str(process.pid))
        """
    )
    result = pytester.runpytest_subprocess("-p", "leaks", "-p", "no:cacheprovider", timeout=60)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["LEFT RUNNING: process * first seen after *test_starts_a_server*"])
    (pid_file,) = pytester.path.rglob("pid")
    assert not Path(f"/proc/{pid_file.read_text()}").exists()


# -- gunicorn under the tests -----------------------------------------------------------


@pytest.fixture
def config(tmp_path):
    config = app_config(tmp_path, BASE_URL="http://127.0.0.1")
    init_db(config["DATABASE"])
    return config


def parent_of(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def test_workers_are_the_masters_children_whatever_else_comes_and_goes(config):
    churn, stop = [], threading.Event()

    def come_and_go():  # other processes of the machine, starting and ending
        while not stop.is_set() and len(churn) < 500:
            churn.append(subprocess.run(["true"], timeout=10).returncode)

    other = threading.Thread(target=come_and_go, name="churn")
    with running(config, workers=2) as server:
        other.start()
        try:
            seen = [server.worker_pids() for _ in range(200)]
        finally:
            stop.set()
            other.join(timeout=30)
        workers = seen[-1]
        assert len(workers) == 2 and all(w == workers for w in seen[1:])
        assert {parent_of(w) for w in workers} == {server.process.pid}
        # a worker killed by SIGKILL is replaced by the master: a new child
        os.kill(workers[0], signal.SIGKILL)
        deadline = time.monotonic() + 30
        while workers[0] in server.worker_pids() or len(server.worker_pids()) < 2:
            assert time.monotonic() < deadline, "the master did not replace its worker"
            time.sleep(0.05)
        session = requests.Session()
        session.headers["User-Agent"] = BROWSER_UA
        assert session.get(f"{server.base}/healthz", timeout=10).status_code == 200
    assert churn and set(churn) == {0}


def test_a_failed_test_stops_the_whole_server(config):
    with pytest.raises(AssertionError), running(config, workers=2) as server:
        group = [server.process.pid, *server.worker_pids()]
        raise AssertionError("the test failed")
    for pid in group:  # the master and its workers are gone, not orphaned
        assert (
            not Path(f"/proc/{pid}").exists()
            or b"gunicorn" not in Path(f"/proc/{pid}/cmdline").read_bytes()
        )
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{server.base}/healthz", timeout=5)


def test_the_port_is_held_across_a_crash_and_restart(config):
    server = Gunicorn(config, workers=1)
    try:
        server.start()
        server.crash()
        # nobody else can take the port while the server is down
        with socket.socket() as other, pytest.raises(OSError):
            other.bind(("127.0.0.1", server.port))
        server.start()
        assert requests.get(f"{server.base}/healthz", timeout=10).status_code == 200
    finally:
        server.close()


def test_a_server_that_never_gets_healthy_is_not_left_behind(config):
    config["DATABASE"] = "/nonexistent/folder/clicktrail.db"  # its workers cannot start
    server = Gunicorn(config, workers=1)
    try:
        with pytest.raises(RuntimeError):
            server.start(timeout=5)
        assert server.process.poll() is not None
        with pytest.raises(ProcessLookupError):
            os.killpg(server.process.pid, 0)
    finally:
        server.close()
