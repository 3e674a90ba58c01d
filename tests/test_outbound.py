"""Outbound webhooks: endpoints, signed deliveries to a real local HTTP
receiver, retries with backoff, order, restarts and the SSRF guard."""

import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from conftest import AUTH, app_config, browser, make_link, post_webhook
from conversions import outbound
from conversions.signing import SignatureError, verify
from servers import ROOT, gunicorn
from shortener import create_app
from shortener.app import init_db
from shortener.db import connect


class Receiver:
    """An HTTP endpoint on 127.0.0.1 that records what it is sent and
    answers with `status` (changeable while it runs)."""

    def __init__(self, status=200, location=None, keep_alive=False, hang_up=False):
        self.status = status
        self.location = location
        self.requests: list[tuple[dict, bytes]] = []
        self.connections: list[int] = []  # the client port of each request
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.0 closes after each answer; 1.1 keeps the connection open
            protocol_version = "HTTP/1.1" if keep_alive else "HTTP/1.0"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.requests.append(({k.lower(): v for k, v in self.headers.items()}, body))
                receiver.connections.append(self.client_address[1])
                self.send_response(receiver.status)
                if receiver.location:
                    self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"no")
                # an idle timeout at its shortest: closed without saying so
                self.close_connection = hang_up

            def do_GET(self):
                receiver.requests.append(({"method": "GET"}, b""))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="webhook-receiver", daemon=True
        )
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def events(self) -> list[dict]:
        return [json.loads(body) for _, body in self.requests]


