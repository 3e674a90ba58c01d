"""Geo targeting: a link's `country_urls` send visitors from a country to a
page of its own, after device destinations and before A/B destinations;
the click records the destination it was targeted to (`target`).

Visitors' countries come from addresses in blocks the shipped database
(the `iptocc` package: the Regional Internet Registries' delegation files)
gives a known country; tests/geo_fixture.py says why each one is stable,
and every test that relies on one first checks it with `country_of`, so a
data change fails loudly here rather than as a wrong destination.
"""

import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import requests
from geo_fixture import GERMANY, USA

from conftest import AUTH, BROWSER_UA, IPHONE_UA, app_config, browser, make_link
from dashboard_support import signed_in
from servers import gunicorn
from shortener import create_app
from shortener.app import init_db
from shortener.clicks import classify
from shortener.db import connect
from shortener.geo import country_of
from shortener.journal import replay_all
from shortener.targeting import CLICK, EXPIRED, choose_destination

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
FRANCE = "80.67.169.12"  # FDN's public resolver, a RIPE NCC block registered in FR
DOCS = "203.0.113.9"  # TEST-NET-3 (RFC 5737): a documentation address, no country
DE_URL, FR_URL = "https://shop.example.com/de", "https://shop.example.com/fr"
IOS_URL = "https://apps.example.com/ios"
HUMAN, IPHONE, BOT = classify(BROWSER_UA), classify(IPHONE_UA), classify("Twitterbot/1.0")
AB = json.dumps([{"name": "A", "url": "https://shop.example.com/a", "weight": 1},
                 {"name": "B", "url": "https://shop.example.com/b", "weight": 1}])  # fmt: skip


def test_the_addresses_used_here_have_the_countries_the_tests_assume():
    assert (country_of(GERMANY), country_of(FRANCE), country_of(USA)) == ("DE", "FR", "US")
    assert country_of(DOCS) == ""


# -- the pure rule --------------------------------------------------------


def row(**fields) -> dict:
    link = {"id": 7, "url": "https://shop.example.com/", "expires_at": None,
            "destinations": None, "ios_url": None, "android_url": None, "desktop_url": None,
            "expired_url": None, "max_clicks": None,
            "country_urls": json.dumps({"DE": DE_URL, "FR": FR_URL})}  # fmt: skip
    link.update(fields)
    return link


def test_a_country_destination_is_chosen_for_its_country_only():
    assert choose_destination(row(), HUMAN, "v", NOW, country="DE") == (
        DE_URL, None, CLICK, "country:DE"
    )  # fmt: skip
    assert choose_destination(row(), HUMAN, "v", NOW, country="FR").url == FR_URL
    # another country, or none known: the main url, nothing targeted
    for country in ("US", ""):
        assert choose_destination(row(), HUMAN, "v", NOW, country=country) == (
            "https://shop.example.com/", None, CLICK, None
        )  # fmt: skip


def test_precedence_expiry_then_bots_then_device_then_country_then_ab():
    past = "2026-05-01T11:59:59.000000Z"
    expired = row(expires_at=past, expired_url="https://shop.example.com/over")
    assert choose_destination(expired, HUMAN, "v", NOW, country="DE") == (
        "https://shop.example.com/over", None, EXPIRED, None
    )  # fmt: skip
    limited = row(max_clicks=5)
    assert choose_destination(limited, HUMAN, "v", NOW, 5, "DE").outcome == EXPIRED
    assert choose_destination(row(), BOT, None, NOW, country="DE").url == (
        "https://shop.example.com/"
    )
    device = row(ios_url=IOS_URL)
    assert choose_destination(device, IPHONE, "v", NOW, country="DE") == (
        IOS_URL, None, CLICK, "device:ios"
    )  # fmt: skip
    assert choose_destination(device, HUMAN, "v", NOW, country="DE").url == DE_URL
    tested = row(destinations=AB)
    assert choose_destination(tested, HUMAN, "v", NOW, country="DE") == (
        DE_URL, None, CLICK, "country:DE"
    )  # fmt: skip
    assert choose_destination(tested, HUMAN, "v", NOW, country="US").variant in ("A", "B")


