"""The breakdown report, worked out by hand: clicks, visitors, conversions
and revenue per country, device, browser, OS, referrer host, source, link,
campaign and channel, under last touch and linear, with and without a
period cut; the API (JSON and CSV), its refusals, and the CLI.

The log (three links, four people, a bot, 7 clicks, 4 conversions):

  click  who   link       day  device / browser / OS            country  referrer host     source
  1      ann   spring-tw  1    mobile / Mobile Safari / iOS      GB       t.co              link
  2      bob   spring-tw  1    desktop / Chrome / Windows        US       (none)            qr
  3      bot   spring-tw  1    bot / FacebookBot / Other         US       (none)            link
  4      anon  spring-tw  1    mobile / Mobile Safari / iOS      ""       t.co              link
  5      ann   spring-li  2    desktop / Chrome / Windows        DE       www.linkedin.com  link
  6      cat   spring-li  2    mobile / Chrome Mobile / Android  ""       news.example.com  link
  7      bob   summer-tw  3    desktop / Chrome / Windows        US       t.co              link

(anon opted out: no visitor, no address, so no country; cat's address is a
documentation one, which no registry lists.) Links: spring-tw is twitter /
spring, spring-li linkedin / spring, summer-tw twitter / summer.

  conversion  who  day  goal      value       touches (in time order)
  A           ann  2    purchase  100.00 EUR  1, 5
  B           bob  3    purchase   30.00 EUR  2, 7
  C           cat  2    signup     10.00 USD  6
  D           dan  2    purchase    5.00 EUR  none: (direct), in no breakdown row

Last touch gives A to click 5, B to click 7, C to click 6. Linear gives A
50.00 to clicks 1 and 5 each, B 15.00 to clicks 2 and 7 each, C to click 6.
"""

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from geo_fixture import GERMANY, USA

from conftest import AUTH, app_config
from conversions.breakdown import COLUMNS, BreakdownError, breakdown_rows
from conversions.intake import Conversion, Policy, record_conversion
from conversions.reports import Filters, Period
from shortener import create_app
from shortener.app import init_db
from shortener.clicks import Agent, record_click
from shortener.db import connect

IPHONE = Agent("mobile", "Mobile Safari", "iOS", False)
DESKTOP = Agent("desktop", "Chrome", "Windows", False)
ANDROID = Agent("mobile", "Chrome Mobile", "Android", False)
BOT = Agent("bot", "FacebookBot", "Other", True)
BRITAIN = "212.58.244.22"
DAY1 = datetime(2026, 3, 1, tzinfo=UTC)
DAY2, DAY3 = DAY1 + timedelta(days=1), DAY1 + timedelta(days=2)
LINKS = {1: ("spring-tw", "twitter", "spring"), 2: ("spring-li", "linkedin", "spring"),
         3: ("summer-tw", "twitter", "summer")}  # fmt: skip
CLICKS = [
    # (visitor, link, moment, agent, address, referrer, source)
    ("ann", 1, DAY1 + timedelta(hours=10), IPHONE, BRITAIN, "https://t.co/abc", None),
    ("bob", 1, DAY1 + timedelta(hours=12), DESKTOP, USA, None, "qr"),
    (None, 1, DAY1 + timedelta(hours=12, minutes=30), BOT, USA, None, None),
    (None, 1, DAY1 + timedelta(hours=13), IPHONE, None, "https://t.co/abc", None),
    ("ann", 2, DAY2 + timedelta(hours=9), DESKTOP, GERMANY, "https://www.linkedin.com/feed/",
     None),
    ("cat", 2, DAY2 + timedelta(hours=11), ANDROID, "203.0.113.9",
     "https://news.example.com:8443/a?b=1", None),
    ("bob", 3, DAY3 + timedelta(hours=8), DESKTOP, USA, "https://T.co/xyz", None),
]  # fmt: skip
CONVERSIONS = [
    # (visitor, moment, goal, value_minor, currency, order)
    ("ann", DAY2 + timedelta(hours=12), "purchase", 10_000, "EUR", "A"),
    ("bob", DAY3 + timedelta(hours=9), "purchase", 3_000, "EUR", "B"),
    ("cat", DAY2 + timedelta(hours=18), "signup", 1_000, "USD", "C"),
    ("dan", DAY2 + timedelta(hours=20), "purchase", 500, "EUR", "D"),
]


