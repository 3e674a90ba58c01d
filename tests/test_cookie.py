"""The signed visitor cookie `ct_vid`, as the redirect sets and reads it."""

import time

import pytest
from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer

from conftest import app_config, browser, make_link
from shortener import create_app
from shortener.app import init_db
from shortener.cookie import SALT

KEY = "test-secret-key"  # conftest's SECRET_KEY
DAY = 86400


def signed(visitor_id, key=KEY, age_seconds=0):
    """A cookie value as itsdangerous would have made it `age_seconds` ago."""

    class PastSigner(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - age_seconds

    return URLSafeTimedSerializer(key, salt=SALT, signer=PastSigner).dumps(visitor_id)


def unsign(value, key=KEY):
    return URLSafeTimedSerializer(key, salt=SALT).loads(value)


def set_cookie_header(response) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("ct_vid=")]
    return header


def attributes(header: str) -> dict:
    parts = [p.strip() for p in header.split(";")]
    name_value = parts[0].split("=", 1)
    attrs = {"value": name_value[1]}
    for part in parts[1:]:
        key, _, value = part.partition("=")
        attrs[key.lower()] = value
    return attrs


def visitors(db) -> list:
    return [r[0] for r in db.execute("SELECT visitor_id FROM clicks ORDER BY id")]


def new_app(tmp_path, **overrides):
    config = app_config(tmp_path, **overrides)
    init_db(config["DATABASE"])
    return create_app(config)


@pytest.fixture
def link(client):
    return make_link(client, code="promo")


def test_first_click_sets_a_signed_http_only_lax_cookie(client, db, link):
    response = client.get("/promo")
    cookie = attributes(set_cookie_header(response))
    assert "httponly" in cookie
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert cookie["max-age"] == str(30 * DAY)  # default window: 30 days
    assert "secure" not in cookie  # plain http
    assert "domain" not in cookie  # COOKIE_DOMAIN unset: host-only
    [visitor] = visitors(db)
    assert unsign(cookie["value"]) == visitor
    with pytest.raises(BadSignature):
        unsign(cookie["value"], key="another-key")


def test_cookie_is_secure_over_https(client, link):
    response = client.get("/promo", base_url="https://go.example.test")
    assert response.status_code == 302
    assert "secure" in attributes(set_cookie_header(response))


def test_a_trusted_proxy_can_say_the_visit_was_https(tmp_path, client, link):
    https = {"X-Forwarded-Proto": "https"}
    assert "secure" not in attributes(set_cookie_header(client.get("/promo", headers=https)))
    (tmp_path / "proxied").mkdir()
    proxied = browser(new_app(tmp_path / "proxied", TRUST_PROXY_HEADERS=True))
    make_link(proxied, code="promo")
    assert "secure" in attributes(set_cookie_header(proxied.get("/promo", headers=https)))
    plain = proxied.get("/promo", headers={"X-Forwarded-Proto": "http"})
    assert "secure" not in attributes(set_cookie_header(plain))


def test_max_age_follows_the_attribution_window(tmp_path):
    client = browser(new_app(tmp_path, ATTRIBUTION_WINDOW_DAYS=7))
    make_link(client, code="promo")
    cookie = attributes(set_cookie_header(client.get("/promo")))
    assert cookie["max-age"] == str(7 * DAY)  # 604800


def test_cookie_domain_is_configurable(tmp_path):
    client = browser(new_app(tmp_path, COOKIE_DOMAIN=".example.test"))
    make_link(client, code="promo")
    cookie = attributes(set_cookie_header(client.get("/promo")))
    # browsers ignore a leading dot: both mean example.test and its subdomains
    assert cookie["domain"].lstrip(".") == "example.test"


def test_a_returning_visitor_keeps_the_same_id(client, db, link):
    make_link(client, code="other", channel="linkedin")
    first = attributes(set_cookie_header(client.get("/promo")))
    second = attributes(set_cookie_header(client.get("/other")))
    ids = visitors(db)
    assert len(ids) == 2 and ids[0] == ids[1]
    assert unsign(first["value"]) == unsign(second["value"]) == ids[0]