@pytest.fixture
def receivers():
    """Make Receivers; every one is closed at teardown."""
    made = []

    def make(**kwargs) -> Receiver:
        made.append(Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


@pytest.fixture
def receiver(receivers):
    return receivers()


def private_ok(tmp_path, **overrides):
    config = app_config(tmp_path, WEBHOOK_ALLOW_PRIVATE_TARGETS=True, **overrides)
    init_db(config["DATABASE"])
    return create_app(config)


@pytest.fixture
def local_app(tmp_path):
    return private_ok(tmp_path)


def register(client, url, events=("click.created", "conversion.created", "link.created")):
    response = client.post("/api/webhooks", json={"url": url, "events": list(events)},
                           headers=AUTH)  # fmt: skip
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def deliveries(client, endpoint_id, query=""):
    response = client.get(f"/api/webhooks/{endpoint_id}/deliveries{query}", headers=AUTH)
    assert response.status_code == 200
    return response.get_json()


def run(app, now):
    with app.app_context():
        from shortener.db import get_db

        return outbound.run_once(get_db(), now, outbound.Options.from_config(app.config))


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


# -- endpoints --------------------------------------------------------------------------


def test_register_shows_the_secret_once_and_lists_without_it(local_app, receiver):
    client = browser(local_app)
    created = register(client, receiver.url, ["link.created"])
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["link.created"] and created["disabled"] is False
    listed = client.get("/api/webhooks", headers=AUTH).get_json()["webhooks"]
    assert [w["id"] for w in listed] == [created["id"]]
    assert "secret" not in listed[0] and listed[0]["pending"] == 0
    one = client.get(f"/api/webhooks/{created['id']}", headers=AUTH).get_json()
    assert "secret" not in one and one["url"] == receiver.url


def test_bad_registrations_are_refused_and_nothing_is_stored(client, db):
    for body, field in [
        ({"url": "ftp://hooks.example.com/", "events": ["click.created"]}, "url"),
        ({"url": "https://hooks.example.com/", "events": []}, "events"),
        ({"url": "https://hooks.example.com/", "events": ["click.deleted"]}, "events"),
        ({"url": "https://hooks.example.com/", "events": "click.created"}, "events"),
        ({"url": "https://hooks.example.com/", "events": ["click.created"], "x": 1}, "x"),
        # the SSRF guard, with WEBHOOK_ALLOW_PRIVATE_TARGETS off (the default)
        ({"url": "http://127.0.0.1:8080/", "events": ["click.created"]}, "url"),
        ({"url": "http://localhost/", "events": ["click.created"]}, "url"),
        ({"url": "http://10.1.2.3/", "events": ["click.created"]}, "url"),
        ({"url": "http://169.254.169.254/latest/", "events": ["click.created"]}, "url"),
        ({"url": "http://[::1]/", "events": ["click.created"]}, "url"),
    ]:
        response = client.post("/api/webhooks", json=body, headers=AUTH)
        assert response.status_code == 400, body
        assert response.get_json()["field"] == field, body
    assert db.execute("SELECT count(*) FROM webhook_endpoints").fetchone()[0] == 0
    assert client.get("/api/webhooks/99", headers=AUTH).status_code == 404
    assert client.get("/api/webhooks/99/deliveries", headers=AUTH).status_code == 404


# every spelling a browser or the C library reads as a local or private
# address; {port} is any port
SPELLED_LOCAL = {
    "decimal integer": "http://2130706433:{port}/x",
    "hex integer": "http://0x7f000001:{port}/x",
    "octal": "http://0177.0.0.1:{port}/x",
    "hex first part": "http://0x7f.0.0.1:{port}/x",
    "shortened": "http://127.1:{port}/x",
    "zero": "http://0:{port}/x",
    "IPv4-mapped IPv6": "http://[::ffff:127.0.0.1]:{port}/x",
    "IPv4-mapped IPv6, hex": "http://[::ffff:7f00:1]:{port}/x",
    "private, decimal": "http://167772161/x",
    "cloud metadata, hex": "http://0xa9fea9fe/latest/",
    "LOCALHOST with a dot": "http://LOCALHOST.:{port}/x",
    "a .localhost name": "http://hooks.localhost:{port}/x",
}


@pytest.mark.parametrize("template", SPELLED_LOCAL.values(), ids=SPELLED_LOCAL.keys())
def test_every_spelling_of_a_local_address_is_refused_at_registration(client, db, template):
    url = template.format(port=8080)
    response = client.post("/api/webhooks", json={"url": url, "events": ["click.created"]},
                           headers=AUTH)  # fmt: skip
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["field"] == "url"
    assert db.execute("SELECT count(*) FROM webhook_endpoints").fetchone()[0] == 0


@pytest.mark.parametrize("template", SPELLED_LOCAL.values(), ids=SPELLED_LOCAL.keys())
def test_every_spelling_of_a_local_address_is_refused_by_patch(client, db, template):
    endpoint = register(client, "https://hooks.example.invalid/in")
    response = client.patch(f"/api/webhooks/{endpoint['id']}",
                            json={"url": template.format(port=8080)}, headers=AUTH)  # fmt: skip
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["field"] == "url"
    stored = db.execute("SELECT url FROM webhook_endpoints").fetchone()[0]
    assert stored == "https://hooks.example.invalid/in"


def local_name() -> str:
    """This machine's name: it resolves here (/etc/hosts), to a loopback or
    private address on any machine a test runs on."""
    name = socket.gethostname()
    addresses = {info[4][0] for info in socket.getaddrinfo(name, None)}
    if any(ipaddress.ip_address(a.split("%")[0]).is_global for a in addresses):
        pytest.skip(f"this machine's name {name} resolves to a public address: {addresses}")
    return name


def test_a_name_resolving_to_a_local_address_is_refused_at_registration_and_patch(client, db):
    url = f"http://{local_name()}:8080/x"
    response = client.post("/api/webhooks", json={"url": url, "events": ["click.created"]},
                           headers=AUTH)  # fmt: skip
    assert response.status_code == 400
    assert response.get_json() == {
        "error": "url resolves to a private, loopback or reserved address"
        " (WEBHOOK_ALLOW_PRIVATE_TARGETS allows it)",
        "field": "url",
    }
    endpoint = register(client, "https://hooks.example.invalid/in")
    response = client.patch(f"/api/webhooks/{endpoint['id']}", json={"url": url}, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["field"] == "url"


def test_a_name_that_does_not_resolve_yet_is_registered_and_checked_at_delivery(client, db):
    endpoint = register(client, "https://hooks.example.invalid/in")
    assert endpoint["url"] == "https://hooks.example.invalid/in"
    outcome = outbound.post(endpoint["url"], b"{}", {}, outbound.Options(timeout=2))
    assert not outcome.ok and "cannot resolve" in outcome.error


def test_allowing_private_targets_allows_every_spelling(local_app):
    client = browser(local_app)
    for template in SPELLED_LOCAL.values():
        assert register(client, template.format(port=8080))["url"] == template.format(port=8080)
    assert register(client, f"http://{socket.gethostname()}:8080/x")


def test_names_resolving_to_private_addresses_are_refused_at_delivery():
    options = outbound.Options(allow_private=False, timeout=2)
    outcome = outbound.post("http://localhost:9/", b"{}", {}, options)
    assert not outcome.ok and "private or local" in outcome.error


# -- delivering -------------------------------------------------------------------------


def test_events_are_delivered_signed_in_order_and_only_once(local_app, receiver, db):
    client = browser(local_app)
    make_link(client, code="before")  # before the endpoint: not sent
    endpoint = register(client, receiver.url)
    link = make_link(client, code="spring")
    client.get("/spring")
    click_id = db.execute("SELECT click_id FROM clicks").fetchone()[0]
    assert (
        post_webhook(
            client,
            {
                "goal": "purchase",
                "value": "49.90",
                "currency": "USD",
                "order_id": "A-1",
                "click_id": click_id,
            },  # fmt: skip
        ).status_code
        == 201
    )
    now = datetime.now(UTC)
    assert run(local_app, now) == {"queued": 3, "delivered": 3, "retrying": 0, "failed": 0}
    # the receiving side's own check: every request carries a valid signature
    ids = [
        verify([endpoint["secret"]], headers, body, now=int(time.time()))
        for headers, body in receiver.requests
    ]
    assert ids == [f"msg_link_{2}", f"msg_click_{1}", f"msg_conversion_{1}"]
    link_event, click_event, conversion_event = receiver.events()
    assert link_event["type"] == "link.created"
    assert link_event["data"]["code"] == "spring" and link_event["data"] == link
    assert click_event["type"] == "click.created"
    assert click_event["data"]["click_id"] == click_id
    assert click_event["data"]["code"] == "spring" and click_event["data"]["is_bot"] is False
    assert conversion_event["type"] == "conversion.created"
    assert conversion_event["data"]["value"] == "49.90"
    assert conversion_event["data"]["click_id"] == click_id
    # a wrong secret does not verify
    with pytest.raises(SignatureError):
        headers, body = receiver.requests[0]
        verify(["whsec_" + "A" * 32], headers, body, now=int(time.time()))
    # again: nothing new, nothing re-sent
    assert run(local_app, now + timedelta(hours=1)) == {
        "queued": 0, "delivered": 0, "retrying": 0, "failed": 0,
    }  # fmt: skip
    assert len(receiver.requests) == 3
    log = deliveries(client, endpoint["id"])
    assert log["total"] == 3
    assert [(d["status"], d["attempts"], d["last_status"]) for d in log["deliveries"]] == [
        ("delivered", 1, 200)
    ] * 3


def test_a_failing_endpoint_is_retried_with_backoff_keeping_order(local_app, receiver):
    client = browser(local_app)
    receiver.status = 500
    endpoint = register(client, receiver.url, ["link.created"])
    make_link(client, code="first")
    make_link(client, code="second")
    assert run(local_app, T0)["retrying"] == 1
    # the first failed; the second waits behind it (order is kept)
    assert [e["data"]["code"] for e in receiver.events()] == ["first"]
    log = deliveries(client, endpoint["id"])["deliveries"]
    first = log[-1]
    assert (first["status"], first["attempts"], first["last_status"]) == ("pending", 1, 500)
    assert "HTTP 500" in first["last_error"]
    # after 1 failure the wait is 30 s: at +29 s nothing is sent, at +30 s it is
    assert first["next_attempt_at"] == "2026-03-02T09:00:30.000000Z"
    run(local_app, T0 + timedelta(seconds=29))
    assert len(receiver.requests) == 1
    run(local_app, T0 + timedelta(seconds=30))
    assert len(receiver.requests) == 2
    # after 2 failures the wait doubles to 60 s: next at 09:00:30 + 60 s
    first = deliveries(client, endpoint["id"])["deliveries"][-1]
    assert first["attempts"] == 2 and first["next_attempt_at"] == "2026-03-02T09:01:30.000000Z"
    receiver.status = 204
    done = run(local_app, T0 + timedelta(seconds=90))
    assert done["delivered"] == 2
    assert [e["data"]["code"] for e in receiver.events()] == ["first", "first", "first", "second"]
    # the retry kept the same webhook-id, so the receiver can dedupe
    assert len({h["webhook-id"] for h, _ in receiver.requests[:3]}) == 1


def test_retry_delay_doubles_from_30_seconds_up_to_6_hours():
    # 30 s after the first failure, then 60, 120, 240...; 30 * 2**9 = 15360 s
    # after the tenth, and 30 * 2**10 = 30720 s would pass the 21600 s cap
    assert [outbound.retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 10, 11, 40)] == [
        30, 60, 120, 240, 15360, 21600, 21600,
    ]  # fmt: skip


def test_given_up_after_max_attempts_then_the_next_one_goes(tmp_path, receiver):
    app = private_ok(tmp_path, WEBHOOK_MAX_ATTEMPTS=2)
    client = browser(app)
    receiver.status = 503
    endpoint = register(client, receiver.url, ["link.created"])
    make_link(client, code="doomed")
    make_link(client, code="fine")
    run(app, T0)
    receiver.status = 500
    assert run(app, T0 + timedelta(seconds=30))["failed"] == 1
    receiver.status = 200
    run(app, T0 + timedelta(seconds=31))
    assert [e["data"]["code"] for e in receiver.events()] == ["doomed", "doomed", "fine"]
    log = deliveries(client, endpoint["id"])
    assert [d["status"] for d in log["deliveries"]] == ["delivered", "failed"]
    failed = deliveries(client, endpoint["id"], "?status=failed")["deliveries"]
    assert failed[0]["attempts"] == 2 and failed[0]["next_attempt_at"] is None
    assert client.get(f"/api/webhooks/{endpoint['id']}/deliveries?status=x",
                      headers=AUTH).status_code == 400  # fmt: skip


def test_a_failed_delivery_is_retried_by_hand_from_the_api_and_the_cli(tmp_path, receiver):
    app = private_ok(tmp_path, WEBHOOK_MAX_ATTEMPTS=1)
    client = browser(app)
    receiver.status = 500
    endpoint = register(client, receiver.url, ["link.created"])
    make_link(client, code="lost")
    assert run(app, T0)["failed"] == 1  # one attempt allowed: given up at once
    [failed] = deliveries(client, endpoint["id"], "?status=failed")["deliveries"]
    receiver.status = 204
    run(app, T0 + timedelta(hours=1))
    assert len(receiver.requests) == 1  # a failed delivery is not sent again by itself
    answer = client.post(f"/api/webhooks/deliveries/{failed['id']}/retry", headers=AUTH)
    assert answer.status_code == 200
    retried = answer.get_json()
    assert (retried["status"], retried["attempts"]) == ("pending", 1)
    # due from the moment of the retry (the API's own clock)
    assert run(app, datetime.now(UTC))["delivered"] == 1
    assert [e["data"]["code"] for e in receiver.events()] == ["lost", "lost"]
    [done] = deliveries(client, endpoint["id"])["deliveries"]
    assert (done["status"], done["attempts"], done["last_status"]) == ("delivered", 2, 204)
    # delivered already: nothing to retry; and no such delivery
    again = client.post(f"/api/webhooks/deliveries/{failed['id']}/retry", headers=AUTH)
    assert again.status_code == 409 and again.get_json()["field"] == "id"
    missing = client.post("/api/webhooks/deliveries/999/retry", headers=AUTH)
    assert missing.status_code == 404 and missing.get_json()["field"] == "id"
    assert client.post(f"/api/webhooks/deliveries/{failed['id']}/retry").status_code == 401
    # the CLI: a second failure, retried by hand from the command line
    receiver.status = 500
    make_link(client, code="cli")
    assert run(app, T0 + timedelta(hours=3))["failed"] == 1
    [failed] = deliveries(client, endpoint["id"], "?status=failed")["deliveries"]
    runner = app.test_cli_runner()
    result = runner.invoke(args=["webhooks", "retry", str(failed["id"])])
    assert result.exit_code == 0 and "pending" in result.output, result.output
    receiver.status = 200
    assert run(app, datetime.now(UTC))["delivered"] == 1
    assert [e["data"]["code"] for e in receiver.events()][-1] == "cli"
    refused = runner.invoke(args=["webhooks", "retry", str(failed["id"])])
    assert refused.exit_code != 0 and "delivered already" in refused.output


def test_the_dashboard_lists_failed_deliveries_and_retries_one(tmp_path, receiver):
    from dashboard_support import signed_in

    app = private_ok(tmp_path, WEBHOOK_MAX_ATTEMPTS=1)
    client, token = signed_in(app)
    receiver.status = 500
    endpoint = register(client, receiver.url, ["link.created"])
    make_link(client, code="shown")
    assert run(app, T0)["failed"] == 1
    [failed] = deliveries(client, endpoint["id"])["deliveries"]
    page = client.get("/dashboard/webhooks").get_data(as_text=True)
    assert f'<tr data-delivery="{failed["id"]}">' in page
    assert '<span data-col="failed">1</span>' in page and "HTTP 500" in page
    retry = f"/dashboard/webhooks/deliveries/{failed['id']}/retry"
    assert client.post(retry).status_code == 400  # no CSRF token: nothing changes
    assert deliveries(client, endpoint["id"])["deliveries"][0]["status"] == "failed"
    answer = client.post(retry, data={"csrf_token": token})
    assert answer.status_code == 303 and answer.location.endswith("/dashboard/webhooks")
    assert deliveries(client, endpoint["id"])["deliveries"][0]["status"] == "pending"
    receiver.status = 204
    assert run(app, datetime.now(UTC))["delivered"] == 1
    page = client.get("/dashboard/webhooks").get_data(as_text=True)
    assert 'data-delivery="' not in page and '<span data-col="failed">0</span>' in page
    # delivered already: said on the page, nothing changes
    client.post(retry, data={"csrf_token": token})
    assert "was not retried: this delivery was delivered already" in client.get(
        "/dashboard/webhooks"
    ).get_data(as_text=True)
    missing = "/dashboard/webhooks/deliveries/999/retry"
    assert client.post(missing, data={"csrf_token": token}).status_code == 404


def test_a_retry_by_hand_cuts_the_back_off_short(local_app, receiver):
    client = browser(local_app)
    receiver.status = 503
    endpoint = register(client, receiver.url, ["link.created"])
    make_link(client, code="wait")
    run(local_app, T0)
    [waiting] = deliveries(client, endpoint["id"])["deliveries"]
    assert waiting["next_attempt_at"] == "2026-03-02T09:00:30.000000Z"
    with local_app.app_context():
        from shortener.db import get_db

        outbound.retry_delivery(get_db(), waiting["id"], T0 + timedelta(seconds=5))
    receiver.status = 200
    assert run(local_app, T0 + timedelta(seconds=5))["delivered"] == 1
    assert len(receiver.requests) == 2


def test_a_round_posts_on_one_kept_alive_connection_in_order(local_app, receivers):
    receiver = receivers(keep_alive=True)
    client = browser(local_app)
    register(client, receiver.url, ["link.created"])
    for code in ("keep-1", "keep-2", "keep-3"):
        make_link(client, code=code)
    assert run(local_app, T0)["delivered"] == 3
    assert [e["data"]["code"] for e in receiver.events()] == ["keep-1", "keep-2", "keep-3"]
    assert len(set(receiver.connections)) == 1


def test_a_receiver_closing_kept_alive_connections_still_gets_everything(local_app, receivers):
    receiver = receivers(keep_alive=True, hang_up=True)
    client = browser(local_app)
    endpoint = register(client, receiver.url, ["link.created"])
    for code in ("hang-1", "hang-2", "hang-3"):
        make_link(client, code=code)
    # each request after the first meets a closed socket and goes again on a new one
    assert run(local_app, T0) == {"queued": 3, "delivered": 3, "retrying": 0, "failed": 0}
    assert [e["data"]["code"] for e in receiver.events()] == ["hang-1", "hang-2", "hang-3"]
    assert len(set(receiver.connections)) == 3
    assert [d["attempts"] for d in deliveries(client, endpoint["id"])["deliveries"]] == [1, 1, 1]


def test_a_failing_endpoint_holds_back_only_its_own_deliveries(local_app, receivers, monkeypatch):
    monkeypatch.setattr(outbound, "MAX_SENDS_PER_ROUND", 3)  # fewer sends a round than queued
    failing, fine = receivers(status=500), receivers()
    client = browser(local_app)
    register(client, failing.url, ["link.created"])  # first in the round
    register(client, fine.url, ["link.created"])
    for n in range(4):
        make_link(client, code=f"both-{n}")
    done = run(local_app, T0)
    assert (done["retrying"], done["delivered"]) == (1, 2)  # 1 + 2 sends: the round's 3
    assert [e["data"]["code"] for e in failing.events()] == ["both-0"]
    assert [e["data"]["code"] for e in fine.events()] == ["both-0", "both-1"]
    run(local_app, T0 + timedelta(seconds=1))  # the failing one waits out its back-off
    assert len(failing.requests) == 1
    assert [e["data"]["code"] for e in fine.events()] == ["both-0", "both-1", "both-2", "both-3"]


def test_redirects_are_not_followed(local_app, receivers):
    target = receivers()
    redirecting = receivers(status=302, location=target.url)
    client = browser(local_app)
    endpoint = register(client, redirecting.url, ["link.created"])
    make_link(client, code="hop")
    assert run(local_app, T0)["retrying"] == 1
    assert target.requests == []
    [log] = deliveries(client, endpoint["id"])["deliveries"]
    assert log["last_status"] == 302 and "not followed" in log["last_error"]


def test_a_disabled_endpoint_gets_nothing_and_keeps_its_log(local_app, receiver):
    client = browser(local_app)
    endpoint = register(client, receiver.url, ["link.created"])
    make_link(client, code="one")
    run(local_app, T0)
    off = client.delete(f"/api/webhooks/{endpoint['id']}", headers=AUTH).get_json()
    assert off["disabled"] is True
    make_link(client, code="two")
    run(local_app, T0)
    # enabled again, it starts from now: "two" happened while it was off
    on = client.patch(f"/api/webhooks/{endpoint['id']}", json={"disabled": False}, headers=AUTH)
    assert on.get_json()["disabled"] is False
    make_link(client, code="three")
    run(local_app, T0)
    assert [e["data"]["code"] for e in receiver.events()] == ["one", "three"]
    assert deliveries(client, endpoint["id"])["total"] == 2
    bad = client.patch(f"/api/webhooks/{endpoint['id']}", json={"disabled": "no"}, headers=AUTH)
    assert bad.status_code == 400 and bad.get_json()["field"] == "disabled"


def test_the_redirect_writes_nothing_for_webhooks(local_app, receiver, db):
    client = browser(local_app)
    register(client, receiver.url, ["click.created"])
    make_link(client, code="fast")
    for _ in range(3):
        client.get("/fast")
    # the clicks are the queue: no delivery row until the deliverer reads them
    assert db.execute("SELECT count(*) FROM webhook_deliveries").fetchone()[0] == 0
    assert run(local_app, T0)["delivered"] == 3


# -- restarts and processes -------------------------------------------------------------


def deliver_in_new_process(config: dict) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.update(
        CLICKTRAIL_DATABASE=config["DATABASE"],
        CLICKTRAIL_SECRET_KEY=config["SECRET_KEY"],
        CLICKTRAIL_ADMIN_API_KEY=config["ADMIN_API_KEY"],
        CLICKTRAIL_WEBHOOK_SECRET=config["WEBHOOK_SECRET"],
        CLICKTRAIL_WEBHOOK_ALLOW_PRIVATE_TARGETS="true",
    )
    command = [sys.executable, "-m", "flask", "--app", "shortener", "webhooks", "deliver",
               "--once"]  # fmt: skip
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_pending_deliveries_survive_a_restart(tmp_path, receiver):
    receiver.status = 500  # the first attempt fails
    app = private_ok(tmp_path)
    client = browser(app)
    endpoint = register(client, receiver.url, ["link.created"])
    make_link(client, code="queued")
    assert run(app, datetime.now(UTC) - timedelta(minutes=5))["retrying"] == 1
    make_link(client, code="unread")  # not even read from the log yet
    del app, client  # the server goes away
    receiver.status = 200
    # a new process over the same database delivers what was pending, in order
    result = deliver_in_new_process(app_config(tmp_path))
    assert result.returncode == 0, result.stderr
    assert [e["data"]["code"] for e in receiver.events()] == ["queued", "queued", "unread"]
    # and another one sends nothing again
    assert deliver_in_new_process(app_config(tmp_path)).returncode == 0
    assert len(receiver.requests) == 3
    database = connect(app_config(tmp_path)["DATABASE"])
    statuses = database.execute(
        "SELECT status, attempts FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY id",
        [endpoint["id"]],
    ).fetchall()
    database.close()
    assert statuses == [("delivered", 2), ("delivered", 1)]


def test_one_deliverer_at_a_time(tmp_path):
    database = str(tmp_path / "x.db")
    first = outbound.try_lock(database)
    assert first is not None
    assert outbound.try_lock(database) is None  # even from the same process
    outbound.release(first)
    again = outbound.try_lock(database)
    assert again is not None
    outbound.release(again)


def test_gunicorn_workers_deliver_from_one_background_thread(tmp_path, receiver):
    config = app_config(tmp_path, WEBHOOK_ALLOW_PRIVATE_TARGETS=True, WEBHOOK_POLL_SECONDS=0.2)
    init_db(config["DATABASE"])
    with gunicorn(config, workers=2) as base:
        created = requests.post(
            f"{base}/api/webhooks",
            json={"url": receiver.url, "events": ["link.created"]},
            headers=AUTH,
            timeout=10,
        ).json()
        for code in ("gw1", "gw2", "gw3"):
            body = {"url": "https://shop.example.com/", "channel": "x", "campaign": "c",
                    "code": code}  # fmt: skip
            assert requests.post(f"{base}/api/links", json=body, headers=AUTH,
                                 timeout=10).status_code == 201  # fmt: skip
        deadline = time.monotonic() + 30
        log_url = f"{base}/api/webhooks/{created['id']}/deliveries?status=delivered"
        while time.monotonic() < deadline:
            if requests.get(log_url, headers=AUTH, timeout=10).json()["total"] == 3:
                break
            time.sleep(0.2)
        assert requests.get(log_url, headers=AUTH, timeout=10).json()["total"] == 3
    # every worker ran the thread, one delivered: each event arrived once, in order
    assert [e["data"]["code"] for e in receiver.events()] == ["gw1", "gw2", "gw3"]


def test_finished_deliveries_leave_the_log_pending_ones_stay(local_app, receiver, db):
    client = browser(local_app)
    endpoint = register(client, receiver.url, ["link.created"])
    make_link(client, code="sent")
    run(local_app, T0)
    receiver.status = 500
    make_link(client, code="stuck")
    run(local_app, T0)
    with local_app.app_context():
        from shortener.db import get_db

        # queued "now" (at the real clock): a cut-off a day ahead covers both
        assert outbound.prune(get_db(), datetime.now(UTC) + timedelta(days=1)) == 1
        assert outbound.prune(get_db(), datetime.now(UTC) - timedelta(days=1)) == 0
    log = deliveries(client, endpoint["id"])["deliveries"]
    assert [(d["status"], d["webhook_id"]) for d in log] == [("pending", "msg_link_2")]


def test_erasing_a_person_drops_their_deliveries(local_app, receiver, db):
    from conversions import privacy

    client = browser(local_app)
    receiver.status = 500  # so the click stays pending
    endpoint = register(client, receiver.url, ["click.created"])
    make_link(client, code="spy")
    client.get("/spy")
    browser(local_app).get("/spy")  # someone else
    run(local_app, T0)
    visitor = db.execute("SELECT visitor_id FROM clicks ORDER BY id").fetchone()[0]
    privacy.erase(db, visitor_id=visitor)
    receiver.status = 200
    run(local_app, T0 + timedelta(hours=1))
    # the erased visitor's click was neither sent again nor kept in the log
    log = deliveries(client, endpoint["id"])["deliveries"]
    assert [d["webhook_id"] for d in log] == ["msg_click_2"]
    # the first round tried click 1 (and stopped there: order); then only click 2 went
    first, second = receiver.events()
    assert first["data"]["visitor_id"] == visitor
    assert second["data"]["visitor_id"] not in (None, visitor)


def test_click_events_say_whether_a_qr_scan_and_which_ab_variant(local_app, db):
    client = local_app.test_client()
    ab = [{"url": "https://shop.example.com/a"}, {"url": "https://shop.example.com/b"}]
    make_link(client, code="poster", destinations=ab)
    browser(local_app).get("/poster?qr=1")
    [(_, _, data)] = outbound.read_events(db, "click.created", 0, 10)
    assert data["source"] == "qr"
    assert data["variant"] in ("A", "B")
