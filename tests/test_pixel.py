"""The conversion and visit pixels, and the site script ct.js."""

import json
import shutil
import subprocess
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import AUTH, BROWSER_UA, IPHONE_UA, browser, make_link
from shortener.cookie import COOKIE_NAME

GIF_1X1 = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x01D\x00;"
)


def follow(client, code) -> str:
    """Click a short link; returns the click id the redirect carried."""
    response = client.get(f"/{code}")
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)["ct_click"][0]


def conversions(db) -> list[dict]:
    return list(db.query("SELECT * FROM conversions ORDER BY id"))


def count(db, table) -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def clicks_by_id(db) -> dict[str, dict]:
    return {c["click_id"]: c for c in db.query("SELECT * FROM clicks")}


def assert_gif(response):
    assert response.status_code == 200
    assert response.data == GIF_1X1
    # width and height, little-endian, right after the signature
    assert (response.data[:6], response.data[6:8], response.data[8:10]) == (
        b"GIF89a", b"\x01\x00", b"\x01\x00",
    )  # fmt: skip
    assert response.headers["Content-Type"] == "image/gif"
    assert "no-store" in response.headers["Cache-Control"]


def test_pixel_records_a_conversion_for_the_cookie_visitor(client, db):
    link = make_link(client)
    click_id = follow(client, link["code"])
    response = client.get("/t/pixel.gif?goal=purchase&value=49.90&currency=EUR&order_id=A-1001")
    assert_gif(response)
    [row] = conversions(db)
    visitor = clicks_by_id(db)[click_id]["visitor_id"]
    assert visitor
    assert row["visitor_id"] == visitor
    assert row["click_id"] is None  # named by the cookie, not a click
    assert (row["goal"], row["value_minor"], row["currency"]) == ("purchase", 4990, "EUR")
    assert (row["order_id"], row["source"], row["verified"]) == ("A-1001", "pixel", 0)
    assert row["webhook_id"] is None and row["customer_id"] is None
    assert row["occurred_at"] == row["received_at"]


def test_pixel_click_parameter_names_the_visitor(app, client, db):
    link = make_link(client)
    click_id = follow(client, link["code"])
    # another browser, with no cookie (a cross-site pixel): the click names the visitor
    other = browser(app, IPHONE_UA)
    assert_gif(other.get(f"/t/pixel.gif?goal=signup&click={click_id}"))
    [row] = conversions(db)
    assert row["click_id"] == click_id
    assert row["visitor_id"] == clicks_by_id(db)[click_id]["visitor_id"]


def test_click_wins_over_the_cookie(app, client, db):
    link = make_link(client)
    first = follow(client, link["code"])
    other = browser(app, IPHONE_UA)
    second = follow(other, link["code"])  # a different visitor, with a cookie of their own
    assert_gif(other.get(f"/t/pixel.gif?goal=signup&click={first}"))
    visitors = {c: row["visitor_id"] for c, row in clicks_by_id(db).items()}
    assert visitors[first] != visitors[second]
    assert conversions(db)[0]["visitor_id"] == visitors[first]


def test_unknown_click_falls_back_to_the_cookie(client, db):
    link = make_link(client)
    click_id = follow(client, link["code"])
    assert_gif(client.get("/t/pixel.gif?goal=signup&click=not-a-real-click"))
    [row] = conversions(db)
    assert row["click_id"] is None
    assert row["visitor_id"] == clicks_by_id(db)[click_id]["visitor_id"]


def test_no_cookie_no_click_is_a_direct_conversion(client, db):
    assert_gif(client.get("/t/pixel.gif?goal=lead"))
    [row] = conversions(db)
    assert (row["visitor_id"], row["click_id"]) == (None, None)
    credits = list(db.query("SELECT model, link_id, weight_ppm FROM credits ORDER BY model"))
    assert credits == [
        {"model": m, "link_id": None, "weight_ppm": 1_000_000}
        for m in sorted(["last_touch", "first_touch", "linear", "position_based", "time_decay"])
    ]


