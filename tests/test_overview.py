"""conversions.overview (and the dashboard's growth chart) against the
hand-worked data set of dashboard_support:
every figure below is worked out from the story in build_dataset."""

from datetime import date

import pytest

from conversions import overview
from conversions.breakdown import breakdown_rows
from conversions.reports import Filters, Period, channel_rows
from dashboard import stats
from dashboard_support import build_dataset, insert_link
from shortener.db import connect


@pytest.fixture
def data(app):
    ids = build_dataset(app.config["DATABASE"])
    database = connect(app.config["DATABASE"])
    yield database, ids
    database.close()


def test_link_numbers_under_last_touch(data):
    db, ids = data
    got = overview.link_stats(db, ids.values(), Period(), "last_touch")
    # tw-spring: v1, v2 and the bot = 3 clicks, 2 human, 2 visitors; its only
    # last-touch conversion is v2's signup (0.00 USD); v1's purchase went to email
    assert got[ids["tw-spring"]] == {
        "clicks": 3, "human_clicks": 2, "unique_visitors": 2, "conversions": 1,
        "converted_visitors": 1, "revenue": {"USD": "0.00"}, "conversion_rate": 0.5,
    }  # fmt: skip
    # tw-autumn: v3 twice = 2 clicks, 1 visitor; 30.00 EUR
    assert got[ids["tw-autumn"]]["clicks"] == 2
    assert got[ids["tw-autumn"]]["unique_visitors"] == 1
    assert got[ids["tw-autumn"]]["revenue"] == {"EUR": "30.00"}
    # em-spring: v1's last touch before the 100.00 USD purchase
    assert got[ids["em-spring"]]["conversions"] == 1
    assert got[ids["em-spring"]]["revenue"] == {"USD": "100.00"}


def test_link_numbers_move_with_the_model(data):
    db, ids = data
    first = overview.link_stats(db, ids.values(), Period(), "first_touch")
    # first touch: v1's purchase goes to tw-spring (its first click) -> 1 + 1
    assert first[ids["tw-spring"]]["conversions"] == 2
    assert first[ids["tw-spring"]]["revenue"] == {"USD": "100.00"}  # 100.00 + 0.00
    assert first[ids["em-spring"]]["conversions"] == 0
    linear = overview.link_stats(db, ids.values(), Period(), "linear")
    # linear: v1's two touches share 1 conversion and 100.00 -> 0.5 and 50.00
    assert linear[ids["tw-spring"]]["conversions"] == 1.5  # 0.5 + v2's 1
    assert linear[ids["tw-spring"]]["revenue"] == {"USD": "50.00"}
    assert linear[ids["em-spring"]]["conversions"] == 0.5
    assert linear[ids["em-spring"]]["revenue"] == {"USD": "50.00"}


def test_a_period_narrows_clicks_and_conversions(data):
    db, ids = data
    got = overview.link_stats(
        db, ids.values(), Period(date(2026, 3, 1), date(2026, 3, 1)), "last_touch"
    )
    assert got[ids["tw-spring"]]["clicks"] == 3  # all on 03-01
    assert got[ids["em-spring"]]["clicks"] == 0  # 03-02
    assert got[ids["em-spring"]]["conversions"] == 0  # the purchase was on 03-02
    assert got[ids["tw-autumn"]] == {
        "clicks": 0, "human_clicks": 0, "unique_visitors": 0, "conversions": 0,
        "converted_visitors": 0, "revenue": {}, "conversion_rate": None,
    }  # fmt: skip


