"""One link, many posts: `/CODE~POST` is served as CODE and records POST on
the click; the link's per-post figures are worked out by hand."""

import csv
import http.client
import io
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from test_qr import decode

from conftest import AUTH, BROWSER_UA, app_config, browser, make_link
from conversions.intake import Conversion, Policy, record_conversion
from dashboard_support import signed_in
from servers import running
from shortener import links
from shortener.app import init_db
from shortener.clock import to_db
from shortener.db import connect
from shortener.journal import replay_all

CRAWLER_UA = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"


def query_of(response) -> dict:
    return parse_qs(urlsplit(response.headers["Location"]).query)


def without_click_id(response) -> str:
    return re.sub(r"ct_click=[\w-]+", "ct_click=*", response.headers["Location"])


def posts_stored(db) -> list:
    return [r[0] for r in db.execute("SELECT post FROM clicks ORDER BY id")]


# -- the redirect ------------------------------------------------------------------


def test_a_tagged_path_is_its_link_with_the_post_as_utm_content(client, db):
    make_link(client, code="bio", channel="instagram", campaign="spring")
    hop = client.get("/bio~reel-1")
    assert hop.status_code == 302
    assert urlsplit(hop.headers["Location"]).path == "/sale"
    query = query_of(hop)
    assert query["utm_content"] == ["reel-1"]
    assert (query["utm_source"], query["utm_campaign"]) == (["instagram"], ["spring"])
    assert posts_stored(db) == ["reel-1"]
    plain = client.get("/bio")  # the same link, untagged: no content, no post
    assert "utm_content" not in query_of(plain)
    assert posts_stored(db) == ["reel-1", None]


def test_the_links_own_content_wins_and_the_post_is_only_recorded(client, db):
    make_link(client, code="own", content="hero")
    make_link(client, code="inurl", url="https://shop.example.com/sale?utm_content=banner")
    assert query_of(client.get("/own~reel"))["utm_content"] == ["hero"]
    # the destination's own utm_content is kept, once
    assert query_of(client.get("/inurl~reel"))["utm_content"] == ["banner"]
    assert posts_stored(db) == ["reel", "reel"]


@pytest.mark.parametrize("path", ["/bio%7Ereel", "/bio%7ereel"])
def test_a_percent_encoded_tilde_is_a_tilde(client, db, path):
    make_link(client, code="bio")
    hop = client.get(path)
    assert hop.status_code == 302
    assert query_of(hop)["utm_content"] == ["reel"]
    assert posts_stored(db) == ["reel"]


def test_a_tag_of_40_characters_counts(client, db):
    make_link(client, code="bio")
    tag = "A-z_0" * 8
    assert query_of(client.get(f"/bio~{tag}"))["utm_content"] == [tag]
    assert posts_stored(db) == [tag]


INVALID_TAGS = {
    "too long": "p" * 41,
    "bad characters": "bad!",
    "a dot": "a.b",
    "non-ASCII": "caf%C3%A9",
    "a space": "a%20b",
    "empty": "",
    "a second tilde": "a~b",
}


@pytest.mark.parametrize("tag", INVALID_TAGS.values(), ids=INVALID_TAGS.keys())
def test_an_invalid_tag_is_ignored_never_a_404(client, db, tag):
    make_link(client, code="bio")
    plain = client.get("/bio")
    tagged = client.get(f"/bio~{tag}")
    assert tagged.status_code == 302
    assert without_click_id(tagged) == without_click_id(plain)  # as if no tag were given
    assert posts_stored(db) == [None, None]


def test_unknown_and_disabled_links_answer_as_untagged(client, db):
    make_link(client, code="gone")
    client.delete("/api/links/gone", headers=AUTH)
    assert client.get("/nope~reel").status_code == 404
    assert client.get("/~reel").status_code == 404
    assert client.get("/gone~reel").status_code == 410
    assert posts_stored(db) == []


def test_head_on_a_tagged_path_redirects_with_the_tag_and_stores_nothing(client, db):
    make_link(client, code="bio")
    hop = client.head("/bio~reel")
    assert hop.status_code == 302
    assert query_of(hop)["utm_content"] == ["reel"]
    assert posts_stored(db) == []


