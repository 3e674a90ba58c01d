"""The overview's growth chart, drawn from the Growth report's rows; every
other figure of the dashboard's pages is computed in `conversions`
(`conversions.overview` for the headline totals, link numbers and latest
conversions)."""

from datetime import UTC, date, datetime, time

from sqlite_utils import Database

from conversions.analytics import Query, ReportError, Settings, growth_rows
from conversions.overview import period_bucket
from conversions.reports import Filters, Period

from .charts import growth_from_rows


def growth_series(db: Database, period: Period, model: str, filters: Filters, today: date) -> dict:
    """Human clicks and attributed conversions per channel over time, read
    from the Growth report's rows (the API's GET /api/reports/growth) with
    periods of nothing as zeros. Days, weeks or months, whichever keeps the
    chart readable for the period's length."""
    size = period_bucket(db, period, today)
    now = datetime.combine(today, time(), tzinfo=UTC)
    try:
        rows = growth_rows(db, Query(period, model, filters, size=size, now=now), Settings())
    except ReportError:
        # the report refuses more than MAX_BUCKETS periods (a period from
        # year 1): the page keeps its tables and draws no chart
        rows = []
    return growth_from_rows(rows, size)
