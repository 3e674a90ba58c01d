"""POST /t/webhook: signed server-to-server conversions.

Requests are signed here with hmac/hashlib directly (not with
conversions.signing), so a mistake in the signer cannot hide itself.
"""

import base64
import hashlib
import hmac
import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import WEBHOOK_SECRET, app_config, browser, make_link
from shortener import create_app
from shortener.app import init_db

NEW_SECRET = "whsec_" + base64.b64encode(b"the new secret after rotation!!!").decode()


def signature(body: bytes, msg_id: str, timestamp: int | str, secret=WEBHOOK_SECRET) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def send(client, payload, msg_id="msg_1", timestamp=None, secret=WEBHOOK_SECRET, **headers):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    timestamp = int(time.time()) if timestamp is None else timestamp
    sent = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(body, msg_id, timestamp, secret),
        "Content-Type": "application/json",
    }
    sent.update(headers)
    return client.post(
        "/t/webhook", data=body, headers={k: v for k, v in sent.items() if v is not None}
    )


def count(db, table) -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def assert_nothing_stored(db):
    assert count(db, "conversions") == 0
    assert count(db, "credits") == 0


@pytest.fixture
def click_id(client):
    link = make_link(client)
    location = client.get(f"/{link['code']}").headers["Location"]
    return parse_qs(urlsplit(location).query)["ct_click"][0]


def test_a_signed_conversion_is_stored(client, db, click_id):
    response = send(
        client,
        {
            "goal": "purchase",
            "value": "49.90",
            "currency": "EUR",
            "order_id": "A-1001",
            "click_id": click_id,
            "customer_id": "cust-42",
            "occurred_at": "2020-06-01T10:00:00+02:00",
        },
        msg_id="msg_abc",
    )
    assert response.status_code == 201, response.get_json()
    [row] = db.query("SELECT * FROM conversions")
    [click] = db.query("SELECT visitor_id FROM clicks")
    assert (row["goal"], row["value_minor"], row["currency"]) == ("purchase", 4990, "EUR")
    assert (row["order_id"], row["click_id"], row["customer_id"]) == ("A-1001", click_id, "cust-42")
    assert row["visitor_id"] == click["visitor_id"]
    assert (row["source"], row["verified"], row["webhook_id"]) == ("webhook", 1, "msg_abc")
    # 10:00 at +02:00 is 08:00 UTC
    assert row["occurred_at"] == "2020-06-01T08:00:00.000000Z"
    assert response.get_json() == {
        "duplicate": False,
        "conversion": {
            "id": row["id"],
            "goal": "purchase",
            "value": "49.90",
            "currency": "EUR",
            "order_id": "A-1001",
            "click_id": click_id,
            "visitor_id": click["visitor_id"],
            "customer_id": "cust-42",
            "source": "webhook",
            "verified": True,
            "occurred_at": "2020-06-01T08:00:00.000000Z",
        },
    }


def test_visitor_id_instead_of_a_click(client, db):
    response = send(client, {"goal": "signup", "visitor_id": "site-visitor-7", "customer_id": 42})
    assert response.status_code == 201
    [row] = db.query("SELECT visitor_id, customer_id, value_minor, currency FROM conversions")
    # no value: the goal's default (0) in DEFAULT_CURRENCY; a numeric id kept as text
    assert row == {"visitor_id": "site-visitor-7", "customer_id": "42", "value_minor": 0,
                   "currency": "USD"}  # fmt: skip


@pytest.mark.parametrize(
    ("raw_value", "currency", "minor"),
    [
        (b'"49.90"', "EUR", 4990),
        (b"49.9", "EUR", 4990),  # a JSON number, parsed as Decimal, not float
        (b"0.1", "USD", 10),
        (b"1e2", "EUR", 10000),
        (b"1500", "JPY", 1500),
        (b'"12.345"', "KWD", 12345),
    ],
)
def test_values_are_exact(client, db, raw_value, currency, minor):
    body = b'{"goal": "purchase", "visitor_id": "v1", "currency": "%s", "value": %s}' % (
        currency.encode(),
        raw_value,
    )
    assert send(client, body).status_code == 201
    [row] = db.query("SELECT value_minor, currency FROM conversions")
    assert (row["value_minor"], row["currency"]) == (minor, currency)