def test_tampered_cookie_is_no_visitor(client, db):
    link = make_link(client)
    follow(client, link["code"])
    good = client.get_cookie(COOKIE_NAME).value
    client.set_cookie(COOKIE_NAME, good[:-2] + ("AA" if not good.endswith("AA") else "BB"))
    assert_gif(client.get("/t/pixel.gif?goal=lead&order_id=T-1"))
    assert conversions(db)[0]["visitor_id"] is None


@pytest.mark.parametrize(
    ("query", "minor", "currency"),
    [
        ("value=49.90&currency=EUR", 4990, "EUR"),
        ("value=49.9&currency=eur", 4990, "EUR"),
        ("value=1500&currency=JPY", 1500, "JPY"),  # no minor unit
        ("value=12.345&currency=KWD", 12345, "KWD"),  # three decimals
        ("value=0.10", 10, "USD"),  # no currency: DEFAULT_CURRENCY
        ("value=59.97&currency=EUR", 5997, "EUR"),  # ct.js's rounding of 19.99 * 3
    ],
)
def test_values_are_stored_exactly(client, db, query, minor, currency):
    assert_gif(client.get(f"/t/pixel.gif?goal=purchase&{query}"))
    [row] = conversions(db)
    assert (row["value_minor"], row["currency"]) == (minor, currency)


def test_goal_default_value_set_by_api(client, db):
    response = client.put(
        "/api/goals/demo_request", json={"value": "150.00", "currency": "EUR"}, headers=AUTH
    )
    assert response.status_code == 200
    assert_gif(client.get("/t/pixel.gif?goal=demo_request&order_id=D-1"))
    # a value given wins over the default
    assert_gif(client.get("/t/pixel.gif?goal=demo_request&value=99&currency=EUR&order_id=D-2"))
    rows = conversions(db)
    assert [(r["value_minor"], r["currency"]) for r in rows] == [(15000, "EUR"), (9900, "EUR")]


def test_goal_default_value_set_by_cli(client, runner, db):
    result = runner.invoke(args=["goals", "set", "webinar", "--value", "40", "--currency", "GBP"])
    assert result.exit_code == 0, result.output
    assert_gif(client.get("/t/pixel.gif?goal=webinar"))
    [row] = conversions(db)
    assert (row["goal"], row["value_minor"], row["currency"]) == ("webinar", 4000, "GBP")


def test_same_order_and_goal_stored_once(client, db):
    for _ in range(3):  # a reloaded thank-you page
        assert_gif(client.get("/t/pixel.gif?goal=purchase&value=10&order_id=A-1"))
    # the same order id under another goal is another conversion
    assert_gif(client.get("/t/pixel.gif?goal=upsell&value=5&order_id=A-1"))
    # a different value does not make the same order a new one
    assert_gif(client.get("/t/pixel.gif?goal=purchase&value=99&order_id=A-1"))
    rows = conversions(db)
    assert [(r["goal"], r["order_id"], r["value_minor"]) for r in rows] == [
        ("purchase", "A-1", 1000),
        ("upsell", "A-1", 500),
    ]
    # credits: one set per stored conversion (5 models x 1 direct row)
    assert count(db, "credits") == 2 * 5


def test_without_order_id_every_pixel_counts(client, db):
    client.get("/t/pixel.gif?goal=signup")
    client.get("/t/pixel.gif?goal=signup")
    assert count(db, "conversions") == 2


@pytest.mark.parametrize(
    "query",
    [
        "",
        "goal=",
        "goal=no_such_goal",
        "goal=Purchase",
        "goal=purchase&value=abc",
        "goal=purchase&value=1.234&currency=EUR",
        "goal=purchase&value=1.5&currency=JPY",
        "goal=purchase&value=-5",
        "goal=purchase&value=NaN",
        "goal=purchase&value=Infinity",
        "goal=purchase&value=1e3",
        "goal=purchase&value=10000000000000",
        "goal=purchase&value=1&currency=EURO",
        "goal=purchase&value=1&currency=XYZ",
        "goal=purchase&order_id=" + "x" * 129,
        "goal=purchase&order_id=a%00b",
        "goal=purchase&order_id=a%0Ab",
        "goal=" + "p" * 5000,
        "goal=purchase&value=" + "9" * 20000,
        "goal=purchase&click=" + "c" * 100000,
        "goal=%FF%FE&value=%C0",
        "goal=purchase&value=x&" + "&".join(f"k{i}=v" for i in range(2000)),
    ],
)
def test_bad_pixels_answer_the_gif_and_store_nothing(client, db, query):
    assert_gif(client.get(f"/t/pixel.gif?{query}"))
    assert count(db, "conversions") == 0
    assert count(db, "credits") == 0


