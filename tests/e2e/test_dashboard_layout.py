"""Every dashboard page in a real browser at 1280 and 390 px: its key figures
fit the screen, nothing breaks, and a screenshot of each is kept.

The pages come from the app's URL map (as in the accessibility test, whose
seeded data this test shares), so a page added later is checked too. A page
fails when the document, or any element marked `data-key-figures` (the
totals, the key columns of a table, a link's numbers), is wider than the
viewport or scrolls sideways; when the browser logs an error (a script
error, or a Content-Security-Policy refusal: the pages allow only their own
scripts, so the charts must come from the page's JSON); or when a request
fails. Screenshots go to test-artifacts/screenshots/layout/ (ignored by git).

Also here: the A/B box of the link form takes what its label says.
"""

import re

import pytest
from test_dashboard_accessibility import (
    ERROR_PAGE,
    SIGNED_OUT,
    WIDTHS,
    dashboard_pages,
    seed,
)

from chromium_support import launched, needs_chromium, sign_in
from conftest import app_config
from servers import ROOT, gunicorn
from shortener.db import connect

pytestmark = needs_chromium

SHOTS = ROOT / "test-artifacts" / "screenshots" / "layout"
# what is too wide: the document, and each key-figure element (it may not
# reach past the viewport, nor scroll sideways inside)
OVERFLOW = """() => {
  const width = window.innerWidth;
  const found = [];
  const doc = document.documentElement.scrollWidth;
  if (doc > width) found.push(`the document is ${doc} px wide`);
  document.querySelectorAll("[data-key-figures]").forEach((el) => {
    const name = el.id || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby")
      || el.querySelector("table")?.id || el.className;
    const right = el.getBoundingClientRect().right;
    if (el.scrollWidth > el.clientWidth + 1) {
      found.push(`${name} scrolls sideways: ${el.scrollWidth} px in ${el.clientWidth} px`);
    }
    if (right > width + 0.5) found.push(`${name} ends at ${Math.round(right)} px`);
  });
  return {found, keyFigures: document.querySelectorAll("[data-key-figures]").length};
}"""
CHARTS_DRAWN = """() => [...document.querySelectorAll("canvas[data-chart], canvas[data-growth]")]
  .every((canvas) => window.Chart && Chart.getChart(canvas))"""


@pytest.fixture(scope="module")
def chromium():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with launched() as browser:
        yield browser


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("layout")
    app = seed(tmp_path)
    config = app_config(tmp_path, DEFAULT_CURRENCY="EUR")
    with gunicorn(config) as base:
        yield base, app


