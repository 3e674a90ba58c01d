"""The dashboard in a real browser: headless Chromium (Debian's) driven by
Playwright, against clicktrail under a real gunicorn on 127.0.0.1 and a
small shop site that loads ct.js.

Screenshots of the main pages go to test-artifacts/screenshots/ (printed at
the end of the run) for a reviewer to look at.
"""

import contextlib
import csv
import io
import os
import re
import struct
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
import requests

from chromium_support import PASSWORD, USER, add_marketer, launched, needs_chromium, sign_in
from conftest import API_KEY, BROWSER_UA, IPHONE_UA, app_config
from servers import ROOT, gunicorn
from shortener.app import init_db
from shortener.clock import utcnow
from shortener.db import connect

pytestmark = needs_chromium

from shopsite import shop  # noqa: E402

SHOTS = ROOT / "test-artifacts" / "screenshots"
DESKTOP = {"user_agent": BROWSER_UA, "viewport": {"width": 1360, "height": 900}}


@pytest.fixture(scope="module")
def chromium(request):
    SHOTS.mkdir(parents=True, exist_ok=True)
    with launched() as browser:
        yield browser
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter:
        reporter.write_line(f"\ndashboard screenshots: {SHOTS}")


@pytest.fixture
def new_context(chromium):
    """Open browser contexts; all are closed at teardown, also when the test
    fails half way (each holds pages, and their renderers, in Chromium)."""
    opened = []

    def new(**options):
        opened.append(chromium.new_context(**options))
        return opened[-1]

    yield new
    for context in opened:
        context.close()


@pytest.fixture
def server(tmp_path):
    config = app_config(tmp_path)
    del config["BASE_URL"]  # short links use the address gunicorn really serves
    init_db(config["DATABASE"])
    add_marketer(config["DATABASE"])
    with gunicorn(config) as base:
        yield base, config


