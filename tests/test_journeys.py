"""Journeys on the hand-built shop (tests/shop_fixture.py): one conversion's
touches with their credit under every model, and the CSV of every
conversion with its campaign history. Figures worked out by hand."""

from datetime import UTC, datetime

import pytest
from shop_fixture import build_shop

from conftest import AUTH
from conversions.privacy import apply_retention
from shortener.db import connect

T = ".000000Z"  # stored timestamps: 2025-03-01T12:00:00.000000Z


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return build_shop(tmp_path_factory.mktemp("shop"))


def credit(share, revenue):
    return {"share": share, "revenue": revenue}


def test_journey_of_a_three_touch_purchase(shop):
    # a: alice, 100.00 EUR on 03-15 12:00 after twitter/spring (03-01), email (03-08) and
    # linkedin (03-15) -- 14, 7 and 0 days before. Shares (see test_analytics):
    # linear 333334 / 333333 / 333333 ppm = 33.34 / 33.33 / 33.33; position 40/20/40 %;
    # time decay 1/7, 2/7, 4/7 -> 142857 / 285714 / 571429 ppm, 14.29 / 28.57 / 57.14
    body = shop.get(f"/api/conversions/{shop.conversions['a']}/journey").get_json()
    touches = [
        {"position": 1, "at": "2025-03-01T12:00:00.000000Z", "click_id": shop.clicks[1],
         "code": shop.codes["L1"],
         "channel": "twitter", "campaign": "spring",
         "credit": {"last_touch": credit(0, "0.00"), "first_touch": credit(1, "100.00"),
                    "linear": credit(0.333334, "33.34"),
                    "position_based": credit(0.4, "40.00"),
                    "time_decay": credit(0.142857, "14.29")}},
        {"position": 2, "at": "2025-03-08T12:00:00.000000Z", "click_id": shop.clicks[5],
         "code": shop.codes["L4"], "channel": "email", "campaign": "newsletter",
         "credit": {"last_touch": credit(0, "0.00"), "first_touch": credit(0, "0.00"),
                    "linear": credit(0.333333, "33.33"),
                    "position_based": credit(0.2, "20.00"),
                    "time_decay": credit(0.285714, "28.57")}},
        {"position": 3, "at": "2025-03-15T12:00:00.000000Z", "click_id": shop.clicks[7],
         "code": shop.codes["L3"], "channel": "linkedin", "campaign": "spring",
         "credit": {"last_touch": credit(1, "100.00"), "first_touch": credit(0, "0.00"),
                    "linear": credit(0.333333, "33.33"),
                    "position_based": credit(0.4, "40.00"),
                    "time_decay": credit(0.571429, "57.14")}},
    ]  # fmt: skip
    assert body["conversion"]["id"] == shop.conversions["a"]
    assert body["conversion"]["value"] == "100.00"
    assert body["conversion"]["currency"] == "EUR"
    assert body["conversion"]["customer_id"] == "alice"
    assert body["touch_count"] == 3
    assert body["touches"] == touches
    assert body["first_touch"] == touches[0]
    assert body["middle_touches"] == [touches[1]]
    assert body["converting_touch"] == touches[2]
    assert body["days_from_first_touch"] == 14.0  # 03-01 12:00 -> 03-15 12:00
    assert body["credit"] == {
        "last_touch": [{"channel": "linkedin", "campaign": "spring", **credit(1, "100.00")}],
        "first_touch": [{"channel": "twitter", "campaign": "spring", **credit(1, "100.00")}],
        "linear": [
            {"channel": "twitter", "campaign": "spring", **credit(0.333334, "33.34")},
            {"channel": "email", "campaign": "newsletter", **credit(0.333333, "33.33")},
            {"channel": "linkedin", "campaign": "spring", **credit(0.333333, "33.33")},
        ],
        "position_based": [
            {"channel": "twitter", "campaign": "spring", **credit(0.4, "40.00")},
            {"channel": "email", "campaign": "newsletter", **credit(0.2, "20.00")},
            {"channel": "linkedin", "campaign": "spring", **credit(0.4, "40.00")},
        ],
        "time_decay": [
            {"channel": "twitter", "campaign": "spring", **credit(0.142857, "14.29")},
            {"channel": "email", "campaign": "newsletter", **credit(0.285714, "28.57")},
            {"channel": "linkedin", "campaign": "spring", **credit(0.571429, "57.14")},
        ],
    }


