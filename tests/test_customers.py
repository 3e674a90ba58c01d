"""Customer-level reports -- retention, tenure, cross-sell -- on the hand-built
shop (tests/shop_fixture.py), every figure worked out by hand.

Customers and their purchases (purchase or upsell), grouped by the channel
that first touched their first purchase:
  twitter   alice  a 100.00 EUR 03-15 (first touch twitter/spring #1), o 50.00 EUR 04-20
            bob    b  80.00 USD 03-05, e 20.00 USD upsell 03-20; cancels 04-10 (l)
  email     dave   d 200.00 EUR 03-09 (his save i is not a purchase)
            gina   k  40.00 EUR 04-08
  linkedin  erin   f  60.00 USD 03-21
  (control) hank   g  70.00 EUR 03-25, j 30.00 EUR 04-04   (visit pixel only)
            ivy    h  25.00 USD 03-28; cancels 04-15 (n)     (visit pixel only)
  (direct)  jack   m  15.00 EUR 04-12                        (never seen before)
carol only signed up: not a customer.
"""

import pytest
from shop_fixture import build_shop

from conftest import AUTH, BROWSER_UA, app_config, browser, make_link, post_webhook
from shortener import create_app
from shortener.app import init_db
from shortener.clicks import classify, record_click
from shortener.clock import parse_moment
from shortener.db import connect

COHORT = {"from": "2025-03-01", "to": "2025-04-30", "as_of": "2025-05-14"}
# as_of 2025-05-14: the reports look at everything before 2025-05-15T00:00Z


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return build_shop(tmp_path_factory.mktemp("shop"))


def test_retention(shop):
    # days to the second purchase: alice 03-15 -> 04-20 = 16 + 20 = 36; bob 03-05 -> 03-20 = 15;
    # hank 03-25 -> 04-04 = 10.
    # eligible for N days: first purchase + N days <= 05-15 00:00:
    #   30: everyone (the latest first purchase, jack 04-12 + 30 = 05-12)
    #   60: alice 05-14 12:00, bob 05-04, dave 05-08 yes; erin 05-20, gina, hank 05-24, ivy,
    #       jack no
    #   90: nobody (bob, the earliest, + 90 = 06-03)
    rows = shop.rows("retention", **COHORT)
    assert rows == [
        {"channel": "email", "customers": 2, "repeat_customers": 0,
         "eligible_30": 2, "retained_30": 0, "retention_30": 0.0,
         "eligible_60": 1, "retained_60": 0, "retention_60": 0.0,  # dave
         "eligible_90": 0, "retained_90": 0, "retention_90": None,
         "median_days_to_second_purchase": None},
        {"channel": "linkedin", "customers": 1, "repeat_customers": 0,
         "eligible_30": 1, "retained_30": 0, "retention_30": 0.0,
         "eligible_60": 0, "retained_60": 0, "retention_60": None,
         "eligible_90": 0, "retained_90": 0, "retention_90": None,
         "median_days_to_second_purchase": None},
        # bob again after 15 days (within 30), alice after 36 (within 60, not 30);
        # median of 15 and 36 = 25.5
        {"channel": "twitter", "customers": 2, "repeat_customers": 2,
         "eligible_30": 2, "retained_30": 1, "retention_30": 0.5,
         "eligible_60": 2, "retained_60": 2, "retention_60": 1.0,
         "eligible_90": 0, "retained_90": 0, "retention_90": None,
         "median_days_to_second_purchase": 25.5},
        {"channel": "(direct)", "customers": 1, "repeat_customers": 0,
         "eligible_30": 1, "retained_30": 0, "retention_30": 0.0,
         "eligible_60": 0, "retained_60": 0, "retention_60": None,
         "eligible_90": 0, "retained_90": 0, "retention_90": None,
         "median_days_to_second_purchase": None},
        # hank again after 10 days; ivy never
        {"channel": "(control)", "customers": 2, "repeat_customers": 1,
         "eligible_30": 2, "retained_30": 1, "retention_30": 0.5,
         "eligible_60": 0, "retained_60": 0, "retention_60": None,
         "eligible_90": 0, "retained_90": 0, "retention_90": None,
         "median_days_to_second_purchase": 10.0},
    ]  # fmt: skip


