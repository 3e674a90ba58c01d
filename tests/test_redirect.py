"""GET /<code>: the redirect, the click it records, and /healthz."""

from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import AUTH, BROWSER_UA, IPHONE_UA, app_config, browser, make_link
from shortener import create_app
from shortener.app import init_db


def clicks(db) -> list[dict]:
    return list(db.query("SELECT * FROM clicks ORDER BY id"))


def query_of(response) -> dict:
    return parse_qs(urlsplit(response.headers["Location"]).query, keep_blank_values=True)


def new_app(tmp_path, **overrides):
    config = app_config(tmp_path, **overrides)
    init_db(config["DATABASE"])
    return create_app(config)


# -- the redirect --------------------------------------------------------------


def test_redirect_adds_utm_tags_and_the_stored_click_id(client, db):
    make_link(client, code="spring", content="hero", term="running shoes", campaign="Spring Sale")
    response = client.get("/spring")
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == "no-store"
    stored = clicks(db)
    assert len(stored) == 1
    click_id = stored[0]["click_id"]
    assert response.headers["Location"] == (
        "https://shop.example.com/sale"
        "?utm_source=twitter&utm_medium=social&utm_campaign=Spring+Sale"
        f"&utm_content=hero&utm_term=running+shoes&ct_click={click_id}"
    )
    assert query_of(response)["utm_campaign"] == ["Spring Sale"]


def test_medium_defaults_to_social_only_for_social_channels(client):
    make_link(client, code="tw1", channel="Twitter")
    make_link(client, code="news", channel="newsletter")
    make_link(client, code="paid", channel="facebook", medium="paid-social")
    assert query_of(client.get("/tw1"))["utm_medium"] == ["social"]
    assert "utm_medium" not in query_of(client.get("/news"))
    assert query_of(client.get("/paid"))["utm_medium"] == ["paid-social"]


@pytest.mark.parametrize(
    "channel",
    ["twitter", "x", "facebook", "linkedin", "instagram", "tiktok", "youtube", "reddit"]
    + ["pinterest", "mastodon", "threads", "bluesky"],
)
def test_default_social_channels(client, channel):
    make_link(client, code=f"c-{channel}", channel=channel)
    assert query_of(client.get(f"/c-{channel}"))["utm_medium"] == ["social"]


def test_social_channels_are_configurable(tmp_path):
    client = browser(new_app(tmp_path, SOCIAL_CHANNELS=["Mastodon", "podcast"]))
    make_link(client, code="tw1", channel="twitter")
    make_link(client, code="pod1", channel="podcast")
    assert "utm_medium" not in query_of(client.get("/tw1"))
    assert query_of(client.get("/pod1"))["utm_medium"] == ["social"]


def test_existing_query_is_kept_byte_for_byte(client, db):
    destination = "https://shop.example.com/p?b=2&a=%20x&empty=&flag&a=1&sp=a+b&pct=%2F&u=%C3%BC"
    make_link(client, code="qq1", url=destination)
    location = client.get("/qq1").headers["Location"]
    click_id = clicks(db)[0]["click_id"]
    assert location == (
        f"{destination}&utm_source=twitter&utm_medium=social&utm_campaign=spring"
        f"&ct_click={click_id}"
    )


def test_existing_utm_values_are_not_overwritten(client, db):
    destination = "https://shop.example.com/p?utm_source=newsletter&utm_medium=email&x=1"
    make_link(client, code="qq1", url=destination, term="t1")
    location = client.get("/qq1").headers["Location"]
    click_id = clicks(db)[0]["click_id"]
    assert location == f"{destination}&utm_campaign=spring&utm_term=t1&ct_click={click_id}"
    query = query_of(client.get("/qq1"))
    assert query["utm_source"] == ["newsletter"] and query["utm_medium"] == ["email"]


def test_percent_encoded_utm_keys_count_as_present(client):
    make_link(client, code="qq1", url="https://shop.example.com/?utm%5Fsource=mail")
    assert query_of(client.get("/qq1"))["utm_source"] == ["mail"]


def test_fragment_is_kept_after_the_query(client, db):
    make_link(client, code="aa1", url="https://shop.example.com/p?x=1#section-2")
    make_link(client, code="bb1", url="https://shop.example.com/p#top?not=query")
    a = client.get("/aa1").headers["Location"]
    b = client.get("/bb1").headers["Location"]
    ids = [c["click_id"] for c in clicks(db)]
    tags = "utm_source=twitter&utm_medium=social&utm_campaign=spring"
    assert a == f"https://shop.example.com/p?x=1&{tags}&ct_click={ids[0]}#section-2"
    assert b == f"https://shop.example.com/p?{tags}&ct_click={ids[1]}#top?not=query"