def test_several_signatures_in_the_header(client, db):
    body = b'{"goal": "lead", "visitor_id": "v1"}'
    stamp = int(time.time())
    good = signature(body, "msg_multi", stamp)
    wrong = signature(body, "msg_multi", stamp, secret=NEW_SECRET)
    listed = f"v1,AAAA {wrong} v2,{good.removeprefix('v1,')} {good}"
    response = send(
        client, body, msg_id="msg_multi", timestamp=stamp, **{"webhook-signature": listed}
    )
    assert response.status_code == 201
    assert count(db, "conversions") == 1


def test_rotation_with_a_list_of_secrets(tmp_path):
    config = app_config(tmp_path, WEBHOOK_SECRET=[NEW_SECRET, WEBHOOK_SECRET])
    init_db(config["DATABASE"])
    client = browser(create_app(config))
    old = send(client, {"goal": "lead", "visitor_id": "v"}, msg_id="m_old", secret=WEBHOOK_SECRET)
    new = send(client, {"goal": "lead", "visitor_id": "v"}, msg_id="m_new", secret=NEW_SECRET)
    assert (old.status_code, new.status_code) == (201, 201)
    # once the old secret is removed, it no longer verifies
    config = app_config(tmp_path, WEBHOOK_SECRET=[NEW_SECRET])
    client = browser(create_app(config))
    late = send(client, {"goal": "lead", "visitor_id": "v"}, msg_id="m_late", secret=WEBHOOK_SECRET)
    assert late.status_code == 401


@pytest.mark.parametrize(
    "headers",
    [
        {"webhook-signature": None},
        {"webhook-signature": ""},
        {"webhook-signature": "v1,"},
        {"webhook-signature": "v1"},
        {"webhook-signature": "garbage"},
        {"webhook-signature": "v1,AAAA"},
        {"webhook-signature": "v1,,v1,,"},
        {"webhook-signature": "v1," + "A" * 20000},
        {"webhook-signature": "v1,\u00e9\u00e8"},
    ],
)
def test_bad_or_missing_signature_is_401(client, db, headers):
    response = send(client, {"goal": "lead", "visitor_id": "v"}, **headers)
    assert response.status_code == 401
    assert "signature" in response.get_json()["error"]
    assert_nothing_stored(db)


def test_a_wrong_secret_or_a_changed_body_is_401(client, db):
    body = b'{"goal": "purchase", "value": "10.00", "visitor_id": "v"}'
    stamp = int(time.time())
    assert send(client, body, secret=NEW_SECRET).status_code == 401
    tampered = body.replace(b"10.00", b"99.00")
    response = send(
        client, tampered, timestamp=stamp, **{"webhook-signature": signature(body, "msg_1", stamp)}
    )
    assert response.status_code == 401
    assert_nothing_stored(db)


@pytest.mark.parametrize("skew", [301, 3600, -301, -86400])
def test_timestamp_more_than_five_minutes_off_is_400(client, db, skew):
    # skew > 0: sent in the past (a replay); < 0: from a clock that runs ahead
    response = send(client, {"goal": "lead", "visitor_id": "v"}, timestamp=int(time.time()) - skew)
    assert response.status_code == 400
    assert "webhook-timestamp" in response.get_json()["error"]
    assert_nothing_stored(db)


@pytest.mark.parametrize("skew", [-240, 240])
def test_timestamp_within_five_minutes_is_fine(client, db, skew):
    response = send(client, {"goal": "lead", "visitor_id": "v"}, timestamp=int(time.time()) - skew)
    assert response.status_code == 201


@pytest.mark.parametrize(
    "headers",
    [
        {"webhook-id": None},
        {"webhook-id": ""},
        {"webhook-id": "has spaces"},
        {"webhook-id": "x" * 200},
        {"webhook-timestamp": None},
        {"webhook-timestamp": "yesterday"},
        {"webhook-timestamp": "1.5"},
        {"webhook-timestamp": "9" * 30},
    ],
)
def test_malformed_id_or_timestamp_headers_are_400(client, db, headers):
    response = send(client, {"goal": "lead", "visitor_id": "v"}, **headers)
    assert response.status_code == 400
    assert "error" in response.get_json()
    assert_nothing_stored(db)


