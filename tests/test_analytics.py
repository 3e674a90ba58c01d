"""The aggregate-based analytics reports on the hand-built shop
(tests/shop_fixture.py describes it): attribution, goals, ROI, earned
value, saves, growth and the control group. Every expected figure is
worked out by hand below from the fixture's story, never copied from the
code's output."""

import csv
import io
import math
from datetime import date

import pytest
from shop_fixture import build_shop

from conftest import AUTH

PERIOD = {"from": "2025-03-01", "to": "2025-04-30"}
MODELS = ("last_touch", "first_touch", "linear", "position_based", "time_decay")


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return build_shop(tmp_path_factory.mktemp("shop"))


# -- attribution -------------------------------------------------------------
#
# Credits of each conversion (ppm of one conversion / minor units):
#   a (alice, 100.00 EUR, touches twitter/spring 14 d, email 7 d, linkedin 0 d before):
#     last_touch     linkedin 1 / 10000
#     first_touch    twitter  1 / 10000
#     linear         1/3 each: 10^6/3 = 333333.33 -> 333334 (earliest takes the spare unit),
#                    333333, 333333; 10000/3 -> 3334, 3333, 3333
#     position_based 40/20/40 %: 400000/4000, 200000/2000, 400000/4000
#     time_decay     2^-2 : 2^-1 : 1 = 1/4 : 1/2 : 1 -> 1/7, 2/7, 4/7
#                    ppm 142857.14, 285714.29, 571428.57 -> floors sum 999999, the largest
#                    remainder (.57, linkedin) takes the unit: 142857, 285714, 571429
#                    10000/7 = 1428.57, 2857.14, 5714.29 -> floors sum 9999, largest
#                    remainder (.57, twitter): 1429, 2857, 5714
#   c (carol, 5.00 EUR signup, touches linkedin 7 d, email 0 d before):
#     last email, first linkedin, linear and position_based 1/2 each (500000 / 250),
#     time_decay 1/2 : 1 -> 1/3, 2/3: ppm 333333, 666667; 500 -> 166.67, 333.33 -> 167, 333
#   b, e (bob, twitter/spring), f (erin, two linkedin clicks), d, k (email), i (twitter/summer):
#     a single link each: the whole conversion under every model
#   g, h, j, l, m, n, o: no touch in the window -> (direct) under every model


def test_attribution_per_channel_every_model_side_by_side(shop):
    rows = shop.rows("attribution", **PERIOD)
    assert rows == [
        {
            "channel": "email", "currency": "EUR",
            # last touch: c 500 + d 20000 + k 4000 = 24500
            "conversions": 3, "revenue": "245.00",
            "last_touch_conversions": 3, "last_touch_revenue": "245.00",
            # first touch: d + k (a went to twitter, c to linkedin) = 20000 + 4000
            "first_touch_conversions": 2, "first_touch_revenue": "240.00",
            # linear: a 333333 + c 500000 + d 10^6 + k 10^6 = 2833333 ppm;
            # 3333 + 250 + 20000 + 4000 = 27583
            "linear_conversions": 2.833333, "linear_revenue": "275.83",
            # position: a 200000 + c 500000 + 2 x 10^6 = 2.7; 2000 + 250 + 24000 = 26250
            "position_based_conversions": 2.7, "position_based_revenue": "262.50",
            # time decay: a 285714 + c 666667 + 2 x 10^6 = 2952381; 2857 + 333 + 24000 = 27190
            "time_decay_conversions": 2.952381, "time_decay_revenue": "271.90",
        },
        {
            "channel": "linkedin", "currency": "EUR",
            "conversions": 1, "revenue": "100.00",  # a, last touch
            "last_touch_conversions": 1, "last_touch_revenue": "100.00",
            "first_touch_conversions": 1, "first_touch_revenue": "5.00",  # c
            # a 333333 + c 500000 = 833333; 3333 + 250 = 3583
            "linear_conversions": 0.833333, "linear_revenue": "35.83",
            # a 400000 + c 500000; 4000 + 250
            "position_based_conversions": 0.9, "position_based_revenue": "42.50",
            # a 571429 + c 333333 = 904762; 5714 + 167 = 5881
            "time_decay_conversions": 0.904762, "time_decay_revenue": "58.81",
        },
        {
            "channel": "linkedin", "currency": "USD",  # f: 60.00 under every model
            "conversions": 1, "revenue": "60.00",
            **{f"{m}_conversions": 1 for m in MODELS},
            **{f"{m}_revenue": "60.00" for m in MODELS},
        },
        {
            "channel": "twitter", "currency": "EUR",
            "conversions": 1, "revenue": "30.00",  # i (the save), last touch
            "last_touch_conversions": 1, "last_touch_revenue": "30.00",
            # a + i: 10000 + 3000
            "first_touch_conversions": 2, "first_touch_revenue": "130.00",
            # a 333334 + i 10^6; 3334 + 3000
            "linear_conversions": 1.333334, "linear_revenue": "63.34",
            # a 400000 + i; 4000 + 3000
            "position_based_conversions": 1.4, "position_based_revenue": "70.00",
            # a 142857 + i; 1429 + 3000
            "time_decay_conversions": 1.142857, "time_decay_revenue": "44.29",
        },
        {
            "channel": "twitter", "currency": "USD",  # b 80.00 + e 20.00
            "conversions": 2, "revenue": "100.00",
            **{f"{m}_conversions": 2 for m in MODELS},
            **{f"{m}_revenue": "100.00" for m in MODELS},
        },
        {
            "channel": "(direct)", "currency": "EUR",  # g 70 + j 30 + m 15 + o 50
            "conversions": 4, "revenue": "165.00",
            **{f"{m}_conversions": 4 for m in MODELS},
            **{f"{m}_revenue": "165.00" for m in MODELS},
        },
        {
            "channel": "(direct)", "currency": "USD",  # h 25 + l 0 + n 0
            "conversions": 3, "revenue": "25.00",
            **{f"{m}_conversions": 3 for m in MODELS},
            **{f"{m}_revenue": "25.00" for m in MODELS},
        },
    ]  # fmt: skip


