"""No input reaches a 5xx: the JSON API fuzzed from its own OpenAPI document
(schemathesis, in process through WSGI), and the pixel and the webhook --
the two endpoints anyone on the internet can hit -- with hypothesis."""

import json
import time
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from conftest import AUTH, WEBHOOK_SECRET, app_config, browser, make_link
from conversions.pixel import GIF
from conversions.signing import sign
from shortener import create_app
from shortener.db import connect, init_db

# -- the JSON API, from /api/openapi.json ---------------------------------------------


def api_schema(tmp_path):
    config = app_config(tmp_path)
    init_db(config["DATABASE"])
    app = create_app(config)
    make_link(browser(app), code="fuzz1")  # a real code for the {code} routes to find
    return schemathesis.openapi.from_wsgi("/api/openapi.json", app)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_api_request_is_a_server_error(tmp_path, mode):
    """Cases for every operation in the document: valid ones (positive) and
    ones that break the schema on purpose (negative), all with the API key."""
    schema = api_schema(tmp_path)
    seen = set()

    @settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
    @given(case=schema.as_strategy(mode))
    def run(case):
        seen.add((case.method, case.path))
        response = case.call(headers=AUTH)
        case.validate_response(response, checks=[not_a_server_error])
        assert response.status_code < 500
        if response.status_code >= 400 and "json" in response.headers.get("Content-Type", ""):
            assert response.json()["error"]

    run()
    assert len(seen) >= 8  # every operation got cases, not just one


# -- the pixel -----------------------------------------------------------------------------

_APP = {}


def shared(tmp_path_factory):
    """One app for every example (hypothesis runs the test body many times)."""
    if "app" not in _APP:
        path = tmp_path_factory.mktemp("fuzz-pixel")
        config = app_config(path)
        init_db(config["DATABASE"])
        app = create_app(config)
        client = browser(app)
        make_link(client, code="fuzz1")
        click_id = client.get("/fuzz1").headers["Location"].rsplit("ct_click=", 1)[1]
        _APP.update(app=app, client=client, click=click_id, db=connect(config["DATABASE"]))
    return _APP


RAW = st.binary(max_size=40).map(lambda b: quote(b, safe=""))  # any bytes, percent-encoded
NUMBERS = st.sampled_from(
    ["-1", "-0.01", "NaN", "nan", "Infinity", "-inf", "1e999", "1e-999", "0x10", "1_000",
     "49.90", "49.999", "0", "10000000000000", "١٢", " 5 ", "5,00", ""]
)  # fmt: skip
GOALS = st.sampled_from(["purchase", "signup", "PURCHASE", "nope", "", "purchase\n", "a" * 300])
VALUES = GOALS | NUMBERS | RAW | st.text(max_size=20) | st.just("x" * 5000)
KEYS = st.sampled_from(["goal", "value", "currency", "order_id", "click", "junk", "", "goal[]"])
QUERIES = st.lists(st.tuples(KEYS, VALUES), max_size=8)


def count(db) -> int:
    return db.execute("SELECT count(*) FROM conversions").fetchone()[0]


def check_stored_rows_are_valid(db):
    goals = {r[0] for r in db.execute("SELECT name FROM goals")}
    for row in db.query("SELECT * FROM conversions"):
        assert row["goal"] in goals
        assert isinstance(row["value_minor"], int) and row["value_minor"] >= 0
        assert len(row["currency"]) == 3 and row["currency"].isupper()
        assert row["order_id"] is None or (len(row["order_id"]) <= 128
                                            and row["order_id"].isprintable())  # fmt: skip
        if row["source"] == "pixel":
            assert row["verified"] == 0


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(pairs=QUERIES, with_click=st.booleans())
def test_any_pixel_query_gets_the_gif_and_stores_one_valid_conversion_or_nothing(
    tmp_path_factory, pairs, with_click
):
    state = shared(tmp_path_factory)
    if with_click:
        pairs = [*pairs, ("click", state["click"])]
    query = "&".join(f"{quote(k, safe='')}={v if '%' in v else quote(v, safe='')}"
                     for k, v in pairs)  # fmt: skip
    before = count(state["db"])
    response = state["client"].get(f"/t/pixel.gif?{query}")
    assert response.status_code == 200
    assert response.data == GIF
    assert response.headers["Content-Type"] == "image/gif"
    assert count(state["db"]) - before in (0, 1)
    check_stored_rows_are_valid(state["db"])


@settings(max_examples=50, deadline=None, suppress_health_check=list(HealthCheck))
@given(raw=st.binary(min_size=1, max_size=3000))
def test_any_raw_pixel_query_bytes_get_the_gif(tmp_path_factory, raw):
    state = shared(tmp_path_factory)
    query = raw.decode("latin-1")  # WSGI carries the query as latin-1 text, any byte allowed
    response = state["client"].get("/t/pixel.gif", environ_overrides={"QUERY_STRING": query})
    assert response.status_code == 200 and response.data == GIF
    check_stored_rows_are_valid(state["db"])


# -- the webhook ---------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
FIELD_VALUES = JSON | GOALS | NUMBERS | st.sampled_from(["EUR", "eur", "EURO", "", "JPY"])
BODIES = st.dictionaries(
    st.sampled_from(["goal", "value", "currency", "order_id", "click_id", "visitor_id",
                     "customer_id", "occurred_at", "extra"]),
    FIELD_VALUES,
    max_size=7,
)  # fmt: skip


@settings(max_examples=250, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=BODIES, with_click=st.booleans(), raw_json=st.booleans(), n=st.integers(0, 10**9))
def test_any_signed_webhook_body_is_answered_without_a_server_error(
    tmp_path_factory, body, with_click, raw_json, n
):
    state = shared(tmp_path_factory)
    if with_click:
        body = {**body, "click_id": state["click"]}
    data = json.dumps(body).encode() if raw_json else json.dumps(body, default=str).encode()
    timestamp = int(time.time())
    msg_id = f"msg_fuzz_{n}"
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(WEBHOOK_SECRET, msg_id, timestamp, data),
        "Content-Type": "application/json",
    }
    before = count(state["db"])
    response = state["client"].post("/t/webhook", data=data, headers=headers)
    assert response.status_code in (200, 201, 400), response.get_json()
    assert response.get_json()
    stored = count(state["db"]) - before
    assert stored == (1 if response.status_code == 201 else 0)
    check_stored_rows_are_valid(state["db"])


HEADER_NAMES = st.sampled_from(
    ["webhook-id", "webhook-timestamp", "webhook-signature", "Content-Type"]
)
HEADER_VALUES = st.text(st.characters(min_codepoint=32, max_codepoint=255), max_size=60)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.binary(max_size=2000), headers=st.dictionaries(HEADER_NAMES, HEADER_VALUES))
def test_any_unsigned_webhook_request_is_refused_without_storing(tmp_path_factory, data, headers):
    state = shared(tmp_path_factory)
    before = count(state["db"])
    response = state["client"].post("/t/webhook", data=data, headers=headers)
    assert response.status_code in (400, 401)
    assert response.get_json()["error"]
    assert count(state["db"]) == before