def test_retention_cohort_and_channel_filter(shop):
    # cohort of first purchases 03-01..03-10: bob (03-05), dave (03-09); twitter only: bob
    rows = shop.rows(
        "retention",
        channel="twitter",
        **{"from": "2025-03-01", "to": "2025-03-10", "as_of": "2025-05-14"},
    )
    assert [(r["channel"], r["customers"], r["repeat_customers"], r["retention_30"],
             r["median_days_to_second_purchase"]) for r in rows] == [
        ("twitter", 1, 1, 1.0, 15.0)
    ]  # fmt: skip


def test_tenure(shop):
    # tenure from the first purchase to a cancel, or to 05-15 00:00 for active customers
    # (censored):
    #   twitter  alice 03-15 12:00 -> 05-15 = 31 + 30 - 0.5 = 60.5 active; bob 03-05 -> 04-10
    #            = 26 + 10 = 36 churned. Kaplan-Meier: at 36, 2 at risk, 1 churns: S = 1/2
    #            -> median 36
    #   email    dave 03-09 12:00 -> 05-15 = 22 + 30 + 14.5 = 66.5, gina 04-08 12:00 -> 36.5,
    #            both active: S stays 1, the median is at least the longest, 66.5
    #   linkedin erin 03-21 12:00 -> 05-15 = 10 + 30 + 14.5 = 54.5, active
    #   direct   jack 04-12 12:00 -> 05-15 = 18 + 14.5 = 32.5, active
    #   control  hank 03-25 12:00 -> 50.5 active; ivy 03-28 -> 04-15 = 3 + 15 = 18 churned:
    #            at 18, 2 at risk, 1 churns: S = 1/2 -> median 18
    rows = shop.rows("tenure", **COHORT)
    assert rows == [
        {"channel": "email", "customers": 2, "active": 2, "churned": 0,
         "median_tenure_days": None, "median_tenure_at_least_days": 66.5},
        {"channel": "linkedin", "customers": 1, "active": 1, "churned": 0,
         "median_tenure_days": None, "median_tenure_at_least_days": 54.5},
        {"channel": "twitter", "customers": 2, "active": 1, "churned": 1,
         "median_tenure_days": 36.0, "median_tenure_at_least_days": None},
        {"channel": "(direct)", "customers": 1, "active": 1, "churned": 0,
         "median_tenure_days": None, "median_tenure_at_least_days": 32.5},
        {"channel": "(control)", "customers": 2, "active": 1, "churned": 1,
         "median_tenure_days": 18.0, "median_tenure_at_least_days": None},
    ]  # fmt: skip


def test_tenure_as_of_an_earlier_day_ignores_later_cancels(shop):
    # as_of 04-12: everything before 04-13 00:00. ivy's cancel (04-15) has not happened yet.
    #   twitter  alice 03-15 12:00 -> 04-13 = 16 + 12.5 = 28.5 active; bob churned at 36.
    #            KM: 28.5 censored leaves bob alone at risk; at 36 he churns: S = 0 -> 36
    #   email    dave 03-09 12:00 -> 04-13 = 34.5, gina 04-08 12:00 -> 4.5: at least 34.5
    #   linkedin erin 03-21 12:00 -> 22.5;  direct jack 04-12 12:00 -> 0.5
    #   control  hank 03-25 12:00 -> 18.5, ivy 03-28 12:00 -> 15.5, both active
    rows = shop.rows("tenure", **{"from": "2025-03-01", "to": "2025-04-12", "as_of": "2025-04-12"})
    assert [(r["channel"], r["active"], r["churned"], r["median_tenure_days"],
             r["median_tenure_at_least_days"]) for r in rows] == [
        ("email", 2, 0, None, 34.5),
        ("linkedin", 1, 0, None, 22.5),
        ("twitter", 1, 1, 36.0, None),
        ("(direct)", 1, 0, None, 0.5),
        ("(control)", 2, 0, None, 18.5),
    ]  # fmt: skip


