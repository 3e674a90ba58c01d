"""Every kind of reader sees a click its redirect answered while the click
is still in the worker's journal: reports and exports (API and CLI),
conversion intake, dashboard pages, and the writes that must come after
the latest click (a new outbound webhook endpoint, an erasure)."""

import csv
import io
import json
import os
from datetime import timedelta

import pytest
from lagging import answer, make_lagging_app, stored_click_ids

from conftest import AUTH, IPHONE_UA, browser, make_link, post_webhook
from dashboard_support import signed_in
from shop_payloads import STRIPE_SECRET, checkout_session, post_stripe, stripe_event
from shortener.clock import utcnow
from shortener.db import connect
from shortener.journal import directory, replay_all


@pytest.fixture
def journalled(lagging_app):
    """(app, client, link code, click id): one click by a browser on a
    twitter link, answered and journalled, not stored."""
    client = browser(lagging_app)
    code = make_link(client)["code"]
    click_id = answer(client, code)
    assert stored_click_ids(lagging_app) == []
    return lagging_app, client, code, click_id


def journal_rows(app) -> list[dict]:
    folder = directory(app.config["DATABASE"])
    rows = []
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            rows += [json.loads(line) for line in f.read().splitlines()]
    return rows


# -- reports and exports ------------------------------------------------------------


API_READERS = [
    "/api/reports/channels",
    "/api/reports/channels?format=csv",
    "/api/reports/breakdown?by=country",
    "/api/reports/growth",
    "/api/reports/roi",
    "/api/reports/advocates",
    "/api/reports/unfurls",
    "/api/exports/clicks",
    "/api/links/{code}",
    "/api/links/{code}/ab",
    "/api/links/{code}/posts",
    "/api/links?sort=clicks",
]


@pytest.mark.parametrize("path", API_READERS)
def test_an_api_reader_stores_the_journalled_click_first(journalled, path):
    app, client, code, click_id = journalled
    response = client.get(path.format(code=code), headers=AUTH)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert stored_click_ids(app) == [click_id]


def test_the_channel_report_counts_the_journalled_click(journalled):
    app, client, _, _ = journalled
    [row] = client.get("/api/reports/channels", headers=AUTH).get_json()["rows"]
    # one browser click on the twitter link: one click, human, one visitor
    assert (row["channel"], row["clicks"], row["human_clicks"], row["unique_visitors"]) == (
        "twitter", 1, 1, 1,
    )  # fmt: skip


def test_the_click_export_holds_the_journalled_click(journalled):
    app, client, _, click_id = journalled
    response = client.get("/api/exports/clicks", headers=AUTH)
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["click_id"] for r in rows] == [click_id]


def test_cli_reports_count_the_journalled_click(journalled):
    app, _, _, click_id = journalled
    runner = app.test_cli_runner()
    exported = runner.invoke(args=["report", "clicks", "--csv", "-"])
    assert exported.exit_code == 0, exported.output
    assert [r["click_id"] for r in csv.DictReader(io.StringIO(exported.output))] == [click_id]
    channels = runner.invoke(args=["report", "channels"])
    assert channels.exit_code == 0, channels.output
    [row] = [json.loads(line) for line in channels.output.splitlines()]
    assert (row["channel"], row["clicks"]) == ("twitter", 1)


# -- conversion intake --------------------------------------------------------------


def credited_clicks(app) -> list[str]:
    db = connect(app.config["DATABASE"])
    try:
        return [
            r[0]
            for r in db.execute(
                "SELECT DISTINCT k.click_id FROM credits cr JOIN clicks k ON k.id = cr.click_row"
            )
        ]
    finally:
        db.close()


def test_the_webhook_credits_the_journalled_click(journalled):
    app, client, _, click_id = journalled
    response = post_webhook(client, {"goal": "signup", "click_id": click_id})
    assert response.status_code == 201, response.get_json()
    assert credited_clicks(app) == [click_id]


def test_the_pixel_credits_the_journalled_click(journalled):
    app, _, _, click_id = journalled
    other = browser(app, IPHONE_UA)  # no cookie: only the click names the visitor
    assert other.get(f"/t/pixel.gif?goal=signup&click={click_id}").status_code == 200
    assert credited_clicks(app) == [click_id]


def test_the_visit_pixel_finds_the_journalled_clicks_visitor(journalled):
    app, _, _, click_id = journalled
    [line] = journal_rows(app)
    other = browser(app)  # the site's own domain: no shortener cookie
    assert other.get(f"/t/visit.gif?click={click_id}").status_code == 200
    db = connect(app.config["DATABASE"])
    try:
        assert [r[0] for r in db.execute("SELECT visitor_id FROM visits")] == [line["visitor_id"]]
    finally:
        db.close()