def test_trailing_separators_do_not_double(client, db):
    make_link(client, code="aa1", url="https://shop.example.com/p?")
    make_link(client, code="bb1", url="https://shop.example.com/p?x=1&")
    a = client.get("/aa1").headers["Location"]
    b = client.get("/bb1").headers["Location"]
    ids = [c["click_id"] for c in clicks(db)]
    tags = "utm_source=twitter&utm_medium=social&utm_campaign=spring"
    assert a == f"https://shop.example.com/p?{tags}&ct_click={ids[0]}"
    assert b == f"https://shop.example.com/p?x=1&{tags}&ct_click={ids[1]}"


def test_a_stale_click_id_in_the_destination_is_replaced(client, db):
    make_link(client, code="qq1", url="https://shop.example.com/p?ct_click=old&x=1")
    location = client.get("/qq1").headers["Location"]
    click_id = clicks(db)[0]["click_id"]
    assert query_of(client.get("/qq1"))["ct_click"] != ["old"]
    assert location == (
        "https://shop.example.com/p?x=1&utm_source=twitter&utm_medium=social"
        f"&utm_campaign=spring&ct_click={click_id}"
    )


def test_every_click_gets_its_own_id(client, db):
    make_link(client, code="qq1")
    ids = [query_of(client.get("/qq1"))["ct_click"][0] for _ in range(3)]
    assert ids == [c["click_id"] for c in clicks(db)]
    assert len(set(ids)) == 3


# -- what a click records ------------------------------------------------------


def test_click_row_holds_the_visit_details(client, db):
    link = make_link(client, code="qq1")
    client.get(
        "/qq1",
        headers={"Referer": "https://t.co/abc", "User-Agent": IPHONE_UA},
        environ_base={"REMOTE_ADDR": "203.0.113.77"},
    )
    [click] = clicks(db)
    link_id = db.execute("SELECT id FROM links WHERE code = ?", [link["code"]]).fetchone()[0]
    assert click["link_id"] == link_id
    assert click["referrer"] == "https://t.co/abc"
    assert click["user_agent"] == IPHONE_UA
    assert (click["device"], click["browser"], click["os"]) == ("mobile", "Mobile Safari", "iOS")
    assert click["is_bot"] == 0
    assert click["ip_prefix"] == "203.0.113.0/24"
    assert click["visitor_id"]
    assert len(click["ts"]) == len("2025-01-01T00:00:00.000000Z") and click["ts"].endswith("Z")


def test_desktop_browser_is_classified(client, db):
    make_link(client, code="qq1")
    client.get("/qq1", headers={"User-Agent": BROWSER_UA})
    click = clicks(db)[0]
    assert (click["device"], click["browser"], click["os"]) == ("desktop", "Chrome", "Windows")


@pytest.mark.parametrize(
    "address, prefix",
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("10.1.2.255", "10.1.2.0/24"),
        ("2001:db8:1234:5678:9abc:def0:1234:5678", "2001:db8:1234::/48"),
        ("::ffff:198.51.100.23", "198.51.100.0/24"),
    ],
)
def test_only_the_network_is_stored_never_the_address(client, db, address, prefix):
    make_link(client, code="qq1")
    client.get("/qq1", environ_base={"REMOTE_ADDR": address})
    [click] = clicks(db)
    assert click["ip_prefix"] == prefix
    assert not any(address in str(value) for value in click.values())
    host_part = address.rsplit(".", 1)[-1] if "." in address else "5678"
    assert not click["ip_prefix"].endswith(host_part + "/24")


def test_forwarded_for_is_ignored_unless_trusted(client, db):
    make_link(client, code="qq1")
    client.get(
        "/qq1",
        headers={"X-Forwarded-For": "198.51.100.9"},
        environ_base={"REMOTE_ADDR": "10.0.0.5"},
    )
    assert clicks(db)[0]["ip_prefix"] == "10.0.0.0/24"


def test_forwarded_for_is_used_when_trusted(tmp_path, db):
    client = browser(new_app(tmp_path, TRUST_PROXY_HEADERS=True))
    make_link(client, code="qq1")
    client.get(
        "/qq1",
        headers={"X-Forwarded-For": "198.51.100.9"},
        environ_base={"REMOTE_ADDR": "10.0.0.5"},
    )
    # a client can send its own X-Forwarded-For; our proxy appends the
    # address it saw, so the last entry is the one to believe
    client.get(
        "/qq1",
        headers={"X-Forwarded-For": "1.2.3.4, 203.0.113.50"},
        environ_base={"REMOTE_ADDR": "10.0.0.5"},
    )
    client.get("/qq1", headers={"X-Forwarded-For": "not-an-address"})
    assert [c["ip_prefix"] for c in clicks(db)] == ["198.51.100.0/24", "203.0.113.0/24", None]


def test_long_and_odd_headers_are_stored_truncated_not_refused(client, db):
    make_link(client, code="qq1")
    long_ua = BROWSER_UA + " x" * 3000
    response = client.get(
        "/qq1", headers={"User-Agent": long_ua, "Referer": "https://ref.example/" + "r" * 5000}
    )
    assert response.status_code == 302
    click = clicks(db)[0]
    assert click["user_agent"] == long_ua[:512]
    assert len(click["referrer"]) == 1024


