"""A link's page, "Where the clicks come from": human clicks per country,
device, browser, OS, referrer and source as ranked bars with the
conversions and revenue credited to them, worked out by hand.

The log of link `promo` (30 human clicks, one bot; each letter-number is a
visitor; all on 1 March 2026 unless said otherwise):

  visitors        country  device / browser / OS            referrer          source
  d1              DE       mobile / Mobile Safari / iOS      t.co              link
  d2-d6           DE       desktop / Chrome / Windows        (none)            link
  (a bot)         DE       bot                               (none)            link
  f1 (first)      FR       desktop / Chrome / Windows        www.linkedin.com  link
  f1 (2 March)    FR       mobile / Mobile Safari / iOS      t.co              link
  f2-f5           FR       desktop / Chrome / Windows        (none)            link
  u1, u2          US       mobile / Chrome Mobile / Android  t.co              qr
  u3, u4          US       mobile / Chrome Mobile / Android  t.co              link
  g1-g3, j1-j3    GB, JP   desktop / Chrome / Windows        (none)            link
  a1-a2, b1-b2    AU, BR   desktop / Chrome / Windows        (none)            link
  c1 (10 March)   CA       desktop / Chrome / Windows        (none)            link
  e1, i1          ES, IT   desktop / Chrome / Windows        (none)            link
  n1              NL       desktop / Chrome / Windows        (none)            qr

Another link has three clicks from Germany, in no figure here.

Conversions (2 March): d1 buys for 100.00 EUR; f1 buys for 30.00 EUR and
for 12.50 USD (both after its two clicks); u1 and i1 sign up (no value);
n1 buys for 20.00 EUR.

Last touch credits each to the visitor's only click, and f1's to its
2 March click (mobile, t.co). Linear splits f1's two between its clicks:
half (15.00 EUR, 6.25 USD, 1 conversion) to each.
"""

import html
import re
from datetime import UTC, date, datetime

import pytest

from conftest import app_config
from conversions.breakdown import ALL_TIME, breakdown_rows
from conversions.reports import Period
from dashboard.link_breakdowns import ranked
from dashboard_support import convert, insert_link, signed_in
from shortener import create_app
from shortener.app import init_db
from shortener.clicks import Agent, record_click
from shortener.db import connect

IPHONE = Agent("mobile", "Mobile Safari", "iOS", False)
DESKTOP = Agent("desktop", "Chrome", "Windows", False)
ANDROID = Agent("mobile", "Chrome Mobile", "Android", False)
BOT = Agent("bot", "FacebookBot", "Other", True)
MARCH1 = datetime(2026, 3, 1, 8, tzinfo=UTC)
MARCH2 = datetime(2026, 3, 2, 9, tzinfo=UTC)
MARCH10 = datetime(2026, 3, 10, 9, tzinfo=UTC)
TCO = "https://t.co/abc"


def clicks_of_promo():
    """(visitor, country, agent, referrer, source, moment) per click."""
    # visitors per country: d1-d6 in DE, f1-f5 in FR, ...
    sizes = {"d": ("DE", 6), "f": ("FR", 5), "g": ("GB", 3), "j": ("JP", 3), "a": ("AU", 2),
             "b": ("BR", 2), "e": ("ES", 1), "i": ("IT", 1), "n": ("NL", 1)}  # fmt: skip
    rows = []
    for letter, (country, size) in sizes.items():
        for n in range(1, size + 1):
            visitor = f"{letter}{n}"
            if visitor == "d1":
                rows.append((visitor, country, IPHONE, TCO, None, MARCH1))
            elif visitor == "f1":
                linkedin = "https://www.linkedin.com/feed/"
                rows.append((visitor, country, DESKTOP, linkedin, None, MARCH1))
                rows.append((visitor, country, IPHONE, TCO, None, MARCH2))
            else:
                source = "qr" if visitor == "n1" else None
                rows.append((visitor, country, DESKTOP, None, source, MARCH1))
    for n in range(1, 5):
        rows.append((f"u{n}", "US", ANDROID, TCO, "qr" if n <= 2 else None, MARCH1))
    rows.append(("c1", "CA", DESKTOP, None, None, MARCH10))
    rows.append((None, "DE", BOT, None, None, MARCH1))
    return rows