def shot(page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def cells(page, row_selector: str) -> dict[str, str]:
    row = page.locator(row_selector)
    return {
        col: row.locator(f'[data-col="{col}"]').inner_text().strip()
        for col in ("clicks", "unique_visitors", "conversions", "revenue")
    }


def create_link(page, base, site, channel, medium="") -> tuple[str, str]:
    page.goto(base + "/dashboard/links/new")
    page.fill("#url", f"{site}/landing.html")
    page.fill("#channel", channel)
    page.fill("#campaign", "spring-sale")
    if medium:
        page.fill("#medium", medium)
    preview = page.locator("#preview").inner_text()
    page.click("text=Create link")
    page.wait_for_url(re.compile(r".*/dashboard/links/[A-Za-z0-9]+$"))
    return page.input_value("#short-url"), preview


def test_link_click_purchase_and_the_numbers_under_two_models(new_context, server, tmp_path):
    base, config = server
    with shop(base) as site:
        marketer = new_context(**DESKTOP, accept_downloads=True)
        page = marketer.new_page()

        # signed out: the dashboard sends us to sign in, and back afterwards
        page.goto(base + "/dashboard/links")
        assert "/dashboard/login?next=" in page.url
        shot(page, "01-sign-in")
        page.fill("#username", USER)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(base + "/dashboard/links")
        shot(page, "02-links-empty")

        # two links of one campaign: an email newsletter and a tweet; the live
        # preview shows the UTM tags the redirect will add
        email_url, email_preview = create_link(page, base, site, "newsletter", medium="email")
        assert email_preview == (
            f"{site}/landing.html?utm_source=newsletter&utm_medium=email"
            "&utm_campaign=spring-sale&ct_click=CLICK_ID"
        )
        tweet_url, tweet_preview = create_link(page, base, site, "twitter")
        assert tweet_preview == (
            f"{site}/landing.html?utm_source=twitter&utm_medium=social"
            "&utm_campaign=spring-sale&ct_click=CLICK_ID"
        )
        assert page.inner_text("#final-url") == tweet_preview
        shot(page, "03-link")

        # a visitor reads the newsletter, later clicks the tweet, and buys
        visitor = new_context(**DESKTOP)
        shopper = visitor.new_page()
        for short_url, preview in ((email_url, email_preview), (tweet_url, tweet_preview)):
            with shopper.expect_response(lambda r: "/t/visit.gif" in r.url):
                shopper.goto(short_url)
            landed = shopper.url
            assert landed.startswith(f"{site}/landing.html?")
            # the redirect sent the browser exactly where the preview said
            assert re.sub(r"ct_click=[^&]+", "ct_click=CLICK_ID", landed) == preview
        with shopper.expect_response(lambda r: "/t/pixel.gif" in r.url) as fired:
            shopper.goto(f"{site}/thanks.html")
        assert "goal=purchase" in fired.value.url and "value=49.9" in fired.value.url
        visitor.close()

        # back in the dashboard, last touch (the default): the purchase goes to
        # the tweet, the visitor's last click; one person clicked twice
        page.goto(base + "/dashboard/")
        assert page.inner_text("#total-human-clicks") == "2"
        assert page.inner_text("#total-visitors") == "1"
        assert page.inner_text("#total-conversions") == "1"
        assert page.inner_text("#total-revenue") == "49.90 USD"
        assert cells(page, 'tr[data-channel="twitter"]') == {
            "clicks": "1", "unique_visitors": "1", "conversions": "1", "revenue": "49.90 USD",
        }  # fmt: skip
        assert cells(page, 'tr[data-channel="newsletter"]') == {
            "clicks": "1", "unique_visitors": "1", "conversions": "0", "revenue": "0.00 USD",
        }  # fmt: skip
        assert page.locator("#recent-table tbody tr").count() == 1
        journey = page.locator("#recent-table .journey li").all_inner_texts()
        assert [j.split(" /")[0] for j in journey] == ["newsletter", "twitter"]
        shot(page, "04-overview")

        # the CSV download is the API's CSV, and its rows are the numbers above
        with page.expect_download() as download:
            page.click("#channels-csv")
        got = Path(download.value.path()).read_bytes()
        today = utcnow().date()
        api = requests.get(
            f"{base}/api/reports/channels",
            params={
                "format": "csv",
                "model": "last_touch",
                "from": (today.fromordinal(today.toordinal() - 29)).isoformat(),
                "to": today.isoformat(),
            },
            headers={"Authorization": f"Bearer {API_KEY}"},
            timeout=10,
        )
        assert got == api.content
        rows = list(csv.DictReader(io.StringIO(got.decode())))
        assert [(r["channel"], r["clicks"], r["unique_visitors"], r["conversions"],
                 r["revenue"]) for r in rows] == [
            ("newsletter", "1", "1", "0", "0.00"),
            ("twitter", "1", "1", "1", "49.90"),
        ]  # fmt: skip

        # the link list reads the same aggregates
        page.goto(base + "/dashboard/links")
        tweet_code = tweet_url.rsplit("/", 1)[1]
        email_code = email_url.rsplit("/", 1)[1]
        assert cells(page, f'tr[data-code="{tweet_code}"]') == {
            "clicks": "1", "unique_visitors": "1", "conversions": "1", "revenue": "49.90 USD",
        }  # fmt: skip
        assert cells(page, f'tr[data-code="{email_code}"]')["conversions"] == "0"
        shot(page, "05-links")

        # first touch: the same purchase now belongs to the newsletter
        page.goto(base + "/dashboard/")
        with page.expect_navigation():
            page.select_option("#model", "first_touch")
        assert "model=first_touch" in page.url
        assert cells(page, 'tr[data-channel="newsletter"]')["conversions"] == "1"
        assert cells(page, 'tr[data-channel="newsletter"]')["revenue"] == "49.90 USD"
        assert cells(page, 'tr[data-channel="twitter"]')["conversions"] == "0"
        assert cells(page, 'tr[data-channel="twitter"]')["revenue"] == "0.00 USD"
        assert page.inner_text("#total-conversions") == "1"  # a model moves credit only
        shot(page, "06-overview-first-touch")

        # linear: two touches share it half and half, 49.90 / 2 = 24.95 each
        with page.expect_navigation():
            page.select_option("#model", "linear")
        for channel in ("newsletter", "twitter"):
            row = cells(page, f'tr[data-channel="{channel}"]')
            assert (row["conversions"], row["revenue"]) == ("0.5", "24.95 USD")

        with page.expect_download() as download:
            page.click("#channels-csv")
        rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
        assert [(r["channel"], r["conversions"], r["revenue"]) for r in rows] == [
            ("newsletter", "0.5", "24.95"),
            ("twitter", "0.5", "24.95"),
        ]

        # the other main pages, for the reviewer
        page.goto(base + "/dashboard/conversions")
        assert page.locator("#conversions-table tbody tr").count() == 1
        assert page.inner_text('#conversions-table [data-col="value"]') == "49.90 USD"
        shot(page, "07-conversions")
        page.goto(base + "/dashboard/channels/twitter")
        shot(page, "08-channel")
        page.goto(base + "/dashboard/install")
        assert f"{base}/t/ct.js" in page.inner_text("#snippet-script")
        assert config["WEBHOOK_SECRET"] in page.inner_text("#snippet-webhook")
        assert page.locator("#hits-conversions li").first.inner_text().count("purchase") == 1
        shot(page, "09-install")

        # the webhook snippet, pasted as it is on the page, reports a sale
        # signed with this installation's secret
        snippet = page.inner_text("#snippet-webhook")
        db = connect(config["DATABASE"])
        try:
            tweet_click = next(
                db.query(
                    "SELECT click_id FROM clicks k JOIN links l ON l.id = k.link_id"
                    " WHERE l.code = ?",
                    [tweet_url.rsplit("/", 1)[1]],
                )
            )["click_id"]
        finally:
            db.close()
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(snippet, "install-page-webhook", "exec"), {"CT_CLICK": tweet_click})
        assert "'duplicate': False" in printed.getvalue()
        page.reload()
        newest = page.locator("#hits-conversions li").first.inner_text()
        assert "purchase 49.90 USD" in newest and "webhook" in newest
        page.goto(base + "/dashboard/goals")
        shot(page, "10-goals")
        marketer.close()