@pytest.mark.parametrize(
    ("user_agent", "headers"),
    [
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", {}),
        ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", {}),
        (BROWSER_UA, {"Sec-Purpose": "prefetch"}),
        (BROWSER_UA, {"Purpose": "prefetch"}),
    ],
)
def test_crawlers_and_prefetches_record_nothing(app, db, user_agent, headers):
    machine = browser(app, user_agent)
    assert_gif(machine.get("/t/pixel.gif?goal=purchase&value=1", headers=headers))
    assert_gif(machine.get("/t/visit.gif", headers=headers))
    assert machine.get_cookie(COOKIE_NAME) is None
    assert count(db, "conversions") == 0
    assert count(db, "visits") == 0


def test_head_requests_record_nothing(client, db):
    response = client.head("/t/pixel.gif?goal=purchase&value=1")
    assert response.status_code == 200
    assert "no-store" in response.headers["Cache-Control"]
    client.head("/t/visit.gif")
    assert count(db, "conversions") == 0
    assert count(db, "visits") == 0


def test_pixel_from_curl_counts(app, db):
    # the README walkthrough fires the pixel with curl: scripts are not crawlers
    curl = browser(app, "curl/8.5.0")
    assert_gif(curl.get("/t/pixel.gif?goal=purchase&value=49.90&currency=USD&order_id=A-1"))
    assert count(db, "conversions") == 1


def test_pixel_never_sets_a_cookie(client):
    response = client.get("/t/pixel.gif?goal=lead")
    assert "Set-Cookie" not in response.headers


# -- the visit pixel ----------------------------------------------------------


def test_visit_sets_the_cookie_when_there_is_none(client, db):
    response = client.get(
        "/t/visit.gif?url=https%3A%2F%2Fshop.example.com%2F&ref=https%3A%2F%2Fnews.example%2F"
    )
    assert_gif(response)
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Max-Age=2592000" in cookie
    [visit] = db.query("SELECT * FROM visits")
    assert (visit["url"], visit["referrer"]) == (
        "https://shop.example.com/",
        "https://news.example/",
    )
    # the next visit comes back with the cookie: same visitor, no new cookie
    again = client.get("/t/visit.gif")
    assert "Set-Cookie" not in again.headers
    visitors = [v["visitor_id"] for v in db.query("SELECT visitor_id FROM visits ORDER BY id")]
    assert len(visitors) == 2 and visitors[0] == visitors[1]


@pytest.mark.parametrize(
    ("config", "headers"),
    [({}, {"Sec-GPC": "1"}), ({"RESPECT_DNT": True}, {"DNT": "1"})],
)
def test_visit_of_an_opted_out_person_stores_nothing_and_sets_no_cookie(
    app, client, db, config, headers
):
    app.config.update(config)
    response = client.get("/t/visit.gif?url=https%3A%2F%2Fshop.example.com%2F", headers=headers)
    assert_gif(response)
    assert "Set-Cookie" not in response.headers
    assert list(db.query("SELECT * FROM visits")) == []


def test_dnt_alone_is_honoured_only_when_configured(client, db):
    response = client.get("/t/visit.gif", headers={"DNT": "1"})
    assert "Set-Cookie" in response.headers
    assert len(list(db.query("SELECT * FROM visits"))) == 1


def test_visit_keeps_the_visitor_of_a_short_link(client, db):
    link = make_link(client)
    click_id = follow(client, link["code"])
    response = client.get("/t/visit.gif")
    assert "Set-Cookie" not in response.headers
    [visit] = db.query("SELECT visitor_id FROM visits")
    assert visit["visitor_id"] == clicks_by_id(db)[click_id]["visitor_id"]


