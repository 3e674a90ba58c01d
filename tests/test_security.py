"""Attacks on shorteners and trackers, refused: destinations, code guessing,
webhook signatures, forged pixels, cookies, CSV injection, API keys, bodies."""

import base64
import csv
import io
import json
import re
import time

import pytest
from werkzeug.routing import IntegerConverter

from conftest import (
    AUTH,
    WEBHOOK_SECRET,
    app_config,
    browser,
    make_link,
    post_webhook,
    signed_headers,
)
from conversions import signing
from conversions.csvout import csv_lines
from shortener import create_app, links, ratelimit
from shortener.app import init_db
from shortener.db import connect


def new_app(tmp_path, **overrides):
    config = app_config(tmp_path, **overrides)
    init_db(config["DATABASE"])
    return create_app(config)


# -- pixels are unverified; reports can tell verified revenue apart --------------


def click_id_of(response) -> str:
    return response.headers["Location"].rsplit("ct_click=", 1)[1]


def test_pixel_conversions_are_unverified_and_reports_split_them(client, db, runner):
    make_link(client, code="twt", channel="twitter")
    make_link(client, code="lnk", channel="linkedin")
    on_twitter = click_id_of(client.get("/twt"))
    # the same browser fires a pixel "purchase" for 30.00: anyone could have
    client.get("/t/pixel.gif?goal=purchase&value=30.00&order_id=P-1")
    # the shop's server confirms a 50.00 purchase by signed webhook
    confirmed = {"goal": "purchase", "value": "50.00", "click_id": on_twitter, "order_id": "W-1"}
    assert post_webhook(client, confirmed).status_code == 201
    other = client.application.test_client()
    other.environ_base["HTTP_USER_AGENT"] = client.environ_base["HTTP_USER_AGENT"]
    other.get("/lnk")
    other.get("/t/pixel.gif?goal=purchase&value=7.25&order_id=P-2")
    stored = {r["order_id"]: (r["source"], r["verified"]) for r in db.query(
        "SELECT order_id, source, verified FROM conversions")}  # fmt: skip
    assert stored == {"P-1": ("pixel", 0), "W-1": ("webhook", 1), "P-2": ("pixel", 0)}

    def revenue(query=""):
        body = client.get(f"/api/reports/channels{query}", headers=AUTH).get_json()
        return {r["channel"]: (r["conversions"], r["revenue"]) for r in body["rows"]}

    # all: twitter 30.00 + 50.00 = 80.00 over 2 conversions; linkedin 7.25
    assert revenue() == {"twitter": (2, "80.00"), "linkedin": (1, "7.25")}
    # verified only: the webhook's 50.00; linkedin has its click row but no verified money
    assert revenue("?verified=true") == {"twitter": (1, "50.00"), "linkedin": (0, "0.00")}
    # unverified only: the pixels, 30.00 and 7.25
    assert revenue("?verified=false") == {"twitter": (1, "30.00"), "linkedin": (1, "7.25")}
    bad = client.get("/api/reports/channels?verified=maybe", headers=AUTH)
    assert bad.status_code == 400 and bad.get_json()["field"] == "verified"

    result = runner.invoke(args=["report", "channels", "--verified"])
    assert result.exit_code == 0, result.output
    assert '"revenue": "50.00"' in result.output and "80.00" not in result.output
    result = runner.invoke(args=["report", "channels", "--unverified"])
    assert '"revenue": "30.00"' in result.output and '"revenue": "7.25"' in result.output