def test_a_crawler_gets_the_preview_of_the_link_with_the_tagged_url(app, db):
    make_link(browser(app), code="card", title="Spring sale")
    make_link(browser(app), code="bare")
    crawler = browser(app, CRAWLER_UA)
    page = crawler.get("/card~reel")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert '<meta property="og:title" content="Spring sale">' in text
    # a platform may take og:url as the card's address: the post stays on it
    assert '<meta property="og:url" content="http://go.example.test/card~reel">' in text
    # a link without a preview: redirected, stored as the crawler's bot click with its post
    hop = crawler.get("/bare~reel")
    assert hop.status_code == 302
    rows = db.execute("SELECT post, is_bot FROM clicks").fetchall()
    assert rows == [("reel", 1)]
    unfurls = db.execute("SELECT sum(count) FROM unfurls").fetchone()[0]
    assert unfurls == 2  # each fetch counted once, per link


def test_a_tagged_qr_code_is_a_post_of_the_link(app, client, db):
    make_link(client, code="poster", channel="print")
    image = client.get("/api/links/poster~flyer/qr?format=png", headers=AUTH)
    assert image.status_code == 200
    assert image.headers["Content-Disposition"] == 'inline; filename="poster~flyer-qr.png"'
    scan_url = decode(image.data)
    assert scan_url == "http://go.example.test/poster~flyer?qr=1"
    hop = browser(app).get(scan_url.removeprefix("http://go.example.test"))
    assert query_of(hop)["utm_content"] == ["flyer"]
    assert db.execute("SELECT source, post FROM clicks").fetchall() == [("qr", "flyer")]
    refused = client.get("/api/links/poster~fly!er/qr", headers=AUTH)
    assert (refused.status_code, refused.get_json()["field"]) == (400, "code")
    assert client.get("/api/links/nope~flyer/qr", headers=AUTH).status_code == 404


def test_looping_code_reads_a_tagged_path_as_its_code():
    own = ("go.example.test",)
    assert links.looping_code("http://go.example.test/bio~reel", own) == "bio"
    assert links.looping_code("http://go.example.test/bio~", own) == "bio"
    assert links.looping_code(f"http://go.example.test/{'c' * 64}~{'p' * 40}", own) == "c" * 64
    assert links.looping_code(f"http://go.example.test/{'c' * 65}~reel", own) is None
    assert links.looping_code("http://go.example.test/~reel", own) is None


# -- per-post figures, worked out by hand ---------------------------------------------------

D1, D2 = "2026-05-04", "2026-05-05"


def at(day: str, hour: int, minute: int = 0) -> datetime:
    return datetime.fromisoformat(f"{day}T{hour:02}:{minute:02}:00").replace(tzinfo=UTC)


def visit(client, db, path: str, when: datetime) -> str | None:
    """Follow `path` through the real redirect, then date its click `when`
    (the story needs fixed times); returns the click's visitor."""
    hop = client.get(path)
    assert hop.status_code == 302, path
    click_id = query_of(hop)["ct_click"][0]
    db.execute("UPDATE clicks SET ts = ? WHERE click_id = ?", [to_db(when), click_id])
    db.conn.commit()
    return db.execute("SELECT visitor_id FROM clicks WHERE click_id = ?", [click_id]).fetchone()[0]


def buy(db, visitor: str, when: datetime, minor: int, currency: str, order: str) -> None:
    conversion = Conversion(goal="purchase", source="webhook", occurred_at=when, received_at=when,
                            value_minor=minor, currency=currency, order_id=order,
                            visitor_id=visitor)  # fmt: skip
    record_conversion(db, conversion, Policy(window_days=30))


