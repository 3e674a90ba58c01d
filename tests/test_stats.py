"""conversions.stats: intervals checked against published tables, Kaplan-Meier
and medians against answers worked out by hand."""

import math
from datetime import UTC, datetime

import pytest

from conversions import stats
from conversions.stats import (
    Z95,
    against_baseline,
    days_between,
    kaplan_meier,
    km_median,
    lift,
    median,
    newcombe_difference,
    viral_coefficient,
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


# -- A/B tests -----------------------------------------------------------------


def test_two_proportion_z_test_hand_worked():
    # 200 of 1000 against 250 of 1000: pooled p = 450 / 2000 = 0.225;
    # se = sqrt(0.225 * 0.775 * (1/1000 + 1/1000)) = sqrt(0.00034875) = 0.0186748;
    # z = (0.25 - 0.20) / 0.0186748 = 2.67740; p = erfc(2.67740 / sqrt 2) = 0.00742
    z, p = stats.two_proportion_z_test(200, 1000, 250, 1000)
    assert z == pytest.approx(2.67740, abs=1e-5)
    assert p == pytest.approx(0.00742, abs=1e-5)
    assert stats.two_proportion_z_test(0, 10, 0, 10) is None  # nobody converted: no information
    assert stats.two_proportion_z_test(1, 0, 1, 10) is None


def test_sample_size_per_group_hand_worked():
    # 10 % vs 12 %: mean 0.11; a = 1.959964 * sqrt(2 * 0.11 * 0.89) = 0.867270;
    # b = 0.841621 * sqrt(0.09 + 0.1056) = 0.372221; (a + b)^2 / 0.02^2
    # = 1.239491^2 / 0.0004 = 3840.8 -> 3841 visitors per variant
    assert stats.sample_size_per_group(0.10, 0.12) == 3841
    assert stats.sample_size_per_group(0.12, 0.10) == 3841
    assert stats.sample_size_per_group(0.3, 0.3) is None


def test_ab_comparison_significant_with_its_interval():
    result = stats.ab_comparison(200, 1000, 250, 1000)
    # Wilson 95 %: 250/1000 -> [0.224153, 0.277760], 200/1000 -> [0.176377, 0.225919];
    # Newcombe: 0.05 - sqrt(0.025847^2 + 0.025919^2) = 0.013394,
    #           0.05 + sqrt(0.027760^2 + 0.023623^2) = 0.086451
    assert result["difference"] == pytest.approx(0.05)
    assert result["low"] == pytest.approx(0.013394, abs=2e-6)
    assert result["high"] == pytest.approx(0.086451, abs=2e-6)
    assert result["verdict"] == "significant"
    assert result["needed_per_variant"] is None


def test_ab_comparison_not_yet_with_the_sample_needed():
    # 1 of 4 against 2 of 5: pooled 3/9; se = sqrt(1/3 * 2/3 * (1/4 + 1/5)) = sqrt(0.1);
    # z = 0.15 / 0.316228 = 0.474342 -> p = 0.635256: far from significant.
    # Needed for 25 % vs 40 %: mean 0.325; a = 1.959964 * sqrt(0.43875) = 1.298246;
    # b = 0.841621 * sqrt(0.1875 + 0.24) = 0.550282; (1.848528)^2 / 0.15^2 = 151.87 -> 152
    result = stats.ab_comparison(1, 4, 2, 5)
    assert result["p_value"] == pytest.approx(0.635256, abs=1e-6)
    assert (result["verdict"], result["needed_per_variant"]) == ("not yet", 152)
    # p < 0.05 but only 3 conversions in the control: too few to trust the test
    small = stats.ab_comparison(3, 100, 30, 100)
    assert small["p_value"] < 0.05
    assert small["verdict"] == "not yet"
    assert stats.ab_comparison(0, 0, 1, 5) is None


def test_a_rate_against_a_baseline_and_the_viral_coefficient():
    # 0 of 13 against 0.31: [0, 0.228] below; 2 of 2 against 0.32: [0.342, 1] above
    assert against_baseline(0, 13, 0.31)[0] == "below"
    assert against_baseline(2, 2, 0.32)[0] == "above"
    # 5 of 20 = 0.25 against 0.3: the interval [0.112, 0.469] holds it, n >= 10
    assert against_baseline(5, 20, 0.3)[0] == "in_line"
    assert against_baseline(1, 4, 0.3)[0] == "too_few"
    assert against_baseline(0, 0, 0.3) == ("too_few", None)
    assert against_baseline(1, 4, None)[0] == "no_baseline"
    # 3 invitations by 2 converted friends, 1 of 4 invited converted: 1.5 x 0.25
    assert viral_coefficient(3, 2, 4, 1) == 0.375
    assert viral_coefficient(0, 2, 0, 0) == 0.0
    assert viral_coefficient(1, 0, 1, 1) is None