def seed(db) -> None:
    for link_id, (code, channel, campaign) in LINKS.items():
        db.execute(
            "INSERT INTO links (id, code, url, channel, campaign, created_at, updated_at)"
            " VALUES (?, ?, 'https://shop.example.com/', ?, ?, 'x', 'x')",
            [link_id, code, channel, campaign],
        )
    for visitor, link_id, at, agent, address, referrer, source in CLICKS:
        record_click(db, link_id=link_id, visitor_id=visitor, now=at, agent=agent,
                     is_bot=agent.is_bot, ip=address, referrer=referrer, source=source)  # fmt: skip
    for visitor, at, goal, value, currency, order in CONVERSIONS:
        conversion = Conversion(goal=goal, source="webhook", occurred_at=at, received_at=at,
                                value_minor=value, currency=currency, order_id=order,
                                visitor_id=visitor, webhook_id=f"msg-{order}")  # fmt: skip
        record_conversion(db, conversion, Policy(window_days=30))


@pytest.fixture
def app(tmp_path):
    config = app_config(tmp_path, DEFAULT_CURRENCY="EUR")
    init_db(config["DATABASE"])
    return create_app(config)


@pytest.fixture
def store(app):
    database = connect(app.config["DATABASE"])
    seed(database)
    yield database
    database.close()


def rows(*table) -> list[dict]:
    return [dict(zip(COLUMNS, row, strict=True)) for row in table]