@pytest.fixture
def story(app, client, db):
    """One link `bio` shared in three posts (reel, story, pin), and the
    same post name on another link:

    ann  bio~reel D1 10:00, bio~story D1 12:00; buys 60.00 EUR D1 13:00
    ben  bio~reel D1 11:00 and 11:30;           buys 25.00 EUR D2 09:00
    cat  bio~pin D1 14:00, bio (untagged) 15:00; buys 10.00 EUR D1 16:00
    dan  bio~pin D2 10:00;                      buys  7.00 USD D2 11:00
    a bot (curl) bio~pin D2 10:30; eve bio~bad! (an invalid tag) D2 12:00
    fay  other~reel D1 09:00;                   buys 99.00 EUR D1 10:00
    """
    make_link(client, code="bio", channel="instagram", campaign="spring")
    make_link(client, code="other", channel="tiktok", campaign="spring")
    people = {name: browser(app) for name in ("ann", "ben", "cat", "dan", "eve", "fay")}
    ann = visit(people["ann"], db, "/bio~reel", at(D1, 10))
    visit(people["ann"], db, "/bio~story", at(D1, 12))
    ben = visit(people["ben"], db, "/bio~reel", at(D1, 11))
    visit(people["ben"], db, "/bio~reel", at(D1, 11, 30))
    cat = visit(people["cat"], db, "/bio~pin", at(D1, 14))
    visit(people["cat"], db, "/bio", at(D1, 15))
    dan = visit(people["dan"], db, "/bio~pin", at(D2, 10))
    assert visit(browser(app, "curl/8.5.0"), db, "/bio~pin", at(D2, 10, 30)) is None
    visit(people["eve"], db, "/bio~bad!", at(D2, 12))
    fay = visit(people["fay"], db, "/other~reel", at(D1, 9))
    buy(db, ann, at(D1, 13), 6000, "EUR", "o1")
    buy(db, ben, at(D2, 9), 2500, "EUR", "o2")
    buy(db, cat, at(D1, 16), 1000, "EUR", "o3")
    buy(db, dan, at(D2, 11), 700, "USD", "o4")
    buy(db, fay, at(D1, 10), 9900, "EUR", "o5")
    return db


def report(client, query: str = "") -> list[dict]:
    response = client.get(f"/api/links/bio/posts{query}", headers=AUTH)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["rows"]


def figures(rows) -> list[tuple]:
    keys = ("post", "currency", "clicks", "human_clicks", "unique_visitors", "conversions",
            "converted_visitors", "conversion_rate", "revenue")  # fmt: skip
    return [tuple(r[k] for k in keys) for r in rows]


def test_per_post_figures_under_last_touch(client, story):
    # pin: cat, dan and the bot clicked (3; 2 human, 2 visitors). cat's purchase goes to
    # her last click, the untagged one; dan's 7.00 USD is pin's: 1 of 2 visitors = 0.5.
    # reel: ann once, ben twice (3 clicks, 2 visitors); ben's 25.00 is his last click's,
    # a reel: 1 of 2 = 0.5. ann's 60.00 is her last click's, the story: 1 of 1.
    # fay's reel is another link's; eve's invalid tag is an untagged click.
    assert figures(report(client)) == [
        ("pin", "USD", 3, 2, 2, 1, 1, 0.5, "7.00"),
        ("reel", "EUR", 3, 3, 2, 1, 1, 0.5, "25.00"),
        ("story", "EUR", 1, 1, 1, 1, 1, 1.0, "60.00"),
    ]


def test_per_post_figures_under_linear(client, story):
    # ann: reel and story get half of 60.00 each; ben: both his reel clicks, a half of
    # 25.00 each (12.50 + 12.50); cat: pin and the untagged click half of 10.00 each;
    # dan: all 7.00 USD to pin. pin: 0.5 in EUR (5.00, cat) and 1 in USD (7.00, dan),
    # each 1 converted of its 2 visitors; reel: 0.5 + 1 = 1.5, 30.00 + 25.00 = 55.00,
    # 2 of 2 converted; story: 0.5, 30.00.
    assert figures(report(client, "?model=linear")) == [
        ("pin", "EUR", 3, 2, 2, 0.5, 1, 0.5, "5.00"),
        ("pin", "USD", 3, 2, 2, 1, 1, 0.5, "7.00"),
        ("reel", "EUR", 3, 3, 2, 1.5, 2, 1.0, "55.00"),
        ("story", "EUR", 1, 1, 1, 0.5, 1, 1.0, "30.00"),
    ]
    # the link's own EUR revenue under linear is 60 + 25 + 10 = 95.00: its posts' 90.00
    # and the untagged click's 5.00
    link = client.get("/api/reports/channels?model=linear&channel=instagram", headers=AUTH)
    eur = next(r for r in link.get_json()["rows"] if r["currency"] == "EUR")
    assert eur["revenue"] == "95.00"


