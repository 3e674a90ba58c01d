"""The per-channel report on a hand-built data set, every figure by hand.

The data set goes in through the real HTTP routes (links, redirects, pixel,
webhook, goals) and, where a test needs clicks and conversions at precise
past moments, through `record_click` / `record_conversion` with explicit
times. The expected tables below are worked out from the story, not from
the code's output.
"""

import csv
import io
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import AUTH, BROWSER_UA, IPHONE_UA, WEBHOOK_SECRET, browser, make_link
from conversions.intake import Conversion, Policy, record_conversion
from conversions.reports import CHANNEL_COLUMNS
from conversions.signing import sign
from shortener.clicks import classify, record_click
from shortener.clock import from_db

HUMAN = classify(BROWSER_UA)
BOT = classify("Twitterbot/1.0")
LINKEDIN_BOT = (
    "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)"
)

# visitors of the March 2024 story (ids as the cookie would carry them)
A, B, C, D, E, F = (f"visitor-{x * 12}" for x in "abcdef")


def at(month, day, hour, minute=0) -> datetime:
    return datetime(2024, month, day, hour, minute, tzinfo=UTC)


@dataclass
class Shop:
    client: object
    db: object
    links: dict = field(default_factory=dict)
    today: str | None = None  # the day of the HTTP-driven part, if it fits in one

    def report(self, **params):
        response = self.client.get("/api/reports/channels", query_string=params, headers=AUTH)
        assert response.status_code == 200, response.get_json()
        return response


def webhook(client, msg_id, payload):
    body = json.dumps(payload).encode()
    stamp = int(time.time())
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": str(stamp),
        "webhook-signature": sign(WEBHOOK_SECRET, msg_id, stamp, body),
        "Content-Type": "application/json",
    }
    return client.post("/t/webhook", data=body, headers=headers)


def click_id_of(response) -> str:
    assert response.status_code == 302
    return parse_qs(urlsplit(response.headers["Location"]).query)["ct_click"][0]