def test_head_is_not_a_click(client, db):
    make_link(client, code="qq1")
    response = client.head("/qq1")
    assert response.status_code == 302
    assert response.headers["Location"] == (
        "https://shop.example.com/sale?utm_source=twitter&utm_medium=social&utm_campaign=spring"
    )
    assert "Set-Cookie" not in response.headers
    assert clicks(db) == []


# -- links that do not redirect ------------------------------------------------


@pytest.mark.parametrize("path", ["/nope", "/" + "a" * 65, "/%00", "/%FF%FE", "/favicon.ico"])
def test_unknown_code_is_a_404_page_and_records_nothing(client, db, path):
    make_link(client, code="real")
    response = client.get(path)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b"Link not found" in response.data
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers
    assert clicks(db) == []


def test_disabled_link_is_410_and_records_nothing(client, db):
    make_link(client, code="off")
    client.patch("/api/links/off", json={"disabled": True}, headers=AUTH)
    response = client.get("/off")
    assert response.status_code == 410
    assert response.mimetype == "text/html"
    assert b"no longer available" in response.data
    assert response.headers["Cache-Control"] == "no-store"  # it may be switched on again
    assert "Location" not in response.headers and "Set-Cookie" not in response.headers
    assert clicks(db) == []


def test_expired_link_is_410_and_records_nothing(client, db):
    make_link(client, code="old", expires_at="2099-01-01T00:00:00Z")
    assert client.get("/old").status_code == 302
    db.execute("UPDATE links SET expires_at = '2020-01-01T00:00:00.000000Z'")
    db.conn.commit()
    response = client.get("/old")
    assert response.status_code == 410
    assert "Set-Cookie" not in response.headers
    assert len(clicks(db)) == 1  # only the click before it expired


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JAVASCRIPT:alert(1)",
        " https://shop.example.com/",
        "data:text/html,x",
        "https://shop.example.com/\r\nSet-Cookie: a=b",
        "http://go.example.test/loop",
        "https://bit.ly/x",
        "https://user:pw@shop.example.com/",
        "",
    ],
)
def test_a_bad_destination_put_straight_into_the_database_is_refused(client, db, url):
    make_link(client, code="bad")
    db.execute("UPDATE links SET url = ? WHERE code = 'bad'", [url])
    db.conn.commit()
    response = client.get("/bad")
    assert response.status_code == 410
    assert "Location" not in response.headers
    assert clicks(db) == []


def test_international_destination_put_straight_into_the_database_is_sent_as_ascii(client, db):
    make_link(client, code="intl")
    db.execute("UPDATE links SET url = 'https://café.example/ü' WHERE code = 'intl'")
    db.conn.commit()
    location = client.get("/intl").headers["Location"]
    assert location.startswith("https://xn--caf-dma.example/%C3%BC?utm_source=twitter&")


def test_garbage_host_header_is_not_a_500(client):
    make_link(client, code="qq1")
    response = client.get("/qq1", headers={"Host": "["})
    assert response.status_code == 302


# -- /healthz ------------------------------------------------------------------


def test_healthz_is_200_json_when_the_database_is_ready(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    kinds = ["clicks_held", "clicks_dropped", "clicks_lost", "pixel_conversions", "visits",
             "expired_hits", "answered_503"]  # fmt: skip
    nothing_lost = dict.fromkeys(kinds, 0)
    assert response.get_json() == {"status": "ok", "database": "ok", "unsaved": nothing_lost}


def test_healthz_is_503_before_init_db_and_creates_nothing(tmp_path):
    config = app_config(tmp_path, MIGRATE_ON_START=False)
    client = create_app(config).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "down"
    assert not (tmp_path / "clicktrail.db").exists()


def test_healthz_is_503_on_an_empty_database_file(tmp_path):
    config = app_config(tmp_path, MIGRATE_ON_START=False)
    (tmp_path / "clicktrail.db").write_bytes(b"")
    response = create_app(config).test_client().get("/healthz")
    assert response.status_code == 503
    assert "init-db" in response.get_json()["database"]


def test_healthz_is_503_when_the_directory_does_not_exist(tmp_path):
    config = app_config(tmp_path, DATABASE=str(tmp_path / "missing" / "dir" / "ct.db"))
    response = create_app(config).test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "down"


def test_healthz_is_503_when_the_file_is_not_a_database(tmp_path):
    config = app_config(tmp_path)
    (tmp_path / "clicktrail.db").write_bytes(b"this is not sqlite" * 100)
    response = create_app(config).test_client().get("/healthz")
    assert response.status_code == 503
    body = response.get_json()
    assert (body["status"], body["database"]) == ("down", "database unreachable")
