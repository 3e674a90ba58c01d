"""Short soaks under a real gunicorn on 127.0.0.1 (`make soak` runs longer
ones): concurrent redirects, signed webhooks and pixels, with and without a
killed worker or a crashed and restarted server. Nothing acknowledged is
lost, nothing is stored twice, no 5xx, no "database is locked"."""

import socket
from dataclasses import asdict

import pytest
from soak import kill_workers, make_links, restart, run, verify

from conftest import WEBHOOK_SECRET, app_config
from servers import running
from shortener.app import init_db

# each soak runs SECONDS of load; set-up, checks and a busy machine take more
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

SECONDS = 8
CLIENTS = 10


@pytest.fixture
def setup(tmp_path):
    config = app_config(tmp_path, BASE_URL="http://127.0.0.1")
    init_db(config["DATABASE"])
    codes = make_links(config["DATABASE"], 20)
    with running(config, workers=3, log_path=tmp_path / "gunicorn.log") as server:
        yield server, config, codes


def soak(setup, fault=None):
    server, config, codes = setup
    tally = run(server, codes, WEBHOOK_SECRET, SECONDS, CLIENTS, fault)
    server.stop()
    check = verify(config["DATABASE"], server.log_path, tally)
    print(asdict(check))
    assert check.problems(tally) == [], asdict(check)
    # the load really happened, of every kind
    assert check.clicks_acknowledged > 100
    assert check.webhooks_acknowledged > 20 and check.pixels_acknowledged > 20
    assert check.webhook_refires > 0 and check.pixel_refires > 0
    return check, tally


def test_soak_steady(setup):
    check, tally = soak(setup)
    assert tally.errors == {}  # no fault injected: every request answered
    assert check.clicks_unacknowledged_stored == 0


def test_soak_with_a_worker_killed_mid_run(setup):
    killed = []
    check, tally = soak(setup, fault=lambda server: killed.extend(kill_workers(server)))
    assert len(set(killed)) == 3


def test_soak_with_the_whole_server_crashed_and_restarted(setup):
    check, tally = soak(setup, fault=restart)
    # the crash cut connections: clients saw errors and retried after the restart
    assert tally.errors


def test_raw_bytes_in_the_request_line_are_not_a_500(setup):
    server, _, codes = setup
    for target in (b"/t/pixel.gif?goal=\xff\xfe", b"/api/links?limit=\x80", b"/\xff\xff"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as s:
            s.sendall(
                b"GET " + target + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
            )
            status = s.recv(64).split(b" ")[1]
        assert status.isdigit() and int(status) < 500, (target, status)