def test_every_model_adds_up_to_all_conversions_and_revenue(shop):
    # EUR: a c d g i j k m o = 9 conversions,
    # 10000 + 500 + 20000 + 7000 + 3000 + 3000 + 4000 + 1500 + 5000 = 54000 minor units;
    # USD: b e f h l n = 6, 8000 + 2000 + 6000 + 2500 + 0 + 0 = 18500
    rows = shop.rows("attribution", **PERIOD)
    for model in MODELS:
        for currency, count, cents in (("EUR", 9, 54000), ("USD", 6, 18500)):
            mine = [r for r in rows if r["currency"] == currency]
            assert round(sum(r[f"{model}_conversions"] for r in mine), 6) == count
            total = sum(round(float(r[f"{model}_revenue"]) * 100) for r in mine)
            assert total == cents


def test_attribution_headline_follows_the_chosen_model(shop):
    rows = shop.rows("attribution", model="time_decay", channel="linkedin", **PERIOD)
    # the channel filter leaves out (direct); headline = the time-decay columns
    assert [(r["channel"], r["currency"], r["conversions"], r["revenue"]) for r in rows] == [
        ("linkedin", "EUR", 0.904762, "58.81"),
        ("linkedin", "USD", 1, "60.00"),
    ]


def test_attribution_per_campaign(shop):
    rows = shop.rows("attribution", by="campaign", model="linear", **PERIOD)
    got = [(r["channel"], r["campaign"], r["currency"], r["conversions"], r["revenue"],
            r["first_touch_conversions"], r["first_touch_revenue"]) for r in rows]  # fmt: skip
    assert got == [
        # campaign: linear (a 333333 + c 500000 + d + k) / first touch (d + k)
        ("email", "newsletter", "EUR", 2.833333, "275.83", 2, "240.00"),
        ("linkedin", "spring", "EUR", 0.833333, "35.83", 1, "5.00"),
        ("linkedin", "spring", "USD", 1, "60.00", 1, "60.00"),
        # twitter/spring: a's first touch (linear 333334 / 3334); b and e in USD
        ("twitter", "spring", "EUR", 0.333334, "33.34", 1, "100.00"),
        ("twitter", "spring", "USD", 2, "100.00", 2, "100.00"),
        ("twitter", "summer", "EUR", 1, "30.00", 1, "30.00"),  # i
        ("(direct)", None, "EUR", 4, "165.00", 4, "165.00"),
        ("(direct)", None, "USD", 3, "25.00", 3, "25.00"),
    ]


def test_attribution_of_a_cut_period_and_a_goal(shop):
    # April, purchases only. Clicks in April: frank (twitter/summer), the bot, gina (email);
    # April purchases: k (gina, email, 40.00 EUR), direct j 30 + m 15 + o 50 = 95.00 EUR.
    # twitter has clicks and no purchase: a row of zeros in the default currency (USD);
    # linkedin has neither clicks nor purchases in April: no row.
    april = {"from": "2025-04-01", "to": "2025-04-30"}
    rows = shop.rows("attribution", goal="purchase", **april)
    got = [(r["channel"], r["currency"], r["conversions"], r["revenue"]) for r in rows]
    assert got == [
        ("email", "EUR", 1, "40.00"),
        ("twitter", "USD", 0, "0.00"),
        ("(direct)", "EUR", 3, "95.00"),
    ]


# -- conversions by goal -----------------------------------------------------


def zero_goal(goal: str) -> dict:
    # a catalogue goal with no conversion: default value 0.00 in the default currency (USD)
    return {
        "goal": goal,
        "currency": "USD",
        "conversions": 0,
        "value": "0.00",
        "average_value": None,
        "catalogue_value": "0.00",
        "catalogue_currency": "USD",
    }


def test_goals_report_every_goal_with_the_value_it_carries(shop):
    rows = shop.rows("goals", **PERIOD)
    assert rows == [
        # l, n (bob's and ivy's cancels) carry no value; their currency is the default USD
        {"goal": "cancel", "currency": "USD", "conversions": 2, "value": "0.00",
         "average_value": "0.00", "catalogue_value": "0.00", "catalogue_currency": "USD"},
        zero_goal("demo_request"),
        zero_goal("download"),
        zero_goal("lead"),
        zero_goal("phone_call"),
        # a 100 + d 200 + g 70 + j 30 + k 40 + m 15 + o 50 = 505.00; 505 / 7 = 72.142.. -> 72.14
        {"goal": "purchase", "currency": "EUR", "conversions": 7, "value": "505.00",
         "average_value": "72.14", "catalogue_value": "0.00", "catalogue_currency": "USD"},
        # b 80 + f 60 + h 25 = 165.00; / 3 = 55.00
        {"goal": "purchase", "currency": "USD", "conversions": 3, "value": "165.00",
         "average_value": "55.00", "catalogue_value": "0.00", "catalogue_currency": "USD"},
        zero_goal("renewal"),  # a subscription's later invoices (Stripe)
        zero_goal("rfp"),
        {"goal": "save", "currency": "EUR", "conversions": 1, "value": "30.00",
         "average_value": "30.00", "catalogue_value": "0.00", "catalogue_currency": "USD"},
        # c took the catalogue's default value, set to 5.00 EUR in the fixture
        {"goal": "signup", "currency": "EUR", "conversions": 1, "value": "5.00",
         "average_value": "5.00", "catalogue_value": "5.00", "catalogue_currency": "EUR"},
        {"goal": "upsell", "currency": "USD", "conversions": 1, "value": "20.00",
         "average_value": "20.00", "catalogue_value": "0.00", "catalogue_currency": "USD"},
    ]  # fmt: skip


