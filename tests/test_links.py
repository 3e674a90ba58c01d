"""Link validation and storage: what a marketer may ask for, and that a
refused request stores nothing."""

import json
import string
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from conftest import AUTH, app_config, make_link
from shortener import create_app, links
from shortener.app import init_db

GOOD = {"url": "https://shop.example.com/sale", "channel": "twitter", "campaign": "spring"}


def post(client, **fields):
    return client.post("/api/links", json={**GOOD, **fields}, headers=AUTH)


def link_count(db) -> int:
    return db.execute("SELECT count(*) FROM links").fetchone()[0]


def refused(client, db, field, **fields):
    """POST the fields, expect a 400 naming `field`, and nothing stored."""
    response = post(client, **fields)
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["field"] == field
    assert body["error"]
    assert link_count(db) == 0
    return body


# -- destinations ------------------------------------------------------------

BAD_DESTINATIONS = {
    "javascript": "javascript:alert(document.cookie)",
    "javascript mixed case": "JaVaScRiPt:alert(1)",
    "javascript after http-looking text": "javascript://shop.example.com/%0aalert(1)",
    "leading space": " https://shop.example.com/",
    "leading tab": "\thttps://shop.example.com/",
    "trailing newline": "https://shop.example.com/\n",
    "data": "data:text/html,<script>alert(1)</script>",
    "vbscript": "vbscript:msgbox(1)",
    "file": "file:///etc/passwd",
    "ftp": "ftp://shop.example.com/file",
    "scheme-relative": "//shop.example.com/sale",
    "no scheme": "shop.example.com/sale",
    "no host": "https:///sale",
    "empty host": "https://",
    "NUL": "https://shop.example.com/\x00",
    "CR LF header injection": "https://shop.example.com/\r\nSet-Cookie: ct_vid=x",
    "bare LF": "https://shop.example.com/a\nb",
    "DEL": "https://shop.example.com/\x7f",
    "space in host": "https://shop example.com/",
    "backslash host trick": "https://shop.example.com\\.evil.example/",
    "user and password": "https://user:pw@shop.example.com/",
    "user only": "https://evil.example@shop.example.com/",
    "port out of range": "https://shop.example.com:99999/",
    "port not a number": "https://shop.example.com:http/",
    "unclosed IPv6": "https://[::1/",
    "right-to-left override": "https://shop.example.com/\u202egnp.exe",
    "zero-width space": "https://shop\u200b.example.com/",
    "no-break space": "https://shop.example.com/\u00a0",
    "too long": "https://shop.example.com/" + "a" * 2048,
    "own BASE_URL host": "http://go.example.test/abc",
    "own BASE_URL host, other case and dot": "https://GO.Example.TEST./abc",
    "own request host": "http://localhost/abc",
    "bit.ly": "https://bit.ly/3xyz",
    "subdomain of a blocked shortener": "https://www.bit.ly/3xyz",
    "t.co": "https://t.co/abc",
    "tinyurl": "https://TinyURL.com/abc",
}


@pytest.mark.parametrize("url", BAD_DESTINATIONS.values(), ids=BAD_DESTINATIONS.keys())
def test_unsafe_destinations_are_refused_and_nothing_is_stored(client, db, url):
    refused(client, db, "url", url=url)


@pytest.mark.parametrize("url", [None, "", 42, ["https://shop.example.com/"], {"a": 1}])
def test_destination_must_be_a_non_empty_string(client, db, url):
    refused(client, db, "url", url=url)


