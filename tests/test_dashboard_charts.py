"""What the dashboard's charts draw, from report rows worked out here."""

import math

import pytest

from dashboard import charts


def test_cost_and_return_has_no_cost_bar_where_none_is_entered():
    rows = [
        {"channel": "email", "currency": "EUR", "cost": None, "revenue": "40.00"},
        {"channel": "twitter", "currency": "EUR", "cost": "120.00", "revenue": "120.00"},
        {"channel": "twitter", "currency": "USD", "cost": "5.00", "revenue": "0.00"},
        {"channel": "(direct)", "currency": "EUR", "cost": None, "revenue": "10.00"},
    ]
    eur, usd = charts.cost_and_return(rows)  # the currency with most rows first
    assert eur["title"] == "Cost and revenue per channel, EUR" and eur["currency"] == "EUR"
    # (direct) never has a cost, so it is not "no cost entered"
    assert eur["labels"] == ["email (no cost entered)", "twitter", "(direct)"]
    assert eur["datasets"][0]["data"] == [None, "120.00", None]  # decimal text, never floats
    assert eur["datasets"][1]["data"] == ["40.00", "120.00", "10.00"]
    assert usd["labels"] == ["twitter"] and usd["datasets"][0]["data"] == ["5.00"]


def test_attribution_puts_every_model_side_by_side():
    row = {"channel": "email", "campaign": None, "currency": "USD", "last_touch_revenue": "1.00",
           "first_touch_revenue": "2.00", "linear_revenue": "3.00",
           "position_based_revenue": "4.00", "time_decay_revenue": "5.00"}  # fmt: skip
    (chart,) = charts.attribution([row])
    assert chart["labels"] == ["email (no campaign)"]
    assert [(d["label"], d["data"]) for d in chart["datasets"]] == [
        ("Last touch", ["1.00"]), ("First touch", ["2.00"]), ("Linear", ["3.00"]),
        ("Position-based", ["4.00"]), ("Time decay", ["5.00"]),
    ]  # fmt: skip


def wilson(x: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """Wilson's score interval, written out: (p + z²/2n ± z √(p(1-p)/n + z²/4n²)) / (1 + z²/n)."""
    p = x / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n), (centre + spread) / (1 + z * z / n)


def test_control_group_rates_with_their_interval():
    rows = [
        {"group": "social", "currency": "EUR", "visitors": 18, "converted_visitors": 6,
         "conversion_rate": 1 / 3},
        {"group": "social", "currency": "USD", "visitors": 18, "converted_visitors": 6,
         "conversion_rate": 1 / 3},  # the same group's other currency: drawn once
        {"group": "non_social", "currency": "EUR", "visitors": 6, "converted_visitors": 2,
         "conversion_rate": 1 / 3},
        {"group": "control", "currency": "EUR", "visitors": 0, "converted_visitors": 0,
         "conversion_rate": None},
    ]  # fmt: skip
    chart = charts.control_group(rows)
    assert chart["labels"] == ["Social visitors", "Non-social visitors", "Control group"]
    interval, rate = chart["datasets"]
    assert rate["kind"] == "mark" and rate["data"] == [1 / 3, 1 / 3, None]
    # 6 of 18: about 16.3 % to 56.3 %; 2 of 6 wider, about 9.7 % to 70 %; no visitors, none
    social, non_social, control = interval["data"]
    assert social == pytest.approx(list(wilson(6, 18)), abs=1e-6)
    assert social == pytest.approx([0.163, 0.563], abs=0.001)
    assert non_social == pytest.approx(list(wilson(2, 6)), abs=1e-6)
    assert control is None
    assert charts.control_group([]) is None


def test_growth_rows_read_clicks_once_per_channel_and_add_conversions_across_currencies():
    rows = [
        {"channel": "twitter", "currency": "EUR", "period": "2026-03-02", "human_clicks": 4,
         "conversions": 1},
        {"channel": "twitter", "currency": "USD", "period": "2026-03-02", "human_clicks": 4,
         "conversions": 0.5},
        {"channel": "twitter", "currency": "EUR", "period": "2026-03-09", "human_clicks": 1,
         "conversions": 0},
        {"channel": "twitter", "currency": "USD", "period": "2026-03-09", "human_clicks": 1,
         "conversions": 0},
        {"channel": "(direct)", "currency": "EUR", "period": "2026-03-02", "human_clicks": 0,
         "conversions": 2},
        {"channel": "(direct)", "currency": "EUR", "period": "2026-03-09", "human_clicks": 0,
         "conversions": 0},
        {"channel": "email", "currency": "EUR", "period": "2026-03-02", "human_clicks": 3,
         "conversions": 0},
        {"channel": "email", "currency": "EUR", "period": "2026-03-09", "human_clicks": 2,
         "conversions": 1},
    ]  # fmt: skip
    assert charts.growth_from_rows(rows, "week") == {
        "bucket": "week",
        "labels": ["2026-03-02", "2026-03-09"],
        "series": [  # channels by name, (direct) last
            {"channel": "email", "human_clicks": [3, 2], "conversions": [0, 1]},
            {"channel": "twitter", "human_clicks": [4, 1], "conversions": [1.5, 0]},
            {"channel": "(direct)", "human_clicks": [0, 0], "conversions": [2, 0]},
        ],
    }