# -- the API --------------------------------------------------------------


def test_the_api_stores_normalises_shows_and_clears_country_urls(client):
    link = make_link(client, code="geo")
    assert link["country_urls"] == {}
    response = client.patch(
        "/api/links/geo", json={"country_urls": {"fr": FR_URL, " de ": DE_URL}}, headers=AUTH
    )
    assert response.status_code == 200
    assert response.get_json()["country_urls"] == {"DE": DE_URL, "FR": FR_URL}
    listed = client.get("/api/links", headers=AUTH).get_json()
    assert [x["country_urls"] for x in listed["links"]] == [{"DE": DE_URL, "FR": FR_URL}]
    for cleared in ({}, None):
        client.patch("/api/links/geo", json={"country_urls": {"DE": DE_URL}}, headers=AUTH)
        response = client.patch("/api/links/geo", json={"country_urls": cleared}, headers=AUTH)
        assert response.get_json()["country_urls"] == {}
    created = make_link(client, code="geo2", country_urls={"GB": "https://shop.example.com/uk"})
    assert created["country_urls"] == {"GB": "https://shop.example.com/uk"}


REFUSED = {
    "an unknown code": {"XX": DE_URL},
    "a three-letter code": {"DEU": DE_URL},
    "a non-ASCII code": {"ÄÖ": DE_URL},
    "not an object": [DE_URL],
    "a string": "DE https://shop.example.com/de",
    "a javascript: URL": {"DE": "javascript:alert(1)"},
    "a URL that is not text": {"DE": 5},
    "this shortener": {"DE": "http://go.example.test/anything"},
    "another shortener": {"DE": "https://bit.ly/abc"},
    "the same code twice": {"DE": DE_URL, "de": FR_URL},
}


@pytest.mark.parametrize("value", REFUSED.values(), ids=REFUSED.keys())
def test_bad_country_urls_are_refused_by_field_and_nothing_changes(client, db, value):
    make_link(client, code="geo", country_urls={"FR": FR_URL})
    before = db.execute("SELECT * FROM links").fetchall()
    for method, path, body in [
        ("post", "/api/links", {"url": "https://shop.example.com/", "channel": "x",
                                "campaign": "y", "country_urls": value}),
        ("patch", "/api/links/geo", {"country_urls": value}),
    ]:  # fmt: skip
        response = getattr(client, method)(path, json=body, headers=AUTH)
        assert response.status_code == 400, response.get_json()
        assert response.get_json()["field"] == "country_urls"
        assert response.get_json()["error"]
    assert db.execute("SELECT * FROM links").fetchall() == before


def test_a_country_destination_leading_back_to_a_short_link_is_refused(client):
    make_link(client, code="loop")
    response = client.patch(
        "/api/links/loop", json={"country_urls": {"DE": "http://localhost/loop"}}, headers=AUTH
    )
    assert response.status_code == 400
    assert response.get_json()["field"] == "country_urls"


# -- redirects ------------------------------------------------------------


def clicks(db) -> list[tuple]:
    return db.execute("SELECT country, target, variant FROM clicks ORDER BY id").fetchall()


def follow(client, code, address, **headers):
    response = client.get(f"/{code}", environ_base={"REMOTE_ADDR": address}, headers=headers)
    assert response.status_code == 302
    return urlsplit(response.headers["Location"])