def test_campaign_breakdown_within_a_channel(data):
    """The channel page's campaign table is the breakdown report's rows."""
    db, _ = data
    rows = breakdown_rows(db, "campaign", Period(), "last_touch", Filters(channel="twitter"))
    # autumn: v3's 2 clicks and 30.00 EUR; spring: tw-spring's numbers above
    # (v1, v2 and the bot); the most human clicks first, then the most clicks
    assert rows == [
        {"value": "spring", "currency": "USD", "clicks": 3, "human_clicks": 2,
         "unique_visitors": 2, "conversions": 1, "converted_visitors": 1,
         "conversion_rate": 0.5, "revenue": "0.00"},
        {"value": "autumn", "currency": "EUR", "clicks": 2, "human_clicks": 2,
         "unique_visitors": 1, "conversions": 1, "converted_visitors": 1,
         "conversion_rate": 1.0, "revenue": "30.00"},
    ]  # fmt: skip
    # unique clicks per campaign, as the channels report counts them: autumn's
    # two clicks (08:00 and 08:30) are one; spring's v1 and v2 are two
    for campaign, unique in (("autumn", 1), ("spring", 2)):
        (row,) = channel_rows(db, Period(), "last_touch", Filters("twitter", campaign))
        assert (row["unique_clicks"], row["qr_scans"]) == (unique, 0)


def test_totals(data):
    db, _ = data
    got = overview.totals(db, Period(), "last_touch")
    assert got == {
        "clicks": 6,  # 3 + 2 + 1
        "human_clicks": 5,  # less the bot
        "unique_visitors": 3,  # v1, v2, v3 (v1 clicked two channels, counted once)
        "conversions": 4,  # v1's purchase, v2's signup, v3's purchase, v4's lead
        "converted_visitors": 4,
        "conversion_rate": 1.0,  # v1, v2, v3 all converted: 3 / 3
        "revenue": {"EUR": "30.00", "USD": "100.00"},  # never summed across currencies
    }
    email = overview.totals(db, Period(), "first_touch", Filters(channel="email"))
    # under first touch email earns nothing; its one visitor (v1) converted
    # through twitter, and the rate counts only conversions credited here
    assert (email["unique_visitors"], email["conversions"], email["revenue"]) == (1, 0, {})
    assert email["conversion_rate"] == 0.0


def test_totals_from_the_channel_rollups_equal_the_link_days(data):
    """Whole channels read their rollups (months, days at the edges); the
    figures are the ones summed from every link's days."""
    db, _ = data

    def from_link_days(period, model, filters):
        got = {}
        original = overview._total_click_rows, overview._total_credit_rows
        overview._total_click_rows = lambda d, p, f: overview.click_rows(d, p, f, "channel")
        overview._total_credit_rows = lambda d, p, f, m: overview.credit_rows(d, p, f, m, "channel")
        try:
            got = overview.totals(db, period, model, filters)
        finally:
            overview._total_click_rows, overview._total_credit_rows = original
        return got

    periods = [Period(), Period(date(2026, 3, 2), date(2026, 3, 5)), Period(date(2026, 2, 1), None)]
    filters = [Filters(), Filters(channel="Twitter"), Filters(goal="purchase"),
               Filters(channel="email", goal="purchase")]  # fmt: skip
    for period in periods:
        for f in filters:
            for model in ("last_touch", "first_touch", "linear"):
                expected = from_link_days(period, model, f)
                assert overview.totals(db, period, model, f) == expected, (period, f, model)
    # 03-02 to 03-05: v1's em-spring click, v3's two; v1's purchase, v4's lead, v3's purchase
    narrow = overview.totals(db, Period(date(2026, 3, 2), date(2026, 3, 5)), "last_touch")
    assert (narrow["human_clicks"], narrow["unique_visitors"], narrow["conversions"]) == (3, 2, 3)


def test_growth_series_has_every_day_with_zeros(data):
    db, _ = data
    got = stats.growth_series(
        db, Period(date(2026, 3, 1), date(2026, 3, 5)), "last_touch", Filters(), date(2026, 3, 9)
    )
    assert got["bucket"] == "day"
    assert got["labels"] == [f"2026-03-0{d}" for d in range(1, 6)]
    series = {s["channel"]: s for s in got["series"]}
    assert list(series) == ["email", "twitter", "(direct)"]
    assert series["twitter"]["human_clicks"] == [2, 0, 0, 0, 2]  # the bot is not in it
    assert series["twitter"]["conversions"] == [1, 0, 0, 0, 1]  # v2's signup, v3's buy
    assert series["email"]["human_clicks"] == [0, 1, 0, 0, 0]
    assert series["email"]["conversions"] == [0, 1, 0, 0, 0]
    assert series["(direct)"]["conversions"] == [0, 1, 0, 0, 0]  # v4's lead


