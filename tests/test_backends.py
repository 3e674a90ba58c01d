"""The part of the house that works on PostgreSQL, tested on both engines
alike: /healthz, creating and reading a link through the API, and the
redirect with its click stored (journalled, then replayed with INSERT ... ON
CONFLICT DO NOTHING, so a line replayed twice counts once)."""

import os
import time

import pytest
import requests
from migration_history import LANDED

from conftest import AUTH, BROWSER_UA, app_config, browser, make_link, post_webhook
from servers import gunicorn
from shortener.db import connect, files_of
from shortener.journal import directory, replay_file


def rows(app, sql, params=()):
    db = connect(app.config["DATABASE"])
    try:
        return list(db.query(sql, list(params)))
    finally:
        db.close()


def test_healthz_is_ok_on_a_migrated_database(any_app):
    response = any_app.test_client().get("/healthz")
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["status"] == "ok"
    assert response.get_json()["unsaved"]["clicks_held"] == 0


def test_a_link_created_through_the_api_reads_back_alike(any_app):
    client = any_app.test_client()
    created = make_link(client, code="spring-sale", tags=["b", "a"], medium="paid")
    assert created["short_url"] == "http://go.example.test/spring-sale"
    shown = client.get("/api/links/spring-sale", headers=AUTH)
    assert shown.status_code == 200
    body = shown.get_json()
    assert body["tags"] == ["a", "b"]
    assert body["disabled"] is False
    assert body["unfurls"] == {}
    assert {k: body[k] for k in created} == created
    stored = rows(any_app, "SELECT code, channel, campaign, medium FROM links")
    assert stored == [
        {"code": "spring-sale", "channel": "twitter", "campaign": "spring", "medium": "paid"}
    ]


def test_a_taken_code_and_bad_input_are_refused_and_store_nothing(any_app):
    client = any_app.test_client()
    make_link(client, code="taken")
    again = client.post(
        "/api/links", json={"url": "https://a.example/", "channel": "x", "campaign": "c",
                            "code": "taken"}, headers=AUTH,
    )  # fmt: skip
    assert again.status_code == 409
    assert again.get_json()["field"] == "code"
    bad = client.post("/api/links", json={"url": "ftp://a.example/", "channel": "x"}, headers=AUTH)
    assert bad.status_code == 400
    assert bad.get_json()["field"] == "url"
    assert client.get("/api/links/nothing-here", headers=AUTH).status_code == 404
    assert rows(any_app, "SELECT count(*) AS n FROM links") == [{"n": 1}]


@pytest.mark.parametrize("query", ["", "?utm_id=7"])  # the fast path, and the Flask view
def test_a_redirect_stores_its_click(any_app, query):
    client = browser(any_app)
    link = make_link(client, code="go1", url="https://shop.example.com/sale")
    response = client.get(f"/go1{query}")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("https://shop.example.com/sale?")
    assert "utm_source=twitter" in location and "utm_campaign=spring" in location
    assert "ct_vid=" in response.headers["Set-Cookie"]
    clicks = rows(
        any_app,
        "SELECT c.click_id, c.device, c.browser, c.is_bot, l.code FROM clicks c"
        " JOIN links l ON l.id = c.link_id",
    )
    assert len(clicks) == 1
    assert clicks[0]["code"] == link["code"]
    assert clicks[0]["device"] == "desktop" and clicks[0]["browser"] == "Chrome"
    assert clicks[0]["is_bot"] == 0
    assert f"ct_click={clicks[0]['click_id']}" in location


def test_a_journal_replayed_twice_counts_each_click_once(any_app):
    client = browser(any_app)
    make_link(client, code="twice")
    for _ in range(3):
        assert client.get("/twice").status_code == 302
    db = connect(any_app.config["DATABASE"])
    try:
        # forget how far the journal was replayed: every line is read again
        db.execute("DELETE FROM click_journal")
        folder = directory(files_of(any_app))
        names = [n for n in os.listdir(folder) if n.endswith(".jsonl")]
        assert sum(replay_file(db, folder, name) for name in names) == 3
        counted = list(db.query("SELECT count(*) AS n FROM clicks"))
    finally:
        db.close()
    assert counted == [{"n": 3}]


def test_an_unknown_code_is_a_404_and_stores_no_click(any_app):
    response = browser(any_app).get("/nope123")
    assert response.status_code == 404
    assert rows(any_app, "SELECT count(*) AS n FROM clicks") == [{"n": 0}]