def test_visitors_land_on_their_countrys_destination_and_the_click_says_so(client, db):
    make_link(client, code="geo", country_urls={"DE": DE_URL, "FR": FR_URL},
              ios_url=IOS_URL)  # fmt: skip
    assert follow(client, "geo", GERMANY).path == "/de"
    assert follow(client, "geo", FRANCE).path == "/fr"
    assert follow(client, "geo", USA).path == "/sale"
    assert follow(client, "geo", DOCS).path == "/sale"
    assert follow(client, "geo", GERMANY, **{"User-Agent": IPHONE_UA}).path == "/ios"
    # UTM tags and the click id ride along as on any destination
    assert "utm_campaign=spring" in follow(client, "geo", GERMANY).query
    assert clicks(db) == [
        ("DE", "country:DE", None),
        ("FR", "country:FR", None),
        ("US", None, None),
        ("", None, None),
        ("DE", "device:ios", None),
        ("DE", "country:DE", None),
    ]


def test_the_country_destination_comes_before_the_ab_test(client, db):
    make_link(client, code="geo", country_urls={"DE": DE_URL},
              destinations=json.loads(AB))  # fmt: skip
    assert follow(client, "geo", GERMANY).path == "/de"
    assert follow(client, "geo", USA).path in ("/a", "/b")
    germany, usa = clicks(db)
    assert germany == ("DE", "country:DE", None)  # not placed in the test at all
    assert usa[:2] == ("US", None) and usa[2] in ("A", "B")


@pytest.mark.parametrize("opt_out", [{"Sec-GPC": "1"}], ids=["Sec-GPC"])
def test_a_visitor_who_opted_out_gets_the_destination_and_no_country_is_stored(client, db, opt_out):
    make_link(client, code="geo", country_urls={"DE": DE_URL})
    assert follow(client, "geo", GERMANY, **opt_out).path == "/de"
    assert clicks(db) == [("", None, None)]
    stored = db.execute("SELECT visitor_id, ip_prefix FROM clicks").fetchone()
    assert stored == (None, None)


def test_respect_dnt_counts_as_opting_out(tmp_path):
    config = app_config(tmp_path, RESPECT_DNT=True)
    init_db(config["DATABASE"])
    client = browser(create_app(config))
    make_link(client, code="geo", country_urls={"DE": DE_URL})
    assert follow(client, "geo", GERMANY, DNT="1").path == "/de"
    db = connect(config["DATABASE"])
    try:
        assert clicks(db) == [("", None, None)]
    finally:
        db.close()


def test_a_bot_gets_the_main_url_wherever_it_is(client, db):
    make_link(client, code="geo", country_urls={"DE": DE_URL})
    assert follow(client, "geo", GERMANY, **{"User-Agent": "curl/8.5.0"}).path == "/sale"
    assert clicks(db) == [("DE", None, None)]


def test_a_personal_link_has_its_sources_country_destinations(client):
    source = make_link(client, country_urls={"DE": DE_URL})
    client.post("/api/advocates", json={"name": "Ada"}, headers=AUTH)
    personal = client.post(
        f"/api/links/{source['code']}/share", json={"advocate": "ada"}, headers=AUTH
    ).get_json()
    assert personal["country_urls"] == {"DE": DE_URL}
    client.patch(f"/api/links/{source['code']}", json={"country_urls": {"FR": FR_URL}},
                 headers=AUTH)  # fmt: skip
    after = client.get(f"/api/links/{personal['code']}", headers=AUTH).get_json()
    assert after["country_urls"] == {"FR": FR_URL}


# -- import ---------------------------------------------------------------


def test_import_reads_a_country_urls_column_of_json(runner, db, tmp_path):
    path = tmp_path / "links.csv"
    path.write_text(
        "url,channel,campaign,code,country_urls\n"
        f'https://shop.example.com/,x,y,geo-a,"{{""de"": ""{DE_URL}""}}"\n'  # line 2: ok
        "https://shop.example.com/,x,y,geo-b,\n"  # line 3: ok, none
        'https://shop.example.com/,x,y,geo-c,"{""XX"": ""https://a.example/""}"\n'  # 4: code
        "https://shop.example.com/,x,y,geo-d,DE https://a.example/\n",  # line 5: not JSON
        encoding="utf-8",
    )
    result = runner.invoke(args=["links", "import", str(path)])
    assert "imported 2 links, refused 2 rows" in result.output
    assert "line 4: refused (country_urls)" in result.output
    assert "line 5: refused (country_urls)" in result.output
    stored = dict(db.execute("SELECT code, country_urls FROM links ORDER BY id").fetchall())
    assert stored == {"geo-a": json.dumps({"DE": DE_URL}), "geo-b": None}