def test_long_periods_are_drawn_by_week_or_month():
    # a quarter by day, two years by week, longer by month
    assert overview.bucket_size(date(2026, 3, 1), date(2026, 3, 30)) == "day"  # 30 days
    assert overview.bucket_size(date(2026, 1, 1), date(2026, 4, 2)) == "day"  # 92 days
    assert overview.bucket_size(date(2026, 1, 1), date(2026, 4, 3)) == "week"  # 93 days
    assert overview.bucket_size(date(2025, 3, 10), date(2026, 3, 9)) == "week"  # 365 days
    assert overview.bucket_size(date(2024, 1, 1), date(2025, 12, 31)) == "week"  # 731 days
    assert overview.bucket_size(date(2024, 1, 1), date(2026, 1, 1)) == "month"  # 732 days
    assert overview.bucket_size(date(2024, 1, 1), date(2026, 12, 31)) == "month"
    # all time, from the first day with data: by day up to a quarter, then by month
    assert overview.bucket_size(date(2026, 1, 1), date(2026, 4, 2), all_time=True) == "day"
    assert overview.bucket_size(date(2026, 1, 1), date(2026, 4, 3), all_time=True) == "month"
    # weeks start on Monday; 2026-03-05 is a Thursday
    assert overview.buckets(date(2026, 3, 5), date(2026, 3, 16), "week") == [
        date(2026, 3, 2), date(2026, 3, 9), date(2026, 3, 16),
    ]  # fmt: skip
    assert overview.buckets(date(2025, 12, 15), date(2026, 2, 1), "month") == [
        date(2025, 12, 1), date(2026, 1, 1), date(2026, 2, 1),
    ]  # fmt: skip


def test_a_links_series_by_day_and_by_week(data):
    db, ids = data
    # tw-spring: v1 10:00, v2 11:00 and a bot 13:00 on 03-01; last touch credits it with
    # v2's signup (03-01); v1's purchase went to em-spring, his last click
    got = overview.link_series(
        db, ids["tw-spring"], Period(date(2026, 3, 1), date(2026, 3, 3)), "last_touch",
        date(2026, 3, 9),
    )  # fmt: skip
    assert got == {
        "bucket": "day",
        "labels": ["2026-03-01", "2026-03-02", "2026-03-03"],
        "clicks": [3, 0, 0],
        "human_clicks": [2, 0, 0],
        "qr_scans": [0, 0, 0],
        "unique_visitors": [2, 0, 0],
        "conversions": [1, 0, 0],
    }
    # first touch: v1's purchase is tw-spring's too (his first click), on 03-02
    first = overview.link_series(
        db, ids["tw-spring"], Period(date(2026, 3, 1), date(2026, 3, 3)), "first_touch",
        date(2026, 3, 9),
    )  # fmt: skip
    assert first["conversions"] == [1, 1, 0]
    # tw-autumn over 101 days is drawn by week (Mondays): v3's two clicks of Thursday
    # 03-05 fall in the week of 03-02, one visitor; his purchase with them. Thursday
    # 2026-01-01 is in the week of Monday 2025-12-29, Saturday 04-11 in that of 04-06:
    # 98 days apart, 15 weeks
    weekly = overview.link_series(
        db, ids["tw-autumn"], Period(date(2026, 1, 1), date(2026, 4, 11)), "last_touch",
        date(2026, 4, 11),
    )  # fmt: skip
    assert weekly["bucket"] == "week"
    at = weekly["labels"].index("2026-03-02")
    assert weekly["labels"][0] == "2025-12-29" and len(weekly["labels"]) == 15
    assert (weekly["human_clicks"][at], weekly["unique_visitors"][at]) == (2, 1)
    assert weekly["conversions"][at] == 1
    assert sum(weekly["human_clicks"]) == 2 and sum(weekly["conversions"]) == 1