def build(app, client, db) -> Shop:
    """The story (attribution window 30 days, last touch):

    March 2024, at precise times:
      A  twitter/spring 03-01 10:00, linkedin 03-05 10:00
         -> purchase O-1 49.90 EUR 03-06 12:00 (webhook)      -> linkedin
         twitter/summer 03-10 09:00
         -> purchase O-2 10.05 EUR 03-10 10:00 (webhook)      -> twitter
      B  twitter 03-02 08:00 and again 08:05
         -> purchase O-3 19.99 EUR 03-03 12:00 (webhook)      -> twitter
         -> O-3 again (another webhook id, 99.99): duplicate, not stored
         -> purchase O-4 12.34 USD 03-04 12:00 (webhook)      -> twitter (USD)
      bot twitter 03-02 09:00 (no visitor, as the redirect stores bots)
      C  newsletter 03-04 10:00; a bot click carrying C's id on facebook
         03-05 10:00 -> lead 03-05 12:00, no value: the goal's 25.00 EUR
         (pixel)                                                -> newsletter
      D  newsletter 03-01 10:00 -> purchase O-5 7.77 EUR 04-05 12:00,
         35 days later: outside the window                      -> (direct)
      E  no click -> purchase O-6 5.00 EUR 03-07 12:00          -> (direct)
      F  facebook 03-08 10:00, no conversion
    Today, over HTTP:
      H1 (desktop) follows twitter/spring, fires the pixel purchase H-1
         30.00 EUR twice (a reloaded page: stored once), and the shop's
         server sends purchase H-2 20.01 EUR by webhook with H1's click id
      H2 (iPhone) follows the newsletter link, no conversion
      LinkedInBot follows the linkedin link (a bot click)
    """
    shop = Shop(client, db)
    for code, channel, campaign in [
        ("tw-spring", "twitter", "spring"),
        ("tw-summer", "Twitter", "summer"),  # channel names are normalised to lower case
        ("li-spring", "linkedin", "spring"),
        ("nl-spring", "newsletter", "spring"),
        ("fb-spring", "facebook", "spring"),
    ]:
        make_link(client, channel=channel, campaign=campaign, code=code)
    shop.links = {r["code"]: r["id"] for r in db.query("SELECT id, code FROM links")}
    codes = ("tw-spring", "tw-summer", "li-spring", "nl-spring", "fb-spring")
    tw, tw2, li, nl, fb = (shop.links[c] for c in codes)
    put = client.put("/api/goals/lead", json={"value": "25.00", "currency": "EUR"}, headers=AUTH)
    assert put.status_code == 200

    def click(link_id, visitor, when, bot=False):
        record_click(
            db, link_id=link_id, visitor_id=visitor, now=when, agent=BOT if bot else HUMAN,
            is_bot=bot, user_agent="Twitterbot/1.0" if bot else BROWSER_UA,
        )  # fmt: skip

    def convert(
        visitor, when, goal="purchase", value=None, currency=None, order=None, src="webhook"
    ):
        conversion = Conversion(
            goal=goal, source=src, occurred_at=when, received_at=when, value_minor=value,
            currency=currency, order_id=order, visitor_id=visitor,
        )  # fmt: skip
        row, duplicate = record_conversion(db, conversion, Policy(window_days=30))
        assert not duplicate

    click(tw, A, at(3, 1, 10))
    click(nl, D, at(3, 1, 10))
    click(tw, B, at(3, 2, 8))
    click(tw, B, at(3, 2, 8, 5))
    click(tw, None, at(3, 2, 9), bot=True)
    click(nl, C, at(3, 4, 10))
    click(li, A, at(3, 5, 10))
    click(fb, C, at(3, 5, 10), bot=True)
    click(fb, F, at(3, 8, 10))
    click(tw2, A, at(3, 10, 9))

    def hook(msg_id, status, **payload):
        response = webhook(client, msg_id, payload)
        assert response.status_code == status, response.get_json()

    hook("m-1", 201, goal="purchase", value="49.90", currency="EUR", order_id="O-1",
         visitor_id=A, occurred_at="2024-03-06T12:00:00Z")  # fmt: skip
    hook("m-2", 201, goal="purchase", value="10.05", currency="EUR", order_id="O-2",
         visitor_id=A, occurred_at="2024-03-10T10:00:00Z")  # fmt: skip
    hook("m-3", 201, goal="purchase", value="19.99", currency="EUR", order_id="O-3",
         visitor_id=B, occurred_at="2024-03-03T12:00:00Z")  # fmt: skip
    hook("m-3b", 200, goal="purchase", value="99.99", currency="EUR", order_id="O-3",
         visitor_id=B, occurred_at="2024-03-03T13:00:00Z")  # fmt: skip
    hook("m-1", 200, goal="purchase", value="49.90", currency="EUR", order_id="O-1",
         visitor_id=A, occurred_at="2024-03-06T12:00:00Z")  # fmt: skip  # a retry
    hook("m-4", 201, goal="purchase", value=12.34, currency="USD", order_id="O-4",
         visitor_id=B, occurred_at="2024-03-04T12:00:00Z")  # fmt: skip
    convert(C, at(3, 5, 12), goal="lead", src="pixel")
    convert(D, at(4, 5, 12), value=777, currency="EUR", order="O-5")
    convert(E, at(3, 7, 12), value=500, currency="EUR", order="O-6")

    h1 = browser(app)
    h1_click = click_id_of(h1.get("/tw-spring"))
    for _ in range(2):
        pixel = h1.get("/t/pixel.gif?goal=purchase&value=30.00&currency=EUR&order_id=H-1")
        assert pixel.headers["Content-Type"] == "image/gif"
    hook("h-2", 201, goal="purchase", value="20.01", currency="EUR", order_id="H-2",
         click_id=h1_click)  # fmt: skip
    click_id_of(browser(app, IPHONE_UA).get("/nl-spring"))
    assert browser(app, LINKEDIN_BOT).get("/li-spring").status_code == 302

    # the day of the HTTP part, unless it ran across midnight UTC
    recent = [from_db(r["ts"]).date() for r in db.query("SELECT ts FROM clicks WHERE ts > '2025'")]
    recent += [
        from_db(r["occurred_at"]).date()
        for r in db.query("SELECT occurred_at FROM conversions WHERE occurred_at > '2025'")
    ]
    assert len(recent) == 3 + 2
    shop.today = recent[0].isoformat() if len(set(recent)) == 1 else None
    return shop


@pytest.fixture
def shop(app, client, db):
    return build(app, client, db)