# -- request bodies ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/links", "/t/webhook", "/api/costs"])
def test_oversized_bodies_are_refused_before_they_are_read(client, db, path):
    body = b'{"url": "' + b"a" * (5 * 1024 * 1024) + b'"}'  # over the 4 MiB default
    response = client.post(path, data=body, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert "error" in response.get_json()
    stored = "SELECT (SELECT count(*) FROM links) + (SELECT count(*) FROM conversions)"
    assert db.execute(stored).fetchone()[0] == 0


# -- destinations: no script, no smuggled scheme, no header injection, no loop --------

# cases beyond tests/test_links.py's list: obfuscated schemes, C1 controls, slash tricks
SNEAKY_DESTINATIONS = {
    "spaces before javascript": "   javascript:alert(1)",
    "control char before javascript": "\x01javascript:alert(1)",
    "tab inside the scheme": "java\tscript:alert(1)",
    "newline inside the scheme": "java\nscript:alert(1)",
    "NUL inside the scheme": "javascript\x00:alert(1)",
    "VBScript upper": "VBScript:MsgBox(1)",
    "DATA upper, base64": "DATA:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "file with host": "file://localhost/etc/passwd",
    "http without slashes": "http:evil.example/x",
    "https with one slash": "https:/evil.example/x",
    "backslashes for slashes": "https:\\\\evil.example/x",
    "encoded CR LF in the host": "https://shop.example.com%0d%0aSet-Cookie:x=y/",
    "next line (C1)": "https://shop.example.com/\u0085Set-Cookie:x=y",
    "line separator": "https://shop.example.com/\u2028x",
    "own host with a port": "https://go.example.test:8443/x",
    "own host, upper case": "HTTPS://GO.EXAMPLE.TEST/x",
    "CR only": "https://shop.example.com/\rSet-Cookie:x=y",
}


def counts(db) -> tuple[int, int]:
    return db.execute(
        "SELECT (SELECT count(*) FROM links), (SELECT count(*) FROM clicks)"
    ).fetchone()


@pytest.mark.parametrize("url", SNEAKY_DESTINATIONS.values(), ids=SNEAKY_DESTINATIONS.keys())
def test_sneaky_destinations_are_refused_everywhere(client, db, url):
    created = client.post(
        "/api/links", json={"url": url, "channel": "x", "campaign": "c"}, headers=AUTH
    )
    assert created.status_code == 400 and created.get_json()["field"] == "url"
    assert counts(db) == (0, 0)
    make_link(client, code="good")
    patched = client.patch("/api/links/good", json={"url": url}, headers=AUTH)
    assert patched.status_code == 400 and patched.get_json()["field"] == "url"
    # put straight into the database, it is still refused when followed
    db.execute("UPDATE links SET url = ? WHERE code = 'good'", [url])
    response = client.get("/good")
    assert response.status_code == 410
    assert "Location" not in response.headers
    assert counts(db) == (1, 0)


def test_percent_encoded_cr_lf_in_the_path_stays_encoded_in_location(client):
    make_link(client, code="enc", url="https://shop.example.com/a%0d%0aSet-Cookie:x=y")
    location = client.get("/enc").headers["Location"]
    assert "\r" not in location and "\n" not in location
    assert location.startswith("https://shop.example.com/a%0d%0aSet-Cookie:x=y?")


# -- short codes ----------------------------------------------------------------------


def test_100000_random_codes_are_unique_and_long_enough():
    codes = [links.new_code() for _ in range(100_000)]
    assert len(set(codes)) == 100_000
    assert min(len(c) for c in codes) >= 7
    assert set("".join(codes)) <= set(links.CODE_ALPHABET)
    # 57 symbols x 7 places: about 1.95e12 codes, 2e7 times more than 100,000
    assert len(links.CODE_ALPHABET) ** 7 > 1.9e12


# -- guessing codes: many unknown codes from one address earn a 429 --------------------


def guesser(app, address="198.51.100.7"):
    client = browser(app)
    client.environ_base["REMOTE_ADDR"] = address
    return client


def test_many_404s_from_one_address_get_429_for_a_while(tmp_path):
    app = new_app(tmp_path, NOT_FOUND_LIMIT=5, NOT_FOUND_WINDOW_SECONDS=1)
    make_link(browser(app), code="real")
    db = connect(app.config["DATABASE"])
    attacker = guesser(app)
    assert [attacker.get(f"/guess{n}").status_code for n in range(5)] == [404] * 5
    blocked = attacker.get("/guess5")
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) >= 1
    assert blocked.headers["Cache-Control"] == "no-store"
    # while blocked, a real code answers 429 too (a 302 would confirm a hit), and no click
    assert attacker.get("/real").status_code == 429
    assert db.execute("SELECT count(*) FROM clicks").fetchone()[0] == 0
    # someone else is not affected
    assert guesser(app, "198.51.100.8").get("/real").status_code == 302
    time.sleep(1.2)  # the block lasts one window
    assert attacker.get("/real").status_code == 302
    assert attacker.get("/guess6").status_code == 404