# Each expected row: (value, currency, clicks, human_clicks, unique_visitors,
# conversions, converted_visitors, conversion_rate, revenue). Rows with no
# conversion carry the default currency (EUR). Order: most human clicks,
# then most clicks, then value.
EXPECTED = {
    ("country", "last_touch"): rows(
        # clicks 2, 7 and the bot's 3: 3 clicks, 2 human, 1 visitor (bob); B's last touch is 7
        ("US", "EUR", 3, 2, 1, 1, 1, 1.0, "30.00"),
        # anon's click 4 and cat's 6: 2 human clicks, 1 visitor (anon has none); C on 6
        ("", "USD", 2, 2, 1, 1, 1, 1.0, "10.00"),
        ("DE", "EUR", 1, 1, 1, 1, 1, 1.0, "100.00"),  # click 5: A's last touch
        ("GB", "EUR", 1, 1, 1, 0, 0, 0.0, "0.00"),  # click 1: no last touch; 0 / 1 visitor
    ),
    ("country", "linear"): rows(
        ("US", "EUR", 3, 2, 1, 1, 1, 1.0, "30.00"),  # B: 15.00 on click 2 + 15.00 on click 7
        ("", "USD", 2, 2, 1, 1, 1, 1.0, "10.00"),
        ("DE", "EUR", 1, 1, 1, 0.5, 1, 1.0, "50.00"),  # half of A (click 5)
        ("GB", "EUR", 1, 1, 1, 0.5, 1, 1.0, "50.00"),  # the other half (click 1)
    ),
    ("device", "last_touch"): rows(
        # clicks 2, 5, 7: ann and bob; A (100.00, click 5) + B (30.00, click 7)
        ("desktop", "EUR", 3, 3, 2, 2, 2, 1.0, "130.00"),
        # clicks 1, 4, 6: ann and cat; C on click 6; 1 converted / 2 visitors
        ("mobile", "USD", 3, 3, 2, 1, 1, 0.5, "10.00"),
        ("bot", "EUR", 1, 0, 0, 0, 0, None, "0.00"),  # no visitor: no rate
    ),
    ("device", "linear"): rows(
        # half of A (click 5) + all of B (clicks 2 and 7): 0.5 + 1 = 1.5; 50.00 + 30.00
        ("desktop", "EUR", 3, 3, 2, 1.5, 2, 1.0, "80.00"),
        ("mobile", "EUR", 3, 3, 2, 0.5, 1, 0.5, "50.00"),  # half of A on ann's iPhone click 1
        ("mobile", "USD", 3, 3, 2, 1, 1, 0.5, "10.00"),  # C: its own currency row
        ("bot", "EUR", 1, 0, 0, 0, 0, None, "0.00"),
    ),
    ("browser", "last_touch"): rows(
        ("Chrome", "EUR", 3, 3, 2, 2, 2, 1.0, "130.00"),  # clicks 2, 5, 7: A + B
        ("Mobile Safari", "EUR", 2, 2, 1, 0, 0, 0.0, "0.00"),  # clicks 1, 4: ann only
        ("Chrome Mobile", "USD", 1, 1, 1, 1, 1, 1.0, "10.00"),  # click 6: C
        ("FacebookBot", "EUR", 1, 0, 0, 0, 0, None, "0.00"),
    ),
    ("browser", "linear"): rows(
        ("Chrome", "EUR", 3, 3, 2, 1.5, 2, 1.0, "80.00"),  # 50.00 + 15.00 + 15.00
        ("Mobile Safari", "EUR", 2, 2, 1, 0.5, 1, 1.0, "50.00"),
        ("Chrome Mobile", "USD", 1, 1, 1, 1, 1, 1.0, "10.00"),
        ("FacebookBot", "EUR", 1, 0, 0, 0, 0, None, "0.00"),
    ),
    ("os", "last_touch"): rows(
        ("Windows", "EUR", 3, 3, 2, 2, 2, 1.0, "130.00"),
        ("iOS", "EUR", 2, 2, 1, 0, 0, 0.0, "0.00"),
        ("Android", "USD", 1, 1, 1, 1, 1, 1.0, "10.00"),
        ("Other", "EUR", 1, 0, 0, 0, 0, None, "0.00"),
    ),
    ("os", "linear"): rows(
        ("Windows", "EUR", 3, 3, 2, 1.5, 2, 1.0, "80.00"),
        ("iOS", "EUR", 2, 2, 1, 0.5, 1, 1.0, "50.00"),
        ("Android", "USD", 1, 1, 1, 1, 1, 1.0, "10.00"),
        ("Other", "EUR", 1, 0, 0, 0, 0, None, "0.00"),
    ),
    ("referrer", "last_touch"): rows(
        # clicks 1, 4, 7 (T.co is t.co): ann and bob; B on 7: 1 converted / 2 visitors
        ("t.co", "EUR", 3, 3, 2, 1, 1, 0.5, "30.00"),
        # no referrer: bob's QR scan (2) and the bot (3)
        ("", "EUR", 2, 1, 1, 0, 0, 0.0, "0.00"),
        ("news.example.com", "USD", 1, 1, 1, 1, 1, 1.0, "10.00"),  # port dropped
        ("www.linkedin.com", "EUR", 1, 1, 1, 1, 1, 1.0, "100.00"),
    ),
    ("referrer", "linear"): rows(
        ("t.co", "EUR", 3, 3, 2, 1, 2, 1.0, "65.00"),  # half of A (1) + half of B (7): 50 + 15
        ("", "EUR", 2, 1, 1, 0.5, 1, 1.0, "15.00"),  # half of B (the scan, 2)
        ("news.example.com", "USD", 1, 1, 1, 1, 1, 1.0, "10.00"),
        ("www.linkedin.com", "EUR", 1, 1, 1, 0.5, 1, 1.0, "50.00"),
    ),
    ("source", "last_touch"): rows(
        # every click but the scan: ann, bob, cat; A and B (EUR), C (USD); 2 of 3 / 1 of 3
        ("link", "EUR", 6, 5, 3, 2, 2, 0.666667, "130.00"),
        ("link", "USD", 6, 5, 3, 1, 1, 0.333333, "10.00"),
        ("qr", "EUR", 1, 1, 1, 0, 0, 0.0, "0.00"),
    ),
    ("source", "linear"): rows(
        # all of A (clicks 1, 5) + half of B (7): 1.5; 100.00 + 15.00
        ("link", "EUR", 6, 5, 3, 1.5, 2, 0.666667, "115.00"),
        ("link", "USD", 6, 5, 3, 1, 1, 0.333333, "10.00"),
        ("qr", "EUR", 1, 1, 1, 0.5, 1, 1.0, "15.00"),  # half of B
    ),
    ("link", "last_touch"): rows(
        ("spring-tw", "EUR", 4, 3, 2, 0, 0, 0.0, "0.00"),  # clicks 1-4: no last touch
        ("spring-li", "EUR", 2, 2, 2, 1, 1, 0.5, "100.00"),  # clicks 5, 6: A
        ("spring-li", "USD", 2, 2, 2, 1, 1, 0.5, "10.00"),  # and C
        ("summer-tw", "EUR", 1, 1, 1, 1, 1, 1.0, "30.00"),  # click 7: B
    ),
    ("link", "linear"): rows(
        ("spring-tw", "EUR", 4, 3, 2, 1, 2, 1.0, "65.00"),  # half A (1) + half B (2)
        ("spring-li", "EUR", 2, 2, 2, 0.5, 1, 0.5, "50.00"),  # half A (5)
        ("spring-li", "USD", 2, 2, 2, 1, 1, 0.5, "10.00"),
        ("summer-tw", "EUR", 1, 1, 1, 0.5, 1, 1.0, "15.00"),  # half B (7)
    ),
    ("campaign", "last_touch"): rows(
        ("spring", "EUR", 6, 5, 3, 1, 1, 0.333333, "100.00"),  # A; ann of ann, bob, cat
        ("spring", "USD", 6, 5, 3, 1, 1, 0.333333, "10.00"),
        ("summer", "EUR", 1, 1, 1, 1, 1, 1.0, "30.00"),
    ),
    ("campaign", "linear"): rows(
        ("spring", "EUR", 6, 5, 3, 1.5, 2, 0.666667, "115.00"),  # A whole + half of B
        ("spring", "USD", 6, 5, 3, 1, 1, 0.333333, "10.00"),
        ("summer", "EUR", 1, 1, 1, 0.5, 1, 1.0, "15.00"),
    ),
    ("channel", "last_touch"): rows(
        ("twitter", "EUR", 5, 4, 2, 1, 1, 0.5, "30.00"),  # clicks 1-4, 7: B on 7
        ("linkedin", "EUR", 2, 2, 2, 1, 1, 0.5, "100.00"),
        ("linkedin", "USD", 2, 2, 2, 1, 1, 0.5, "10.00"),
    ),
    ("channel", "linear"): rows(
        ("twitter", "EUR", 5, 4, 2, 1.5, 2, 1.0, "80.00"),  # half A (50.00) + all of B (30.00)
        ("linkedin", "EUR", 2, 2, 2, 0.5, 1, 0.5, "50.00"),
        ("linkedin", "USD", 2, 2, 2, 1, 1, 0.5, "10.00"),
    ),
}