def rows(*table):
    return [dict(zip(CHANNEL_COLUMNS, values, strict=True)) for values in table]


# channel, currency, clicks, human_clicks, unique_clicks, qr_scans, unique_visitors,
# conversions, converted_visitors, conversion_rate, revenue
ALL_TIME = rows(
    # facebook: F's human click, the bot click with C's id; no conversion, so
    # one row in DEFAULT_CURRENCY; 0 converted of 1 visitor
    ("facebook", "USD", 2, 1, 1, 0, 1, 0, 0, 0 / 1, "0.00"),
    # linkedin: A's click + LinkedInBot today; A's O-1 (49.90)
    ("linkedin", "EUR", 2, 1, 1, 0, 1, 1, 1, 1 / 1, "49.90"),
    # newsletter: C, D in March, H2 today; only C's lead (25.00 default);
    # D's purchase is outside the window; 1 of 3 visitors converted
    ("newsletter", "EUR", 3, 3, 3, 0, 3, 1, 1, round(1 / 3, 6), "25.00"),
    # twitter: A 03-01, B twice, the bot, A on summer 03-10, H1 today = 6
    # clicks, 5 human, 4 unique (B's two 08h clicks are one), no QR scans,
    # visitors {A, B, H1}; EUR: O-2 (A) 10.05 + O-3 (B) 19.99
    # + H-1 (H1) 30.00 + H-2 (H1) 20.01 = 80.05 from 4 conversions, 3 visitors
    ("twitter", "EUR", 6, 5, 4, 0, 3, 4, 3, 3 / 3, "80.05"),
    # ... and B's USD order O-4: 1 conversion, 1 of 3 visitors
    ("twitter", "USD", 6, 5, 4, 0, 3, 1, 1, round(1 / 3, 6), "12.34"),
    # (direct): D's O-5 7.77 (out of window) + E's O-6 5.00 = 12.77; no clicks
    ("(direct)", "EUR", 0, 0, 0, 0, 0, 2, 2, None, "12.77"),
)

MARCH = rows(
    ("facebook", "USD", 2, 1, 1, 0, 1, 0, 0, 0 / 1, "0.00"),
    ("linkedin", "EUR", 1, 1, 1, 0, 1, 1, 1, 1 / 1, "49.90"),
    ("newsletter", "EUR", 2, 2, 2, 0, 2, 1, 1, 1 / 2, "25.00"),  # C and D clicked; C converted
    # A, B twice, the bot, A again: 5 clicks, 4 human, 3 unique, {A, B}; O-2 + O-3 = 30.04
    ("twitter", "EUR", 5, 4, 3, 0, 2, 2, 2, 2 / 2, "30.04"),
    ("twitter", "USD", 5, 4, 3, 0, 2, 1, 1, 1 / 2, "12.34"),
    ("(direct)", "EUR", 0, 0, 0, 0, 0, 1, 1, None, "5.00"),  # E's only: D's is in April
)

APRIL = rows(("(direct)", "EUR", 0, 0, 0, 0, 0, 1, 1, None, "7.77"))

# 03-05 and 03-06: A's linkedin click and the facebook bot click; C's lead
# (newsletter, whose click was on 03-04) and A's O-1 (linkedin)
MARCH_5_TO_6 = rows(
    ("facebook", "USD", 1, 0, 0, 0, 0, 0, 0, None, "0.00"),
    ("linkedin", "EUR", 1, 1, 1, 0, 1, 1, 1, 1 / 1, "49.90"),
    ("newsletter", "EUR", 0, 0, 0, 0, 0, 1, 1, None, "25.00"),
)

TODAY = rows(
    ("linkedin", "USD", 1, 0, 0, 0, 0, 0, 0, None, "0.00"),  # the bot only
    ("newsletter", "USD", 1, 1, 1, 0, 1, 0, 0, 0 / 1, "0.00"),  # H2
    ("twitter", "EUR", 1, 1, 1, 0, 1, 2, 1, 1 / 1, "50.01"),  # H1: H-1 30.00 + H-2 20.01
)

