"""No input reaches a 5xx: the JSON API fuzzed from its own OpenAPI document
(schemathesis, in process through WSGI, with every check it has: the answers
are the documented ones, valid input is accepted and invalid refused), and
the pixel and the webhook --
the two endpoints anyone on the internet can hit -- with hypothesis."""

import json
import time
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS, load_all_checks

from conftest import AUTH, WEBHOOK_SECRET, app_config, browser, make_link
from conversions.money import EXPONENTS
from conversions.pixel import GIF
from conversions.signing import sign
from shortener import create_app
from shortener.app import init_db
from shortener.db import connect

load_all_checks()  # the registry fills when schemathesis loads its checks
ALL_CHECKS = CHECKS.get_all()

# -- the JSON API, from /api/openapi.json ---------------------------------------------


def api_schema(tmp_path, mode=GenerationMode.POSITIVE):
    # whether a webhook target is a private address depends on the network
    # it resolves in, not on the request: the fuzzed app allows them
    config = app_config(tmp_path, WEBHOOK_ALLOW_PRIVATE_TARGETS=True)
    init_db(config["DATABASE"])
    app = create_app(config)
    client = browser(app)
    make_link(client, code="fuzz1")  # a real code for the {code} routes to find
    client.post("/api/advocates", json={"name": "Fuzz", "handle": "fuzz"}, headers=AUTH)
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    # The key is sent with every case (below), so the security scheme is not
    # generated as a parameter: a mutated key would be replaced by the real one
    # and the case counted as "invalid data accepted". `ignored_auth` still
    # checks that requests without the key are refused. Unknown query
    # parameters are ignored on purpose (caches and trackers add them) and
    # OpenAPI cannot say so, hence no extra parameters either.
    schema.config.generation.update(allow_extra_parameters=False, with_security_parameters=False)
    schema.hook("filter_query")(days_in_order)
    schema.hook("filter_body")(times_possible)
    schema.hook("filter_body")(no_integral_fractions)
    schema.hook("filter_body")(no_referrals)
    schema.hook("filter_body")(money_fits_its_currency)
    if mode == GenerationMode.POSITIVE:  # an invalid case must stay invalid
        schema.hook("map_body")(goal_of_the_catalogue)
        schema.hook("map_body")(cost_days_possible)
    return schema


def days_in_order(ctx, value) -> bool:
    """JSON Schema cannot say "from is not after to": a valid case keeps them
    in order (the API refuses the other order with 400 naming `from`)."""
    if not isinstance(value, dict):
        return True
    days = [value.get(k) for k in ("from", "to", "as_of")]
    days = [d for d in days if isinstance(d, str)]
    return days == sorted(days)  # and as_of, when given, not before either


def cost_days_possible(ctx, value):
    """Nor that a cost row covers at most ten years, in order: valid cases
    keep the days of a cost row within that."""
    if not isinstance(value, dict):
        return value
    try:
        start, end = sorted([date.fromisoformat(value["from"]), date.fromisoformat(value["to"])])
    except (KeyError, TypeError, ValueError):
        return value
    end = min(end, start + timedelta(days=3000))
    return {**value, "from": start.isoformat(), "to": end.isoformat()}


def no_integral_fractions(ctx, value) -> bool:
    """JSON Schema counts 10.0 as an integer; the API reads JSON numbers as
    decimals and refuses a fraction where a whole number (an id, a weight, a
    count of days) is due. Cases with such numbers are left out."""
    return not any(isinstance(v, float) and v.is_integer() for v in leaves(value))


def leaves(value):
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            yield from leaves(item)
    else:
        yield value


def goal_of_the_catalogue(ctx, value):
    """A reward rule's goal must be in the goal catalogue, and an advocate
    named by a cost or a share must exist (the database knows, the document
    cannot): valid cases name ones that do."""
    if not isinstance(value, dict):
        return value
    if isinstance(value.get("goal"), str):
        value = {**value, "goal": "purchase"}
    if value.get("advocate") is not None:
        value = {**value, "advocate": "fuzz"}
    if isinstance(value.get("advocates"), list):
        value = {**value, "advocates": ["fuzz"] * len(value["advocates"])}
    return value


def money_fits_its_currency(ctx, value) -> bool:
    """Nor that an amount has no more decimals than its currency has (two
    for EUR, none for JPY), or a percentage more than two: cases with more
    are left out."""
    if not isinstance(value, dict):
        return True
    currency = value.get("currency")
    currency = currency.strip().upper() if isinstance(currency, str) else "EUR"
    places = EXPONENTS.get(currency, 2)
    for name in ("amount", "value", "cap_amount", "percent"):
        allowed = 2 if name == "percent" else places
        amount = value.get(name)
        if isinstance(amount, str | float) and not isinstance(amount, bool):
            decimals = str(amount).partition(".")[2].rstrip("0")
            if "e" in str(amount).lower() or len(decimals) > allowed:
                return False
    return True


def no_referrals(ctx, value) -> bool:
    """A referral names a conversion or a visitor that must already exist:
    a case cannot know one, and the API refuses an unknown one with 400."""
    return not (isinstance(value, dict) and
                {"referred_by_conversion", "referred_by_visitor"} & set(value))  # fmt: skip


def times_possible(ctx, value) -> bool:
    """Nor "in the future" (an expiry) or "not in the future" (a refund), nor
    the years a stored timestamp can hold: cases outside them are left out."""
    if not isinstance(value, dict):
        return True
    now = datetime.now(UTC).isoformat()
    expires, refunded = value.get("expires_at"), value.get("refunded_at")
    if isinstance(expires, str) and not ("2000" <= expires[:4] <= "9999" and expires > now):
        return False
    return not (isinstance(refunded, str) and not "2000" <= refunded[:4] <= now[:4])


def exercise(operation, mode, seen: set) -> None:
    @settings(max_examples=40, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(case=operation.as_strategy(mode))
    def run(case):
        seen.add((case.method, case.path))
        response = case.call(headers=AUTH)
        case.validate_response(response, checks=ALL_CHECKS, headers=AUTH)
        assert response.status_code < 500
        if response.status_code >= 400 and "json" in response.headers.get("Content-Type", ""):
            assert response.json()["error"]

    try:
        run()
    except Exception as e:
        e.add_note(f"operation: {operation.label}")  # hypothesis names only `run`
        raise


def operations(schema, mode) -> set[tuple[str, str]]:
    """Every operation of the document; for invalid cases, those that take
    some input to break (a path variable, a query parameter or a body)."""
    return {
        (method.upper(), path)
        for path, ops in schema.raw_schema["paths"].items()
        for method, op in ops.items()
        if mode == GenerationMode.POSITIVE or op["parameters"] or "requestBody" in op
    }


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_api_operation_conforms_to_the_document(tmp_path, mode):
    """Cases for every operation in the document: valid ones (positive) must
    be accepted, ones that break the schema on purpose (negative) refused with
    a 4xx; every answer's status, content type, headers and body must be the
    documented ones (schemathesis, every check it has)."""
    schema = api_schema(tmp_path, mode)
    seen = set()
    expected = operations(schema, mode)
    for result in schema.get_all_operations():
        if (result.ok().method.upper(), result.ok().path) in expected:
            exercise(result.ok(), mode, seen)
    assert seen == expected  # every operation got cases, not just some


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