@pytest.mark.parametrize("by, model", sorted(EXPECTED))
def test_each_breakdown_under_two_models_worked_by_hand(store, by, model):
    assert breakdown_rows(store, by, model=model, default_currency="EUR") == EXPECTED[(by, model)]


def test_a_period_cut_counts_clicks_and_conversions_on_their_own_days(store):
    """Days 2-3: clicks 5, 6, 7; conversions A, B, C (and D, direct). A
    conversion counts on its own day, so half of A goes to Britain though
    ann's British click (day 1) is outside the period."""
    period = Period(DAY2.date(), DAY3.date())
    assert breakdown_rows(store, "country", period, "linear", default_currency="EUR") == rows(
        ("", "USD", 1, 1, 1, 1, 1, 1.0, "10.00"),  # click 6; C
        ("DE", "EUR", 1, 1, 1, 0.5, 1, 1.0, "50.00"),  # click 5; half of A
        # click 7 (bob); B, both halves: click 2 (day 1) is American too
        ("US", "EUR", 1, 1, 1, 1, 1, 1.0, "30.00"),
        # no click in the period, so no visitor and no rate; half of A
        ("GB", "EUR", 0, 0, 0, 0.5, 1, None, "50.00"),
    )
    # days 1-2 under last touch: clicks 1-6; A and C (B is on day 3)
    period = Period(DAY1.date(), DAY2.date())
    assert breakdown_rows(store, "source", period, "last_touch", default_currency="EUR") == rows(
        ("link", "EUR", 5, 4, 2, 1, 1, 0.5, "100.00"),  # 1, 3, 4, 5, 6: ann and cat; A on 5
        ("link", "USD", 5, 4, 2, 1, 1, 0.5, "10.00"),  # C on 6
        ("qr", "EUR", 1, 1, 1, 0, 0, 0.0, "0.00"),  # bob's scan (2): B's last touch is 7
    )