def test_missing_destination_is_refused(client, db):
    response = client.post("/api/links", json={"channel": "x", "campaign": "c"}, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["field"] == "url"
    assert link_count(db) == 0


def test_configured_blocked_hosts_are_refused(tmp_path):
    config = app_config(tmp_path, BLOCKED_DESTINATION_HOSTS=["lnkd.in"])
    init_db(config["DATABASE"])
    client = create_app(config).test_client()
    response = post(client, url="https://lnkd.in/abc")
    assert response.status_code == 400
    assert response.get_json() == {"error": "url points at another link shortener", "field": "url"}
    # bit.ly is no longer in the (replaced) list
    assert post(client, url="https://bit.ly/abc").status_code == 201


GOOD_DESTINATIONS = [
    "https://shop.example.com/sale",
    "http://shop.example.com",
    "HTTPS://Shop.Example.COM/Sale?Q=1",
    "https://shop.example.com:8443/p?a=1&a=2&b=%20x&empty=&flag#frag",
    "http://127.0.0.1:8080/x",
    "https://[2001:db8::1]/x",
    "https://shop.example.com./trailing-dot-host",
    # a subdomain of the shortener's host is another site, not a loop
    "https://www.go.example.test/landing",
    "https://notbit.ly/not-a-shortener",
]


@pytest.mark.parametrize("url", GOOD_DESTINATIONS)
def test_http_and_https_destinations_are_stored_exactly(client, db, url):
    link = make_link(client, url=url)
    assert link["url"] == url
    stored = db.execute("SELECT url FROM links WHERE code = ?", [link["code"]]).fetchone()[0]
    assert stored == url


def test_international_destination_is_stored_as_an_ascii_uri(client, db):
    link = make_link(client, url="https://café.example/menü?q=ü&x=1#straße")
    # host in IDNA, other non-ASCII characters percent-encoded as UTF-8; the
    # ASCII bytes ("?", "=", "&", "x=1", "#") untouched
    expected = (
        "https://xn--caf-dma.example/men"
        + quote("ü")
        + "?q="
        + quote("ü")
        + "&x=1#stra"
        + quote("ß")
        + "e"
    )
    assert expected == "https://xn--caf-dma.example/men%C3%BC?q=%C3%BC&x=1#stra%C3%9Fe"
    assert link["url"] == expected
    assert db.execute("SELECT url FROM links").fetchone()[0] == expected


def test_invalid_international_host_is_refused(client, db):
    refused(client, db, "url", url="https://" + "é" * 70 + ".example/")


def test_normalise_destination_names_the_reason():
    with pytest.raises(ValueError, match="back at this shortener"):
        links.normalise_destination("https://go.example.com/x", own_hosts=["go.example.com"])
    with pytest.raises(ValueError, match="another link shortener"):
        links.normalise_destination("https://m.bit.ly/x", blocked_hosts=["bit.ly"])
    with pytest.raises(ValueError, match="http:// or https://"):
        links.normalise_destination("javascript:alert(1)")
    ok = links.normalise_destination("https://go.example.com.evil.example/", ["go.example.com"])
    assert ok == "https://go.example.com.evil.example/"


# -- codes -------------------------------------------------------------------


def test_random_codes_are_short_url_safe_and_unique():
    codes = [links.new_code() for _ in range(2000)]
    assert len(set(codes)) == 2000
    for code in codes:
        assert len(code) == 7
        assert set(code) <= set(string.ascii_letters + string.digits)
        assert quote(code, safe="") == code
        # no look-alikes that get mistyped from print: l/I/1, O/0
        assert not set(code) & set("lI1O0")


def test_random_codes_come_from_the_secrets_module(monkeypatch):
    drawn = []

    def choice(alphabet):
        drawn.append(alphabet)
        return alphabet[len(drawn) % len(alphabet)]

    monkeypatch.setattr(links.secrets, "choice", choice)
    code = links.new_code()
    assert drawn == [links.CODE_ALPHABET] * 7
    assert code == "".join(links.CODE_ALPHABET[i] for i in range(1, 8))


def test_a_random_code_that_is_taken_is_never_reused(client, db, monkeypatch):
    make_link(client, code="Abc2345", url="https://first.example.com/")
    draws = iter(["Abc2345", "Abc2345", "Xyz6789"])
    monkeypatch.setattr(links, "new_code", lambda: next(draws))
    second = make_link(client, url="https://second.example.com/")
    assert second["code"] == "Xyz6789"
    rows = db.execute("SELECT code, url FROM links ORDER BY id").fetchall()
    assert rows == [
        ("Abc2345", "https://first.example.com/"),
        ("Xyz6789", "https://second.example.com/"),
    ]


def test_codes_from_the_api_are_distinct(client):
    codes = {make_link(client)["code"] for _ in range(30)}
    assert len(codes) == 30


@pytest.mark.parametrize("code", ["abc", "spring-sale", "Q3_2025", "a" * 64, "9lives"])
def test_valid_custom_codes_are_kept_as_given(client, db, code):
    assert make_link(client, code=code)["code"] == code
    assert db.execute("SELECT code FROM links").fetchone()[0] == code


@pytest.mark.parametrize(
    "code",
    [
        "ab",  # too short
        "a" * 65,  # too long
        "-abc",
        "_abc",
        "a b",
        "a/b",
        "a.b",
        "a%20b",
        "abc\n",
        "abc\t",
        "ünï",
        42,
        ["abc"],
        True,
    ],
)
def test_malformed_custom_codes_are_refused(client, db, code):
    refused(client, db, "code", code=code)


@pytest.mark.parametrize("code", ["api", "API", "t", "static", "Static", "healthz", "HEALTHZ"])
def test_reserved_words_cannot_be_codes(client, db, code):
    refused(client, db, "code", code=code)


def test_a_taken_custom_code_is_a_conflict(client, db):
    first = make_link(client, code="spring-sale", url="https://first.example.com/")
    response = post(client, code="spring-sale", url="https://second.example.com/")
    assert response.status_code == 409
    assert response.get_json()["field"] == "code"
    rows = db.execute("SELECT code, url FROM links").fetchall()
    assert rows == [("spring-sale", first["url"])]


def test_empty_code_means_a_random_one(client):
    assert len(make_link(client, code="")["code"]) == 7
    assert len(make_link(client, code=None)["code"]) == 7


# -- channel, campaign and the other fields -----------------------------------


@pytest.mark.parametrize(
    "given, stored", [("Twitter", "twitter"), (" LinkedIn ", "linkedin"), ("X", "x")]
)
def test_channel_is_lower_cased(client, db, given, stored):
    assert make_link(client, channel=given)["channel"] == stored
    assert db.execute("SELECT channel FROM links").fetchone()[0] == stored


@pytest.mark.parametrize("channel", [None, "", "  ", "two words", "a" * 41, "tw/itter", "é", 7])
def test_bad_channels_are_refused(client, db, channel):
    refused(client, db, "channel", channel=channel)


@pytest.mark.parametrize("campaign", [None, "", "   ", "x" * 201, "a\nb", 5])
def test_campaign_is_required_and_plain(client, db, campaign):
    refused(client, db, "campaign", campaign=campaign)


@pytest.mark.parametrize("field", ["medium", "content", "term"])
def test_optional_utm_fields_must_be_short_strings(client, db, field):
    refused(client, db, field, **{field: 12})
    refused(client, db, field, **{field: "x" * 201})
    refused(client, db, field, **{field: "a\x00b"})


def test_optional_fields_are_stripped_and_stored(client, db):
    link = make_link(
        client, medium=" paid-social ", content="hero image", term="shoes", tags=["b", "a", "b"]
    )
    assert (link["medium"], link["content"], link["term"]) == ("paid-social", "hero image", "shoes")
    assert link["tags"] == ["a", "b"]
    assert json.loads(db.execute("SELECT tags FROM links").fetchone()[0]) == ["a", "b"]


@pytest.mark.parametrize(
    "tags", ["a", [1], [""], ["x" * 51], [f"t{i}" for i in range(21)], {"a": 1}]
)
def test_bad_tags_are_refused(client, db, tags):
    refused(client, db, "tags", tags=tags)


def test_unknown_fields_are_refused_so_typos_do_not_vanish(client, db):
    body = refused(client, db, "campain", campain="spring")
    assert "campain" in body["error"]


@pytest.mark.parametrize("body", [[GOOD], "text", 7, None])
def test_body_must_be_a_json_object(client, db, body):
    response = client.post("/api/links", json=body, headers=AUTH)
    assert response.status_code == 400
    assert "JSON object" in response.get_json()["error"]
    assert link_count(db) == 0


def test_malformed_json_and_form_bodies_are_refused(client, db):
    bad_json = client.post(
        "/api/links", data='{"url": ', headers={**AUTH, "Content-Type": "application/json"}
    )
    form = client.post("/api/links", data=GOOD, headers=AUTH)
    assert bad_json.status_code == 400 and form.status_code == 400
    assert link_count(db) == 0


# -- expiry ------------------------------------------------------------------


def test_expiry_is_stored_in_utc(client, db):
    link = make_link(client, expires_at="2099-01-01T01:30:00+01:00")
    assert link["expires_at"] == "2099-01-01T00:30:00.000000Z"
    # no zone means UTC; a bare date is its midnight
    assert make_link(client, expires_at="2099-06-01T12:00:00")["expires_at"] == (
        "2099-06-01T12:00:00.000000Z"
    )
    assert make_link(client, expires_at="2099-06-02")["expires_at"] == "2099-06-02T00:00:00.000000Z"


@pytest.mark.parametrize(
    "expires_at",
    [
        "tomorrow",
        "2099-13-01",
        42,
        ["2099-01-01"],
        "0001-01-01T00:00:00+01:00",  # used to raise OverflowError: a 500
        "9999-12-31T23:59:59-01:00",  # past year 9999 in UTC
        "1999-12-31T00:00:00Z",  # not fixed-width-safe and surely a typo
    ],
)
def test_malformed_expiry_is_refused(client, db, expires_at):
    refused(client, db, "expires_at", expires_at=expires_at)


def test_a_new_link_cannot_already_be_expired(client, db):
    yesterday = (datetime.now(UTC) - timedelta(days=1)).isoformat()
    body = refused(client, db, "expires_at", expires_at=yesterday)
    assert "past" in body["error"]


@pytest.mark.parametrize(
    "field, raw",
    [
        ("campaign", '"\\ud800"'),  # a lone surrogate: valid JSON, not valid UTF-8
        ("content", '"a\\udfffb"'),
        ("tags", '["\\ud800"]'),
        ("url", '"https://shop.example.com/\\ud800"'),
        ("code", '"ab\\ud800c"'),
    ],
)
def test_lone_surrogates_are_refused_not_a_500(client, db, field, raw):
    body = {**GOOD, field: "PLACEHOLDER"}
    data = json.dumps(body).replace('"PLACEHOLDER"', raw)
    response = client.post(
        "/api/links", data=data, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert link_count(db) == 0