def test_goals_report_for_one_channel_under_linear(shop):
    rows = shop.rows("goals", channel="email", model="linear", goal="purchase")
    # email's linear share of purchases: a 333333 + d 10^6 + k 10^6 = 2.333333;
    # 3333 + 20000 + 4000 = 27333 -> 273.33; average 27333 / 2.333333 = 11714.14 -> 117.14
    assert rows == [
        {"goal": "purchase", "currency": "EUR", "conversions": 2.333333, "value": "273.33",
         "average_value": "117.14", "catalogue_value": "0.00", "catalogue_currency": "USD"},
    ]  # fmt: skip
    signup = shop.rows("goals", channel="email", model="linear", goal="signup")
    # c: half of 5.00 -> 0.5 conversions, 2.50; average 2.50 / 0.5 = 5.00
    assert [(r["conversions"], r["value"], r["average_value"]) for r in signup] == [
        (0.5, "2.50", "5.00")
    ]


# -- cost and return ---------------------------------------------------------
#
# Costs on 03-01..04-30: C1 310.00 + C2 100.00 (twitter EUR), C3 93.00 (linkedin USD),
# C4 100.00 (email EUR, all 61 days), C5 50.00 (twitter/summer USD),
# C6 email labor 1.00 a day, 04-21..04-30 inside = 10 days = 10.00 EUR.
# New customers (first purchase in the period, last touch of that purchase):
#   alice a -> linkedin EUR, bob b -> twitter USD, dave d -> email EUR, erin f -> linkedin USD,
#   gina k -> email EUR, hank g -> direct EUR, ivy h -> direct USD, jack m -> direct EUR.

ROI_KEYS = [
    "cost",
    "labor_cost",
    "platform_cost",
    "ads_cost",
    "other_cost",
    "conversions",
    "cost_per_conversion",
    "revenue",
    "new_customers",
    "cac",
    "roi_percent",
    "romi",
]


# cost, labor, platform, ads, other cost of a row with no cost entered
NO_COST = (None, None, None, None, None)


def roi(*values):
    return dict(zip(ROI_KEYS, values, strict=True))


def test_roi_per_channel(shop):
    rows = shop.rows("roi", **PERIOD)
    got = {(r["channel"], r["currency"]): {k: r[k] for k in ROI_KEYS} for r in rows}
    assert list(got) == [("email", "EUR"), ("linkedin", "EUR"), ("linkedin", "USD"),
                         ("twitter", "EUR"), ("twitter", "USD"), ("(direct)", "EUR"),
                         ("(direct)", "USD")]  # fmt: skip
    # email EUR: cost 100.00 + 10.00 = 110.00; conversions c d k = 3 -> 110 / 3 = 36.67;
    # revenue 5 + 200 + 40 = 245.00; new customers dave, gina = 2 -> CAC 55.00;
    # ROI (245 - 110) x 100 / 110 = 122.727272.. ; ROMI 245 / (labor 10 + platform 0) = 24.5
    assert got[("email", "EUR")] == roi(
        "110.00", "10.00", "0.00", "0.00", "100.00", 3, "36.67", "245.00", 2, "55.00",
        round(13500 * 100 / 11000, 6), 24.5,
    )  # fmt: skip
    # linkedin EUR: no EUR cost entered; a (100.00, alice new): every cost figure is empty
    # (null), not 0.00 -- no cost entered is not a free customer
    assert got[("linkedin", "EUR")] == roi(*NO_COST, 1, None, "100.00", 1, None, None, None)
    # linkedin USD: platform 93.00; f 60.00, erin new; ROI (60 - 93) x 100 / 93 = -35.48387..;
    # ROMI 60 / 93 = 0.645161..
    assert got[("linkedin", "USD")] == roi(
        "93.00", "0.00", "93.00", "0.00", "0.00", 1, "93.00", "60.00", 1, "93.00",
        round(-3300 * 100 / 9300, 6), round(6000 / 9300, 6),
    )  # fmt: skip
    # twitter EUR: labor 310 + ads 100 = 410.00; i 30.00 (a save, no new customer -> CAC empty);
    # ROI (30 - 410) x 100 / 410 = -92.68292..; ROMI 30 / 310 = 0.096774..
    assert got[("twitter", "EUR")] == roi(
        "410.00", "310.00", "0.00", "100.00", "0.00", 1, "410.00", "30.00", 0, None,
        round(-38000 * 100 / 41000, 6), round(3000 / 31000, 6),
    )  # fmt: skip
    # twitter USD: ads 50.00; b + e = 100.00 over 2 conversions -> 25.00; bob new -> CAC 50.00;
    # ROI (100 - 50) x 100 / 50 = 100; ROMI: no labor or platform cost -> empty
    assert got[("twitter", "USD")] == roi(
        "50.00", "0.00", "0.00", "50.00", "0.00", 2, "25.00", "100.00", 1, "50.00", 100.0, None
    )
    # direct: no cost; EUR g j m o = 165.00, new hank and jack; USD h l n = 25.00, new ivy
    assert got[("(direct)", "EUR")] == roi(*NO_COST, 4, None, "165.00", 2, None, None, None)
    assert got[("(direct)", "USD")] == roi(*NO_COST, 3, None, "25.00", 1, None, None, None)
    assert math.isclose(got[("email", "EUR")]["roi_percent"], 122.727273)


