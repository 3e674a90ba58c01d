"""conversions.figures: exact money division, rounding, and empty figures
instead of division by zero."""

from fractions import Fraction

from conversions.figures import growth, money, per, percent, round_half_up


def test_round_half_up():
    assert round_half_up(Fraction(5, 2)) == 3  # 2.5 -> 3 (not banker's 2)
    assert round_half_up(Fraction(7, 2)) == 4
    assert round_half_up(Fraction(249, 100)) == 2
    assert round_half_up(Fraction(0)) == 0


def test_money_per_fractional_count():
    assert per(41000, 1_000_000) == 41000  # 410.00 / 1
    assert per(11000, 3_000_000) == 3667  # 110.00 / 3 = 36.666.. -> 36.67
    assert per(41000, 333_334) == 123000  # 410.00 / 0.333334 = 1229.9975.. -> 1230.00
    assert per(500, 2_000_000) == 250
    assert per(1, 2_000_000) == 1  # 0.005 rounds up to 0.01
    assert per(100, 0) is None  # no customers: no CAC, never an error


def test_percent_and_growth():
    assert percent(13500, 11000) == 122.727273  # 1350000 / 11000 = 122.7272..
    assert percent(5, 0) is None
    assert growth(1, 3) == -66.666667  # (1 - 3) x 100 / 3
    assert growth(4, 0) is None  # from nothing: no percentage
    assert growth(4, None) is None  # no previous period
    assert growth(0, 5) == -100.0


def test_money_text():
    assert money(5084, "EUR") == "50.84"
    assert money(1230, "JPY") == "1230"
    assert money(None, "EUR") is None