# -- the dashboard form ---------------------------------------------------


def form(token, **fields) -> dict:
    data = {"csrf_token": token, "url": "https://shop.example.com/", "channel": "twitter",
            "campaign": "spring", "country_urls": ""}  # fmt: skip
    data.update(fields)
    return data


def test_the_link_form_takes_one_country_destination_per_line(app, db):
    client, token = signed_in(app)
    response = client.post("/dashboard/links/new", data=form(
        token, code="geo", country_urls=f"de {DE_URL}\n\nFR: {FR_URL}\n"))  # fmt: skip
    assert response.status_code == 303
    assert json.loads(db.execute("SELECT country_urls FROM links").fetchone()[0]) == {
        "DE": DE_URL, "FR": FR_URL
    }  # fmt: skip
    page = client.get("/dashboard/links/geo").get_data(as_text=True)
    assert f"DE {DE_URL}\nFR {FR_URL}</textarea>" in page
    # the "a click lands on" preview names each country and its final URL
    assert 'id="final-url-countries"' in page
    assert "Germany" in page and "France" in page
    assert f"{DE_URL}?utm_source=twitter" in page
    # emptied: cleared
    edit = form(token, code="geo", country_urls="")
    assert client.post("/dashboard/links/geo", data=edit).status_code == 303
    assert db.execute("SELECT country_urls FROM links").fetchone()[0] is None
    assert 'id="final-url-countries"' not in client.get("/dashboard/links/geo").get_data(True)


FORM_ERRORS = {
    "not a code": ("XX https://shop.example.com/x", "XX is not a country code"),
    "no URL": ("DE", "one country destination per line"),
    "a bad URL": ("DE ftp://shop.example.com/", "URL of each country destination"),
    "twice": (f"DE {DE_URL}\nde {FR_URL}", "Give each country one destination"),
}


@pytest.mark.parametrize(("text", "shown"), FORM_ERRORS.values(), ids=FORM_ERRORS.keys())
def test_the_link_form_shows_country_errors_by_the_box(app, db, text, shown):
    client, token = signed_in(app)
    response = client.post("/dashboard/links/new", data=form(token, country_urls=text))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert shown in page
    assert 'id="country_urls" name="country_urls"' in page
    assert 'aria-invalid="true"' in page.split('id="country_urls"')[1].split(">")[0]
    assert db.execute("SELECT count(*) FROM links").fetchone()[0] == 0


# -- a real server --------------------------------------------------------


def test_gunicorn_behind_a_proxy_targets_by_the_forwarded_address(tmp_path):
    config = app_config(tmp_path, TRUST_PROXY_HEADERS=True, CLICK_JOURNAL=True)
    init_db(config["DATABASE"])
    client = browser(create_app(config))
    make_link(client, code="geo", country_urls={"DE": DE_URL})
    with gunicorn(config) as base:
        answers = {}
        for name, address in (("de", GERMANY), ("us", USA)):
            response = requests.get(
                f"{base}/geo", headers={"User-Agent": BROWSER_UA, "X-Forwarded-For": address},
                allow_redirects=False, timeout=10,
            )  # fmt: skip
            answers[name] = (response.status_code, urlsplit(response.headers["Location"]).path)
    assert answers == {"de": (302, "/de"), "us": (302, "/sale")}
    db = connect(config["DATABASE"])
    try:
        replay_all(db)  # what the workers journalled and had not yet stored
        # two workers journal apart, so the rows' order is the replay's, not the visits'
        got = db.execute("SELECT country, target FROM clicks ORDER BY country").fetchall()
    finally:
        db.close()
    assert got == [("DE", "country:DE"), ("US", None)]
