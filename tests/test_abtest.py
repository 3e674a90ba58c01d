"""The A/B report and ending a test, on a hand-worked story."""

import csv
import io
import json
import math
from datetime import UTC, datetime, timedelta

import pytest

from conftest import AUTH, browser, make_link
from conversions.intake import Conversion, Policy, record_conversion
from shortener.clicks import Agent, record_click

HUMAN = Agent("desktop", "Chrome", "Windows", False)
T0 = datetime(2026, 4, 1, 9, tzinfo=UTC)
DESTINATIONS = [
    {"name": "A", "url": "https://shop.example.com/a", "weight": 1},
    {"name": "B", "url": "https://shop.example.com/b", "weight": 1},
]


def click(db, link_id, visitor, variant, when):
    record_click(db, link_id=link_id, visitor_id=visitor, now=when, agent=HUMAN, is_bot=False,
                 variant=variant)  # fmt: skip


def buy(db, visitor, when, cents, order):
    conversion = Conversion(goal="purchase", source="webhook", occurred_at=when, received_at=when,
                            value_minor=cents, currency="EUR", order_id=order,
                            visitor_id=visitor)  # fmt: skip
    record_conversion(db, conversion, Policy(window_days=30))


@pytest.fixture
def story(client, db):
    """A: a1..a4 (a1 clicks twice), a1 buys 10.00. B: b1..b5; b1 buys 20.00,
    b2 buys 5.01 and then 4.99. A visitor with no cookie (opted out) and a
    click on another link are not in the test."""
    link = make_link(client, code="landing", destinations=DESTINATIONS)
    other = make_link(client, code="other")
    ids = dict(db.execute("SELECT code, id FROM links").fetchall())
    for n in range(1, 5):
        click(db, ids["landing"], f"a{n}", "A", T0 + timedelta(minutes=n))
    click(db, ids["landing"], "a1", "A", T0 + timedelta(hours=2))
    for n in range(1, 6):
        click(db, ids["landing"], f"b{n}", "B", T0 + timedelta(minutes=n))
    click(db, ids["landing"], None, "B", T0)
    click(db, ids["other"], "c1", None, T0)
    buy(db, "a1", T0 + timedelta(hours=3), 1000, "o1")
    buy(db, "b1", T0 + timedelta(hours=3), 2000, "o2")
    buy(db, "b2", T0 + timedelta(hours=3), 501, "o3")
    buy(db, "b2", T0 + timedelta(hours=4), 499, "o4")
    buy(db, "c1", T0 + timedelta(hours=3), 9999, "o5")  # the other link's
    return link, other


def test_the_report_per_variant_hand_worked(client, story):
    body = client.get("/api/links/landing/ab", headers=AUTH).get_json()
    assert (body["status"], body["control"], body["model"]) == ("running", "A", "last_touch")
    a, b = body["rows"]
    # A: 4 visitors, a1's one purchase: 1 of 4 = 0.25; 10.00 / 4 = 2.50 per visitor
    assert (a["variant"], a["visitors"], a["conversions"], a["converted_visitors"]) == (
        "A",
        4,
        1,
        1,
    )
    assert (a["conversion_rate"], a["revenue"], a["revenue_per_visitor"]) == (0.25, "10.00", "2.50")
    assert a["verdict"] is None  # the control
    # B: 5 visitors, 3 purchases by b1 and b2: 2 of 5 = 0.4; 20.00 + 5.01 + 4.99 = 30.00,
    # 6.00 per visitor
    assert (b["visitors"], b["conversions"], b["converted_visitors"]) == (5, 3, 2)
    assert (b["conversion_rate"], b["revenue"], b["revenue_per_visitor"]) == (0.4, "30.00", "6.00")
    # B against A: 0.40 - 0.25 = 0.15; pooled 3/9, se = sqrt(1/3 * 2/3 * (1/4 + 1/5))
    # = sqrt(0.1), z = 0.474342, p = erfc(z / sqrt 2)
    assert b["difference"] == 0.15
    assert b["p_value"] == round(math.erfc(0.15 / math.sqrt(0.1) / math.sqrt(2)), 6)
    assert b["difference_low"] < 0 < b["difference_high"]
    # too few to tell: 152 visitors per variant would detect 25 % vs 40 % (see test_stats)
    assert (b["verdict"], b["needed_per_variant"]) == ("not yet", 152)