@pytest.mark.parametrize(
    "model, expected",
    [
        ("last_touch", [("pin", "USD", 3, 2, 2, 1, 1, 0.5, "7.00"),
                        ("reel", "EUR", 3, 3, 2, 1, 1, 0.5, "25.00"),
                        ("story", "EUR", 1, 1, 1, 1, 1, 1.0, "60.00")]),
        ("linear", [("pin", "EUR", 3, 2, 2, 0.5, 1, 0.5, "5.00"),
                    ("pin", "USD", 3, 2, 2, 1, 1, 0.5, "7.00"),
                    ("reel", "EUR", 3, 3, 2, 1.5, 2, 1.0, "55.00"),
                    ("story", "EUR", 1, 1, 1, 0.5, 1, 1.0, "30.00")]),
    ],
)  # fmt: skip
def test_the_breakdown_by_post_has_the_same_figures(client, story, model, expected):
    """The figures worked out above (last touch, linear), from the
    breakdown report's aggregates: `post` is one of its values."""
    response = client.get(f"/api/reports/breakdown?by=post&link=bio&model={model}", headers=AUTH)
    assert response.status_code == 200, response.get_data(as_text=True)
    rows = [r for r in response.get_json()["rows"] if r["value"]]  # "" is the untagged clicks
    got = [
        (r["value"], r["currency"], r["clicks"], r["human_clicks"], r["unique_visitors"],
         r["conversions"], r["converted_visitors"], r["conversion_rate"], r["revenue"])
        for r in rows
    ]  # fmt: skip
    assert sorted(got) == expected


def test_a_period_counts_its_clicks_and_its_conversions(client, story):
    # D2 only: clicks by dan and the bot on pin (2; 1 human, 1 visitor); conversions on
    # D2: ben's (his reel click was on D1: a reel row with no click) and dan's
    assert figures(report(client, f"?from={D2}&to={D2}")) == [
        ("pin", "USD", 2, 1, 1, 1, 1, 1.0, "7.00"),
        ("reel", "EUR", 0, 0, 0, 1, 1, None, "25.00"),
    ]
    # D1 only, linear: every post's clicks but ben's and dan's purchases
    assert figures(report(client, f"?from={D1}&to={D1}&model=linear")) == [
        ("pin", "EUR", 1, 1, 1, 0.5, 1, 1.0, "5.00"),
        ("reel", "EUR", 3, 3, 2, 0.5, 1, 0.5, "30.00"),
        ("story", "EUR", 1, 1, 1, 0.5, 1, 1.0, "30.00"),
    ]


def test_a_goal_filters_the_conversions(client, story):
    assert report(client, "?goal=purchase") == report(client)
    # no signup: the clicks stay, in the default currency, with nothing converted
    assert figures(report(client, "?goal=signup")) == [
        ("pin", "USD", 3, 2, 2, 0, 0, 0.0, "0.00"),
        ("reel", "USD", 3, 3, 2, 0, 0, 0.0, "0.00"),
        ("story", "USD", 1, 1, 1, 0, 0, 0.0, "0.00"),
    ]


@pytest.mark.parametrize("model", ["last_touch", "linear"])
def test_csv_is_the_json(client, story, model):
    body = client.get(f"/api/links/bio/posts?model={model}", headers=AUTH).get_json()
    assert (body["code"], body["model"], body["from"], body["to"]) == ("bio", model, None, None)
    response = client.get(f"/api/links/bio/posts?model={model}&format=csv", headers=AUTH)
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="posts-bio.csv"'
    table = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert table == [{k: "" if v is None else str(v) for k, v in r.items()} for r in body["rows"]]


def test_the_report_refuses_what_it_cannot_read(client, story):
    for query, field in (("model=best", "model"), ("from=May", "from"), ("format=xml", "format"),
                         (f"from={D2}&to={D1}", "from")):  # fmt: skip
        refused = client.get(f"/api/links/bio/posts?{query}", headers=AUTH)
        assert (refused.status_code, refused.get_json()["field"]) == (400, field), query
    missing = client.get("/api/links/nope/posts", headers=AUTH)
    assert (missing.status_code, missing.get_json()["field"]) == (404, "code")
    assert client.get("/api/links/bio/posts").status_code == 401


def test_a_link_without_tagged_clicks_has_no_posts(client):
    make_link(client, code="plain")
    client.get("/plain")
    assert report_of(client, "plain") == []


def report_of(client, code: str) -> list[dict]:
    return client.get(f"/api/links/{code}/posts", headers=AUTH).get_json()["rows"]


def test_the_click_export_carries_the_post_before_the_country(client, story):
    response = client.get("/api/exports/clicks", headers=AUTH)
    header, *lines = response.get_data(as_text=True).splitlines()
    assert header.split(",")[-2:] == ["post", "country"]  # the newest columns come last
    table = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["code"], r["post"]) for r in table] == [
        ("bio", "reel"), ("bio", "story"), ("bio", "reel"), ("bio", "reel"), ("bio", "pin"),
        ("bio", ""), ("bio", "pin"), ("bio", "pin"), ("bio", ""), ("other", "reel"),
    ]  # fmt: skip