def test_a_crawlers_fetch_is_counted_as_an_unfurl_once(any_app):
    client = any_app.test_client()
    make_link(client, code="shared")
    crawler = browser(any_app, user_agent="Twitterbot/1.0")
    assert crawler.get("/shared").status_code == 302
    assert crawler.get("/shared").status_code == 302
    body = client.get("/api/links/shared", headers=AUTH).get_json()
    assert body["unfurls"] == {"x": 2}
    bots = rows(any_app, "SELECT is_bot, device FROM clicks")
    assert bots == [{"is_bot": 1, "device": "bot"}] * 2


def test_the_link_list_pages_and_filters_alike(any_app):
    client = any_app.test_client()
    make_link(client, code="one", tags=["spring", "sale"], campaign="Spring")
    make_link(client, code="two", tags=["springtime"], channel="linkedin", title="Big SALE")
    make_link(client, code="three", campaign="autumn")

    def codes(**query):
        response = client.get("/api/links", query_string=query, headers=AUTH)
        assert response.status_code == 200, response.get_json()
        return [link["code"] for link in response.get_json()["links"]], response.get_json()

    assert codes()[0] == ["three", "two", "one"]  # newest first
    listed, body = codes(limit=2, offset=1)
    assert listed == ["two", "one"] and body["total"] == 3
    assert codes(tag="spring")[0] == ["one"]  # one exact tag, not a substring
    assert codes(channel="LinkedIn")[0] == ["two"]
    assert codes(q="big")[0] == ["two"]  # the title, in any case
    assert codes(q="AUTUMN")[0] == ["three"]  # the campaign, in any case
    assert codes(q="%")[0] == []  # a wildcard is only a character
    assert codes(q="thr")[1]["total"] == 1


def test_a_link_edited_and_disabled_follows_its_new_state(any_app):
    client = browser(any_app)
    make_link(client, code="edit-me", url="https://shop.example.com/old")
    changed = client.patch(
        "/api/links/edit-me", json={"url": "https://shop.example.com/new", "tags": ["x"]},
        headers=AUTH,
    )  # fmt: skip
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["url"] == "https://shop.example.com/new"
    assert changed.get_json()["tags"] == ["x"]
    assert client.get("/edit-me").headers["Location"].startswith("https://shop.example.com/new?")
    refused = client.patch("/api/links/edit-me", json={"channel": "x"}, headers=AUTH)
    assert refused.status_code == 400 and refused.get_json()["field"] == "channel"
    gone = client.delete("/api/links/edit-me", headers=AUTH)
    assert gone.status_code == 200 and gone.get_json()["disabled"] is True
    assert client.get("/edit-me").status_code == 410
    stored = rows(any_app, "SELECT url, disabled FROM links WHERE code = ?", ["edit-me"])
    assert stored == [{"url": "https://shop.example.com/new", "disabled": 1}]
    assert rows(any_app, "SELECT count(*) AS n FROM clicks") == [{"n": 1}]


def test_the_link_list_sorted_by_clicks_counts_the_aggregates(any_app):
    client = browser(any_app)
    for code in ("quiet", "busy", "some"):
        make_link(client, code=code)
    for code in ("busy", "busy", "some"):
        assert client.get(f"/{code}").status_code == 302
    listed = client.get("/api/links?sort=clicks", headers=AUTH).get_json()["links"]
    assert [link["code"] for link in listed] == ["busy", "some", "quiet"]
    day = rows(any_app, "SELECT sum(clicks) AS n FROM link_day")
    assert day == [{"n": 3}]


def test_a_pixel_conversion_is_stored_attributed_and_reported(any_app):
    client = browser(any_app)
    make_link(client, code="buy")
    assert client.get("/buy").status_code == 302
    gif = client.get("/t/pixel.gif?goal=purchase&value=49.90&currency=EUR&order_id=A-1")
    assert gif.status_code == 200
    stored = rows(any_app, "SELECT goal, value_minor, currency, source, verified FROM conversions")
    assert stored == [
        {"goal": "purchase", "value_minor": 4990, "currency": "EUR", "source": "pixel",
         "verified": 0}
    ]  # fmt: skip
    # one click before it: every model gives it the whole conversion
    credits = rows(any_app, "SELECT DISTINCT weight_ppm, revenue_minor FROM credits")
    assert credits == [{"weight_ppm": 1_000_000, "revenue_minor": 4990}]
    report = client.get("/api/reports/channels", headers=AUTH)
    assert report.status_code == 200, report.get_json()
    assert report.get_json()["rows"] == [
        {"channel": "twitter", "currency": "EUR", "clicks": 1, "human_clicks": 1,
         "unique_clicks": 1, "qr_scans": 0, "unique_visitors": 1, "conversions": 1,
         "converted_visitors": 1, "conversion_rate": 1.0, "revenue": "49.90"}
    ]  # fmt: skip