def test_roi_per_campaign_keeps_channel_wide_costs_on_their_own_row(shop):
    rows = shop.rows("roi", by="campaign", **PERIOD)
    got = {(r["channel"], r["campaign"], r["currency"]): {k: r[k] for k in ROI_KEYS}
           for r in rows}  # fmt: skip
    assert got == {
        # C4 + C6 name no campaign: 110.00 with nothing earned -> ROI -100 %, ROMI 0 / 10 = 0
        ("email", None, "EUR"): roi("110.00", "10.00", "0.00", "0.00", "100.00", 0, None,
                                    "0.00", 0, None, -100.0, 0.0),
        ("email", "newsletter", "EUR"): roi(*NO_COST, 3, None,
                                            "245.00", 2, None, None, None),
        # C3 names no campaign
        ("linkedin", None, "USD"): roi("93.00", "0.00", "93.00", "0.00", "0.00", 0, None,
                                       "0.00", 0, None, -100.0, 0.0),
        ("linkedin", "spring", "EUR"): roi(*NO_COST, 1, None,
                                           "100.00", 1, None, None, None),
        ("linkedin", "spring", "USD"): roi(*NO_COST, 1, None,
                                           "60.00", 1, None, None, None),
        # C1 (labor) names no campaign: ROMI 0 / 310 = 0
        ("twitter", None, "EUR"): roi("310.00", "310.00", "0.00", "0.00", "0.00", 0, None,
                                      "0.00", 0, None, -100.0, 0.0),
        # C2 ads 100.00 on spring, but spring's EUR credit (a's) went to linkedin last touch
        ("twitter", "spring", "EUR"): roi("100.00", "0.00", "0.00", "100.00", "0.00", 0, None,
                                          "0.00", 0, None, -100.0, None),
        ("twitter", "spring", "USD"): roi(*NO_COST, 2, None,
                                          "100.00", 1, None, None, None),
        # i: dave's save, dave is not a new customer here (his first purchase went to email)
        ("twitter", "summer", "EUR"): roi(*NO_COST, 1, None,
                                          "30.00", 0, None, None, None),
        ("twitter", "summer", "USD"): roi("50.00", "0.00", "0.00", "50.00", "0.00", 0, None,
                                          "0.00", 0, None, -100.0, None),
        ("(direct)", None, "EUR"): roi(*NO_COST, 4, None,
                                       "165.00", 2, None, None, None),
        ("(direct)", None, "USD"): roi(*NO_COST, 3, None,
                                       "25.00", 1, None, None, None),
    }  # fmt: skip


def test_roi_of_a_period_that_cuts_cost_rows(shop):
    # March only, email: C4 spreads 10000 over 61 days = 163 a day + 57 spare units on the
    # first 57 days, so each March day (days 1-31) carries 164: 31 x 164 = 5084 -> 50.84;
    # C6 starts in April. Conversions c (5.00) and d (200.00); new customer dave.
    # ROI (20500 - 5084) x 100 / 5084 = 303.2258..; no labor or platform cost: ROMI empty.
    rows = shop.rows("roi", channel="email", **{"from": "2025-03-01", "to": "2025-03-31"})
    assert [{k: r[k] for k in ["channel", "currency", *ROI_KEYS]} for r in rows] == [
        {"channel": "email", "currency": "EUR",
         **roi("50.84", "0.00", "0.00", "0.00", "50.84", 2, "25.42", "205.00", 1, "50.84",
               round(15416 * 100 / 5084, 6), None)},
    ]  # fmt: skip
    april = shop.rows("roi", channel="email", **{"from": "2025-04-01", "to": "2025-04-30"})
    # April: C4 26 days x 164 + 4 days x 163 = 4264 + 652 = 4916, C6 10 days x 100 = 1000
    assert [(r["cost"], r["other_cost"], r["labor_cost"]) for r in april] == [
        ("59.16", "49.16", "10.00")
    ]
    # and March + April = the whole of C4: 5084 + 4916 = 10000


def test_roi_under_linear_credits_shares_of_new_customers(shop):
    rows = shop.rows("roi", model="linear", channel="twitter", **PERIOD)
    got = {r["currency"]: (r["conversions"], r["revenue"], r["new_customers"], r["cac"])
           for r in rows}  # fmt: skip
    # EUR: a's linear third (333334 ppm, 33.34) + i (1, 30.00) = 1.333334 conversions, 63.34;
    # alice's first purchase a gives twitter a 0.333334 share of a new customer:
    # CAC 41000 / 0.333334 = 123000.0 (41000 x 10^6 / 333334 = 122999.75..) -> 1230.00
    assert got["EUR"] == (1.333334, "63.34", 0.333334, "1230.00")
    assert got["USD"] == (2, "100.00", 1, "50.00")


