"""Statistics for the analytics reports, as pure functions.

Proportions get Wilson score intervals, and a difference of two
independent proportions gets Newcombe's hybrid score interval (Newcombe
1998, method 10): unlike the textbook Wald interval it stays inside
[-1, 1] and behaves with the small counts a new campaign has. Durations
with customers still active get a Kaplan-Meier estimate, so an active
customer counts as "at least this long", never as churned. No Flask, no
database, no clock: callers pass `now`.
"""

import math
from collections.abc import Iterable, Sequence
from datetime import datetime

Z95 = 1.959963984540054  # two-sided 95 %: the 0.975 quantile of the normal distribution
SECONDS_PER_DAY = 86_400


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval for successes / n; None when n is 0."""
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError("successes must be between 0 and n")
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n))
    # the exact ends at 0 and n, without rounding noise
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def newcombe_difference(
    x1: int, n1: int, x2: int, n2: int, z: float = Z95
) -> tuple[float, float, float] | None:
    """(p1 - p2, low, high): Newcombe's hybrid score interval for the
    difference of two independent proportions; None when a group is empty."""
    first = wilson_interval(x1, n1, z)
    second = wilson_interval(x2, n2, z)
    if first is None or second is None:
        return None
    p1, p2 = x1 / n1, x2 / n2
    l1, u1 = first
    l2, u2 = second
    difference = p1 - p2
    low = difference - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = difference + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return difference, low, high


def lift(rate: float | None, baseline: float | None) -> float | None:
    """rate / baseline - 1: how much better (or worse) than the baseline."""
    if rate is None or not baseline:
        return None
    return rate / baseline - 1


def median(values: Iterable[float]) -> float | None:
    """The middle value (the mean of the two middle ones for an even count)."""
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        return None
    middle = n // 2
    if n % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def days_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / SECONDS_PER_DAY


def kaplan_meier(observations: Iterable[tuple[float, bool]]) -> list[tuple[float, float]]:
    """Survival steps [(time, S(time))] at each event time.

    `observations` are (duration, ended): ended=False is a censored
    observation (still active when last seen). At a time with both events
    and censorings the events are counted first, as is usual.
    """
    ordered = sorted(observations, key=lambda o: (o[0], not o[1]))
    at_risk = len(ordered)
    survival = 1.0
    steps = []
    i = 0
    while i < len(ordered):
        time = ordered[i][0]
        events = censored = 0
        while i < len(ordered) and ordered[i][0] == time:
            if ordered[i][1]:
                events += 1
            else:
                censored += 1
            i += 1
        if events:
            survival *= 1 - events / at_risk
            steps.append((time, survival))
        at_risk -= events + censored
    return steps


def km_median(observations: Sequence[tuple[float, bool]]) -> tuple[float | None, float | None]:
    """(median, at_least): the median survival time -- the first time at
    which the Kaplan-Meier estimate falls to 0.5 or below -- or, when it
    never does, None and the longest time observed: the median is at least
    that. (None, None) with no observations."""
    if not observations:
        return None, None
    for time, survival in kaplan_meier(observations):
        if survival <= 0.5 + 1e-12:
            return time, None
    return None, max(duration for duration, _ in observations)


MIN_VISITORS = 10  # below this a rate whose interval holds the baseline is "too few visitors"


def against_baseline(
    successes: int, n: int, baseline: float | None, min_n: int = MIN_VISITORS
) -> tuple[str, tuple[float, float] | None]:
    """('above' | 'below' | 'in_line' | 'too_few' | 'no_baseline', Wilson interval):
    a rate against a reference rate taken as known (a campaign's average).

    The 95 % Wilson interval of successes / n decides: entirely above the
    baseline is 'above', entirely below is 'below'. When it holds the
    baseline, 'in_line' needs at least `min_n` trials -- with fewer the
    interval is too wide to call anything "in line", so it is 'too_few'.
    A small sample that is decisive anyway (2 of 2 against 30 %) keeps its
    verdict: the interval already paid for the small n."""
    interval = wilson_interval(min(successes, n), n)
    if interval is None:
        return "too_few", None
    if baseline is None:
        return "no_baseline", interval
    low, high = interval
    if low > baseline:
        return "above", interval
    if high < baseline:
        return "below", interval
    return ("in_line" if n >= min_n else "too_few"), interval


def viral_coefficient(
    invitations: int, converted: int, invited_visitors: int, invited_converted: int
) -> float | None:
    """k = (invitations per converted visitor) x (conversion rate of the
    invited). None when nobody converted (no one could invite); 0 when
    they sent no invitations, or the invitations reached nobody."""
    if converted <= 0:
        return None
    per_converted = invitations / converted
    if invitations == 0 or invited_visitors == 0:
        return 0.0
    return per_converted * (invited_converted / invited_visitors)


# -- A/B tests -----------------------------------------------------------------

Z80 = 0.8416212335729143  # one-sided 80 % power: the 0.80 quantile of the normal distribution
MIN_COUNT = 5  # successes and failures per group the normal approximation needs


def two_proportion_z_test(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float] | None:
    """(z, two-sided p-value) of the pooled two-proportion z-test of
    x2/n2 against x1/n1; None when a group is empty or nothing varies (no
    conversions at all, or all converted: the test has no information)."""
    if n1 <= 0 or n2 <= 0:
        return None
    pooled = (x1 + x2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return None
    z = (x2 / n2 - x1 / n1) / math.sqrt(variance)
    return z, math.erfc(abs(z) / math.sqrt(2))


def sample_size_per_group(p1: float, p2: float, z_alpha: float = Z95, z_power: float = Z80):
    """Visitors each variant needs for a two-sided test at 5 % to detect the
    difference between rates p1 and p2 with 80 % power (the usual normal
    approximation, rounded up); None when the rates are equal (no
    difference to detect, whatever the sample)."""
    if p1 == p2:
        return None
    mean = (p1 + p2) / 2
    a = z_alpha * math.sqrt(2 * mean * (1 - mean))
    b = z_power * math.sqrt(p1 * (1 - p1) + p2 * (1 - p2))
    return math.ceil((a + b) ** 2 / (p1 - p2) ** 2)


def ab_comparison(x1: int, n1: int, x2: int, n2: int) -> dict | None:
    """A variant (x2 of n2 converted) against the control (x1 of n1): the
    difference of rates with Newcombe's 95 % interval, the z-test's p-value,
    and a verdict. "significant" needs p < 0.05 and at least MIN_COUNT
    conversions and non-conversions in each group (below that the normal
    approximation is not to be trusted); otherwise "not yet", with the
    visitors per variant needed to detect the difference seen so far."""
    interval = newcombe_difference(x2, n2, x1, n1)
    if interval is None:
        return None
    difference, low, high = interval
    test = two_proportion_z_test(x1, n1, x2, n2)
    z, p_value = test if test else (None, None)
    enough = all(MIN_COUNT <= x and MIN_COUNT <= n - x for x, n in ((x1, n1), (x2, n2)))
    significant = bool(test) and enough and p_value < 0.05
    needed = None if significant else sample_size_per_group(x1 / n1, x2 / n2)
    return {
        "difference": difference,
        "low": low,
        "high": high,
        "z": z,
        "p_value": p_value,
        "verdict": "significant" if significant else "not yet",
        "needed_per_variant": needed,
    }