def test_one_link_a_channel_and_a_goal(store):
    # spring-tw's clicks 1-4 by country, linear: US has bob's scan and the bot,
    # half of B (15.00); GB ann's click 1, half of A; "" anon, no visitor
    assert breakdown_rows(
        store, "country", model="linear", link="spring-tw", default_currency="EUR"
    ) == rows(  # fmt: skip
        ("US", "EUR", 2, 1, 1, 0.5, 1, 1.0, "15.00"),
        ("", "EUR", 1, 1, 0, 0, 0, None, "0.00"),
        ("GB", "EUR", 1, 1, 1, 0.5, 1, 1.0, "50.00"),
    )
    # twitter (spring-tw and summer-tw), last touch: B on click 7 (desktop)
    twitter = Filters(channel="Twitter")
    assert breakdown_rows(store, "device", filters=twitter, default_currency="EUR") == rows(
        ("desktop", "EUR", 2, 2, 1, 1, 1, 1.0, "30.00"),  # clicks 2, 7: bob
        ("mobile", "EUR", 2, 2, 1, 0, 0, 0.0, "0.00"),  # clicks 1, 4: ann (anon has no id)
        ("bot", "EUR", 1, 0, 0, 0, 0, None, "0.00"),
    )
    # the goal narrows conversions only: signups (C) by device
    signups = Filters(goal="signup")
    assert breakdown_rows(store, "device", filters=signups, default_currency="EUR") == rows(
        ("desktop", "EUR", 3, 3, 2, 0, 0, 0.0, "0.00"),
        ("mobile", "USD", 3, 3, 2, 1, 1, 0.5, "10.00"),
        ("bot", "EUR", 1, 0, 0, 0, 0, None, "0.00"),
    )
    # a link and a channel it is not in: nothing
    assert breakdown_rows(store, "os", link="spring-li", filters=twitter) == []
    # by link within a campaign
    summer = Filters(campaign="summer")
    assert breakdown_rows(store, "link", model="linear", filters=summer,
                          default_currency="EUR") == EXPECTED[("link", "linear")][-1:]  # fmt: skip


def test_conversions_with_no_click_are_in_no_row(store):
    """D (5.00 EUR, no click) is (direct) in the channels report and here
    in no row: every row's revenue adds up to A + B + C."""
    for by in ("country", "channel", "link"):
        found = breakdown_rows(store, by, model="linear")
        eur = sum(float(r["revenue"]) for r in found if r["currency"] == "EUR")
        assert eur == 130.0, by  # 100.00 + 30.00, not 135.00