def test_roi_totals_count_roi_and_cac_on_the_channels_with_a_cost(shop):
    from conversions import analytics
    from conversions.reports import Period
    from shortener.db import connect

    db = connect(shop.app.config["DATABASE"])
    try:
        q = analytics.Query(Period(date(2025, 3, 1), date(2025, 4, 30)), "last_touch")
        totals = analytics.roi_totals(db, q, analytics.settings_from(shop.app.config))
    finally:
        db.close()
    # EUR: cost email 110.00 + twitter 410.00 = 520.00; revenue of every channel email 245 +
    # linkedin 100 + twitter 30 + direct 165 = 540.00; linkedin has no EUR cost, so ROI and
    # CAC are on email + twitter: revenue 275.00, new customers 2 (dave, gina) + 0;
    # ROI (275 - 520) x 100 / 520 = -47.115384.. ; CAC 520 / 2 = 260.00
    # USD: cost linkedin 93.00 + twitter 50.00 = 143.00; revenue 60 + 100 + direct 25 =
    # 185.00; costed 160.00, new customers erin + bob = 2: CAC 71.50,
    # ROI (160 - 143) x 100 / 143 = 11.888111..
    assert totals == [
        {"currency": "EUR", "cost": "520.00", "revenue": "540.00", "costed_revenue": "275.00",
         "costed_new_customers": 2, "cac": "260.00",
         "roi_percent": round(-24500 / 520, 6), "without_cost": ["linkedin"]},
        {"currency": "USD", "cost": "143.00", "revenue": "185.00", "costed_revenue": "160.00",
         "costed_new_customers": 2, "cac": "71.50",
         "roi_percent": round(1700 / 143, 6), "without_cost": []},
    ]  # fmt: skip


# -- earned pay-per-click value ----------------------------------------------
#
# Human clicks 03-01..04-30: twitter/spring #1 #3 = 2, twitter/summer #10 #11 = 2 (the bot's
# #12 is not human), linkedin/spring #4 #7 #8 #9 = 4, email/newsletter #2 #5 #6 #13 = 4.
# Prices (EUR): twitter 0.50, twitter/summer 0.80, linkedin 2.00, email none.


def test_earned_value_per_channel(shop):
    rows = shop.rows("earned", **PERIOD)
    assert rows == [
        # no price for email: nothing earned to show, the actual cost beside it
        {"channel": "email", "currency": "EUR", "human_clicks": 4, "cpc": None,
         "earned_value": None, "cost": "110.00"},
        # 4 x 2.00 = 8.00 against no EUR cost entered (null, not 0.00); the USD cost (C3)
        # on its own row
        {"channel": "linkedin", "currency": "EUR", "human_clicks": 4, "cpc": "2.00",
         "earned_value": "8.00", "cost": None},
        {"channel": "linkedin", "currency": "USD", "human_clicks": 4, "cpc": None,
         "earned_value": None, "cost": "93.00"},
        # spring 2 x 0.50 + summer 2 x 0.80 (its own price) = 1.00 + 1.60 = 2.60
        {"channel": "twitter", "currency": "EUR", "human_clicks": 4, "cpc": "0.50",
         "earned_value": "2.60", "cost": "410.00"},
        {"channel": "twitter", "currency": "USD", "human_clicks": 4, "cpc": None,
         "earned_value": None, "cost": "50.00"},
    ]  # fmt: skip


def test_earned_value_per_campaign(shop):
    rows = shop.rows("earned", by="campaign", **PERIOD)
    assert rows == [
        {"channel": "email", "campaign": None, "currency": "EUR", "human_clicks": 0,
         "cpc": None, "earned_value": None, "cost": "110.00"},
        # no price and no cost: a row in the default currency
        {"channel": "email", "campaign": "newsletter", "currency": "USD", "human_clicks": 4,
         "cpc": None, "earned_value": None, "cost": None},
        {"channel": "linkedin", "campaign": None, "currency": "USD", "human_clicks": 0,
         "cpc": None, "earned_value": None, "cost": "93.00"},
        {"channel": "linkedin", "campaign": "spring", "currency": "EUR", "human_clicks": 4,
         "cpc": "2.00", "earned_value": "8.00", "cost": None},
        {"channel": "twitter", "campaign": None, "currency": "EUR", "human_clicks": 0,
         "cpc": None, "earned_value": None, "cost": "310.00"},
        {"channel": "twitter", "campaign": "spring", "currency": "EUR", "human_clicks": 2,
         "cpc": "0.50", "earned_value": "1.00", "cost": "100.00"},
        {"channel": "twitter", "campaign": "summer", "currency": "EUR", "human_clicks": 2,
         "cpc": "0.80", "earned_value": "1.60", "cost": None},
        {"channel": "twitter", "campaign": "summer", "currency": "USD", "human_clicks": 2,
         "cpc": None, "earned_value": None, "cost": "50.00"},
    ]  # fmt: skip


# -- saves -------------------------------------------------------------------


def test_saves_per_channel(shop):
    # one save: i, dave kept on 04-02 for 30.00 EUR, credited to his twitter/summer click
    # (#10, 3 days before; his email click #2 is 31 days old). Other channels with clicks
    # show zero in the default currency.
    assert shop.rows("saves", **PERIOD) == [
        {"channel": "email", "currency": "USD", "saves": 0, "saved_visitors": 0,
         "saved_value": "0.00"},
        {"channel": "linkedin", "currency": "USD", "saves": 0, "saved_visitors": 0,
         "saved_value": "0.00"},
        {"channel": "twitter", "currency": "EUR", "saves": 1, "saved_visitors": 1,
         "saved_value": "30.00"},
    ]  # fmt: skip
    by_campaign = shop.rows("saves", by="campaign", channel="twitter", **PERIOD)
    assert [(r["campaign"], r["currency"], r["saves"], r["saved_value"]) for r in by_campaign] == [
        ("spring", "USD", 0, "0.00"),
        ("summer", "EUR", 1, "30.00"),
    ]


# -- growth ------------------------------------------------------------------


def growth_row(channel, currency, period, days, clicks, visitors, conversions, revenue, cost,
               growths):  # fmt: skip
    names = ["human_clicks", "visitors", "conversions", "revenue", "cost"]
    return {"channel": channel, "currency": currency, "period": period, "days": days,
            "human_clicks": clicks, "visitors": visitors, "conversions": conversions,
            "revenue": revenue, "cost": cost,
            **{f"{n}_growth": g for n, g in zip(names, growths, strict=True)}}  # fmt: skip