def test_cross_sell(shop):
    rows = shop.rows("cross-sell", **COHORT)
    assert rows == [
        # dave 200 + gina 40 = 240.00, one purchase each
        {"channel": "email", "currency": "EUR", "customers": 2, "purchases": 2,
         "purchases_per_customer": 1.0, "revenue": "240.00", "revenue_per_customer": "120.00",
         "upsell_revenue": "0.00", "upsell_share": 0.0, "repeat_revenue": "0.00",
         "repeat_share": 0.0},
        {"channel": "linkedin", "currency": "USD", "customers": 1, "purchases": 1,
         "purchases_per_customer": 1.0, "revenue": "60.00", "revenue_per_customer": "60.00",
         "upsell_revenue": "0.00", "upsell_share": 0.0, "repeat_revenue": "0.00",
         "repeat_share": 0.0},
        # alice: 100 + 50 = 150.00, the 50.00 a repeat purchase: 50 / 150 = 0.333333
        {"channel": "twitter", "currency": "EUR", "customers": 1, "purchases": 2,
         "purchases_per_customer": 2.0, "revenue": "150.00", "revenue_per_customer": "150.00",
         "upsell_revenue": "0.00", "upsell_share": 0.0, "repeat_revenue": "50.00",
         "repeat_share": round(50 / 150, 6)},
        # bob: 80 + upsell 20 = 100.00; the upsell is also his repeat purchase: 20 / 100
        {"channel": "twitter", "currency": "USD", "customers": 1, "purchases": 2,
         "purchases_per_customer": 2.0, "revenue": "100.00", "revenue_per_customer": "100.00",
         "upsell_revenue": "20.00", "upsell_share": 0.2, "repeat_revenue": "20.00",
         "repeat_share": 0.2},
        {"channel": "(direct)", "currency": "EUR", "customers": 1, "purchases": 1,
         "purchases_per_customer": 1.0, "revenue": "15.00", "revenue_per_customer": "15.00",
         "upsell_revenue": "0.00", "upsell_share": 0.0, "repeat_revenue": "0.00",
         "repeat_share": 0.0},
        # hank: 70 + 30 = 100.00, repeat 30 / 100
        {"channel": "(control)", "currency": "EUR", "customers": 1, "purchases": 2,
         "purchases_per_customer": 2.0, "revenue": "100.00", "revenue_per_customer": "100.00",
         "upsell_revenue": "0.00", "upsell_share": 0.0, "repeat_revenue": "30.00",
         "repeat_share": 0.3},
        {"channel": "(control)", "currency": "USD", "customers": 1, "purchases": 1,
         "purchases_per_customer": 1.0, "revenue": "25.00", "revenue_per_customer": "25.00",
         "upsell_revenue": "0.00", "upsell_share": 0.0, "repeat_revenue": "0.00",
         "repeat_share": 0.0},
    ]  # fmt: skip


def test_cross_sell_as_of_before_the_repeat_purchase(shop):
    # as_of 04-19: alice's second purchase (04-20) is not seen yet
    rows = shop.rows(
        "cross-sell",
        channel="twitter",
        **{"from": "2025-03-01", "to": "2025-04-19", "as_of": "2025-04-19"},
    )
    assert [(r["currency"], r["purchases"], r["revenue"], r["repeat_share"]) for r in rows] == [
        ("EUR", 1, "100.00", 0.0),
        ("USD", 2, "100.00", 0.2),
    ]


def test_a_customer_without_customer_id_is_their_visitor(tmp_path):
    # two pixel-less webhook purchases by visitor v-zoe without a customer id, 10 days apart,
    # after one click on a twitter link: one customer (the visitor), who bought again after 10
    config = app_config(tmp_path)
    init_db(config["DATABASE"])
    app = create_app(config)
    client = browser(app)
    make_link(client, channel="twitter", campaign="x", code="zoe-link")
    db = connect(config["DATABASE"])

    link_id = db.execute("SELECT id FROM links WHERE code = 'zoe-link'").fetchone()[0]
    record_click(db, link_id=link_id, visitor_id="v-zoe", now=parse_moment("2025-06-01T09:00"),
                 agent=classify(BROWSER_UA), is_bot=False)  # fmt: skip
    db.close()
    for n, day in enumerate(["2025-06-01", "2025-06-11"]):
        response = post_webhook(client, {"goal": "purchase", "value": "10.00", "currency": "EUR",
                                         "visitor_id": "v-zoe", "occurred_at": f"{day}T10:00:00Z"},
                                msg_id=f"zoe-{n}")  # fmt: skip
        assert response.status_code == 201
    response = client.get("/api/reports/retention", headers=AUTH,
                          query_string={"from": "2025-06-01", "as_of": "2025-08-01"})  # fmt: skip
    rows = response.get_json()["rows"]
    assert [
        (r["channel"], r["customers"], r["retained_30"], r["median_days_to_second_purchase"])
        for r in rows
    ] == [("twitter", 1, 1, 10.0)]
    roi = client.get("/api/reports/roi", headers=AUTH, query_string={"from": "2025-06-01"})
    # one new customer (her first purchase), two conversions, revenue 20.00
    assert [(r["channel"], r["new_customers"], r["conversions"], r["revenue"])
            for r in roi.get_json()["rows"]] == [("twitter", 1, 2, "20.00")]  # fmt: skip
