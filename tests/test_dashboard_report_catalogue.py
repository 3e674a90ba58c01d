"""Report pages: every API report as a table, with the API's CSV."""

import json
import re

import pytest

from conftest import AUTH, browser
from dashboard_support import build_dataset, signed_in


@pytest.fixture
def client(app):
    build_dataset(app.config["DATABASE"])
    client, _ = signed_in(app)
    return client


def test_the_index_lists_every_report_of_the_api(client):
    page = client.get("/dashboard/reports").get_data(as_text=True)
    listed = re.findall(r'href="/dashboard/reports/([a-z-]+)"', page)
    assert listed[0] == "channels"
    for name in ("roi", "earned", "control", "growth", "attribution", "journeys"):
        assert name in listed
    assert "What each channel cost against what it brought" in page
    # plain words, not the API's paths
    assert "/api/reports" not in page


def test_a_report_page_shows_the_apis_rows(client, app):
    page = client.get("/dashboard/reports/attribution?period=all&by=campaign").get_data(
        as_text=True
    )
    api = browser(app).get("/api/reports/attribution?by=campaign", headers=AUTH).get_json()
    table = page[page.index('id="report-table"') :]
    assert table.count("<tr") == len(api["rows"]) + 1  # the header row and one per row
    assert '<th scope="col">Campaign</th>' in page
    # the key columns fit the screen; every column is one click away
    assert '<th scope="col">Currency</th>' not in page  # each money cell says its currency
    assert 'data-col="linear_revenue" class="num">50.00 USD</td>' in page  # v1's 100.00 / 2
    assert '<a class="button small ghost" id="columns-switch"' in page
    every = client.get("/dashboard/reports/attribution?period=all&by=campaign&columns=all")
    every = every.get_data(as_text=True)
    assert '<th scope="col">Currency</th>' in every
    assert every.count('<th scope="col"') == len(api["rows"][0])
    csv_link = re.search(r'id="report-csv" href="([^"]+)"', page).group(1)
    assert (
        csv_link
        == "/dashboard/export/reports/attribution?model=last_touch&amp;by=campaign&amp;format=csv"
    )


def test_report_downloads_are_the_apis_csv(client, app):
    for name in ("roi", "earned", "control", "growth", "journeys", "attribution"):
        query = "from=2026-03-01&to=2026-03-05&format=csv"
        mine = client.get(f"/dashboard/export/reports/{name}?{query}")
        mine_body = mine.data
        theirs = browser(app).get(f"/api/reports/{name}?{query}", headers=AUTH)
        assert mine.status_code == theirs.status_code == 200, name
        assert mine_body == theirs.data, name


def test_the_apis_refusal_is_shown_on_the_page(client):
    page = client.get("/dashboard/reports/growth?period=all&as_of=yesterday")
    assert page.status_code == 200
    assert "The report could not be made: as_of must be a date" in page.get_data(as_text=True)


def test_unknown_reports_are_404(client):
    assert client.get("/dashboard/reports/nothing").status_code == 404


def test_growth_picks_its_step_from_the_periods_length(client):
    # the data set's rows are four channels and currencies: email USD, twitter EUR and USD,
    # (direct) USD, in March 2026
    def growth(query):
        page = client.get(f"/dashboard/reports/growth?{query}").get_data(as_text=True)
        csv_link = re.search(r'id="report-csv" href="([^"]+)"', page).group(1)
        return page, csv_link

    five_days, link = growth("period=custom&from=2026-03-01&to=2026-03-05")
    assert "period=day" in link and "a row per day" in five_days
    # twelve months: by week, 53 periods (Monday 2025-03-31 to Monday 2026-03-30), not 365
    year, link = growth("period=custom&from=2025-04-01&to=2026-03-31")
    assert "period=week" in link and "a row per week" in year
    table = year[year.index('id="report-table"') :]
    # 4 * 53 rows, a hundred to a page
    assert table.count('data-col="period"') == 100 and "rows 1–100 of 212" in year
    three_years, link = growth("period=custom&from=2023-04-01&to=2026-03-31")
    assert "period=month" in link and "a row per month" in three_years
    # chosen by hand, it stays as chosen
    chosen, link = growth("period=custom&from=2025-04-01&to=2026-03-31&bucket=day")
    assert "period=day" in link
    # the chart of the rows: a line per channel, a point per week
    data = json.loads(re.search(r'id="growth-data">(.*?)</script>', year, re.S).group(1))
    assert data["bucket"] == "week" and len(data["labels"]) == 53
    twitter = next(s for s in data["series"] if s["channel"] == "twitter")
    # v1, v2 on 03-01 (a Sunday: the week of 02-23), v3's two clicks on 03-05 (week of 03-02)
    assert twitter["human_clicks"][data["labels"].index("2026-02-23")] == 2
    assert twitter["human_clicks"][data["labels"].index("2026-03-02")] == 2


def test_growth_goes_by_day_for_a_quarter_and_by_month_for_all_time(client):
    from datetime import date

    # the four channel and currency rows of the data set (see above)
    def growth(query):
        return client.get(f"/dashboard/reports/growth?{query}").get_data(as_text=True)

    # 2026-01-01 to 04-01 is 91 days: a row per day, 4 * 91 = 364 rows
    quarter = growth("period=custom&from=2026-01-01&to=2026-04-01")
    assert "a row per day" in quarter and "rows 1–100 of 364" in quarter
    # the last 90 days, by day too (the data set has none in them)
    assert "a row per day" in growth("period=90d")
    # 2026-01-01 to 2026-06-30 is 181 days: by week, Monday 2025-12-29 to Monday
    # 2026-06-29, 27 weeks
    half = growth("period=custom&from=2026-01-01&to=2026-06-30")
    assert "a row per week" in half and ">108 rows</h2>" in half
    # all time runs from the first data (2026-03-01) to today, over a quarter: by month,
    # March 2026 to this month
    today = date.today()
    months = (today.year - 2026) * 12 + today.month - 3 + 1
    every = growth("period=all")
    assert "a row per month" in every and f">{4 * months} rows</h2>" in every
    # chosen by hand, it stays as chosen
    assert "a row per week" in growth("period=all&bucket=week")


def test_every_report_page_gets_exactly_what_the_api_answers(client, app):
    """The pages call the API views' own report functions: for every report
    the catalogue lists, the answer the page renders equals the API's JSON
    (the same values, already JSON-shaped: no date or Decimal objects)."""
    from dashboard import report_catalogue

    api = browser(app)
    with app.test_request_context("/dashboard/reports"):
        names = report_catalogue.report_names()
        assert {"channels", "attribution", "growth", "advocates"} <= set(names)
        for name in names:
            # a past as_of: the customer and advocate reports measure tenure up to
            # it, not up to each call's own "now" (the two calls are moments apart)
            args = {"from": "2026-01-01", "to": "2026-06-30", "as_of": "2026-06-30",
                    "model": "linear"}  # fmt: skip
            answer, problem = report_catalogue.run(name, args)
            expected = api.get(f"/api/reports/{name}", query_string=args, headers=AUTH)
            assert expected.status_code == 200, (name, expected.get_json())
            assert problem is None
            assert answer == expected.get_json(), name
        answer, problem = report_catalogue.run("growth", {"period": "fortnight"})
        assert answer is None and problem == "period must be one of day, week, month"
