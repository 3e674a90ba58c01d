"""The attribution models, each weight and each cent worked out by hand."""

from datetime import UTC, datetime, timedelta
from fractions import Fraction as F

import pytest

from conversions.attribution import (
    MODELS,
    ONE,
    allocate,
    credit,
    model_weights,
    touches_in_window,
)

CONVERTED = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)


def days_before(*days):
    return [CONVERTED - timedelta(days=d) for d in days]


THREE = days_before(14, 7, 0)  # oldest first, as intake passes them
FOUR = days_before(20, 10, 5, 1)


@pytest.mark.parametrize(
    ("model", "touches", "weights"),
    [
        ("last_touch", THREE, [0, 0, 1]),
        ("first_touch", THREE, [1, 0, 0]),
        ("linear", THREE, [F(1, 3)] * 3),
        ("linear", FOUR, [F(1, 4)] * 4),
        # position based: 40 % first, 40 % last, 20 % shared by the middle
        ("position_based", FOUR, [F(2, 5), F(1, 10), F(1, 10), F(2, 5)]),
        ("position_based", THREE, [F(2, 5), F(1, 5), F(2, 5)]),
        ("position_based", days_before(3, 1), [F(1, 2), F(1, 2)]),  # two: half each
        # time decay, half-life 7 days: 14, 7 and 0 days old weigh 1/4, 1/2, 1
        # of 7/4 in all: 1/7, 2/7, 4/7
        ("time_decay", THREE, [F(1, 7), F(2, 7), F(4, 7)]),
    ],
)
def test_weights(model, touches, weights):
    assert model_weights(touches, CONVERTED, model) == weights


@pytest.mark.parametrize("model", MODELS)
def test_one_touch_gets_everything(model):
    assert model_weights(days_before(3), CONVERTED, model) == [1]
    assert credit(days_before(3), CONVERTED, 4990, model) == [(ONE, 4990)]


@pytest.mark.parametrize("model", MODELS)
def test_no_touch_no_weights(model):
    assert model_weights([], CONVERTED, model) == []
    assert credit([], CONVERTED, 100, model) == []


def test_time_decay_half_life_is_configurable():
    # half-life 1 day: 2 days and 1 day old weigh 1/4 and 1/2: 1/3 and 2/3
    weights = model_weights(days_before(2, 1), CONVERTED, "time_decay", half_life_days=1)
    assert weights == [F(1, 3), F(2, 3)]


def test_time_decay_survives_weights_that_underflow():
    # 1000 half-lives: 2^-1000 and 2^-1001 are below the smallest float;
    # the shares are still 2:1 in favour of the newer touch
    weights = model_weights(days_before(1001, 1000), CONVERTED, "time_decay", half_life_days=1)
    assert weights == [F(1, 3), F(2, 3)]
    tiny = model_weights(days_before(29, 28), CONVERTED, "time_decay", half_life_days=0.001)
    assert sum(tiny) == 1


def test_unknown_model():
    with pytest.raises(ValueError, match="unknown attribution model"):
        model_weights(THREE, CONVERTED, "u_shaped")


@pytest.mark.parametrize(
    ("total", "weights", "parts"),
    [
        # 10 / 3 = 3.33 each: floors 3+3+3 = 9, the 1 left goes to the
        # earliest of the equal remainders
        (10, [F(1, 3)] * 3, [4, 3, 3]),
        # 2 / 3 = 0.67 each: floors 0, two units left: first two
        (2, [F(1, 3)] * 3, [1, 1, 0]),
        # 999 by 40/10/10/40 %: 399.6, 99.9, 99.9, 399.6 -> floors 399, 99, 99, 399
        # (996); 3 left go to remainders .9, .9, .6 (the earlier .6)
        (999, [F(2, 5), F(1, 10), F(1, 10), F(2, 5)], [400, 100, 100, 399]),
        # weights need not sum to one: 2:1 of 7 = 4.67, 2.33 -> 4, 2 + 1 to the .67
        (7, [F(2), F(1)], [5, 2]),
        (0, [F(1, 2), F(1, 2)], [0, 0]),
        (5, [F(0), F(1)], [0, 5]),
        (5, [], []),
    ],
)
def test_largest_remainder(total, weights, parts):
    assert allocate(total, weights) == parts
    assert sum(parts) == (total if weights else 0)


def test_credit_linear_three_touches():
    # ppm: 1,000,000 / 3 = 333,333.33 each -> 333,334 + 333,333 + 333,333
    # revenue 100.00 EUR = 10,000 cents / 3 = 3,333.33 -> 3,334 + 3,333 + 3,333
    assert credit(THREE, CONVERTED, 10_000, "linear") == [
        (333_334, 3_334),
        (333_333, 3_333),
        (333_333, 3_333),
    ]


def test_credit_time_decay():
    # 1/7, 2/7, 4/7 of a million: 142,857.14, 285,714.29, 571,428.57 -> floors
    # sum to 999,999; the 1 left goes to the largest remainder (.57, the last)
    # 7.00 EUR = 700 cents: exactly 100, 200, 400
    assert credit(THREE, CONVERTED, 700, "time_decay") == [
        (142_857, 100),
        (285_714, 200),
        (571_429, 400),
    ]


def test_credit_position_based_four_touches():
    # 49.99 = 4999 cents: 1999.6, 499.9, 499.9, 1999.6 -> floors 1999, 499, 499,
    # 1999 (4996); 3 cents left: the two .9 and the first .6
    assert credit(FOUR, CONVERTED, 4999, "position_based") == [
        (400_000, 2000),
        (100_000, 500),
        (100_000, 500),
        (400_000, 1999),
    ]


def test_credit_single_touch_models():
    assert credit(FOUR, CONVERTED, 4999, "last_touch") == [(0, 0), (0, 0), (0, 0), (ONE, 4999)]
    assert credit(FOUR, CONVERTED, 4999, "first_touch") == [(ONE, 4999), (0, 0), (0, 0), (0, 0)]


def test_touches_in_window():
    window = 30
    times = [
        CONVERTED - timedelta(days=31),  # too old
        CONVERTED - timedelta(days=30),  # exactly the window: the cookie expires then
        CONVERTED - timedelta(days=30) + timedelta(microseconds=1),  # just inside
        CONVERTED - timedelta(days=2),
        CONVERTED,  # the same moment counts
        CONVERTED + timedelta(microseconds=1),  # after the conversion
        CONVERTED + timedelta(days=1),
    ]
    assert touches_in_window(times, CONVERTED, window) == [2, 3, 4]
    assert touches_in_window(times, CONVERTED, 1) == [4]
    assert touches_in_window([], CONVERTED, window) == []