def seed(path: str) -> None:
    db = connect(path)
    try:
        promo = insert_link(db, "promo", "twitter", "spring")
        other = insert_link(db, "other", "twitter", "spring")
        for visitor, country, agent, referrer, source, moment in clicks_of_promo():
            record_click(db, link_id=promo, visitor_id=visitor, now=moment, agent=agent,
                         is_bot=agent.is_bot, referrer=referrer, source=source,
                         country=country)  # fmt: skip
        for n in range(3):
            record_click(db, link_id=other, visitor_id=f"x{n}", now=MARCH1, agent=DESKTOP,
                         is_bot=False, country="DE")  # fmt: skip
        noon = "2026-03-02T12:00:00"
        convert(db, "purchase", "d1", noon, 10_000, "EUR", "O-1")
        convert(db, "purchase", "f1", noon, 3_000, "EUR", "O-2")
        convert(db, "purchase", "f1", "2026-03-02T13:00:00", 1_250, "USD", "O-3")
        convert(db, "signup", "u1", noon)
        convert(db, "signup", "i1", noon)
        convert(db, "purchase", "n1", noon, 2_000, "EUR", "O-4")
    finally:
        db.close()


@pytest.fixture
def app(tmp_path):
    config = app_config(tmp_path, DEFAULT_CURRENCY="EUR")
    init_db(config["DATABASE"])
    seed(config["DATABASE"])
    return create_app(config)


ROW = re.compile(r"<li(?P<attrs>[^>]*)>(?P<body>.*?)</li>", re.S)