HEADER = (
    "channel,currency,clicks,human_clicks,unique_clicks,qr_scans,unique_visitors,conversions,"
    "converted_visitors,conversion_rate,revenue"
)
ALL_TIME_CSV = [
    HEADER,
    "facebook,USD,2,1,1,0,1,0,0,0.0,0.00",
    "linkedin,EUR,2,1,1,0,1,1,1,1.0,49.90",
    "newsletter,EUR,3,3,3,0,3,1,1,0.333333,25.00",
    "twitter,EUR,6,5,4,0,3,4,3,1.0,80.05",
    "twitter,USD,6,5,4,0,3,1,1,0.333333,12.34",
    "(direct),EUR,0,0,0,0,0,2,2,,12.77",
]
MARCH_CSV = [
    HEADER,
    "facebook,USD,2,1,1,0,1,0,0,0.0,0.00",
    "linkedin,EUR,1,1,1,0,1,1,1,1.0,49.90",
    "newsletter,EUR,2,2,2,0,2,1,1,0.5,25.00",
    "twitter,EUR,5,4,3,0,2,2,2,1.0,30.04",
    "twitter,USD,5,4,3,0,2,1,1,0.5,12.34",
    "(direct),EUR,0,0,0,0,0,1,1,,5.00",
]


def test_what_was_stored(shop):
    db = shop.db
    # 10 March clicks + 3 today; 3 of them bots
    assert db.execute("SELECT count(*), sum(is_bot) FROM clicks").fetchone() == (13, 3)
    # O-1..O-6, C's lead, H-1, H-2: the duplicate order, the replay and the
    # reloaded pixel were not stored
    stored = db.execute("SELECT count(*), sum(verified) FROM conversions").fetchone()
    # verified = by webhook: O-1..O-4 and H-2 over HTTP, O-5 and O-6 stored as
    # webhooks; the pixels (C's lead, H-1) are not
    assert stored == (9, 5 + 2)
    orders = [r["order_id"] for r in db.query("SELECT order_id FROM conversions ORDER BY id")]
    assert sorted(o for o in orders if o) == ["H-1", "H-2", "O-1", "O-2", "O-3", "O-4", "O-5",
                                              "O-6"]  # fmt: skip
    o3 = next(db.query("SELECT value_minor FROM conversions WHERE order_id = 'O-3'"))
    assert o3["value_minor"] == 1999  # the first O-3, not the duplicate's 99.99


def test_all_time_json(shop):
    body = shop.report().get_json()
    assert (body["from"], body["to"], body["model"]) == (None, None, "last_touch")
    assert body["rows"] == ALL_TIME


def test_eur_revenue_adds_up_to_every_eur_conversion(shop):
    # 49.90 + 10.05 + 19.99 + 25.00 + 7.77 + 5.00 + 30.00 + 20.01 = 167.72
    rows_ = shop.report().get_json()["rows"]
    cents = sum(int(r["revenue"].replace(".", "")) for r in rows_ if r["currency"] == "EUR")
    assert cents == 4990 + 1005 + 1999 + 2500 + 777 + 500 + 3000 + 2001 == 16772


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"from": "2024-03-01", "to": "2024-03-31"}, MARCH),
        ({"from": "2024-04-01", "to": "2024-04-30"}, APRIL),
        ({"from": "2024-03-05", "to": "2024-03-06"}, MARCH_5_TO_6),
        ({"to": "2024-03-31"}, MARCH),  # open start: all time up to March
        ({"from": "2024-05-01", "to": "2024-05-31"}, []),  # nothing happened
    ],
)
def test_from_to_filtering(shop, params, expected):
    body = shop.report(**params).get_json()
    assert (body["from"], body["to"]) == (params.get("from"), params.get("to"))
    assert body["rows"] == expected


def test_todays_http_traffic(shop):
    if shop.today is None:
        pytest.skip("the HTTP part ran across midnight UTC")
    body = shop.report(**{"from": shop.today, "to": shop.today}).get_json()
    assert body["rows"] == TODAY


def test_all_time_csv(shop):
    response = shop.report(format="csv")
    assert response.mimetype == "text/csv"
    assert response.mimetype_params["charset"] == "utf-8"
    assert 'filename="channels.csv"' in response.headers["Content-Disposition"]
    text = response.get_data().decode("utf-8")
    assert text == "\r\n".join(ALL_TIME_CSV) + "\r\n"


def test_march_csv(shop):
    text = shop.report(format="csv", **{"from": "2024-03-01", "to": "2024-03-31"}).get_data()
    assert text.decode("utf-8") == "\r\n".join(MARCH_CSV) + "\r\n"