def test_visit_with_click_and_no_cookie(app, client, db):
    link = make_link(client)
    click_id = follow(client, link["code"])
    other = browser(app)  # the site's own domain: no shortener cookie
    response = other.get(f"/t/visit.gif?click={click_id}")
    assert_gif(response)
    visitor = clicks_by_id(db)[click_id]["visitor_id"]
    [visit] = db.query("SELECT visitor_id FROM visits")
    assert visit["visitor_id"] == visitor
    # the cookie it gets names the click's visitor: a later pixel finds them
    assert other.get_cookie(COOKIE_NAME) is not None
    other.get("/t/pixel.gif?goal=signup")
    assert conversions(db)[0]["visitor_id"] == visitor


def test_visit_with_tampered_cookie_gets_a_new_visitor(client, db):
    client.set_cookie(COOKIE_NAME, "eyJhIjoxfQ.forged.signature")
    response = client.get("/t/visit.gif?click=unknown")
    assert_gif(response)
    assert response.headers["Set-Cookie"].startswith(f"{COOKIE_NAME}=")
    [visit] = db.query("SELECT visitor_id FROM visits")
    assert len(visit["visitor_id"]) >= 16


def test_visit_cuts_long_urls(client, db):
    client.get("/t/visit.gif?url=" + "u" * 5000 + "&ref=" + "r" * 5000)
    [visit] = db.query("SELECT url, referrer FROM visits")
    assert (len(visit["url"]), len(visit["referrer"])) == (1024, 1024)


# -- ct.js ----------------------------------------------------------------------


def test_site_script_is_javascript(client):
    response = client.get("/t/ct.js")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/javascript")
    body = response.get_data(as_text=True)
    assert "ct_click" in body
    assert "window.clicktrail" in body and "convert: function (goal, options)" in body
    assert "/t/pixel.gif" in body and "/t/visit.gif" in body
    assert "var maxAge = 30 * 86400;" in body  # the attribution window, in seconds


def test_site_script_has_the_shop_helpers(client):
    body = client.get("/t/ct.js").get_data(as_text=True)
    for helper in ("visitorId: function", "shopifyCart: function", "stripeLink: stripeLink",
                   "stripeLinks: function"):  # fmt: skip
        assert helper in body
    assert 'var domain = "".replace' in body  # no COOKIE_DOMAIN: only this host shares the cookie


def visitor_app(tmp_path):
    """The same-site deployment: shortener on go.example.com, the shop on
    www.example.com, COOKIE_DOMAIN .example.com; (app, get) where get asks
    the shortener's own host, so the cookie jar keeps its cookie."""
    from conftest import app_config
    from shortener import create_app
    from shortener.app import init_db

    config = app_config(tmp_path, COOKIE_DOMAIN=".example.com", BASE_URL="http://go.example.com")
    init_db(config["DATABASE"])
    app = create_app(config)
    client = browser(app)

    def get(path, **kwargs):
        return client.get(path, base_url="http://go.example.com", **kwargs)

    return app, client, get


def test_the_visitor_id_goes_to_pages_of_this_site_only(tmp_path):
    app, client, get = visitor_app(tmp_path)
    assert 'var domain = ".example.com".replace' in get("/t/ct.js").get_data(as_text=True)
    code = make_link(client)["code"]
    get(f"/{code}")  # the redirect sets the ct_vid cookie
    for origin in ("https://www.example.com", "http://example.com", "http://go.example.com:8080"):
        response = get("/t/visitor", headers={"Origin": origin})
        assert response.status_code == 200
        assert len(response.get_json()["visitor_id"]) >= 16
        assert response.headers["Access-Control-Allow-Origin"] == origin
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
        assert response.headers["Cache-Control"] == "no-store"
        assert "Origin" in response.headers["Vary"]
    for origin in ("https://evil.example.net", "https://example.com.evil.net", "null"):
        response = get("/t/visitor", headers={"Origin": origin})
        assert "Access-Control-Allow-Origin" not in response.headers, origin
    # no cookie, or a person who opted out: no visitor
    assert browser(app).get("/t/visitor").get_json() == {"visitor_id": None}
    assert get("/t/visitor", headers={"Sec-GPC": "1"}).get_json() == {"visitor_id": None}