def test_webhooks_refused_when_no_secret_is_configured(tmp_path):
    config = app_config(tmp_path, WEBHOOK_SECRET=None)
    init_db(config["DATABASE"])
    client = browser(create_app(config))
    response = send(client, {"goal": "lead", "visitor_id": "v"})
    assert response.status_code == 401
    assert "WEBHOOK_SECRET" in response.get_json()["error"]


UNKNOWN = "no-such-click"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"visitor_id": "v"}, "goal"),
        ({"goal": "", "visitor_id": "v"}, "goal"),
        ({"goal": None, "visitor_id": "v"}, "goal"),
        ({"goal": 5, "visitor_id": "v"}, "goal"),
        ({"goal": ["purchase"], "visitor_id": "v"}, "goal"),
        ({"goal": "no_such_goal", "visitor_id": "v"}, "goal"),
        ({"goal": "Purchase", "visitor_id": "v"}, "goal"),
        ({"goal": "p" * 10000, "visitor_id": "v"}, "goal"),
        ({"goal": "purchase", "value": "abc", "visitor_id": "v"}, "value"),
        ({"goal": "purchase", "value": "1.234", "currency": "EUR", "visitor_id": "v"}, "value"),
        ({"goal": "purchase", "value": "1.5", "currency": "JPY", "visitor_id": "v"}, "value"),
        ({"goal": "purchase", "value": "NaN", "visitor_id": "v"}, "value"),
        ({"goal": "purchase", "value": "-5.00", "visitor_id": "v"}, "value"),
        ({"goal": "purchase", "value": -5, "visitor_id": "v"}, "value"),
        ({"goal": "purchase", "value": "", "visitor_id": "v"}, "value"),
        ({"goal": "purchase", "value": True, "visitor_id": "v"}, "value"),
        ({"goal": "purchase", "value": {"amount": 1}, "visitor_id": "v"}, "value"),
        ({"goal": "purchase", "value": "1e999", "visitor_id": "v"}, "value"),
        ({"goal": "purchase", "value": 10**13, "visitor_id": "v"}, "value"),
        ({"goal": "purchase", "value": "1", "currency": "EURO", "visitor_id": "v"}, "currency"),
        ({"goal": "purchase", "value": "1", "currency": "XYZ", "visitor_id": "v"}, "currency"),
        ({"goal": "purchase", "value": "1", "currency": "", "visitor_id": "v"}, "currency"),
        ({"goal": "purchase", "value": "1", "currency": 978, "visitor_id": "v"}, "currency"),
        ({"goal": "purchase", "occurred_at": "yesterday", "visitor_id": "v"}, "occurred_at"),
        ({"goal": "purchase", "occurred_at": "2026-13-01", "visitor_id": "v"}, "occurred_at"),
        ({"goal": "purchase", "occurred_at": 1700000000, "visitor_id": "v"}, "occurred_at"),
        ({"goal": "purchase", "occurred_at": "", "visitor_id": "v"}, "occurred_at"),
        (
            {"goal": "purchase", "occurred_at": "0001-01-01T00:00:00+01:00", "visitor_id": "v"},
            "occurred_at",
        ),  # fmt: skip
        (
            {"goal": "purchase", "occurred_at": "9999-12-31T23:59:59-01:00", "visitor_id": "v"},
            "occurred_at",
        ),  # fmt: skip
        ({"goal": "purchase", "occurred_at": "0999-01-01", "visitor_id": "v"}, "occurred_at"),
        (
            {"goal": "purchase", "occurred_at": "2999-01-01T00:00:00Z", "visitor_id": "v"},
            "occurred_at",
        ),  # fmt: skip
        ({"goal": "purchase"}, "click_id"),
        ({"goal": "purchase", "click_id": "", "visitor_id": None}, "click_id"),
        ({"goal": "purchase", "click_id": UNKNOWN}, "click_id"),
        ({"goal": "purchase", "click_id": UNKNOWN, "visitor_id": "v"}, "click_id"),
        ({"goal": "purchase", "click_id": ["x"]}, "click_id"),
        ({"goal": "purchase", "visitor_id": "v" * 129}, "visitor_id"),
        ({"goal": "purchase", "visitor_id": "a\nb"}, "visitor_id"),
        ({"goal": "purchase", "visitor_id": "v", "order_id": {"n": 1}}, "order_id"),
        ({"goal": "purchase", "visitor_id": "v", "order_id": 1.5}, "order_id"),
        ({"goal": "purchase", "visitor_id": "v", "customer_id": "c\x00"}, "customer_id"),
        ({"goal": "purchase", "visitor_id": "v", "customer_id": False}, "customer_id"),
    ],
)
def test_malformed_bodies_name_the_field_and_store_nothing(client, db, payload, field):
    response = send(client, payload)
    assert response.status_code == 400, response.get_json()
    assert response.get_json()["field"] == field
    assert response.get_json()["error"]
    assert_nothing_stored(db)


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        (b'{"goal": "purchase", "value": NaN, "visitor_id": "v"}', "value"),
        (b'{"goal": "purchase", "value": Infinity, "visitor_id": "v"}', "value"),
        (b'{"goal": "purchase", "value": -Infinity, "visitor_id": "v"}', "value"),
        (b'{"goal": NaN, "visitor_id": "v"}', "goal"),
        (b'{"goal": "purchase", "visitor_id": "v", "order_id": NaN}', "order_id"),
    ],
)
def test_non_json_numbers_name_their_field(client, db, raw, field):
    response = send(client, raw)
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert_nothing_stored(db)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[]",
        b'"purchase"',
        b"null",
        b'{"goal": "purchase",',
        b"\xff\xfe\x00",
        b"[" * 30_000 + b"]" * 30_000,  # deep nesting, under the size limit
        b'{"goal": "purchase", "value": ' + b"9" * 5000 + b', "visitor_id": "v"}',
    ],
)
def test_unparseable_bodies_are_400(client, db, raw):
    response = send(client, raw)
    assert response.status_code == 400
    assert "error" in response.get_json()
    assert_nothing_stored(db)