def slug(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", path.removeprefix("/dashboard")).strip("-") or "overview"


def watch(page, expected_status: int) -> list[str]:
    """What goes wrong while the page loads and runs, as sentences."""
    problems = []

    def on_console(message):
        if message.type != "error":
            return
        own_404 = expected_status == 404 and message.location.get("url") == page.url
        if not own_404:
            problems.append(f"console error: {message.text}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    page.on("requestfailed", lambda r: problems.append(f"request failed: {r.url} {r.failure}"))

    def on_response(response):
        main = response.request.is_navigation_request()
        if response.status >= 400 and not (main and response.status == expected_status):
            problems.append(f"{response.status} for {response.url}")

    page.on("response", on_response)
    return problems


@pytest.mark.parametrize("width", sorted(WIDTHS))
def test_every_page_fits_the_screen_without_errors(chromium, site, width):
    base, app = site
    pages = dashboard_pages(app)
    endpoints = {endpoint for endpoint, _ in pages}
    assert {"dashboard.overview", "dashboard.advocates_page", "dashboard.rewards_page",
            "dashboard.link_edit", "dashboard.report_page"} <= endpoints  # fmt: skip
    signed_in = chromium.new_context(**WIDTHS[width])
    signed_out = chromium.new_context(**WIDTHS[width])
    found, checked = [], 0
    try:
        sign_in(signed_in.new_page(), base)
        for endpoint, path in [*pages, ("error page", ERROR_PAGE)]:
            page = (signed_out if endpoint in SIGNED_OUT else signed_in).new_page()
            expected = 404 if path == ERROR_PAGE else 200
            problems = watch(page, expected)
            response = page.goto(base + path, wait_until="load")
            assert response.status == expected, path
            page.wait_for_function(CHARTS_DRAWN, timeout=10_000)
            measured = page.evaluate(OVERFLOW)
            problems += measured["found"]
            checked += measured["keyFigures"]
            page.screenshot(path=str(SHOTS / f"{width}-{slug(path)}.png"), full_page=True)
            found += [f"{path} at {width} px: {p}" for p in problems]
            page.close()
    finally:
        signed_in.close()
        signed_out.close()
    assert checked > len(pages), "the pages mark their key figures (data-key-figures)"
    assert not found, f"{len(found)} problems:\n" + "\n".join(found)


def test_the_ab_form_takes_url_weight_name_as_its_label_says(chromium, site):
    base, app = site
    context = chromium.new_context(**WIDTHS[1280])
    try:
        page = context.new_page()
        problems = watch(page, 200)
        sign_in(page, base, "/dashboard/links/new")
        label = page.inner_text("label[for=destinations]")
        assert "one per line: URL, weight, name" in label
        page.fill("#url", "https://shop.example.com/")
        page.fill("#channel", "instagram")
        page.fill("#campaign", "summer")
        page.fill("#code", "hero-test")
        page.fill(
            "#destinations",
            "https://shop.example.com/hero, 75, Hero video\nhttps://shop.example.com/plain, 25,"
            " Plain page",
        )
        # the live preview already shows each variant with its share
        tags = "utm_source=instagram&utm_medium=social&utm_campaign=summer&ct_click=CLICK_ID"
        assert page.inner_text("#preview").splitlines() == [
            f"Hero video (75 %): https://shop.example.com/hero?{tags}",
            f"Plain page (25 %): https://shop.example.com/plain?{tags}",
        ]
        page.click("text=Create link")
        page.wait_for_url(re.compile(r".*/dashboard/links/hero-test$"))
        landed = page.locator("#final-url-variants li")
        assert landed.count() == 2
        assert landed.nth(0).get_attribute("data-variant") == "Hero video"
        assert "(75 % of visitors)" in landed.nth(0).inner_text()
        assert f"https://shop.example.com/plain?{tags}" in landed.nth(1).inner_text()
        # the form shows them again as its label says
        assert page.input_value("#destinations") == (
            "https://shop.example.com/hero, 75, Hero video\n"
            "https://shop.example.com/plain, 25, Plain page"
        )
        page.screenshot(path=str(SHOTS / "ab-form-saved.png"), full_page=True)
        assert not problems, problems
    finally:
        context.close()
    db = connect(app.config["DATABASE"])
    try:
        stored = db.execute("SELECT destinations FROM links WHERE code = 'hero-test'").fetchone()
    finally:
        db.close()
    assert stored[0] == (
        '[{"name": "Hero video", "url": "https://shop.example.com/hero", "weight": 75},'
        ' {"name": "Plain page", "url": "https://shop.example.com/plain", "weight": 25}]'
    )


def test_the_country_box_previews_each_country_and_is_kept(chromium, site):
    base, app = site
    context = chromium.new_context(**WIDTHS[390])
    try:
        page = context.new_page()
        problems = watch(page, 200)
        sign_in(page, base, "/dashboard/links/new")
        page.fill("#url", "https://shop.example.com/")
        page.fill("#channel", "instagram")
        page.fill("#campaign", "summer")
        page.fill("#code", "geo-test")
        page.fill(
            "#country_urls", "de https://shop.example.com/de\nFR: https://shop.example.com/fr"
        )
        tags = "utm_source=instagram&utm_medium=social&utm_campaign=summer&ct_click=CLICK_ID"
        assert page.inner_text("#preview").splitlines() == [
            f"https://shop.example.com/?{tags}",
            f"From DE: https://shop.example.com/de?{tags}",
            f"From FR: https://shop.example.com/fr?{tags}",
        ]
        page.click("text=Create link")
        page.wait_for_url(re.compile(r".*/dashboard/links/geo-test$"))
        landed = page.locator("#final-url-countries li")
        assert [landed.nth(n).get_attribute("data-country") for n in range(2)] == ["DE", "FR"]
        assert "Germany" in landed.nth(0).inner_text()
        assert page.input_value("#country_urls") == (
            "DE https://shop.example.com/de\nFR https://shop.example.com/fr"
        )
        # nothing but the menu (which scrolls sideways on a phone) is wider than the screen
        wide = page.evaluate(
            """() => [...document.querySelectorAll('main *')]
            .filter(e => e.getBoundingClientRect().right > innerWidth + 0.5 && !e.closest('nav'))
            .map(e => e.tagName + '.' + e.className)"""
        )
        assert wide == []
        page.screenshot(path=str(SHOTS / "country-form-saved.png"), full_page=True)
        assert not problems, problems
    finally:
        context.close()