NONE5 = [None] * 5


def test_growth_per_month(shop):
    rows = shop.rows("growth", period="month", **PERIOD)
    assert rows == [
        # email March: clicks #2 #5 #6 by dave, alice, carol; c + d = 5.00 + 200.00;
        # cost C4 31 x 1.64 = 50.84
        growth_row("email", "EUR", "2025-03-01", 31, 3, 3, 2, "205.00", "50.84", NONE5),
        # April: #13 gina; k 40.00; C4 49.16 + C6 10.00 = 59.16.
        # growth: (1 - 3) / 3 = -66.666667 %, (1 - 2) / 2 = -50 %,
        # (4000 - 20500) / 20500 = -80.487805 %, (5916 - 5084) / 5084 = +16.365067 %
        growth_row("email", "EUR", "2025-04-01", 30, 1, 1, 1, "40.00", "59.16",
                   [round(-200 / 3, 6), round(-200 / 3, 6), -50.0,
                    round(-16500 * 100 / 20500, 6), round(832 * 100 / 5084, 6)]),
        # linkedin March: #4 #7 #8 #9 (carol, alice, erin twice) = 4 clicks, 3 visitors;
        # EUR a 100.00 (last touch); USD f 60.00 and C3 16 days x 3.00 = 48.00
        growth_row("linkedin", "EUR", "2025-03-01", 31, 4, 3, 1, "100.00", "0.00", NONE5),
        growth_row("linkedin", "EUR", "2025-04-01", 30, 0, 0, 0, "0.00", "0.00",
                   [-100.0, -100.0, -100.0, -100.0, None]),
        growth_row("linkedin", "USD", "2025-03-01", 31, 4, 3, 1, "60.00", "48.00", NONE5),
        # April: C3 15 days x 3.00 = 45.00: (4500 - 4800) / 4800 = -6.25 %
        growth_row("linkedin", "USD", "2025-04-01", 30, 0, 0, 0, "0.00", "45.00",
                   [-100.0, -100.0, -100.0, -100.0, -6.25]),
        # twitter March: #1 #3 #10 (alice, bob, dave); EUR cost C1 310 + C2 100;
        # USD b + e = 100.00
        growth_row("twitter", "EUR", "2025-03-01", 31, 3, 3, 0, "0.00", "410.00", NONE5),
        # April: #11 frank (#12 is a bot); EUR i 30.00 -- growth from 0 is empty
        growth_row("twitter", "EUR", "2025-04-01", 30, 1, 1, 1, "30.00", "0.00",
                   [round(-200 / 3, 6), round(-200 / 3, 6), None, None, -100.0]),
        growth_row("twitter", "USD", "2025-03-01", 31, 3, 3, 2, "100.00", "0.00", NONE5),
        # April: C5 50.00 (growth from 0: empty)
        growth_row("twitter", "USD", "2025-04-01", 30, 1, 1, 0, "0.00", "50.00",
                   [round(-200 / 3, 6), round(-200 / 3, 6), -100.0, -100.0, None]),
        # direct: g (70.00) in March; j m o = 30 + 15 + 50 = 95.00 in April:
        # conversions (3 - 1) / 1 = +200 %, revenue (9500 - 7000) / 7000 = +35.714286 %
        growth_row("(direct)", "EUR", "2025-03-01", 31, 0, 0, 1, "70.00", "0.00", NONE5),
        growth_row("(direct)", "EUR", "2025-04-01", 30, 0, 0, 3, "95.00", "0.00",
                   [None, None, 200.0, round(2500 * 100 / 7000, 6), None]),
        # USD: h (25.00) in March; the two cancels l n (0.00) in April
        growth_row("(direct)", "USD", "2025-03-01", 31, 0, 0, 1, "25.00", "0.00", NONE5),
        growth_row("(direct)", "USD", "2025-04-01", 30, 0, 0, 2, "0.00", "0.00",
                   [None, None, 100.0, -100.0, None]),
    ]  # fmt: skip


def test_growth_per_week_fills_empty_weeks_with_zeros(shop):
    # 2025-03-31 and 2025-04-07 are Mondays. twitter in those two weeks:
    # week 1: #11 frank (04-03); EUR: i 30.00, C1's last day 03-31 = 10.00;
    #         USD: C5 04-01..04-06 = 6 x 5.00 = 30.00
    # week 2: nothing but C5 04-07..04-10 = 4 x 5.00 = 20.00: (2000 - 3000) / 3000 = -33.33 %
    rows = shop.rows("growth", period="week", channel="twitter",
                     **{"from": "2025-03-31", "to": "2025-04-13"})  # fmt: skip
    assert rows == [
        growth_row("twitter", "EUR", "2025-03-31", 7, 1, 1, 1, "30.00", "10.00", NONE5),
        growth_row("twitter", "EUR", "2025-04-07", 7, 0, 0, 0, "0.00", "0.00", [-100.0] * 5),
        growth_row("twitter", "USD", "2025-03-31", 7, 1, 1, 0, "0.00", "30.00", NONE5),
        growth_row("twitter", "USD", "2025-04-07", 7, 0, 0, 0, "0.00", "20.00",
                   [-100.0, -100.0, None, None, round(-1000 * 100 / 3000, 6)]),
    ]  # fmt: skip