def test_the_growth_step_of_an_open_period_starts_at_the_first_data(data):
    db, _ = data
    # the data set's first day is 2026-03-01: to 2026-03-20 is 20 days, to 2026-05-31
    # 92, to 2026-06-01 93, to 2026-09-01 185 days, to 2027-06-01 458 days; all time
    # past a quarter goes by month
    assert overview.period_bucket(db, Period(), date(2026, 3, 20)) == "day"
    assert overview.period_bucket(db, Period(), date(2026, 5, 31)) == "day"
    assert overview.period_bucket(db, Period(), date(2026, 6, 1)) == "month"
    assert overview.period_bucket(db, Period(), date(2026, 9, 1)) == "month"
    assert overview.period_bucket(db, Period(), date(2027, 6, 1)) == "month"
    # a period with a start goes by its length: 2026-01-01 to 03-20 is 79 days, to
    # 09-01 244 days
    assert overview.period_bucket(db, Period(date(2026, 1, 1), None), date(2026, 3, 20)) == "day"
    assert overview.period_bucket(db, Period(date(2026, 1, 1), None), date(2026, 9, 1)) == "week"


def test_conversions_with_their_journeys(data):
    db, _ = data
    rows = overview.conversion_list(db, Period(), Filters())
    assert [r["goal"] for r in rows] == ["purchase", "lead", "purchase", "signup"]  # newest first
    journeys = overview.journeys(db, [r["id"] for r in rows], "last_touch")
    v1_purchase = journeys[rows[2]["id"]]
    assert [t["code"] for t in v1_purchase["touches"]] == ["tw-spring", "em-spring"]
    assert v1_purchase["credit"] == [{"channel": "email", "share": 1.0}]
    lead = journeys[rows[1]["id"]]
    assert lead == {"touches": [], "credit": [{"channel": "(direct)", "share": 1.0}]}
    # a channel's conversions are those whose journey touched it
    email = overview.conversion_list(db, Period(), Filters(channel="email"))
    assert [r["order_id"] for r in email] == ["A-1"]
    spring = overview.conversion_list(db, Period(), Filters(campaign="spring"))
    assert [r["goal"] for r in spring] == ["purchase", "signup"]  # v1's and v2's


def test_page_queries_do_not_grow_with_the_number_of_links(app, data):
    """No N+1: numbers for 3 links or 30 links cost the same statements."""
    db, ids = data
    more = [insert_link(db, f"extra-{n}", "reddit", "spring") for n in range(27)]

    def statements(link_ids) -> int:
        seen = []
        db.conn.set_trace_callback(seen.append)
        try:
            overview.link_stats(db, link_ids, Period(), "last_touch")
        finally:
            db.conn.set_trace_callback(None)
        return len([s for s in seen if s.lstrip().upper().startswith("SELECT")])

    statements(list(ids.values()))  # the first call also folds the aggregates
    assert statements(list(ids.values())) == statements([*ids.values(), *more])


def test_the_growth_chart_is_the_growth_reports_rows(data, app):
    """The overview's chart and GET /api/reports/growth are one computation:
    the chart is the report's rows per channel, conversions added across
    currencies (twitter: v2's 0.00 USD signup and v3's 30.00 EUR purchase)."""
    from conftest import AUTH, browser
    from dashboard.charts import growth_from_rows

    db, _ = data
    got = stats.growth_series(
        db, Period(date(2026, 3, 1), date(2026, 3, 5)), "last_touch", Filters(), date(2026, 3, 9)
    )
    api = browser(app).get(
        "/api/reports/growth?from=2026-03-01&to=2026-03-05&period=day", headers=AUTH
    )
    assert got == growth_from_rows(api.get_json()["rows"], "day")
    twitter = next(s for s in got["series"] if s["channel"] == "twitter")
    assert twitter["conversions"] == [1, 0, 0, 0, 1]
