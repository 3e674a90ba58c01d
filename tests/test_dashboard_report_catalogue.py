"""Report pages: every API report as a table, with the API's CSV."""

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
