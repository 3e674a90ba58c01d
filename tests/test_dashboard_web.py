"""Every dashboard page: signed-out redirects, headers, error pages, assets."""

from pathlib import Path

import pytest

from conftest import browser
from dashboard_support import build_dataset, signed_in

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    "/dashboard/",
    "/dashboard/links",
    "/dashboard/links/new",
    "/dashboard/links/tw-spring",
    "/dashboard/conversions",
    "/dashboard/channels/twitter",
    "/dashboard/campaigns/spring",
    "/dashboard/costs",
    "/dashboard/goals",
    "/dashboard/install",
    "/dashboard/keys",
]


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_every_page_redirects_to_sign_in(app, path):
    response = browser(app).get(path)
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/dashboard/login?next=/dashboard/")


@pytest.mark.parametrize("path", PAGES)
def test_signed_in_every_page_answers_with_protective_headers(app, path):
    build_dataset(app.config["DATABASE"])
    client, _ = signed_in(app)
    response = client.get(path)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    page = response.get_data(as_text=True)
    assert "<script>" not in page  # the CSP allows no inline script
    assert ' style="' not in page  # nor inline styles


def test_assets_are_served_by_the_app(app):
    client = browser(app)
    chart = client.get("/dashboard/static/vendor/chart.umd.min.js")
    assert chart.status_code == 200 and b"Chart.js v4" in chart.data[:200]
    assert client.get("/dashboard/static/dashboard.css").status_code == 200
    assert (
        (ROOT / "dashboard/static/vendor/chart.js-LICENSE.md")
        .read_text()
        .startswith("The MIT License")
    )


def test_unknown_pages_and_codes(app):
    client, _ = signed_in(app)
    missing = client.get("/dashboard/links/nope")
    assert missing.status_code == 404
    assert "There is no link with the code" in missing.get_data(as_text=True)
    assert client.get("/dashboard").status_code == 308  # to /dashboard/


def test_the_readme_shows_the_overview():
    readme = (ROOT / "README.md").read_text()
    assert "![The overview page](docs/overview.png)" in readme
    picture = ROOT / "docs" / "overview.png"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert picture.stat().st_size < 300_000