def test_growth_per_day_cut_weeks_and_gaps(shop):
    # email, 04-06..04-09 by day: only 04-08 has a click (#13) and a conversion (k)
    rows = shop.rows("growth", period="day", channel="email",
                     **{"from": "2025-04-06", "to": "2025-04-09"})  # fmt: skip
    # C4 in April: day index (04-06 - 03-01) = 36 .. 39, all < 57 -> 1.64 a day
    assert [(r["period"], r["human_clicks"], r["conversions"], r["revenue"], r["cost"],
             r["human_clicks_growth"]) for r in rows] == [
        ("2025-04-06", 0, 0, "0.00", "1.64", None),
        ("2025-04-07", 0, 0, "0.00", "1.64", None),
        ("2025-04-08", 1, 1, "40.00", "1.64", None),  # growth from 0 clicks: empty
        ("2025-04-09", 0, 0, "0.00", "1.64", -100.0),
    ]  # fmt: skip
    # a week cut by the range keeps its Monday label and says how many days it has
    cut = shop.rows("growth", period="week", channel="email",
                    **{"from": "2025-04-09", "to": "2025-04-15"})  # fmt: skip
    assert [(r["period"], r["days"]) for r in cut] == [("2025-04-07", 5), ("2025-04-14", 2)]


# -- control group -----------------------------------------------------------
#
# Visitors seen 03-01..04-30:
#   social (a human click on twitter or linkedin): alice, bob, carol, dave (#10), erin, frank = 6
#   non-social (only email clicks): gina = 1      (dave and alice also clicked email: social)
#   control (visit pixel only, never a click): hank, ivy, jill = 3   (alice visited but clicked)
# Conversions of the period by group:
#   social: alice a 100 + o 50, bob b 80 + e 20 + l 0, carol c 5, dave d 200 + i 30, erin f 60
#           converted 5 of 6 (frank did not); EUR 100 + 50 + 5 + 200 + 30 = 385.00,
#           USD 80 + 20 + 0 + 60 = 160.00; purchasers alice (2), bob (2), dave (1), erin (1):
#           repeat 2 / 4 = 0.5
#   non-social: gina k 40 EUR: 1 of 1; 1 purchaser, none twice
#   control: hank g 70 + j 30 EUR, ivy h 25 + n 0 USD: 2 of 3; purchasers hank (2), ivy (1)


def wilson(x, n, z=1.959963984540054):
    p = x / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(x1, n1, x2, n2):
    (l1, u1), (l2, u2) = wilson(x1, n1), wilson(x2, n2)
    p1, p2 = x1 / n1, x2 / n2
    return (p1 - p2,
            p1 - p2 - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2),
            p1 - p2 + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2))  # fmt: skip


def test_control_group_report(shop):
    rows = shop.rows("control", **PERIOD)
    d, lo, hi = newcombe(5, 6, 2, 3)  # 1/6, about -0.3143 .. 0.6456: includes zero
    social = {
        "visitors": 6,
        "converted_visitors": 5,
        "conversion_rate": round(5 / 6, 6),
        "repeat_purchase_rate": 0.5,
        "lift": round((5 / 6) / (2 / 3) - 1, 6),  # 15/12 - 1 = 0.25
        "difference": round(d, 6),
        "difference_low": round(lo, 6),
        "difference_high": round(hi, 6),
        "verdict": "not significant yet, n = 6 social / 3 control visitors",
    }
    d2, lo2, hi2 = newcombe(1, 1, 2, 3)  # 1/3, about -0.5054 .. 0.7923
    non_social = {
        "visitors": 1,
        "converted_visitors": 1,
        "conversion_rate": 1.0,
        "repeat_purchase_rate": 0.0,
        "lift": 0.5,  # 1 / (2/3) - 1
        "difference": round(d2, 6),
        "difference_low": round(lo2, 6),
        "difference_high": round(hi2, 6),
        "verdict": "not significant yet, n = 1 non-social / 3 control visitors",
    }
    control = {"visitors": 3, "converted_visitors": 2, "conversion_rate": round(2 / 3, 6),
               "repeat_purchase_rate": 0.5, "lift": None, "difference": None,
               "difference_low": None, "difference_high": None, "verdict": None}  # fmt: skip
    assert rows == [
        # 385.00 / 6 = 64.1666 -> 64.17 per visitor; / 5 customers = 77.00
        {"group": "social", "currency": "EUR", "revenue": "385.00",
         "revenue_per_visitor": "64.17", "revenue_per_customer": "77.00", **social},
        # 160.00 / 6 = 26.666 -> 26.67; / 5 = 32.00
        {"group": "social", "currency": "USD", "revenue": "160.00",
         "revenue_per_visitor": "26.67", "revenue_per_customer": "32.00", **social},
        {"group": "non_social", "currency": "EUR", "revenue": "40.00",
         "revenue_per_visitor": "40.00", "revenue_per_customer": "40.00", **non_social},
        # 100.00 / 3 = 33.333 -> 33.33; / 2 = 50.00
        {"group": "control", "currency": "EUR", "revenue": "100.00",
         "revenue_per_visitor": "33.33", "revenue_per_customer": "50.00", **control},
        # 25.00 / 3 = 8.333 -> 8.33; / 2 = 12.50
        {"group": "control", "currency": "USD", "revenue": "25.00",
         "revenue_per_visitor": "8.33", "revenue_per_customer": "12.50", **control},
    ]  # fmt: skip
    assert math.isclose(social["difference_low"], -0.3143, abs_tol=1e-4)
    assert math.isclose(social["difference_high"], 0.6456, abs_tol=1e-4)