def test_journey_of_two_clicks_on_one_link(shop):
    # f: erin clicked linkedin/spring twice (03-20 12:00 and 13:00) and bought the next noon:
    # two touches, the link gets the whole conversion under every model
    body = shop.get(f"/api/conversions/{shop.conversions['f']}/journey").get_json()
    assert [t["at"] for t in body["touches"]] == [
        "2025-03-20T12:00:00.000000Z",
        "2025-03-20T13:00:00.000000Z",
    ]
    assert body["middle_touches"] == []
    assert body["days_from_first_touch"] == 1.0
    # last touch: the 13:00 click; first touch: the 12:00 click; linear 1/2 each of 60.00
    assert [t["credit"]["last_touch"] for t in body["touches"]] == [
        credit(0, "0.00"),
        credit(1, "60.00"),
    ]
    assert [t["credit"]["linear"] for t in body["touches"]] == [
        credit(0.5, "30.00"),
        credit(0.5, "30.00"),
    ]
    for model in ("last_touch", "first_touch", "linear", "position_based", "time_decay"):
        assert body["credit"][model] == [
            {"channel": "linkedin", "campaign": "spring", **credit(1, "60.00")}
        ]


def test_journey_of_a_direct_conversion(shop):
    body = shop.get(f"/api/conversions/{shop.conversions['o']}/journey").get_json()
    # o: alice's second purchase 04-20; her clicks are 36-50 days old, outside the window
    assert body["touch_count"] == 0
    assert body["touches"] == body["middle_touches"] == []
    assert body["first_touch"] is None and body["converting_touch"] is None
    assert body["days_from_first_touch"] is None
    assert body["credit"]["last_touch"] == [
        {"channel": "(direct)", "campaign": None, **credit(1, "50.00")}
    ]


def test_journey_of_an_unknown_conversion_is_404_json(shop):
    response = shop.client.get("/api/conversions/9999/journey", headers=AUTH)
    assert response.status_code == 404
    assert response.get_json()["field"] == "id"
    assert shop.client.get("/api/conversions/1/journey").status_code == 401


def journey_row(letter, shop, occurred, goal, value, currency, who, customer, touches,
                first=None, middle="", last=None, days=None):  # fmt: skip
    first = first or (None, "(direct)", None)
    last = last or (None, "(direct)", None)
    return {
        "conversion_id": shop.conversions[letter], "occurred_at": occurred + T, "goal": goal,
        "value": value, "currency": currency, "visitor_id": f"v-{who}", "customer_id": customer,
        "touches": touches, "first_touch_at": first[0], "first_touch_channel": first[1],
        "first_touch_campaign": first[2], "middle_touches": middle,
        "converting_touch_at": last[0], "converting_touch_channel": last[1],
        "converting_touch_campaign": last[2], "days_from_first_touch": days,
    }  # fmt: skip