def test_oversized_body_is_refused(client, db):
    payload = {"goal": "lead", "visitor_id": "v", "padding": "x" * 70_000}
    response = send(client, payload)
    assert response.status_code == 413
    assert_nothing_stored(db)


def test_a_replayed_webhook_id_is_stored_once(client, db):
    payload = {"goal": "purchase", "value": "10.00", "visitor_id": "v1"}
    first = send(client, payload, msg_id="msg_retry")
    again = send(client, payload, msg_id="msg_retry")  # the sender retries
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["duplicate"] is True
    assert again.get_json()["conversion"] == first.get_json()["conversion"]
    # even with a different body (another order), the id was already used
    other = send(client, {**payload, "order_id": "B-2"}, msg_id="msg_retry")
    assert (other.status_code, other.get_json()["duplicate"]) == (200, True)
    assert count(db, "conversions") == 1
    assert count(db, "credits") == 5  # five models, one (direct) row each


def test_the_same_order_for_the_same_goal_is_stored_once(client, db, click_id):
    payload = {"goal": "purchase", "value": "10.00", "order_id": "A-7", "click_id": click_id}
    assert send(client, payload, msg_id="m1").status_code == 201
    duplicate = send(client, {**payload, "value": "12.00"}, msg_id="m2")
    assert duplicate.status_code == 200
    assert duplicate.get_json()["duplicate"] is True
    assert duplicate.get_json()["conversion"]["value"] == "10.00"  # the first one stays
    # the same order id under another goal is another conversion
    assert send(client, {**payload, "goal": "upsell"}, msg_id="m3").status_code == 201
    rows = list(db.query("SELECT goal, order_id, value_minor, webhook_id FROM conversions"))
    assert rows == [
        {"goal": "purchase", "order_id": "A-7", "value_minor": 1000, "webhook_id": "m1"},
        {"goal": "upsell", "order_id": "A-7", "value_minor": 1000, "webhook_id": "m3"},
    ]