def test_control_group_for_one_goal_and_period(shop):
    # March, purchases only. Visitors in March: social alice bob carol dave erin = 5 (frank
    # clicked in April), non-social none (gina is April), control hank ivy = 2 (jill: April).
    # March purchases: alice a, bob b (+ e upsell, not goal purchase), dave d, erin f -> 4 of 5;
    # hank g, ivy h -> 2 of 2.
    rows = shop.rows("control", goal="purchase", **{"from": "2025-03-01", "to": "2025-03-31"})
    got = {(r["group"], r["currency"]): (r["visitors"], r["converted_visitors"],
                                         r["conversion_rate"], r["revenue"], r["lift"])
           for r in rows}  # fmt: skip
    assert got == {
        # EUR a 100 + d 200 = 300.00; USD b 80 + f 60 = 140.00; lift 0.8 / 1 - 1 = -0.2
        ("social", "EUR"): (5, 4, 0.8, "300.00", -0.2),
        ("social", "USD"): (5, 4, 0.8, "140.00", -0.2),
        # no non-social visitors: rate and lift empty, nothing to compare
        ("non_social", "USD"): (0, 0, None, "0.00", None),
        ("control", "EUR"): (2, 2, 1.0, "70.00", None),
        ("control", "USD"): (2, 2, 1.0, "25.00", None),
    }
    verdicts = {r["group"]: r["verdict"] for r in rows}
    assert verdicts["non_social"] == "no comparison yet: n = 0 non-social / 2 control visitors"
    assert verdicts["social"] == "not significant yet, n = 5 social / 2 control visitors"


# -- every report as CSV equals its JSON ---------------------------------------

EVERY_REPORT = [
    ("attribution", {"by": "campaign"}),
    ("journeys", {}),
    ("goals", {}),
    ("roi", {}),
    ("earned", {"by": "campaign"}),
    ("saves", {}),
    ("growth", {"period": "month"}),
    ("control", {}),
    ("retention", {"as_of": "2025-05-14"}),
    ("tenure", {"as_of": "2025-05-14"}),
    ("cross-sell", {"as_of": "2025-05-14"}),
]


def as_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@pytest.mark.parametrize("name, params", EVERY_REPORT)
def test_csv_has_the_same_rows_as_json(shop, name, params):
    body = shop.get(f"/api/reports/{name}", **PERIOD, **params).get_json()
    csv_response = shop.get(f"/api/reports/{name}", format="csv", **PERIOD, **params)
    assert csv_response.mimetype == "text/csv"
    assert f'filename="{name}.csv"' in csv_response.headers["Content-Disposition"]
    table = list(csv.reader(io.StringIO(csv_response.get_data(as_text=True))))
    assert body["rows"], name
    assert table[0] == list(body["rows"][0])
    assert table[1:] == [[as_cell(v) for v in row.values()] for row in body["rows"]]


def test_report_envelope_names_what_was_asked(shop):
    body = shop.get("/api/reports/roi", model="linear", by="campaign", **PERIOD).get_json()
    assert {k: v for k, v in body.items() if k != "rows"} == {
        "report": "roi", "from": "2025-03-01", "to": "2025-04-30", "model": "linear",
        "by": "campaign",
    }  # fmt: skip
    body = shop.get("/api/reports/tenure", as_of="2025-05-14", **PERIOD).get_json()
    assert body["model"] is None  # tenure does not depend on an attribution model
    assert body["as_of"] == "2025-05-14"


def test_reports_need_the_api_key(shop):
    for name, _ in EVERY_REPORT:
        response = shop.client.get(f"/api/reports/{name}")
        assert response.status_code == 401
        assert "API key" in response.get_json()["error"]


@pytest.mark.parametrize(
    "path, params, field",
    [
        ("/api/reports/roi", {"from": "2025-13-01"}, "from"),
        ("/api/reports/roi", {"from": "2025-05-01", "to": "2025-04-01"}, "from"),
        ("/api/reports/attribution", {"model": "u_shaped"}, "model"),
        ("/api/reports/attribution", {"by": "link"}, "by"),
        ("/api/reports/growth", {"period": "year"}, "period"),
        ("/api/reports/growth", {"period": "day", "from": "2000-01-01", "to": "2025-01-01"},
         "period"),
        ("/api/reports/goals", {"format": "xlsx"}, "format"),
        ("/api/reports/retention", {"to": "2025-04-30", "as_of": "2025-04-01"}, "as_of"),
        ("/api/reports/tenure", {"as_of": "someday"}, "as_of"),
        ("/api/reports/nonsense", {}, "name"),
    ],
)  # fmt: skip
def test_bad_parameters_are_4xx_naming_the_field(shop, path, params, field):
    response = shop.client.get(path, query_string=params, headers=AUTH)
    assert 400 <= response.status_code < 500
    assert response.get_json()["field"] == field


@pytest.mark.parametrize("name, params", EVERY_REPORT)
def test_every_report_on_an_empty_database(client, name, params):
    # no links, clicks, conversions or costs: an answer, never a 500 or an infinity
    for query in ({}, {**PERIOD, **params}, {"from": "2025-03-01", "model": "linear"}):
        response = client.get(f"/api/reports/{name}", query_string=query, headers=AUTH)
        assert response.status_code == 200, response.get_data(as_text=True)
        rows = response.get_json()["rows"]
        if name == "goals":  # the catalogue's goals, each with nothing
            assert {r["conversions"] for r in rows} == {0}
        elif name == "control":  # the three groups, empty
            assert [(r["group"], r["visitors"], r["conversion_rate"], r["lift"]) for r in rows] == [
                ("social", 0, None, None), ("non_social", 0, None, None),
                ("control", 0, None, None),
            ]  # fmt: skip
        elif name == "growth" and "from" in query:  # zero periods up to `to` (or today)
            assert rows == [] or {r["human_clicks"] for r in rows} == {0}
        else:
            assert rows == []