def test_csv_equals_json(shop):
    json_rows = shop.report().get_json()["rows"]
    text = shop.report(format="csv").get_data(as_text=True)
    parsed = list(csv.DictReader(io.StringIO(text, newline="")))
    assert list(parsed[0]) == CHANNEL_COLUMNS == list(json_rows[0])

    def as_text(value):
        return "" if value is None else str(value)

    assert parsed == [{k: as_text(v) for k, v in row.items()} for row in json_rows]


def test_channel_and_campaign_filters(shop):
    twitter = shop.report(channel="Twitter").get_json()["rows"]
    assert twitter == [r for r in ALL_TIME if r["channel"] == "twitter"]
    # summer campaign: A's 03-10 click and O-2 (10.05) only
    summer = shop.report(campaign="summer").get_json()["rows"]
    assert summer == rows(("twitter", "EUR", 1, 1, 1, 0, 1, 1, 1, 1.0, "10.05"))


def test_other_models_share_revenue_but_keep_the_total(shop):
    # first touch: A's O-1 goes to twitter (03-01) instead of linkedin
    first = {
        (r["channel"], r["currency"]): r
        for r in shop.report(model="first_touch").get_json()["rows"]
    }
    # linkedin is left with no credit: one row in DEFAULT_CURRENCY with nothing
    assert first[("linkedin", "USD")]["revenue"] == "0.00"
    assert ("linkedin", "EUR") not in first
    # twitter EUR: 80.05 + O-1 49.90 = 129.95 from 5 conversions
    assert (first[("twitter", "EUR")]["revenue"], first[("twitter", "EUR")]["conversions"]) == (
        "129.95", 5,
    )  # fmt: skip
    # linear: O-1 (49.90) is split between A's two touches before it (24.95
    # each), and O-2 (10.05) between A's three touches before it (3.35 each,
    # exact; the ppm thirds are 333,334 / 333,333 / 333,333 and linkedin is the
    # middle one): linkedin gets 1/2 + 1/3 conversion and 24.95 + 3.35 = 28.30
    linear = {
        (r["channel"], r["currency"]): r for r in shop.report(model="linear").get_json()["rows"]
    }
    li = linear[("linkedin", "EUR")]
    assert (li["conversions"], li["revenue"]) == ((500_000 + 333_333) / 1_000_000, "28.30")
    for model in ("first_touch", "linear", "position_based", "time_decay"):
        got = shop.report(model=model).get_json()["rows"]
        eur = sum(int(r["revenue"].replace(".", "")) for r in got if r["currency"] == "EUR")
        assert eur == 16772, model


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2024-02-30"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"to": "2024/03/01"}, "to"),
        ({"from": "2024-03-02", "to": "2024-03-01"}, "from"),
        ({"model": "u_shaped"}, "model"),
        ({"format": "xlsx"}, "format"),
    ],
)
def test_bad_report_parameters(client, params, field):
    response = client.get("/api/reports/channels", query_string=params, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["field"] == field


def test_report_needs_the_key(client):
    assert client.get("/api/reports/channels").status_code == 401
    assert client.get("/api/reports/channels?format=csv").status_code == 401
    wrong = {"Authorization": "Bearer nope"}
    assert client.get("/api/reports/channels", headers=wrong).status_code == 401


def test_an_empty_database(client):
    body = client.get("/api/reports/channels", headers=AUTH).get_json()
    assert body == {"from": None, "to": None, "model": "last_touch", "rows": []}
    text = client.get("/api/reports/channels?format=csv", headers=AUTH).get_data(as_text=True)
    assert text == HEADER + "\r\n"


@pytest.mark.parametrize("channel", ["=cmd", "+1", "-x", "@sum", "twitter,x", 'a"b', "a\nb"])
def test_channel_names_cannot_carry_formulas_or_csv_syntax(client, channel):
    # so a channel cell never needs escaping (csvout's escaping is tested directly
    # in test_csvout.py)
    response = client.post(
        "/api/links",
        json={"url": "https://shop.example.com/", "channel": channel, "campaign": "c"},
        headers=AUTH,
    )
    assert response.status_code == 400
    assert response.get_json()["field"] == "channel"