def test_a_pixel_then_a_webhook_for_the_same_order(client, db, click_id):
    from conversions.reports import channel_rows

    # the thank-you page fires the pixel (anyone could: unverified, and its
    # value is whatever the URL says), and the report folds it in
    client.get(f"/t/pixel.gif?goal=purchase&value=99&currency=EUR&order_id=A-9&click={click_id}")
    [pixel] = db.query("SELECT * FROM conversions")
    assert (pixel["source"], pixel["verified"], pixel["value_minor"]) == ("pixel", 0, 9900)
    by_pixel = channel_rows(db, default_currency="EUR", verified=False)
    assert [(r["channel"], r["conversions"], r["revenue"]) for r in by_pixel] == [
        ("twitter", 1, "99.00")
    ]
    # then the shop's signed webhook for the same order, with the real value
    # and no click or moment of its own: it wins, on the same row
    response = send(
        client,
        {
            "goal": "purchase",
            "value": "10",
            "currency": "EUR",
            "order_id": "A-9",
            "visitor_id": "v",
        },  # fmt: skip
        msg_id="msg_9",
    )
    assert (response.status_code, response.get_json()["duplicate"]) == (201, False)
    assert response.get_json()["conversion"]["verified"] is True
    [row] = db.query("SELECT * FROM conversions")
    assert row["id"] == pixel["id"]
    assert (row["source"], row["verified"], row["webhook_id"]) == ("webhook", 1, "msg_9")
    assert (row["value_minor"], row["currency"]) == (1000, "EUR")
    # the pixel's click is kept, and a click id decides the visitor (as for
    # any webhook naming one): the click's visitor, not the body's "v"
    [click] = db.query("SELECT visitor_id FROM clicks")
    assert (row["click_id"], row["visitor_id"]) == (click_id, click["visitor_id"])
    assert row["occurred_at"] == pixel["occurred_at"]  # the webhook gave no moment
    # counted once, as a verified 10.00 on twitter (the click's channel), the
    # pixel's 99.00 gone from every report
    rows = channel_rows(db, default_currency="EUR")
    assert [(r["channel"], r["conversions"], r["revenue"]) for r in rows] == [
        ("twitter", 1, "10.00")
    ]
    verified = channel_rows(db, default_currency="EUR", verified=True)
    assert [(r["conversions"], r["revenue"]) for r in verified] == [(1, "10.00")]
    unverified = channel_rows(db, default_currency="EUR", verified=False)
    assert [(r["conversions"], r["revenue"]) for r in unverified] == [(0, "0.00")]
    assert count(db, "credits") == 5  # one touch under each of five models
    # the webhook retried, and the pixel reloaded: both duplicates now
    again = send(
        client,
        {
            "goal": "purchase",
            "value": "10",
            "currency": "EUR",
            "order_id": "A-9",
            "visitor_id": "v",
        },  # fmt: skip
        msg_id="msg_9",
    )
    assert (again.status_code, again.get_json()["duplicate"]) == (200, True)
    client.get(f"/t/pixel.gif?goal=purchase&value=99&currency=EUR&order_id=A-9&click={click_id}")
    assert count(db, "conversions") == 1
    assert db.execute("SELECT verified, value_minor FROM conversions").fetchone() == (1, 1000)


def test_a_webhook_then_a_pixel_for_the_same_order_keeps_the_webhook(client, db):
    send(client, {"goal": "purchase", "value": "10", "order_id": "A-9", "visitor_id": "v"})
    client.get("/t/pixel.gif?goal=purchase&value=99&order_id=A-9")
    rows = list(db.query("SELECT source, verified, value_minor FROM conversions"))
    assert rows == [{"source": "webhook", "verified": 1, "value_minor": 1000}]


def test_get_is_not_allowed(client):
    response = client.get("/t/webhook")
    assert response.status_code == 405
    assert "error" in response.get_json()


@pytest.mark.parametrize("secret", ["whsec_!!!!", "whsec_", "whsec_Y", "MfKQ9r8GKYqr", 42])
def test_a_secret_that_cannot_be_a_key_stops_start_up(tmp_path, secret):
    from shortener.settings import ConfigError

    with pytest.raises(ConfigError, match="whsec_"):
        create_app(app_config(tmp_path, WEBHOOK_SECRET=[WEBHOOK_SECRET, secret]))


def test_an_unpadded_secret_works(tmp_path):
    # the Standard Webhooks libraries accept base64 without its padding
    unpadded = "whsec_" + base64.b64encode(b"thirty-one bytes of secret key!").decode().rstrip("=")
    assert not unpadded.endswith("=")  # 31 bytes: "==" cut off
    config = app_config(tmp_path, WEBHOOK_SECRET=unpadded)
    init_db(config["DATABASE"])
    client = browser(create_app(config))
    assert (
        send(client, {"goal": "lead", "visitor_id": "v"}, secret=unpadded + "==").status_code == 201
    )
