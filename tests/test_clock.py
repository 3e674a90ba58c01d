"""Stored timestamps: fixed-width UTC text that sorts by time."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from shortener.clock import from_db, to_db


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 3, 2, 9, 5, 7, 123456, tzinfo=UTC), "2026-03-02T09:05:07.123456Z"),
        # a whole second still has its six zeros (isoformat alone would drop them)
        (datetime(2026, 3, 2, 9, 5, 7, tzinfo=UTC), "2026-03-02T09:05:07.000000Z"),
        # another zone is converted: 01:30 at +05:00 is 20:30 UTC the day before
        (datetime(2026, 3, 2, 1, 30, tzinfo=timezone(timedelta(hours=5))),
         "2026-03-01T20:30:00.000000Z"),
    ],
)  # fmt: skip
def test_to_db_writes_fixed_width_utc(moment, text):
    assert to_db(moment) == text
    assert from_db(text) == moment


def test_naive_times_are_refused():
    with pytest.raises(ValueError):
        to_db(datetime(2026, 3, 2))