def test_known_codes_and_gone_links_do_not_count_as_guesses(tmp_path):
    app = new_app(tmp_path, NOT_FOUND_LIMIT=2)
    visitor = guesser(app)
    make_link(visitor, code="real")
    make_link(visitor, code="gone")
    visitor.delete("/api/links/gone", headers=AUTH)
    statuses = [visitor.get(p).status_code for p in ["/real", "/gone"] * 10]
    assert statuses == [302, 410] * 10


def test_an_ipv6_client_cannot_hop_addresses_within_its_64(tmp_path):
    app = new_app(tmp_path, NOT_FOUND_LIMIT=3)
    for n in range(3):
        assert guesser(app, f"2001:db8:1:2::{n + 1}").get(f"/g{n}").status_code == 404
    assert guesser(app, "2001:db8:1:2::ffff").get("/g9").status_code == 429
    assert guesser(app, "2001:db8:1:3::1").get("/g9").status_code == 404  # next /64


def test_behind_a_trusted_proxy_the_forwarded_client_is_limited(tmp_path):
    app = new_app(tmp_path, NOT_FOUND_LIMIT=2, TRUST_PROXY_HEADERS=True)
    proxy = guesser(app, "10.0.0.1")
    one = {"X-Forwarded-For": "spoofed, 203.0.113.5"}
    two = {"X-Forwarded-For": "203.0.113.6"}
    assert [proxy.get(f"/g{n}", headers=one).status_code for n in range(3)] == [404, 404, 429]
    assert proxy.get("/g9", headers=two).status_code == 404  # the proxy itself is not blocked


def test_a_limit_of_zero_turns_the_limiter_off(tmp_path):
    app = new_app(tmp_path, NOT_FOUND_LIMIT=0)
    attacker = guesser(app)
    assert {attacker.get(f"/g{n}").status_code for n in range(50)} == {404}


def test_limiter_memory_stays_bounded_under_a_flood_of_addresses():
    now = [0.0]
    limiter = ratelimit.MissLimiter(limit=1, window=60, clock=lambda: now[0])
    for n in range(ratelimit.MAX_TRACKED * 2):
        limiter.miss(f"addr{n}")
    assert len(limiter._entries) <= ratelimit.MAX_TRACKED
    limiter.miss("addr-last")
    limiter.miss("addr-last")
    assert limiter.retry_after("addr-last") == 60
    now[0] = 61
    assert limiter.retry_after("addr-last") == 0


# -- webhooks over HTTP ----------------------------------------------------------------


def conversions_count(db) -> int:
    return db.execute("SELECT count(*) FROM conversions").fetchone()[0]


@pytest.fixture
def clicked(client):
    make_link(client, code="hop")
    return click_id_of(client.get("/hop"))


@pytest.mark.parametrize("skew", [-360, 360])
def test_a_webhook_six_minutes_off_is_400_and_stores_nothing(client, db, clicked, skew):
    payload = {"goal": "signup", "click_id": clicked}
    response = post_webhook(client, payload, timestamp=int(time.time()) + skew)
    assert response.status_code == 400
    assert "webhook-timestamp" in response.get_json()["error"]
    assert conversions_count(db) == 0
    assert post_webhook(client, payload).status_code == 201  # the same, on time


