"""How report figures are computed and written: money divided exactly and
rounded once to the minor unit, rates and percentages rounded to six
places, and every division by zero an empty figure (None), never an error
or infinity."""

from fractions import Fraction

from .attribution import ONE
from .money import format_minor


def money(minor: int | None, currency: str) -> str | None:
    """Minor units as a decimal string in the currency's minor units."""
    return None if minor is None else format_minor(minor, currency)


def round_half_up(value: Fraction) -> int:
    """Whole minor units, halves rounded up (amounts here are never negative)."""
    whole, rest = divmod(value.numerator, value.denominator)
    return whole + (1 if 2 * rest >= value.denominator else 0)


def per(minor: int, count_ppm: int) -> int | None:
    """Money per (possibly fractional) count given in parts per million:
    minor * 10^6 / ppm, rounded to the minor unit; None for a zero count."""
    if not count_ppm:
        return None
    return round_half_up(Fraction(minor * ONE, count_ppm))


def percent(numerator: int, denominator: int) -> float | None:
    return round(numerator * 100 / denominator, 6) if denominator else None


def growth(current: int, previous: int | None) -> float | None:
    """Growth in % against the previous period; None without one or from zero."""
    if previous is None or previous == 0:
        return None
    return percent(current - previous, previous)