def test_bad_by_model_and_link_are_refused(store):
    with pytest.raises(BreakdownError) as e:
        breakdown_rows(store, "city")
    assert e.value.field == "by"
    with pytest.raises(BreakdownError) as e:
        breakdown_rows(store, "country", model="newest")
    assert e.value.field == "model"
    with pytest.raises(BreakdownError) as e:
        breakdown_rows(store, "country", link="nope")
    assert (e.value.field, e.value.status) == ("link", 404)


# -- the API and the CLI -------------------------------------------------------


def get(client, **params):
    return client.get("/api/reports/breakdown", query_string=params, headers=AUTH)


def test_api_answers_the_rows_with_the_query(app, store):
    client = app.test_client()
    response = get(client, by="country", model="linear")
    assert response.status_code == 200
    body = response.get_json()
    assert body == {
        "report": "breakdown",
        "from": None,
        "to": None,
        "model": "linear",
        "by": "country",
        "link": None,
        "rows": EXPECTED[("country", "linear")],
    }
    cut = get(client, by="device", model="last_touch", link="spring-li", to="2026-03-02")
    # spring-li's clicks 5 (desktop, ann) and 6 (mobile, cat) by day 2: A and C
    assert cut.get_json()["rows"] == rows(
        ("desktop", "EUR", 1, 1, 1, 1, 1, 1.0, "100.00"),
        ("mobile", "USD", 1, 1, 1, 1, 1, 1.0, "10.00"),
    )
    assert (cut.get_json()["to"], cut.get_json()["link"]) == ("2026-03-02", "spring-li")


@pytest.mark.parametrize("by", ["referrer", "source", "channel"])
def test_csv_equals_json(app, store, by):
    client = app.test_client()
    json_rows = get(client, by=by, model="linear").get_json()["rows"]
    response = get(client, by=by, model="linear", format="csv")
    assert response.mimetype == "text/csv"
    assert f'filename="breakdown-{by}.csv"' in response.headers["Content-Disposition"]
    parsed = list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))
    assert list(parsed[0]) == COLUMNS

    def as_text(value):
        return "" if value is None else str(value)

    assert parsed == [{k: as_text(v) for k, v in row.items()} for row in json_rows]


@pytest.mark.parametrize(
    "params, status, field",
    [
        ({"by": "city"}, 400, "by"),
        ({}, 400, "by"),
        ({"by": "country", "model": "newest"}, 400, "model"),
        ({"by": "country", "from": "March"}, 400, "from"),
        ({"by": "country", "from": "2026-03-05", "to": "2026-03-01"}, 400, "from"),
        ({"by": "country", "format": "xml"}, 400, "format"),
        ({"by": "country", "link": "nope"}, 404, "link"),
    ],
)
def test_api_refuses_bad_parameters_naming_them(app, store, params, status, field):
    response = get(app.test_client(), **params)
    assert response.status_code == status
    assert response.get_json()["field"] == field
    assert response.get_json()["error"]


def test_api_needs_the_key(app, store):
    assert app.test_client().get("/api/reports/breakdown?by=country").status_code == 401


def test_cli_prints_the_same_rows(app, store):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["report", "breakdown", "--by", "browser", "--model", "linear"])
    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.output.splitlines()]
    assert printed == EXPECTED[("browser", "linear")]
    result = runner.invoke(args=["report", "breakdown", "--by", "os", "--link", "spring-li",
                                 "--csv", "-"])  # fmt: skip
    assert result.output.splitlines()[0] == ",".join(COLUMNS)
    # clicks 5 (ann, Windows: A) and 6 (cat, Android: C); a tie, so by value
    assert result.output.splitlines()[1:] == [
        "Android,USD,1,1,1,1,1,1.0,10.00",
        "Windows,EUR,1,1,1,1,1,1.0,100.00",
    ]
    bad = runner.invoke(args=["report", "breakdown", "--by", "city"])
    assert bad.exit_code != 0
    unknown = runner.invoke(args=["report", "breakdown", "--by", "os", "--link", "nope"])
    assert unknown.exit_code != 0 and "link" in unknown.output