def test_journeys_report_lists_every_conversion_with_its_history(shop):
    s = shop
    tw1 = ("2025-03-01T12:00:00" + T, "twitter", "spring")
    tw3 = ("2025-03-03T12:00:00" + T, "twitter", "spring")
    em2 = ("2025-03-02T12:00:00" + T, "email", "newsletter")
    li4 = ("2025-03-05T12:00:00" + T, "linkedin", "spring")
    em6 = ("2025-03-12T12:00:00" + T, "email", "newsletter")
    li7 = ("2025-03-15T12:00:00" + T, "linkedin", "spring")
    li8 = ("2025-03-20T12:00:00" + T, "linkedin", "spring")
    li9 = ("2025-03-20T13:00:00" + T, "linkedin", "spring")
    tw10 = ("2025-03-30T12:00:00" + T, "twitter", "summer")
    em13 = ("2025-04-08T12:00:00" + T, "email", "newsletter")
    assert shop.rows("journeys") == [  # oldest first
        # b 03-05: bob's one click 2 days before
        journey_row("b", s, "2025-03-05T12:00:00", "purchase", "80.00", "USD", "bob", "bob",
                    1, tw3, "", tw3, 2.0),
        # d 03-09: dave's email click 7 days before
        journey_row("d", s, "2025-03-09T12:00:00", "purchase", "200.00", "EUR", "dave", "dave",
                    1, em2, "", em2, 7.0),
        # c 03-12: carol, linkedin then email; 7 days
        journey_row("c", s, "2025-03-12T12:00:00", "signup", "5.00", "EUR", "carol", None,
                    2, li4, "", em6, 7.0),
        # a 03-15: alice, twitter, email between, linkedin; 14 days
        journey_row("a", s, "2025-03-15T12:00:00", "purchase", "100.00", "EUR", "alice",
                    "alice", 3, tw1, "email/newsletter 2025-03-08T12:00:00" + T, li7, 14.0),
        # e 03-20: bob's upsell, the same click 17 days before
        journey_row("e", s, "2025-03-20T12:00:00", "upsell", "20.00", "USD", "bob", "bob",
                    1, tw3, "", tw3, 17.0),
        # f 03-21: erin's two linkedin clicks; 1 day from the first
        journey_row("f", s, "2025-03-21T12:00:00", "purchase", "60.00", "USD", "erin", "erin",
                    2, li8, "", li9, 1.0),
        journey_row("g", s, "2025-03-25T12:00:00", "purchase", "70.00", "EUR", "hank", "hank",
                    0),
        journey_row("h", s, "2025-03-28T12:00:00", "purchase", "25.00", "USD", "ivy", "ivy", 0),
        # i 04-02: dave's save after his twitter/summer click 3 days before
        journey_row("i", s, "2025-04-02T12:00:00", "save", "30.00", "EUR", "dave", "dave",
                    1, tw10, "", tw10, 3.0),
        journey_row("j", s, "2025-04-04T12:00:00", "purchase", "30.00", "EUR", "hank", "hank",
                    0),
        # k 04-08: gina bought at the moment of her click
        journey_row("k", s, "2025-04-08T12:00:00", "purchase", "40.00", "EUR", "gina", "gina",
                    1, em13, "", em13, 0.0),
        journey_row("l", s, "2025-04-10T12:00:00", "cancel", "0.00", "USD", "bob", "bob", 0),
        journey_row("m", s, "2025-04-12T12:00:00", "purchase", "15.00", "EUR", "jack", "jack",
                    0),
        journey_row("n", s, "2025-04-15T12:00:00", "cancel", "0.00", "USD", "ivy", "ivy", 0),
        journey_row("o", s, "2025-04-20T12:00:00", "purchase", "50.00", "EUR", "alice",
                    "alice", 0),
    ]  # fmt: skip


def test_journeys_filtered_by_a_channel_goal_and_period(shop):
    # conversions whose journey touched email: d, c, a, k; purchases among them: d, a, k;
    # in March: d, a
    rows = shop.rows("journeys", channel="email", goal="purchase", **{"to": "2025-03-31"})
    assert [r["conversion_id"] for r in rows] == [shop.conversions["d"], shop.conversions["a"]]


def test_journeys_survive_click_retention(tmp_path):
    # deleting the raw clicks (privacy retention) keeps each touch's link and order, not
    # its time; the control group still knows alice clicked (from the aggregates)
    shop = build_shop(tmp_path)
    db = connect(shop.app.config["DATABASE"])
    try:
        assert apply_retention(db, 30, datetime(2026, 1, 1, tzinfo=UTC)) == 13
    finally:
        db.close()
    body = shop.get(f"/api/conversions/{shop.conversions['a']}/journey").get_json()
    assert [(t["channel"], t["at"], t["credit"]["linear"]) for t in body["touches"]] == [
        ("twitter", None, None),
        ("email", None, None),
        ("linkedin", None, None),
    ]
    assert body["days_from_first_touch"] is None
    assert body["credit"]["linear"][0] == {
        "channel": "twitter", "campaign": "spring", **credit(0.333334, "33.34")
    }  # fmt: skip
    row = next(r for r in shop.rows("journeys") if r["conversion_id"] == shop.conversions["a"])
    got = (row["touches"], row["first_touch_channel"], row["middle_touches"])
    assert got == (3, "twitter", "email/newsletter")
    assert row["converting_touch_channel"] == "linkedin"
    control = {r["group"]: r["visitors"] for r in shop.rows("control", **{"from": "2025-03-01"})}
    assert control == {"social": 6, "non_social": 1, "control": 3}  # as before retention
    tenure = {r["channel"]: r["customers"] for r in shop.rows("tenure", as_of="2025-05-14")}
    assert tenure == {"email": 2, "linkedin": 1, "twitter": 2, "(direct)": 1, "(control)": 2}