def test_two_browsers_are_two_visitors(app, db, link):
    browser(app).get("/promo")
    browser(app).get("/promo")
    first, second = visitors(db)
    assert first != second


def broken_cookies():
    good = signed("A" * 22)
    return {
        "tampered payload": "B" + good[1:],
        # the signature's first character: its last one also carries padding bits,
        # and a change there alone can decode to the same bytes
        "tampered signature": good[: good.rindex(".") + 1]
        + ("A" if good[good.rindex(".") + 1] != "A" else "B")
        + good[good.rindex(".") + 2 :],
        "truncated": good[:-5],
        "signature only": good.split(".", 1)[1],
        "garbage": "not-a-cookie",
        "empty": "",
        "expired": signed("A" * 22, age_seconds=31 * DAY),
        "from the future": signed("A" * 22, age_seconds=-DAY),
        "signed with a foreign key": signed("A" * 22, key="someone-elses-key"),
        "signed with another salt": URLSafeTimedSerializer(KEY, salt="other").dumps("A" * 22),
        "valid signature, id too short": signed("abc"),
        "valid signature, id not a string": signed({"id": "A" * 22}),
        "valid signature, id with newline": signed("A" * 22 + "\n"),
        "oversized": "x" * 600,
    }


@pytest.mark.parametrize("value", broken_cookies().values(), ids=broken_cookies().keys())
def test_a_bad_cookie_gets_a_new_id_and_never_an_error(client, db, link, value):
    client.set_cookie("ct_vid", value)
    response = client.get("/promo")
    assert response.status_code == 302
    [visitor] = visitors(db)
    assert visitor != "A" * 22
    assert len(visitor) >= 16
    assert unsign(attributes(set_cookie_header(response))["value"]) == visitor


def test_a_cookie_inside_the_window_is_honoured(client, db, link):
    client.set_cookie("ct_vid", signed("A" * 22, age_seconds=29 * DAY))
    client.get("/promo")
    assert visitors(db) == ["A" * 22]


def test_a_shorter_window_expires_cookies_sooner(tmp_path, db):
    app = new_app(tmp_path, ATTRIBUTION_WINDOW_DAYS=7)
    client = browser(app)
    make_link(client, code="promo")
    client.set_cookie("ct_vid", signed("A" * 22, age_seconds=6 * DAY))
    client.get("/promo")
    client.set_cookie("ct_vid", signed("B" * 22, age_seconds=8 * DAY))
    client.get("/promo")
    kept, replaced = visitors(db)
    assert kept == "A" * 22
    assert replaced != "B" * 22


def test_key_rotation_old_key_verifies_new_key_signs(tmp_path):
    old = browser(new_app(tmp_path, SECRET_KEY="old-key"))
    make_link(old, code="promo")
    old_value = attributes(set_cookie_header(old.get("/promo")))["value"]
    visitor = unsign(old_value, key="old-key")

    # same database, key rotated; the old key is kept as a fallback
    rotated = browser(create_app(app_config(tmp_path, SECRET_KEY="new-key",
                                            SECRET_KEY_FALLBACKS=["old-key"])))  # fmt: skip
    rotated.set_cookie("ct_vid", old_value)
    new_value = attributes(set_cookie_header(rotated.get("/promo")))["value"]
    assert unsign(new_value, key="new-key") == visitor
    with pytest.raises(BadSignature):
        unsign(new_value, key="old-key")

    # once the fallback is dropped, an old cookie is just a new visitor
    dropped = browser(create_app(app_config(tmp_path, SECRET_KEY="new-key")))
    dropped.set_cookie("ct_vid", old_value)
    replaced = attributes(set_cookie_header(dropped.get("/promo")))["value"]
    assert unsign(replaced, key="new-key") != visitor