def test_the_visitor_id_is_the_clicks_visitor_and_nothing_is_recorded(tmp_path):
    from shortener.db import connect

    app, client, get = visitor_app(tmp_path)
    code = make_link(client)["code"]
    click = parse_qs(urlsplit(get(f"/{code}").headers["Location"]).query)["ct_click"][0]
    answer = get("/t/visitor", headers={"Origin": "https://www.example.com"}).get_json()
    db = connect(app.config["DATABASE"])
    try:
        [stored] = db.execute("SELECT visitor_id FROM clicks WHERE click_id = ?", [click])
        visits = db.execute("SELECT count(*) FROM visits").fetchone()[0]
    finally:
        db.close()
    assert answer == {"visitor_id": stored[0]}
    assert visits == 0


def test_site_script_follows_the_window(tmp_path):
    from conftest import app_config
    from shortener import create_app
    from shortener.app import init_db

    config = app_config(tmp_path, ATTRIBUTION_WINDOW_DAYS=7)
    init_db(config["DATABASE"])
    body = browser(create_app(config)).get("/t/ct.js").get_data(as_text=True)
    assert "var maxAge = 7 * 86400;" in body


RUN_SCRIPT = """
const fs = require("fs");
const [source, search, existing] = [process.argv[2], process.argv[3], process.argv[4]];
const sent = [];
let jar = existing;
global.document = {
  currentScript: { src: "https://go.example.com/t/ct.js", hasAttribute: () => false },
  get cookie() { return jar; },
  set cookie(value) { jar = (jar ? jar + "; " : "") + value; },
  referrer: "https://news.example/",
};
global.location = { search: search, href: "https://shop.example.com/p" + search,
                    protocol: "https:" };
global.window = global;
global.Image = function () { sent.push(this); };
eval(fs.readFileSync(source, "utf8"));
window.clicktrail.convert("purchase", { value: 19.99 * 3, currency: "EUR", order_id: "A-1" });
window.clicktrail.convert("signup");
console.log(JSON.stringify({ cookie: jar, sent: sent.map((i) => i.src),
                             click: window.clicktrail.clickId() }));
"""


@pytest.mark.skipif(shutil.which("node") is None, reason="node is not installed")
@pytest.mark.parametrize(
    ("search", "existing", "click"),
    [
        ("?utm_source=x&ct_click=AbCdEfGh12345678", "", "AbCdEfGh12345678"),  # landing
        ("", "ct_click=AbCdEfGh12345678", "AbCdEfGh12345678"),  # a later page
        ("?ct_click=bad%20id", "", None),  # a mangled id is not kept
        ("", "", None),  # no click at all
    ],
)
def test_site_script_in_node(client, tmp_path, search, existing, click):
    script = tmp_path / "ct.js"
    script.write_text(client.get("/t/ct.js").get_data(as_text=True))
    runner = tmp_path / "run.js"
    runner.write_text(RUN_SCRIPT)
    done = subprocess.run(
        ["node", str(runner), str(script), search, existing],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result = json.loads(done.stdout)
    assert result["click"] == click
    if search and click:
        # kept in a first-party cookie for the attribution window
        assert (
            f"ct_click={click}; Max-Age=2592000; Path=/; SameSite=Lax; Secure" in result["cookie"]
        )
    visit, purchase, signup = [urlsplit(src) for src in result["sent"]]
    assert (visit.netloc, visit.path) == ("go.example.com", "/t/visit.gif")
    assert parse_qs(visit.query)["url"] == ["https://shop.example.com/p" + search]
    expected = {"goal": ["purchase"], "value": ["59.97"], "currency": ["EUR"], "order_id": ["A-1"]}
    if click:
        expected["click"] = [click]
    assert (purchase.path, parse_qs(purchase.query)) == ("/t/pixel.gif", expected)
    assert parse_qs(signup.query) == {"goal": ["signup"], **({"click": [click]} if click else {})}


def test_pixels_answer_the_gif_even_when_the_database_fails(client, db):
    # a broken database must not show as a broken image on a checkout page;
    # the conversion's transaction is rolled back whole
    db.execute("DROP TABLE credits")
    db.execute("DROP TABLE visits")
    assert_gif(client.get("/t/pixel.gif?goal=purchase&value=10&order_id=A-1"))
    assert_gif(client.get("/t/visit.gif"))
    assert count(db, "conversions") == 0