def test_a_shop_sale_is_credited_to_the_journalled_click(tmp_path):
    app = make_lagging_app(tmp_path, STRIPE_WEBHOOK_SECRET=STRIPE_SECRET)
    client = browser(app)
    click_id = answer(client, make_link(client)["code"])
    assert stored_click_ids(app) == []
    # Stripe's times are whole seconds: the next one is after the click
    now = (utcnow() + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    session = checkout_session(client_reference_id=click_id)
    event = stripe_event("checkout.session.completed", session, "evt_journal", now)
    response = post_stripe(client, event)
    assert response.status_code == 201, response.get_json()
    assert credited_clicks(app) == [click_id]


# -- dashboard pages ----------------------------------------------------------------


DASHBOARD_PAGES = [
    "/dashboard/",
    "/dashboard/channels/twitter",
    "/dashboard/campaigns/spring",
    "/dashboard/links",
    "/dashboard/links/{code}",
    "/dashboard/conversions",
    "/dashboard/install",
    "/dashboard/reports/growth",
    "/dashboard/reports/channels",
]


@pytest.mark.parametrize("path", DASHBOARD_PAGES)
def test_a_dashboard_page_shows_the_journalled_click(journalled, path):
    app, _, code, click_id = journalled
    reader, _ = signed_in(app)
    response = reader.get(path.format(code=code))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert stored_click_ids(app) == [click_id]


def test_the_install_page_lists_the_journalled_click(journalled):
    app, _, code, _ = journalled
    reader, _ = signed_in(app)
    page = reader.get("/dashboard/install").get_data(as_text=True)
    clicks = page.split('id="hits-clicks"', 1)[1].split("</ul>", 1)[0]
    assert f"</span> {code} · twitter" in clicks and "No clicks yet" not in clicks


# -- writes that come after the latest click ----------------------------------------


def test_a_new_webhook_endpoint_starts_after_the_journalled_click(lagging_app):
    """Clicks answered before the endpoint existed are not its events,
    even those still in a journal when it was made."""
    lagging_app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = True
    client = browser(lagging_app)
    code = make_link(client)["code"]
    answer(client, code)
    response = client.post(
        "/api/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["click.created"]},
        headers=AUTH,
    )
    assert response.status_code == 201, response.get_json()
    later = answer(client, code)
    db = connect(lagging_app.config["DATABASE"])
    try:
        replay_all(db)
        [cursor] = db.execute("SELECT click_cursor FROM webhook_endpoints").fetchone()
        after = [r[0] for r in db.execute("SELECT click_id FROM clicks WHERE id > ?", [cursor])]
    finally:
        db.close()
    assert after == [later]  # the click before it is behind its cursor


def test_a_delivery_round_sends_the_journalled_click(lagging_app):
    """`webhooks deliver --once` queues the click event of a click still in
    a journal (the receiver here refuses the connection: it stays pending)."""
    lagging_app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"] = True
    client = browser(lagging_app)
    code = make_link(client)["code"]
    response = client.post(
        "/api/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["click.created"]},
        headers=AUTH,
    )
    assert response.status_code == 201, response.get_json()
    answer(client, code)
    result = lagging_app.test_cli_runner().invoke(args=["webhooks", "deliver", "--once"])
    assert result.exit_code == 0, result.output
    assert "queued: 1" in result.output
    db = connect(lagging_app.config["DATABASE"])
    try:
        events = [r[0] for r in db.execute("SELECT event_type FROM webhook_deliveries")]
    finally:
        db.close()
    assert events == ["click.created"]


def test_an_advocate_is_found_as_referrer_by_a_journalled_click(journalled):
    """A friend's click on Ada's personal link, still in a journal, makes
    Ada the friend's referrer."""
    app, client, code, _ = journalled
    ada = client.post("/api/advocates", json={"name": "Ada"}, headers=AUTH).get_json()
    shared = client.post(f"/api/links/{code}/share", json={"advocate": "ada"}, headers=AUTH)
    assert shared.status_code == 201, shared.get_json()
    friend = browser(app, IPHONE_UA)
    answer(friend, shared.get_json()["code"])
    visitor = journal_rows(app)[-1]["visitor_id"]
    body = {"name": "Bea", "referred_by_visitor": visitor}
    response = client.post("/api/advocates", json=body, headers=AUTH)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["parent_advocate_id"] == ada["id"]


def test_an_erasure_takes_the_journalled_clicks_too(journalled):
    """Erased now, the visitor's click must not come back when a worker
    replays its journal later."""
    app, _, _, _ = journalled
    [line] = journal_rows(app)
    result = app.test_cli_runner().invoke(
        args=["privacy", "erase", "--visitor", line["visitor_id"]]
    )
    assert result.exit_code == 0, result.output
    assert "1 clicks" in result.output
    db = connect(app.config["DATABASE"])
    try:
        replay_all(db)  # the worker's own replay, later
        assert db.execute("SELECT count(*) FROM clicks").fetchone()[0] == 0
    finally:
        db.close()