def test_csv_and_cli_give_the_same_rows(client, runner, story):
    response = client.get("/api/links/landing/ab?format=csv", headers=AUTH)
    assert response.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["variant"], r["visitors"], r["revenue"]) for r in table] == [
        ("A", "4", "10.00"),
        ("B", "5", "30.00"),
    ]
    out = runner.invoke(args=["report", "ab", "landing", "--csv", "-"])
    assert out.exit_code == 0, out.output
    assert out.output == response.get_data(as_text=True).replace("\r\n", "\n")
    printed = runner.invoke(args=["report", "ab", "landing"])
    assert [json.loads(line)["variant"] for line in printed.output.splitlines()] == ["A", "B"]
    missing = runner.invoke(args=["report", "ab", "nope"])
    assert missing.exit_code != 0 and "no link with code 'nope'" in missing.output


def test_ending_the_test_keeps_the_winner_and_the_history(app, client, db, story):
    refused = client.post("/api/links/landing/ab/end", json={"variant": "C"}, headers=AUTH)
    assert (refused.status_code, refused.get_json()["field"]) == (400, "variant")
    ended = client.post("/api/links/landing/ab/end", json={"variant": "B"}, headers=AUTH)
    assert ended.get_json() == {"winner": "B", "url": "https://shop.example.com/b"}
    link = client.get("/api/links/landing", headers=AUTH).get_json()
    assert (link["url"], link["destinations"]) == ("https://shop.example.com/b", [])
    hop = browser(app).get("/landing")
    assert hop.headers["Location"].startswith("https://shop.example.com/b?")
    assert db.execute("SELECT variant FROM clicks ORDER BY id DESC LIMIT 1").fetchone()[0] is None
    body = client.get("/api/links/landing/ab", headers=AUTH).get_json()
    assert body["status"] == "ended"
    assert [r["visitors"] for r in body["rows"]] == [4, 5]  # the test's figures stay
    [past] = body["history"]
    assert (past["winner"], past["previous_url"]) == ("B", "https://shop.example.com/sale")
    assert [d["name"] for d in past["destinations"]] == ["A", "B"]
    again = client.post("/api/links/landing/ab/end", json={"variant": "B"}, headers=AUTH)
    assert again.status_code == 409


def test_a_link_without_a_test(client):
    make_link(client, code="plain")
    body = client.get("/api/links/plain/ab", headers=AUTH).get_json()
    assert (body["status"], body["rows"]) == ("none", [])
    bad = client.post("/api/links/plain/ab/end", json={"variant": "A", "x": 1}, headers=AUTH)
    assert (bad.status_code, bad.get_json()["field"]) == (400, "x")
    assert client.get("/api/links/plain/ab?format=xml", headers=AUTH).status_code == 400


def test_through_real_redirects_and_the_pixel(app, client):
    make_link(client, code="live", destinations=DESTINATIONS)
    people = [browser(app) for _ in range(12)]
    landed = {}
    for n, person in enumerate(people):
        landed[n] = person.get("/live").headers["Location"].split("?")[0][-1]
        pixel = person.get(f"/t/pixel.gif?goal=purchase&value=1.00&currency=EUR&order_id=p{n}")
        assert pixel.status_code == 200
    rows = {
        r["variant"]: r for r in client.get("/api/links/live/ab", headers=AUTH).get_json()["rows"]
    }
    # everyone bought once: each variant's visitors are the people it sent on
    for name in ("A", "B"):
        sent = sum(1 for v in landed.values() if v == name.lower())
        assert rows[name]["visitors"] == rows[name]["converted_visitors"] == sent
