"""Report pages show a hundred rows at a time; the CSV keeps every row."""

import csv
import io
import re

import pytest

from dashboard_support import click, convert, insert_link, signed_in
from shortener.db import connect

# 230 purchases, one a minute from 2026-03-01 00:00, each by its own visitor
# after one click on the one link; purchase n is worth n.00 USD
COUNT = 230


def minute(n: int) -> str:
    return f"2026-03-01T{n // 60:02d}:{n % 60:02d}:00"


@pytest.fixture
def client(app):
    db = connect(app.config["DATABASE"])
    try:
        link = insert_link(db, "tw-many", "twitter", "many")
        for n in range(COUNT):
            visitor = f"visitor-{n:04d}-aaaaaaaaaaaa"
            click(db, link, visitor, minute(n))
            convert(db, "purchase", visitor, minute(n)[:-2] + "30", (n + 1) * 100, "USD", f"A{n}")
    finally:
        db.close()
    client, _ = signed_in(app)
    return client


def table_of(page: str) -> str:
    return page[page.index('id="report-table"') : page.index("</table>")]


def values(page: str) -> list[str]:
    return re.findall(r'data-col="value"[^>]*>([^<]+)<', table_of(page))


def test_journeys_come_a_hundred_at_a_time_oldest_first(client):
    base = "/dashboard/reports/journeys?period=all&goal=purchase"
    first = client.get(base).get_data(as_text=True)
    # oldest first: purchases 1 to 100 on page 1, 101 to 200 on page 2, 201 to 230 on page 3
    assert values(first) == [f"{n}.00 USD" for n in range(1, 101)]
    assert "rows 1–100 of 230" in first
    assert ">230 rows</h2>" in first
    next_link = re.search(r'href="([^"]+)" rel="next"', first).group(1).replace("&amp;", "&")
    assert 'rel="prev"' not in first
    # the other query parameters are kept
    assert "period=all" in next_link and "goal=purchase" in next_link and "page=2" in next_link
    second = client.get(next_link).get_data(as_text=True)
    assert values(second) == [f"{n}.00 USD" for n in range(101, 201)]
    assert "rows 101–200 of 230" in second
    prev_link = re.search(r'href="([^"]+)" rel="prev"', second).group(1).replace("&amp;", "&")
    assert "page=" not in prev_link and "goal=purchase" in prev_link
    third = client.get(base + "&page=3").get_data(as_text=True)
    assert values(third) == [f"{n}.00 USD" for n in range(201, 231)]
    assert "rows 201–230 of 230" in third and 'rel="next"' not in third


def test_the_csv_link_gives_every_row(client):
    page = client.get("/dashboard/reports/journeys?period=all&page=2").get_data(as_text=True)
    link = re.search(r'id="report-csv" href="([^"]+)"', page).group(1).replace("&amp;", "&")
    assert "page" not in link
    body = client.get(link).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == COUNT
    assert [r["value"] for r in rows] == [f"{n}.00" for n in range(1, COUNT + 1)]


def test_bad_page_numbers_are_clamped_not_errors(client):
    """Like the links and conversions pages, a page number that is not one
    shows page 1, and one past the last shows the last."""
    base = "/dashboard/reports/journeys?period=all"
    for bad in ("abc", "0", "-3", "1.5", ""):
        response = client.get(f"{base}&page={bad}")
        assert response.status_code == 200, bad
        assert values(response.get_data(as_text=True))[0] == "1.00 USD", bad
    past = client.get(f"{base}&page=99")
    assert past.status_code == 200
    page = past.get_data(as_text=True)
    assert values(page)[0] == "201.00 USD" and "rows 201–230 of 230" in page


def test_reports_read_whole_are_paged_on_the_page(client):
    # Growth by day over 2026: twitter is the only channel and USD its only
    # currency, so a row per day, 365 (every purchase is on 03-01)
    base = "/dashboard/reports/growth?from=2026-01-01&to=2026-12-31&bucket=day"
    first = client.get(base).get_data(as_text=True)
    assert "rows 1–100 of 365" in first
    assert table_of(first).count('data-col="period"') == 100
    last = client.get(base + "&page=4").get_data(as_text=True)
    assert "rows 301–365 of 365" in last
    assert table_of(last).count('data-col="period"') == 65
    # the chart still draws the whole year
    data = re.search(r'id="growth-data">(.*?)</script>', first, re.S).group(1)
    assert data.count('"2026-') == 365


def test_a_page_of_journeys_is_the_same_rows_as_the_whole_list(client, app):
    from conversions import journeys
    from conversions.analytics import Query

    db = connect(app.config["DATABASE"])
    try:
        q = Query()
        whole = journeys.journey_rows(db, q)
        assert journeys.journey_count(db, q) == len(whole) == COUNT
        assert journeys.journey_page(db, q, 100, 100) == whole[100:200]
        assert journeys.journey_page(db, q, 100, 200) == whole[200:]
        assert whole[150]["touches"] == 1 and whole[150]["first_touch_channel"] == "twitter"
    finally:
        db.close()
