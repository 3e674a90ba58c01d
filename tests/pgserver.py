"""A throwaway PostgreSQL server for the tests, from Debian's binaries.

`PgServer` runs initdb into a fresh temporary folder, starts `postgres` on a
unix socket in that folder and on a free port of 127.0.0.1 (never any other
address), waits until it answers, and on `stop()` -- always, also after a
failed start -- stops it (`pg_ctl stop -m immediate`, then SIGKILL to its
process group) and removes the folder. Nothing of the machine's own
PostgreSQL (clusters, config, service) is used or touched.

PostgreSQL refuses to run as root: under root (CI) the server's processes run
as the `postgres` user and the folder belongs to it.

As a pytest plugin (conftest's `pytest_plugins`): the session-scoped
`pg_server` fixture, started the first time a test asks for it, and `pg_url`,
a fresh empty database for each test (CREATE DATABASE ... TEMPLATE template0
under a unique name), dropped after it.
"""

import glob
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

START_TIMEOUT = 60.0
STOP_TIMEOUT = 10.0
SUPERUSER = "clicktrail"
# a test server: speed over durability (the data is thrown away)
SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "60",
    "listen_addresses": "127.0.0.1",
    "log_min_messages": "warning",
    "logging_collector": "off",
}


def bindir() -> str | None:
    """Debian's newest PostgreSQL binaries (or PG_BINDIR), None when absent."""
    wanted = os.environ.get("PG_BINDIR")
    if wanted:
        return wanted if os.path.exists(os.path.join(wanted, "initdb")) else None
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        return None
    newest = max(found, key=lambda p: int(p.split("/")[-3]))
    return os.path.dirname(newest)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    def __init__(self, binaries: str | None = None):
        self.bin = binaries or bindir()
        if self.bin is None:
            raise RuntimeError("PostgreSQL binaries not found (apt-get install postgresql)")
        self.as_postgres = os.geteuid() == 0
        self.dir: str | None = None
        self.process: subprocess.Popen | None = None
        self.port: int | None = None

    @property
    def data(self) -> str:
        return os.path.join(self.dir, "data")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{database}"

    def _run_as(self) -> dict:
        """Popen arguments that run a binary as the postgres user under root."""
        if not self.as_postgres:
            return {}
        return {"user": "postgres", "group": "postgres", "extra_groups": [],
                "env": {**os.environ, "HOME": self.dir}}  # fmt: skip

    def start(self) -> "PgServer":
        try:
            self._init()
            self._launch()
        except BaseException:
            self.stop()
            raise
        return self

    def _init(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="clicktrail-pg-")
        if self.as_postgres:
            account = pwd.getpwnam("postgres")
            os.chown(self.dir, account.pw_uid, account.pw_gid)
        subprocess.run(
            [os.path.join(self.bin, "initdb"), "-D", self.data, "-U", SUPERUSER,
             "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync", "--no-instructions"],
            check=True, capture_output=True, timeout=START_TIMEOUT, cwd=self.dir,
            **self._run_as(),
        )  # fmt: skip

    def _launch(self) -> None:
        self.port = free_port()
        options = [f"-c{name}={value}" for name, value in SETTINGS.items()]
        with open(os.path.join(self.dir, "server.log"), "wb") as log:  # the child keeps it open
            self.process = subprocess.Popen(
                [os.path.join(self.bin, "postgres"), "-D", self.data, "-p", str(self.port),
                 "-k", self.dir, *options],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True, cwd=self.dir, **self._run_as(),
            )  # fmt: skip
        self._wait_ready()

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited at start:\n{self.log()}")
            try:
                psycopg.connect(self.url(), connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"postgres not ready in time:\n{self.log()}") from None
                time.sleep(0.05)

    def log(self) -> str:
        try:
            with open(os.path.join(self.dir, "server.log"), errors="replace") as f:
                return f.read()[-4000:]
        except (OSError, TypeError):
            return ""

    def pids(self) -> list[int]:
        """The server's processes: the postmaster and its children."""
        if self.process is None or self.process.poll() is not None:
            return []
        return [self.process.pid, *_children(self.process.pid)]

    def stop(self) -> None:
        """Stop the server (whatever state it is in) and remove its folder."""
        try:
            if self.process is not None:
                self._stop_process()
        finally:
            if self.dir is not None:
                shutil.rmtree(self.dir, ignore_errors=True)
                self.dir = None

    def _stop_process(self) -> None:
        process = self.process
        if process.poll() is None:
            stopped = subprocess.run(
                [os.path.join(self.bin, "pg_ctl"), "stop", "-D", self.data, "-m", "immediate",
                 "-W"],
                capture_output=True, timeout=STOP_TIMEOUT, cwd=self.dir, **self._run_as(),
            )  # fmt: skip
            if stopped.returncode != 0:  # no pid file yet (a failed start): signal it ourselves
                _signal(process.pid, signal.SIGQUIT)
        try:
            process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
        try:  # the postmaster's group: any child it left behind goes too
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait()
        self.process = None

    def create_database(self) -> str:
        """A new empty database; its URL."""
        name = f"t_{secrets.token_hex(6)}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE template0')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(sql)


def _signal(pid: int, number: int) -> None:
    try:
        os.kill(pid, number)
    except ProcessLookupError:
        pass


def _children(pid: int) -> list[int]:
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return found
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as f:
                found += [int(p) for p in f.read().split()]
        except FileNotFoundError:
            continue
    return found


@pytest.fixture(scope="session")
def pg_server():
    if bindir() is None:
        pytest.skip("PostgreSQL binaries not installed (.ci/run installs them)")
    server = PgServer().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server):
    """A fresh, empty PostgreSQL database of the throwaway server."""
    url = pg_server.create_database()
    try:
        yield url
    finally:
        pg_server.drop_database(url)