def test_form_posts_without_the_csrf_token_are_refused(new_context, server):
    base, config = server
    context = new_context(**DESKTOP)
    page = context.new_page()
    sign_in(page, base, "/dashboard/links/new")
    form = {"url": "https://shop.example.com/", "channel": "twitter", "campaign": "forged"}
    # the browser holds a valid session cookie; a post without the token is
    # still refused, and so is one with a wrong token
    refused = page.request.post(base + "/dashboard/links/new", form=form, max_redirects=0)
    assert refused.status == 400
    assert "security token" in refused.text()
    wrong = page.request.post(
        base + "/dashboard/links/new", form={**form, "csrf_token": "x" * 43}, max_redirects=0
    )
    assert wrong.status == 400
    # a script's fetch() without the header is refused the same way
    status = page.evaluate(
        """async () => (await fetch('/dashboard/keys', {method: 'POST',
             headers: {'Content-Type': 'application/x-www-form-urlencoded'},
             body: 'name=forged'})).status"""
    )
    assert status == 400
    db = connect(config["DATABASE"])
    try:
        assert next(db.query("SELECT count(*) AS n FROM links"))["n"] == 0
        assert next(db.query("SELECT count(*) AS n FROM api_keys"))["n"] == 0
    finally:
        db.close()
    # the real form, with its token, goes through
    page.fill("#url", form["url"])
    page.fill("#channel", "twitter")
    page.fill("#campaign", "real")
    page.click("text=Create link")
    page.wait_for_url(re.compile(r".*/dashboard/links/[A-Za-z0-9]+$"))
    context.close()


PAGES = [
    "/dashboard/",
    "/dashboard/links",
    "/dashboard/links/new",
    "/dashboard/conversions",
    "/dashboard/channels/twitter",
    "/dashboard/campaigns/spring",
    "/dashboard/costs",
    "/dashboard/goals",
    "/dashboard/install",
    "/dashboard/keys",
    "/dashboard/export/reports/channels?format=csv",
]


def test_signed_out_pages_redirect_to_sign_in(new_context, server):
    base, _ = server
    context = new_context(**DESKTOP)
    page = context.new_page()
    for path in PAGES:
        response = page.goto(base + path)
        assert response.url.startswith(base + "/dashboard/login?next="), path
        assert page.locator("#password").is_visible()

    # signing out ends the session on the server: the old cookie, replayed
    # by another browser, no longer opens anything
    sign_in(page, base)
    stolen = context.cookies()
    page.click("text=Sign out")
    page.wait_for_url(re.compile(r".*/dashboard/login\?signed_out=1$"))
    assert "You are signed out" in page.inner_text("main")
    page.goto(base + "/dashboard/")
    assert "/dashboard/login" in page.url
    other = new_context(**DESKTOP)
    other.add_cookies(stolen)
    replay = other.new_page()
    replay.goto(base + "/dashboard/links")
    assert "/dashboard/login" in replay.url
    other.close()
    context.close()


