"""The throwaway PostgreSQL server the tests start: it answers, only on
127.0.0.1 and its own socket, each test gets an empty database of its own,
and stopping it -- also after a failed start -- leaves no process and no
folder behind."""

import os
import time

import psycopg
import pytest
from pgserver import PgServer, bindir

pytestmark = pytest.mark.skipif(bindir() is None, reason="PostgreSQL binaries not installed")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def gone_within(pids: list[int], seconds: float) -> list[int]:
    """The pids still alive after `seconds` (a killed process takes a moment)."""
    deadline = time.monotonic() + seconds
    while [pid for pid in pids if alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    return [pid for pid in pids if alive(pid)]


def test_a_server_started_and_stopped_leaves_no_process_and_no_folder():
    server = PgServer().start()
    try:
        with psycopg.connect(server.url()) as conn:
            assert conn.execute("SELECT 1 + 1").fetchone() == (2,)
            listen = conn.execute("SHOW listen_addresses").fetchone()[0]
            sockets = conn.execute("SHOW unix_socket_directories").fetchone()[0]
        assert listen == "127.0.0.1"
        assert sockets == server.dir  # its own folder, not the machine's /var/run/postgresql
        pids = server.pids()
        assert len(pids) >= 2  # the postmaster and its helpers
        folder = server.dir
    finally:
        server.stop()
    assert not [pid for pid in pids if alive(pid)]
    assert not os.path.exists(folder)


def test_a_server_whose_postmaster_was_killed_is_still_cleaned_up():
    server = PgServer().start()
    pids, folder = server.pids(), server.dir
    os.kill(server.process.pid, 9)  # the helpers notice the postmaster is gone
    server.stop()
    assert not gone_within(pids, 5.0)
    assert not os.path.exists(folder)


def test_a_failed_start_stops_what_it_started(monkeypatch):
    server = PgServer()
    monkeypatch.setattr(server, "_wait_ready", lambda: (_ for _ in ()).throw(RuntimeError("x")))
    with pytest.raises(RuntimeError):
        server.start()
    assert server.process is None
    assert server.dir is None


def test_each_test_gets_an_empty_database_of_its_own(pg_url, pg_server):
    with psycopg.connect(pg_url) as conn:
        tables = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]
        conn.execute("CREATE TABLE mine (x integer)")
    assert tables == 0
    other = pg_server.create_database()
    try:
        assert other != pg_url
        with psycopg.connect(other) as conn:
            assert conn.execute("SELECT to_regclass('mine')").fetchone() == (None,)
    finally:
        pg_server.drop_database(other)