def test_the_link_page_lists_its_posts_under_the_chosen_model(app, story):
    client, _ = signed_in(app)
    listing = client.get("/dashboard/links?model=linear&period=all").get_data(as_text=True)
    assert 'href="/dashboard/links/bio?model=linear&amp;period=all"' in listing
    page = client.get("/dashboard/links/bio?model=linear&period=all").get_data(as_text=True)
    table = page.split('id="posts-table"', 1)[1].split("</table>", 1)[0]
    cells = [
        [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row)]
        for row in re.findall(r"<tr>(.*?)</tr>", table, re.S)
    ]
    assert cells == [
        ["Post", "Clicks", "Human clicks", "Visitors", "Conversions", "Revenue"],
        ["pin", "3", "2", "2", "0.5", "5.00 EUR"],
        ["pin", "3", "2", "2", "1", "7.00 USD"],
        ["reel", "3", "3", "2", "1.5", "55.00 EUR"],
        ["story", "1", "1", "1", "0.5", "30.00 EUR"],
    ]
    heading = page.split('id="posts-title"', 1)[1].split("</h2>", 1)[0]
    assert "(all time, linear attribution)" in heading
    # its download is the API's CSV for the same period and model
    download = "/dashboard/export/links/bio/posts?format=csv&amp;model=linear"
    assert download in page
    api = client.get("/api/links/bio/posts?model=linear&format=csv", headers=AUTH)
    assert client.get(download.replace("&amp;", "&")).data == api.data
    last_touch = client.get("/dashboard/links/bio").get_data(as_text=True)
    assert "60.00 EUR" in last_touch.split('id="posts-table"', 1)[1].split("</table>", 1)[0]


def test_a_link_page_without_posts_says_how_to_tag(app):
    client, _ = signed_in(app)
    make_link(browser(app), code="plain")
    page = client.get("/dashboard/links/plain").get_data(as_text=True)
    assert 'id="posts-none"' in page and 'id="posts-table"' not in page
    assert "http://go.example.test/plain~reel-1" in page


# -- under gunicorn -------------------------------------------------------------------------


def test_under_gunicorn_the_journal_replays_the_post(tmp_path):
    """Clicks through the fast path (plain), the Flask view (a query string)
    and a percent-encoded tilde (sent byte for byte) are journalled by the
    workers; nothing is replayed until a reader asks, then every post is
    stored."""
    config = app_config(
        tmp_path,
        BASE_URL="http://127.0.0.1",
        CLICK_JOURNAL_BATCH=10**9,
        CLICK_JOURNAL_MAX_DELAY_MS=10**9,
        WEBHOOK_DELIVERY_THREAD="false",
    )
    init_db(config["DATABASE"])
    db = connect(config["DATABASE"])
    try:
        links.create_link(db, {"url": "https://shop.example.com/", "channel": "instagram",
                               "campaign": "c", "code": "bio"})  # fmt: skip
        with running(config, workers=2) as server:
            visitor = requests.Session()
            visitor.headers["User-Agent"] = BROWSER_UA
            fast = visitor.get(f"{server.base}/bio~reel", allow_redirects=False, timeout=5)
            view = visitor.get(f"{server.base}/bio~story?x=1", allow_redirects=False, timeout=5)
            raw = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
            try:
                raw.request("GET", "/bio%7Epin", headers={"User-Agent": BROWSER_UA})
                encoded = raw.getresponse()
                encoded.read()
            finally:
                raw.close()
            assert [fast.status_code, view.status_code, encoded.status] == [302, 302, 302]
            assert query_of(fast)["utm_content"] == ["reel"]
            assert query_of(view)["utm_content"] == ["story"]
            assert parse_qs(urlsplit(encoded.getheader("Location")).query)["utm_content"] == ["pin"]
            assert db.execute("SELECT count(*) FROM clicks").fetchone()[0] == 0  # journalled
            body = requests.get(f"{server.base}/api/links/bio/posts", headers=AUTH, timeout=5)
            assert [(r["post"], r["clicks"]) for r in body.json()["rows"]] == [
                ("pin", 1), ("reel", 1), ("story", 1),
            ]  # fmt: skip
        replay_all(db)
        assert sorted(posts_stored(db)) == ["pin", "reel", "story"]
    finally:
        db.close()