def test_a_byte_flipped_in_transit_is_401_and_stores_nothing(client, db, clicked):
    body = json.dumps({"goal": "purchase", "value": "10.00", "click_id": clicked}).encode()
    headers = signed_headers(body)
    for position in (0, len(body) // 2, len(body) - 1):
        tampered = bytearray(body)
        tampered[position] ^= 0x01
        response = client.post("/t/webhook", data=bytes(tampered), headers=headers)
        assert response.status_code == 401
    assert conversions_count(db) == 0


SIGNATURE_HEADERS = {
    "v1 with no value": "v1,",
    "garbage": "garbage",
    "empty": "",
    "spaces only": "   ",
    "comma only": ",",
    "not base64": "v1,!!!!",
    "right length, wrong bytes": "v1," + base64.b64encode(b"\0" * 32).decode(),
    "other version": "v2,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    "non-ascii": "v1,\u00e9\u00e9\u00e9",
    "huge": "v1," + "A" * 20_000,
    "many entries": " ".join(["v1,AAAA"] * 500),
}


@pytest.mark.parametrize("value", SIGNATURE_HEADERS.values(), ids=SIGNATURE_HEADERS.keys())
def test_malformed_signature_headers_are_401_or_400_never_500(client, db, clicked, value):
    body = json.dumps({"goal": "signup", "click_id": clicked}).encode()
    headers = {**signed_headers(body), "webhook-signature": value}
    response = client.post("/t/webhook", data=body, headers=headers)
    assert response.status_code in (400, 401)
    assert response.get_json()["error"]
    assert conversions_count(db) == 0


@pytest.mark.parametrize(
    "header, value",
    [("webhook-id", ""), ("webhook-id", "a b"), ("webhook-id", "x" * 300),
     ("webhook-timestamp", ""), ("webhook-timestamp", "-5"), ("webhook-timestamp", "1e9"),
     ("webhook-timestamp", "9" * 40), ("webhook-timestamp", "\u0661\u0662")],
)  # fmt: skip
def test_malformed_id_and_timestamp_headers_are_400_never_500(client, db, clicked, header, value):
    body = json.dumps({"goal": "signup", "click_id": clicked}).encode()
    response = client.post("/t/webhook", data=body, headers={**signed_headers(body), header: value})
    assert response.status_code in (400, 401)
    assert conversions_count(db) == 0


def test_secret_rotation_old_secret_works_while_configured_then_fails(tmp_path):
    old = WEBHOOK_SECRET
    new = "whsec_" + base64.b64encode(b"the-new-secret-after-rotation!!!").decode()
    rotating = new_app(tmp_path, WEBHOOK_SECRET=[new, old])
    client = browser(rotating)
    make_link(client, code="hop")
    click_id = click_id_of(client.get("/hop"))
    payload = {"goal": "signup", "click_id": click_id}
    assert post_webhook(client, payload, msg_id="m-old", secret=old).status_code == 201
    assert post_webhook(client, payload, msg_id="m-new", secret=new).status_code == 201
    # the old secret removed from the configuration (same database)
    rotated = browser(create_app(app_config(tmp_path, WEBHOOK_SECRET=new)))
    assert post_webhook(rotated, payload, msg_id="m-old-2", secret=old).status_code == 401
    assert post_webhook(rotated, payload, msg_id="m-new-2", secret=new).status_code == 201
    db = connect(rotating.config["DATABASE"])
    ids = [r[0] for r in db.execute("SELECT webhook_id FROM conversions ORDER BY id")]
    assert ids == ["m-old", "m-new", "m-new-2"]


def test_signatures_are_compared_in_constant_time(client, clicked, monkeypatch):
    """The comparison goes through hmac.compare_digest (a spy that still
    compares): `==` would leak how many leading bytes matched."""
    calls = []
    real = signing.hmac.compare_digest

    def spy(a, b):
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(signing.hmac, "compare_digest", spy)
    assert post_webhook(client, {"goal": "signup", "click_id": clicked}).status_code == 201
    assert calls and calls[-1][0] == calls[-1][1]
    calls.clear()
    body = b'{"goal": "signup"}'
    headers = {**signed_headers(body), "webhook-signature": "v1," + "A" * 43 + "="}
    assert client.post("/t/webhook", data=body, headers=headers).status_code == 401
    assert calls and all(a != b for a, b in calls)


# -- cookies ----------------------------------------------------------------------------


def cookie_attributes(response) -> dict:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("ct_vid=")]
    attrs = {}
    for part in header.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        attrs[key.lower()] = value
    return attrs


@pytest.mark.parametrize("window", [1, 30, 400])
def test_every_tracking_cookie_is_secure_httponly_lax_and_at_most_400_days(tmp_path, window):
    app = new_app(tmp_path, ATTRIBUTION_WINDOW_DAYS=window)
    https = {"base_url": "https://go.example.test"}
    make_link(browser(app), code="hop")
    for path in ("/hop", "/t/visit.gif"):
        attrs = cookie_attributes(browser(app).get(path, **https))
        assert "secure" in attrs and "httponly" in attrs
        assert attrs["samesite"] == "Lax"
        assert int(attrs["max-age"]) == window * 86400 <= 400 * 86400


@pytest.mark.parametrize("path", ["/t/pixel.gif?goal=signup", "/t/visit.gif", "/hop"])
@pytest.mark.parametrize("value", ["x", "a.b.c", "\u00e9" * 10, "A" * 4000, '"quoted"', ";;"])
def test_junk_cookies_on_tracking_endpoints_are_ignored_without_error(client, path, value):
    make_link(client, code="hop")
    client.set_cookie("ct_vid", value)
    response = client.get(path)
    assert response.status_code in (200, 302)