def test_a_signed_webhook_conversion_is_stored_once_and_attributed(any_app):
    client = browser(any_app)
    make_link(client, code="paid")
    location = client.get("/paid").headers["Location"]
    click_id = location.split("ct_click=")[1].split("&")[0]
    body = {"goal": "purchase", "value": "10.00", "currency": "USD", "click_id": click_id,
            "order_id": "o-1"}  # fmt: skip
    assert post_webhook(client, body, msg_id="m1").status_code == 201
    again = post_webhook(client, body, msg_id="m1")  # the sender retried
    assert again.status_code == 200 and again.get_json()["duplicate"] is True
    stored = rows(any_app, "SELECT verified, source, value_minor, order_id FROM conversions")
    assert stored == [{"verified": 1, "source": "webhook", "value_minor": 1000, "order_id": "o-1"}]
    report = client.get("/api/reports/attribution", headers=AUTH)
    assert report.status_code == 200, report.get_json()
    # one click: every model credits it with the whole conversion
    whole = {f"{m}_{k}": v for m in ("last_touch", "first_touch", "linear", "position_based",
             "time_decay") for k, v in (("conversions", 1), ("revenue", "10.00"))}  # fmt: skip
    assert report.get_json()["rows"] == [
        {"channel": "twitter", "currency": "USD", "conversions": 1, "revenue": "10.00", **whole}
    ]


def test_a_protected_link_counts_wrong_passwords_and_redirects_on_the_right_one(any_app):
    from test_protected_links import PASSWORD, form_token, submit

    client = browser(any_app)
    make_link(client, code="secret", password=PASSWORD)
    token = form_token(client)
    for _ in range(2):
        assert submit(client, "a guess", token=token).status_code == 403
    assert rows(any_app, "SELECT sum(count) AS n FROM wrong_passwords") == [{"n": 2}]
    assert submit(client, PASSWORD, token=token).status_code == 302
    assert rows(any_app, "SELECT count(*) AS n FROM clicks") == [{"n": 1}]


def test_gunicorn_on_a_new_postgresql_database_serves_and_stores_clicks(pg_url, tmp_path):
    """Three workers start at once on an empty PostgreSQL database (each
    migrates it under the advisory lock, one applies it), create and follow
    links, and their clicks reach PostgreSQL from the workers' journals."""
    config = app_config(
        tmp_path, BASE_URL="http://127.0.0.1", DATABASE=pg_url, CLICK_JOURNAL_DIR=str(tmp_path)
    )
    with gunicorn(config, workers=3) as base:
        assert requests.get(f"{base}/healthz", timeout=15).status_code == 200
        codes = []
        for _ in range(6):
            created = requests.post(
                f"{base}/api/links", headers=AUTH, timeout=15,
                json={"url": "https://shop.example.com/new", "channel": "x", "campaign": "c"},
            )  # fmt: skip
            assert created.status_code == 201
            codes.append(created.json()["code"])
            hop = requests.get(f"{base}/{codes[-1]}", allow_redirects=False, timeout=15,
                               headers={"User-Agent": BROWSER_UA})  # fmt: skip
            assert hop.status_code == 302
        deadline = time.monotonic() + 20  # each worker replays within CLICK_JOURNAL_MAX_DELAY_MS
        while time.monotonic() < deadline:
            stored = rows_at(pg_url, "SELECT count(*) AS n FROM clicks")[0]["n"]
            if stored == 6:
                break
            time.sleep(0.2)
    assert stored == 6
    applied = rows_at(pg_url, "SELECT count(*) AS n FROM clicktrail_migrations")[0]["n"]
    assert applied == len(LANDED)


def rows_at(database, sql):
    db = connect(database)
    try:
        return list(db.query(sql))
    finally:
        db.close()


def test_the_audit_log_records_a_destination_change_alike(any_app):
    client = browser(any_app)
    make_link(client, code="audited", url="https://shop.example.com/old")
    new = "https://shop.example.com/new"
    assert client.patch("/api/links/audited", json={"url": new}, headers=AUTH).status_code == 200
    body = client.get("/api/audit?object_type=link&key=audited&limit=1", headers=AUTH).get_json()
    assert body["total"] == 2
    [entry] = body["entries"]
    assert (entry["actor"], entry["action"]) == ("key:admin", "link.update")
    assert entry["changes"] == {"url": ["https://shop.example.com/old", new]}
    csv_text = client.get("/api/audit?format=csv&key=audited", headers=AUTH).get_data(as_text=True)
    assert csv_text.count("\r\n") == 3 and "link.create" in csv_text
