"""The whole loop under a real gunicorn, with a real HTTP client keeping cookies."""

import json
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from conftest import BROWSER_UA, WEBHOOK_SECRET, app_config
from conversions.signing import sign
from servers import gunicorn
from shortener.app import init_db
from shortener.db import connect


@pytest.fixture
def server(tmp_path):
    config = app_config(tmp_path, BASE_URL="http://127.0.0.1")
    init_db(config["DATABASE"])
    with gunicorn(config) as base:
        yield base, config


def test_click_pixel_webhook_and_report_over_http(server):
    base, config = server
    auth = {"Authorization": f"Bearer {config['ADMIN_API_KEY']}"}
    created = requests.post(
        f"{base}/api/links",
        json={"url": "https://shop.example.com/p?ref=x", "channel": "LinkedIn", "campaign": "q3"},
        headers=auth,
        timeout=5,
    )
    assert created.status_code == 201
    code = created.json()["code"]

    visitor = requests.Session()
    visitor.headers["User-Agent"] = BROWSER_UA
    hop = visitor.get(f"{base}/{code}", allow_redirects=False, timeout=5)
    assert hop.status_code == 302
    location = urlsplit(hop.headers["Location"])
    query = parse_qs(location.query)
    assert location.netloc == "shop.example.com"
    assert query["ref"] == ["x"]
    assert query["utm_source"] == ["linkedin"]
    assert query["utm_medium"] == ["social"]
    assert query["utm_campaign"] == ["q3"]
    assert "ct_vid" in visitor.cookies
    assert "HttpOnly" in hop.headers["Set-Cookie"]

    # the thank-you page fires the pixel; the session sends the cookie back
    pixel = visitor.get(
        f"{base}/t/pixel.gif",
        params={"goal": "purchase", "value": "110.00", "currency": "EUR", "order_id": "A-1"},
        timeout=5,
    )
    assert pixel.headers["Content-Type"] == "image/gif"
    assert pixel.headers["Cache-Control"].startswith("no-store")

    # the shop's server confirms a signup by webhook with the click id
    body = json.dumps({"goal": "signup", "click_id": query["ct_click"][0]}).encode()
    stamp = int(time.time())
    hook = requests.post(
        f"{base}/t/webhook",
        data=body,
        headers={
            "webhook-id": "msg_e2e",
            "webhook-timestamp": str(stamp),
            "webhook-signature": sign(WEBHOOK_SECRET, "msg_e2e", stamp, body),
            "Content-Type": "application/json",
        },
        timeout=5,
    )
    assert hook.status_code == 201

    report = requests.get(f"{base}/api/reports/channels", headers=auth, timeout=5).json()
    rows = {(r["channel"], r["currency"]): r for r in report["rows"]}
    eur = rows[("linkedin", "EUR")]
    assert (eur["clicks"], eur["human_clicks"], eur["unique_visitors"]) == (1, 1, 1)
    assert (eur["conversions"], eur["converted_visitors"], eur["revenue"]) == (1, 1, "110.00")
    assert eur["conversion_rate"] == 1.0
    usd = rows[("linkedin", "USD")]  # the signup carries the goal's default value
    assert (usd["conversions"], usd["revenue"]) == (1, "0.00")

    csv_text = requests.get(f"{base}/api/reports/channels?format=csv", headers=auth, timeout=5).text
    # one human click: one unique click, no QR scan
    assert csv_text.splitlines()[1] == "linkedin,EUR,1,1,1,0,1,1,1,1.0,110.00"

    db = connect(config["DATABASE"])
    try:
        stored = list(db.query("SELECT visitor_id FROM clicks"))
        conversions = list(db.query("SELECT visitor_id, source FROM conversions ORDER BY id"))
    finally:
        db.close()
    assert len(stored) == 1
    assert [c["visitor_id"] for c in conversions] == [stored[0]["visitor_id"]] * 2
    assert [c["source"] for c in conversions] == ["pixel", "webhook"]
