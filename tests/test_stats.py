"""conversions.stats: intervals checked against published tables, Kaplan-Meier
and medians against answers worked out by hand."""

import math
from datetime import UTC, datetime

import pytest

from conversions.stats import (
    Z95,
    days_between,
    kaplan_meier,
    km_median,
    lift,
    median,
    newcombe_difference,
    wilson_interval,
)


def test_z_is_the_normal_975_quantile():
    # Phi(z) = (1 + erf(z / sqrt 2)) / 2 = 0.975
    assert (1 + math.erf(Z95 / math.sqrt(2))) / 2 == pytest.approx(0.975, abs=1e-12)


# Newcombe (1998), "Two-sided confidence intervals for the single proportion",
# Statistics in Medicine 17:857-872, Table I, method 3 (Wilson score, no correction)
@pytest.mark.parametrize(
    "successes, n, low, high",
    [(81, 263, 0.2553, 0.3662), (15, 148, 0.0624, 0.1605), (0, 20, 0.0, 0.1611),
     (1, 29, 0.0061, 0.1718)],
)  # fmt: skip
def test_wilson_matches_newcombes_table(successes, n, low, high):
    got = wilson_interval(successes, n)
    assert got[0] == pytest.approx(low, abs=5e-5)
    assert got[1] == pytest.approx(high, abs=5e-5)


def test_wilson_by_hand_for_five_of_six():
    # p = 5/6, z^2/n = 3.841459/6 = 0.640243; centre = (p + z^2/2n) / (1 + z^2/n)
    # = (0.8333333 + 0.3201216) / 1.6402431 = 0.7032219
    # half = z / 1.6402431 * sqrt(p(1-p)/n + z^2/4n^2) = 1.1949228 * sqrt(0.0231481 + 0.0266768)
    #      = 1.1949228 * 0.2232150 = 0.2667247
    low, high = wilson_interval(5, 6)
    assert low == pytest.approx(0.7032219 - 0.2667247, abs=1e-6)  # 0.4364972
    assert high == pytest.approx(0.7032219 + 0.2667247, abs=1e-6)  # 0.9699466


def test_wilson_ends_are_exact_and_empty_group_has_no_interval():
    assert wilson_interval(0, 7)[0] == 0.0
    assert wilson_interval(7, 7)[1] == 1.0
    assert wilson_interval(0, 0) is None
    with pytest.raises(ValueError):
        wilson_interval(3, 2)


# Newcombe (1998), "Interval estimation for the difference between independent
# proportions", Statistics in Medicine 17:873-890, Table II, method 10
@pytest.mark.parametrize(
    "x1, n1, x2, n2, low, high",
    [(56, 70, 48, 80, 0.0524, 0.3339), (9, 10, 3, 10, 0.1705, 0.8090),
     (5, 56, 0, 29, -0.0381, 0.1926), (0, 10, 0, 20, -0.1611, 0.2775),
     (0, 10, 0, 10, -0.2775, 0.2775), (10, 10, 0, 20, 0.6791, 1.0),
     (10, 10, 0, 10, 0.6075, 1.0)],
)  # fmt: skip
def test_newcombe_hybrid_score_matches_newcombes_table(x1, n1, x2, n2, low, high):
    difference, got_low, got_high = newcombe_difference(x1, n1, x2, n2)
    assert difference == pytest.approx(x1 / n1 - x2 / n2)
    assert got_low == pytest.approx(low, abs=5e-5)
    assert got_high == pytest.approx(high, abs=5e-5)


def test_newcombe_needs_both_groups():
    assert newcombe_difference(1, 2, 0, 0) is None
    assert newcombe_difference(0, 0, 1, 2) is None


def test_lift():
    assert lift(5 / 6, 2 / 3) == pytest.approx(0.25)  # (5/6) / (2/3) - 1 = 15/12 - 1
    assert lift(0.1, 0.0) is None  # no baseline: no lift, never infinity
    assert lift(None, 0.5) is None


def test_median():
    assert median([]) is None
    assert median([7]) == 7
    assert median([36, 15]) == 25.5  # (15 + 36) / 2
    assert median([3, 1, 2]) == 2


def test_days_between():
    a = datetime(2025, 3, 15, 12, tzinfo=UTC)
    assert days_between(a, datetime(2025, 5, 15, tzinfo=UTC)) == 60.5  # 31 + 30 - 0.5


def test_kaplan_meier_by_hand():
    # durations: 1 event, 2 event + 2 censored, 3 event, 4 censored (6 people)
    observations = [(1, True), (2, True), (2, False), (2, False), (3, True), (4, False)]
    # t=1: 6 at risk, 1 event -> S = 5/6
    # t=2: 5 at risk, 1 event -> S = 5/6 * 4/5 = 4/6; then 2 censored leave
    # t=3: 2 at risk, 1 event -> S = 4/6 * 1/2 = 1/3
    steps = kaplan_meier(observations)
    assert [t for t, _ in steps] == [1, 2, 3]
    assert [s for _, s in steps] == pytest.approx([5 / 6, 4 / 6, 1 / 3])
    assert km_median(observations) == (3, None)  # first time S <= 0.5


def test_km_median_reaching_exactly_half():
    # 2 people: one churns at 36, one active at 60.5 -> S(36) = 1/2
    assert km_median([(36, True), (60.5, False)]) == (36, None)


def test_km_median_not_reached_is_an_honest_at_least():
    # nobody churned: the median is beyond the longest follow-up
    assert km_median([(66.5, False), (36.5, False)]) == (None, 66.5)
    # 1 of 3 churned: S = 2/3 > 0.5 -> at least the longest time seen
    assert km_median([(10, True), (20, False), (30, False)]) == (None, 30)
    assert km_median([]) == (None, None)


def test_censored_customers_are_not_counted_as_churned():
    # a naive median of "days until churn or now" would say 20 here;
    # Kaplan-Meier: t=10: 4 at risk -> 3/4; t=40: 1 at risk -> 0: median 40
    observations = [(10, True), (20, False), (30, False), (40, True)]
    assert km_median(observations) == (40, None)