# -- CSV --------------------------------------------------------------------------------


def test_csv_cells_that_a_spreadsheet_would_run_are_neutralised_and_round_trip():
    nasty = ["=HYPERLINK(\"http://evil\")", "+1+2", "-2+3", "@SUM(A1)", "\tTAB", "\rCR",
             "\nLF", 'comma, "quote"', "multi\nline\r\ntext", "plain"]  # fmt: skip
    lines = list(csv_lines(["text", "number"], [{"text": t, "number": -5} for t in nasty]))
    rows = list(csv.reader(io.StringIO("".join(lines), newline="")))
    assert rows[0] == ["text", "number"]
    for original, (text, number) in zip(nasty, rows[1:], strict=True):
        if original[0] in "=+-@\t\r\n":
            assert text == "'" + original  # shown as text, never evaluated
        else:
            assert text == original  # commas, quotes and newlines survive intact
        assert number == "-5"  # numbers stay numbers


def test_campaign_names_reach_the_csv_neutralised(client):
    make_link(client, code="hop", campaign="=cmd|' /C calc'!A0")
    client.get("/hop")
    body = client.get("/api/reports/attribution?by=campaign&format=csv", headers=AUTH)
    rows = list(csv.DictReader(io.StringIO(body.get_data(as_text=True), newline="")))
    assert [r["campaign"] for r in rows] == ["'=cmd|' /C calc'!A0"]


# -- the API: every endpoint needs a key ------------------------------------------------


def api_routes(app):
    """Every (method, path) under /api, path variables filled in."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/") or rule.rule in PUBLIC_API:
            continue
        path = rule.rule
        for name, converter in rule._converters.items():
            sample = "1" if isinstance(converter, IntegerConverter) else "xy1"
            path = re.sub(rf"<(?:[a-z]+:)?{name}>", sample, path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, path


PUBLIC_API = {"/api/openapi.json"}
BAD_KEYS = [
    {},
    {"Authorization": "Bearer wrong"},
    {"Authorization": "Bearer "},
    {"Authorization": "Basic dGVzdC1hcGkta2V5"},
    {"Authorization": AUTH["Authorization"] + "x"},
]


def table_counts(db) -> dict:
    return {t: db.execute(f"SELECT count(*) FROM [{t}]").fetchone()[0] for t in db.table_names()}


def test_every_api_endpoint_refuses_missing_or_wrong_keys(app, client, db):
    make_link(client, code="xy1")
    before = table_counts(db)
    routes = list(api_routes(app))
    assert len(routes) >= 8  # links, goals, reports... (new endpoints are covered as added)
    body = {"url": "https://a.example/", "channel": "x", "campaign": "c", "value": "1"}
    for method, path in routes:
        for headers in BAD_KEYS:
            response = client.open(path, method=method, json=body, headers=headers)
            assert response.status_code == 401, (method, path, headers)
            assert response.get_json()["error"], (method, path)
    assert table_counts(db) == before


# -- inputs that reach no view's own checks ----------------------------------------------


@pytest.mark.parametrize(
    "path",
    ["/api/links", "/api/reports/channels", "/t/pixel.gif", "/t/visit.gif", "/dashboard/login"],
)
def test_raw_non_utf8_bytes_in_a_query_are_not_a_500(client, path):
    # what `curl 'http://host/t/pixel.gif?goal=\xff'` sends: WSGI hands it over as latin-1
    raw = "goal=\xff\xfe&limit=\x80&value=\xe9"
    response = client.get(path, headers=AUTH, environ_overrides={"QUERY_STRING": raw})
    assert response.status_code < 500


@pytest.mark.parametrize(
    "method, path",
    [("get", "/api/conversions/9223372036854775808/journey"),
     ("delete", "/api/costs/99999999999999999999999"),
     ("delete", "/api/webhooks/9223372036854775808"),
     ("patch", "/api/reward-rules/9223372036854775808"),
     ("post", "/dashboard/keys/9223372036854775808/revoke")],
)  # fmt: skip
def test_path_integers_beyond_sqlite_are_404_not_a_500(client, method, path):
    assert getattr(client, method)(path, headers=AUTH).status_code == 404