def text(fragment: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def bars(page: str, by: str) -> list[tuple]:
    """(label, clicks, conversions, revenue, bar width) per bar of one breakdown."""
    section = page.split(f'id="breakdown-{by}"', 1)[1].split("</section>", 1)[0]
    found = []
    for m in ROW.finditer(section):
        body = m["body"]
        part = {k: re.search(rf'class="bar-{k}"[^>]*>([^<]*)<', body)[1]
                for k in ("clicks", "conversions")}  # fmt: skip
        revenue = text(body.split('class="bar-revenue">', 1)[1].split("</span></span>")[0])
        width = float(re.search(r'<rect width="([0-9.]+)"', body)[1])
        label = text(re.search(r'class="bar-label">(.*?)</span>', body)[1])
        found.append((label, part["clicks"], part["conversions"], revenue, width))
    return found


def page(app, query="") -> str:
    client, _ = signed_in(app)
    response = client.get(f"/dashboard/links/promo{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_countries_top_eight_then_other_all_time_last_touch(app):
    shown = page(app, "?period=all")
    assert "Where the clicks come from" in shown
    # widths: a percentage of the widest bar (6 clicks); 3/6 = 50, 2/6 = 33.3, 1/6 = 16.7
    assert bars(shown, "country") == [
        ("Germany (DE)", "6", "1", "100.00 EUR", 100.0),  # the bot's click is not a human's
        ("France (FR)", "6", "2", "30.00 EUR 12.50 USD", 100.0),
        ("United States (US)", "4", "1", "—", 66.7),
        ("United Kingdom (GB)", "3", "0", "—", 50.0),
        ("Japan (JP)", "3", "0", "—", 50.0),
        ("Australia (AU)", "2", "0", "—", 33.3),
        ("Brazil (BR)", "2", "0", "—", 33.3),
        ("Canada (CA)", "1", "0", "—", 16.7),
        ("Other (3)", "3", "2", "20.00 EUR", 50.0),  # ES, IT and NL: i1's signup, n1's 20.00
    ]


def test_devices_browsers_systems_referrers_and_sources(app):
    shown = page(app, "?period=all")
    # mobile: d1, f1's second click, u1-u4 (6); desktop the other 24; the bot is no bar
    assert bars(shown, "device") == [
        ("Desktop", "24", "2", "20.00 EUR", 100.0),  # i1, n1
        ("Mobile", "6", "4", "130.00 EUR 12.50 USD", 25.0),  # d1, f1 twice, u1
    ]
    assert bars(shown, "browser") == [
        ("Chrome", "24", "2", "20.00 EUR", 100.0),
        ("Chrome Mobile", "4", "1", "—", 16.7),  # u1's signup
        ("Mobile Safari", "2", "3", "130.00 EUR 12.50 USD", 8.3),
    ]
    assert bars(shown, "os") == [
        ("Windows", "24", "2", "20.00 EUR", 100.0),
        ("Android", "4", "1", "—", 16.7),
        ("iOS", "2", "3", "130.00 EUR 12.50 USD", 8.3),
    ]
    assert bars(shown, "referrer") == [
        ("No referrer (typed, an app, a private link)", "23", "2", "20.00 EUR", 100.0),
        ("t.co", "6", "4", "130.00 EUR 12.50 USD", 26.1),  # 6/23
        ("www.linkedin.com", "1", "0", "—", 4.3),  # f1's first click: last touch is the second
    ]
    assert bars(shown, "source") == [
        ("Link", "27", "4", "130.00 EUR 12.50 USD", 100.0),  # d1, f1 twice, i1
        ("QR code", "3", "2", "20.00 EUR", 11.1),  # u1, n1
    ]


def test_linear_splits_f1s_conversions_between_its_two_clicks(app):
    shown = page(app, "?period=all&model=linear")
    assert bars(shown, "device") == [
        ("Desktop", "24", "3", "35.00 EUR 6.25 USD", 100.0),  # i1, n1, half of f1's two
        ("Mobile", "6", "3", "115.00 EUR 6.25 USD", 25.0),  # d1, u1, the other half
    ]
    assert bars(shown, "referrer")[1:] == [
        ("t.co", "6", "3", "115.00 EUR 6.25 USD", 26.1),
        ("www.linkedin.com", "1", "1", "15.00 EUR 6.25 USD", 4.3),
    ]
    assert "linear attribution" in shown


def test_a_period_leaves_out_the_clicks_outside_it(app):
    shown = page(app, "?from=2026-03-01&to=2026-03-05")
    countries = bars(shown, "country")
    assert [c[0] for c in countries] == [
        "Germany (DE)", "France (FR)", "United States (US)", "United Kingdom (GB)",
        "Japan (JP)", "Australia (AU)", "Brazil (BR)", "Spain (ES)", "Other (2)",
    ]  # fmt: skip
    assert countries[-1] == ("Other (2)", "2", "2", "20.00 EUR", 33.3)  # IT, NL
    assert bars(shown, "device")[0][:2] == ("Desktop", "23")  # c1 (10 March) is outside


def test_a_period_without_clicks_says_so(app):
    shown = page(app, "?from=2025-01-01&to=2025-01-31")
    assert bars(shown, "country") == []
    assert shown.count("No clicks in this period.") == 6


def test_ranked_without_other_when_there_are_few_values():
    entries = [{"value": "DE", "clicks": 4, "conversions": 1, "revenue": {}},
               {"value": "", "clicks": 1, "conversions": 0, "revenue": {}}]  # fmt: skip
    rows = ranked("country", entries)
    assert [(r["label"], r["width"]) for r in rows] == [("Germany (DE)", 100.0), ("Unknown", 25.0)]


@pytest.mark.parametrize("by", ["country", "device", "browser", "os", "referrer", "source",
                                "post", "link", "campaign", "channel"])  # fmt: skip
@pytest.mark.parametrize("model", ["last_touch", "linear"])
def test_skipping_visitor_counts_leaves_every_other_figure_the_same(app, by, model):
    db = connect(app.config["DATABASE"])
    try:
        march_first = Period(date(2026, 3, 1), date(2026, 3, 1))
        for link, period in (("promo", ALL_TIME), (None, ALL_TIME), ("promo", march_first)):
            full = breakdown_rows(db, by, period, model=model, link=link)
            quick = breakdown_rows(db, by, period, model=model, link=link, visitors=False)
            visitor_columns = ("unique_visitors", "converted_visitors", "conversion_rate")
            assert [{k: v for k, v in r.items() if k not in visitor_columns} for r in full] == [
                {k: v for k, v in r.items() if k not in visitor_columns} for r in quick
            ]
            assert all(r[k] is None for r in quick for k in visitor_columns)
            assert full  # the data has rows for every breakdown
    finally:
        db.close()


def test_the_breakdown_bars_use_no_inline_style(app):
    """The dashboard's CSP forbids inline styles: widths are SVG attributes."""
    shown = page(app, "?period=all")
    section = shown.split('id="link-breakdowns"', 1)[1].split('aria-labelledby="posts-title"')[0]
    assert "style=" not in section
    assert section.count("<svg") == 9 + 2 + 3 + 3 + 3 + 2


def test_the_link_page_at_all_time_adds_up_to_the_links_human_clicks(app):
    shown = page(app, "?period=all")
    assert re.search(r'id="link-clicks">30<', shown)
    for by in ("country", "device", "browser", "os", "referrer", "source"):
        assert sum(int(b[1]) for b in bars(shown, by)) == 30


def test_march_the_first_alone(app):
    """One day: only f1's 2 March click and c1's 10 March click are left
    out; the conversions (2 March) are outside it too."""
    shown = page(app, "?from=2026-03-01&to=2026-03-01")
    devices = bars(shown, "device")
    assert devices == [("Desktop", "23", "0", "—", 100.0), ("Mobile", "5", "0", "—", 21.7)]