def test_api_keys_are_shown_once_work_and_can_be_revoked(new_context, server):
    base, config = server
    context = new_context(**DESKTOP)
    page = context.new_page()
    sign_in(page, base, "/dashboard/keys")
    page.fill("#key-name", "Reporting script")
    page.click("text=Create key")
    key = page.input_value("#new-key-value")
    assert key.startswith("ctk_")
    shot(page, "11-api-key-created")
    api = f"{base}/api/links"
    assert requests.get(api, headers={"Authorization": f"Bearer {key}"}, timeout=5).ok
    # shown once: the list shows only its prefix, and the database only a hash
    page.goto(base + "/dashboard/keys")
    assert key not in page.content()
    db = connect(config["DATABASE"])
    try:
        stored = next(db.query("SELECT prefix, key_hash FROM api_keys"))
    finally:
        db.close()
    assert key.startswith(stored["prefix"]) and key not in stored.values()
    page.click('#keys-table button:has-text("Revoke")')
    assert "revoked" in page.inner_text("#keys-table")
    revoked = requests.get(api, headers={"Authorization": f"Bearer {key}"}, timeout=5)
    assert revoked.status_code == 401
    context.close()


def test_phone_width_and_keyboard(new_context, server):
    base, _ = server
    context = new_context(
        user_agent=IPHONE_UA,
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    page = context.new_page()
    # keyboard only: the user name field has focus, Tab moves to the password
    page.goto(base + "/dashboard/")
    page.keyboard.type(USER)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(base + "/dashboard/")
    # the first Tab reaches the skip link, which jumps to the content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    for path, name in (("/dashboard/", "phone-overview"), ("/dashboard/links", "phone-links")):
        page.goto(base + path)
        # nothing is wider than the phone: wide tables scroll inside their box
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        shot(page, name)
    context.close()


def seed_month(path: str, today) -> dict[str, int]:
    """Four channels over the last 30 days, each click a new visitor, one in
    eight buying; returns the human clicks and purchases seeded per channel."""
    import random
    from datetime import timedelta

    from dashboard_support import click, convert, insert_link

    rng = random.Random(8)
    db = connect(path)
    seeded = {}
    try:
        for n, (channel, base_rate, growth) in enumerate(
            [
                ("linkedin", 9, 0.5),
                ("twitter", 6, 0.25),
                ("newsletter", 4, 0.1),
                ("instagram", 2, 0.3),
            ]
        ):
            link_id = insert_link(db, f"{channel}-q4", channel, "q4-launch")
            clicks = buys = 0
            for day in range(30):
                when = today - timedelta(days=29 - day)
                for k in range(int(base_rate + growth * day + rng.randint(0, 3))):
                    visitor = f"seed-{channel}-{day}-{k}-xxxxxxxx"
                    stamp = f"{when.isoformat()}T{9 + k % 10:02d}:{(k * 7) % 60:02d}:00"
                    click(db, link_id, visitor, stamp)
                    clicks += 1
                    if rng.random() < 0.125:
                        value = 4900 + 1000 * n  # 49.00, 59.00, ... USD per channel
                        order = f"{channel}-{day}-{k}"
                        convert(db, "purchase", visitor, f"{stamp[:-3]}:45", value, "USD", order)
                        buys += 1
            seeded[channel] = (clicks, buys)
    finally:
        db.close()
    return seeded


README_SHOT = ROOT / "docs" / "overview.png"
README_CLIP = {"x": 0, "y": 0, "width": 1360, "height": 1080}


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_overview_of_a_busy_month(new_context, tmp_path):
    """The overview with a month of traffic: the chart draws one line per
    channel; with a month of LinkedIn ads entered, it leads with cost, ROI
    and CAC; and the page is what the README shows (docs/overview.png,
    written here when UPDATE_SCREENSHOTS=1, e.g. by `make screenshots`)."""
    config = app_config(tmp_path)
    init_db(config["DATABASE"])
    seeded = seed_month(config["DATABASE"], utcnow().date())
    add_marketer(config["DATABASE"])
    with gunicorn(config) as base:
        context = new_context(**DESKTOP)
        page = context.new_page()
        sign_in(page, base)
        page.wait_for_function("window.Chart && Chart.getChart('growth-chart')")
        drawn = page.evaluate(
            "Chart.getChart('growth-chart').data.datasets.map(d => [d.label, d.data.length])"
        )
        assert sorted(drawn) == sorted([c, 30] for c in seeded)
        for channel, (clicks, buys) in seeded.items():
            row = cells(page, f'tr[data-channel="{channel}"]')
            assert (row["clicks"], row["conversions"]) == (f"{clicks:,}", f"{buys:,}")
        page.click('button[data-metric="conversions"]')
        assert page.get_attribute('button[data-metric="conversions"]', "aria-pressed") == "true"
        page.click('button[data-metric="human_clicks"]')
        page.screenshot(path=str(SHOTS / "overview-month.png"), full_page=True, clip=README_CLIP)

        # a month of LinkedIn ads, entered in the costs form, shows in the
        # overview's cost-and-return panel
        page.goto(base + "/dashboard/costs")
        today = utcnow().date()
        page.fill("#cost-from", today.fromordinal(today.toordinal() - 29).isoformat())
        page.fill("#cost-to", today.isoformat())
        page.fill("#cost-channel", "linkedin")
        page.select_option("#cost-kind", "ads")
        page.fill("#cost-amount", "1500.00")
        page.click("text=Add cost")
        page.wait_for_url(re.compile(r".*/dashboard/costs.*"))
        assert "Cost #1 saved: 1500.00 USD." in page.inner_text("main")
        shot(page, "12-costs")
        page.goto(base + "/dashboard/")
        page.wait_for_function("window.Chart && Chart.getChart('growth-chart')")
        roi = page.locator("#panel-roi-table tr", has_text="linkedin")
        assert roi.locator('[data-col="cost"]').inner_text() == "1,500.00 USD"
        buys = seeded["linkedin"][1]
        revenue = buys * 49  # every LinkedIn purchase was 49.00 USD
        assert roi.locator('[data-col="revenue"]').inner_text() == f"{revenue:,}.00 USD"
        # ROI % = (revenue - cost) x 100 / cost, to the report's precision
        shown = float(roi.locator('[data-col="roi_percent"]').inner_text().rstrip(" %"))
        assert shown == pytest.approx((revenue - 1500) * 100 / 1500, abs=0.01)
        # the channels without a cost entered say so, instead of 0.00
        twitter = page.locator("#panel-roi-table tr", has_text="twitter")
        assert twitter.locator('[data-col="cost"]').inner_text() == "No cost entered"
        # the first cards: the cost, and ROI % and CAC on LinkedIn, the channel with a cost
        # (each of its buyers was a new visitor, so a new customer: CAC = 1,500.00 / buys)
        assert page.inner_text("#total-cost") == "1,500.00 USD"
        assert float(page.inner_text("#total-roi").rstrip(" %").replace(",", "")) == (
            pytest.approx((revenue - 1500) * 100 / 1500, abs=0.01)
        )
        cac = (Decimal(1500) / buys).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        assert page.inner_text("#total-cac") == f"{cac:,} USD"
        assert "no cost entered: instagram, newsletter, twitter" in page.inner_text("#roi-note")
        shot(page, "13-overview-with-costs")
        picture = page.screenshot(clip=README_CLIP, full_page=True)
        if os.environ.get("UPDATE_SCREENSHOTS") == "1":
            README_SHOT.write_bytes(picture)
        # the README's picture is this page's (rewrite it with `make screenshots`)
        assert png_size(README_SHOT.read_bytes()) == png_size(picture) == (1360, 1080)
        assert README_SHOT.stat().st_size < 300_000
        page.goto(base + "/dashboard/reports")
        shot(page, "14-reports")
        page.click("text=Cost and return")
        page.wait_for_url(re.compile(r".*/dashboard/reports/roi.*"))
        shot(page, "15-report-roi")
        context.close()
