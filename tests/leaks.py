"""A pytest plugin: nothing a test starts outlives it.

A thread a test started that is still running once the test's fixtures are
torn down fails that test (at teardown, naming the threads): a client loop
left behind by a failed assertion would otherwise go on for the rest of the
run, and a non-daemon one keeps pytest from ever exiting.

A non-daemon thread still running when pytest is done would keep the
interpreter from ever exiting (it waits for them): the last hook names it
and ends the process, failed, instead.

A child process still running at the end of the run (a server a fixture
did not stop) is named with the test after which it was first seen, killed,
and fails the run.

Only this process and its own children are looked at: other processes of
the machine may come and go.
"""

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

GRACE = 5.0  # seconds a test's threads get to finish after its teardown
# an event loop's default executor ("asyncio_N") belongs to the loop, not to
# the test that happened to grow it: Playwright's loop lives as long as the
# module's browser, and closing the loop ends them
LOOP_THREADS = "asyncio_"
# multiprocessing's own helpers live as long as the interpreter, by design
HELPERS = (b"multiprocessing.resource_tracker", b"multiprocessing.forkserver")


def children(pid: int) -> list[int]:
    """The child processes of `pid`, from /proc/PID/task/*/children: only
    that one process is read, never the whole of /proc."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(p) for p in (task / "children").read_text().split()]
        except FileNotFoundError:  # a thread that just ended
            continue
    return found


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").strip()
    except OSError:
        return b""


@pytest.fixture(autouse=True)
def no_thread_outlives_its_test():
    # autouse: set up before the test's other fixtures, so torn down after them
    before = set(threading.enumerate())
    yield
    started = [
        t for t in threading.enumerate() if t not in before and not t.name.startswith(LOOP_THREADS)
    ]
    deadline = time.monotonic() + GRACE
    for thread in started:
        thread.join(max(0.0, deadline - time.monotonic()))
    running = sorted(t.name for t in started if t.is_alive())
    assert not running, f"threads this test started are still running: {running}"


_first_seen: dict[int, str] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    yield
    for pid in children(os.getpid()):
        _first_seen.setdefault(pid, item.nodeid)


def zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True  # gone already


def pytest_sessionfinish(session):
    # a process that has just been started can show an empty command line for
    # a moment: only an exited one (a zombie) is passed over
    left = {pid: cmdline(pid) or b"(starting)" for pid in children(os.getpid()) if not zombie(pid)}
    left = {pid: line for pid, line in left.items() if not any(h in line for h in HELPERS)}
    if not left:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for pid, line in left.items():
        if reporter:
            where = _first_seen.get(pid, "the session's set-up or tear-down")
            reporter.write_line(
                f"LEFT RUNNING: process {pid} ({line.decode(errors='replace')[:120]}),"
                f" first seen after {where}; killed",
                red=True,
            )
        try:  # a server started in a session of its own: its whole group
            if os.getpgid(pid) == pid:
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
    session.exitstatus = pytest.ExitCode.TESTS_FAILED


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    left = [t for t in threading.enumerate() if t is not threading.main_thread() and not t.daemon]
    deadline = time.monotonic() + GRACE
    for thread in left:
        thread.join(max(0.0, deadline - time.monotonic()))
    running = sorted(t.name for t in left if t.is_alive())
    if running:
        sys.stdout.flush()
        sys.stderr.write(f"\nthreads still running at the end of the run: {running}; exiting\n")
        sys.stderr.flush()
        os._exit(pytest.ExitCode.TESTS_FAILED)
