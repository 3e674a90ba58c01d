"""Properties of attribution, for any journey: under every model a
conversion's credits sum to exactly one conversion and exactly its value,
and the attribution report's revenue summed over channels equals the
total revenue, per currency, to the minor unit."""

import tempfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import BROWSER_UA
from conversions.analytics import Query, Settings, attribution_rows
from conversions.attribution import MODELS, ONE, allocate, credit, model_weights
from conversions.intake import Conversion, Policy, record_conversion
from conversions.money import exponent
from conversions.reports import Period
from shortener.app import init_db
from shortener.clicks import classify, record_click
from shortener.db import connect

START = datetime(2025, 1, 1, tzinfo=UTC)
HUMAN = classify(BROWSER_UA)

moments = st.integers(min_value=0, max_value=60 * 24 * 3600).map(
    lambda s: START + timedelta(seconds=s)
)


@given(
    ages=st.lists(st.integers(min_value=0, max_value=30 * 24 * 3600), min_size=1, max_size=25),
    value=st.integers(min_value=0, max_value=10**14),
    model=st.sampled_from(MODELS),
    half_life=st.sampled_from([1, 7, 30, 0.5]),
)
def test_credits_sum_to_one_conversion_and_its_value(ages, value, model, half_life):
    converted_at = START + timedelta(days=40)
    touches = sorted(converted_at - timedelta(seconds=a) for a in ages)
    shares = credit(touches, converted_at, value, model, half_life)
    assert len(shares) == len(touches)
    assert sum(ppm for ppm, _ in shares) == ONE
    assert sum(minor for _, minor in shares) == value
    assert all(ppm >= 0 and minor >= 0 for ppm, minor in shares)


@given(
    ages=st.lists(st.integers(min_value=0, max_value=400 * 24 * 3600), min_size=1, max_size=25),
    value=st.integers(min_value=0, max_value=10**14),
    model=st.sampled_from(MODELS),
    half_life=st.sampled_from([1, 7, 30, 0.5, 0.01]),
)
def test_integer_credits_equal_the_exact_fraction_split(ages, value, model, half_life):
    # intake splits with whole-number weights for speed; the reference is
    # the plain statement of the rule: exact Fractions, largest remainder
    converted_at = START + timedelta(days=400)
    touches = sorted(converted_at - timedelta(seconds=a) for a in ages)
    weights = model_weights(touches, converted_at, model, half_life)
    expected = list(zip(allocate(ONE, weights), allocate(value, weights), strict=True))
    assert credit(touches, converted_at, value, model, half_life) == expected


def minor_units(text: str, currency: str) -> int:
    return int(Decimal(text).scaleb(exponent(currency)))


journeys = st.lists(
    st.tuples(
        st.lists(st.tuples(st.integers(0, 3), moments), max_size=6),  # clicks: (link, when)
        st.lists(  # conversions: (when, value in minor units, currency)
            st.tuples(moments, st.integers(0, 10**9), st.sampled_from(["EUR", "USD", "JPY"])),
            min_size=1,
            max_size=3,
        ),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(visitors=journeys)
def test_report_revenue_over_channels_equals_total_revenue(visitors):
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "ct.db")
        init_db(path)
        db = connect(path)
        try:
            now = START
            for n, (channel, campaign) in enumerate(
                [("twitter", "a"), ("twitter", "b"), ("email", "c"), ("linkedin", "a")]
            ):
                db.execute(
                    "INSERT INTO links (id, code, url, channel, campaign, created_at, updated_at)"
                    " VALUES (?, ?, 'https://shop.example.com/', ?, ?, '', '')",
                    [n + 1, f"code{n}", channel, campaign],
                )
            db.conn.commit()
            expected = {}  # currency -> [conversions, minor units]
            for v, (clicks, conversions) in enumerate(visitors):
                for link, when in clicks:
                    record_click(db, link_id=link + 1, visitor_id=f"v{v}", now=when,
                                 agent=HUMAN, is_bot=False)  # fmt: skip
                for when, value, currency in conversions:
                    record_conversion(
                        db,
                        Conversion(goal="purchase", source="webhook", occurred_at=when,
                                   received_at=now, value_minor=value, currency=currency,
                                   visitor_id=f"v{v}"),
                        Policy(window_days=30, half_life_days=7),
                    )  # fmt: skip
                    total = expected.setdefault(currency, [0, 0])
                    total[0] += 1
                    total[1] += value
            # every conversion's stored credits, under every model
            for row in db.query(
                "SELECT c.id, c.value_minor, cr.model, sum(cr.weight_ppm) AS ppm,"
                " sum(cr.revenue_minor) AS minor FROM conversions c"
                " JOIN credits cr ON cr.conversion_id = c.id GROUP BY c.id, cr.model"
            ):
                assert row["ppm"] == ONE
                assert row["minor"] == row["value_minor"]
            for model in MODELS:
                rows = attribution_rows(db, Query(Period(), model), Settings())
                for currency, (count, minor) in expected.items():
                    mine = [r for r in rows if r["currency"] == currency]
                    assert round(sum(r["conversions"] for r in mine), 6) == count
                    assert sum(minor_units(r["revenue"], currency) for r in mine) == minor
                    for m in MODELS:  # the side-by-side columns too
                        assert sum(minor_units(r[f"{m}_revenue"], currency) for r in mine) == (
                            minor
                        )
        finally:
            db.close()
