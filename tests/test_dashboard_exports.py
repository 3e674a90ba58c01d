"""Downloads from the dashboard are the API's own responses."""

import pytest

from conftest import AUTH, browser
from dashboard_support import build_dataset, signed_in


@pytest.mark.parametrize(
    "query",
    [
        "format=csv",
        "format=csv&model=linear",
        "format=csv&from=2026-03-02&to=2026-03-05&model=first_touch",
        "format=csv&channel=twitter",
        "format=csv&campaign=spring&goal=purchase",
        "format=json&model=time_decay",
    ],
)
def test_the_channel_report_download_is_the_apis_byte_for_byte(app, query):
    build_dataset(app.config["DATABASE"])
    client, _ = signed_in(app)
    mine = client.get(f"/dashboard/export/reports/channels?{query}")
    mine_body = mine.data  # read a streamed CSV before the next request starts
    theirs = browser(app).get(f"/api/reports/channels?{query}", headers=AUTH)
    assert mine.status_code == theirs.status_code == 200
    assert mine_body == theirs.data
    assert b"twitter" in mine_body  # rows, not an empty report
    assert mine.headers["Content-Type"] == theirs.headers["Content-Type"]
    assert mine.headers.get("Content-Disposition") == theirs.headers.get("Content-Disposition")


def test_the_overview_links_to_the_download_for_its_view(app):
    client, _ = signed_in(app)
    page = client.get("/dashboard/?period=custom&from=2026-03-01&to=2026-03-31&model=linear")
    assert (
        'href="/dashboard/export/reports/channels?model=linear&amp;from=2026-03-01'
        '&amp;to=2026-03-31&amp;format=csv"'
    ) in page.get_data(as_text=True)


def test_api_errors_come_through_and_unknown_downloads_are_404(app):
    client, _ = signed_in(app)
    bad = client.get("/dashboard/export/reports/channels?format=xml")
    assert bad.status_code == 400
    assert bad.get_json() == {"error": "format must be json or csv", "field": "format"}
    assert client.get("/dashboard/export/nothing/here").status_code == 404


@pytest.mark.parametrize(
    "path, error",
    [
        ("links?limit=abc", {"error": "limit must be a whole number", "field": "limit"}),
        ("links?sort=most", {"error": "sort must be newest or clicks", "field": "sort"}),
        ("rewards?limit=0", {"error": "limit must be between 1 and 1000", "field": "limit"}),
        ("rewards?status=lost&format=csv",
         {"error": "status must be one of pending, approved, paid, voided, refused",
          "field": "status"}),
        ("webhooks/1/deliveries?offset=-1",
         {"error": "offset must be between 0 and 1000000000", "field": "offset"}),
        ("exports/clicks?format=json", {"error": "format must be csv", "field": "format"}),
    ],
)  # fmt: skip
def test_a_download_refuses_what_the_api_declaration_refuses(app, path, error):
    # the views leave these checks to the declaration, which holds for the
    # download as for the API: the same 400, never a 500 or a silent default
    client, _ = signed_in(app)
    mine = client.get(f"/dashboard/export/{path}")
    theirs = browser(app).get(f"/api/{path}", headers=AUTH)
    assert (mine.status_code, mine.get_json()) == (theirs.status_code, theirs.get_json())
    assert (mine.status_code, mine.get_json()) == (400, error)


def test_a_signed_out_download_goes_to_sign_in_and_the_api_still_wants_a_key(app):
    anonymous = browser(app)
    assert anonymous.get("/dashboard/export/reports/channels?format=csv").status_code == 303
    client, _ = signed_in(app)
    # the dashboard session never opens the API itself
    assert client.get("/api/reports/channels").status_code == 401
