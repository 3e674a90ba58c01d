"""The audit log in Chromium: a marketer changes a link's destination on the
dashboard served by a real gunicorn, then reads the change with its before
and after values on the link's History, on the Audit log page, and in its
CSV download."""

import csv
import io
import re

import pytest
import requests

from chromium_support import USER, add_marketer, launched, needs_chromium, sign_in
from conftest import API_KEY, app_config
from servers import ROOT, gunicorn
from shortener.app import init_db

pytestmark = needs_chromium
OLD, NEW = "https://shop.example.com/spring", "https://shop.example.com/summer"
SHOTS = ROOT / "test-artifacts" / "screenshots"


@pytest.fixture
def server(tmp_path):
    config = app_config(tmp_path)
    del config["BASE_URL"]
    init_db(config["DATABASE"])
    add_marketer(config["DATABASE"])
    with gunicorn(config) as base:
        yield base


def test_a_destination_change_reads_back_on_the_history_and_the_audit_page(server):
    base = server
    made = requests.post(
        f"{base}/api/links",
        json={"url": OLD, "channel": "newsletter", "campaign": "june", "code": "june"},
        headers={"Authorization": f"Bearer {API_KEY}"},
        timeout=10,
    )
    assert made.status_code == 201
    SHOTS.mkdir(parents=True, exist_ok=True)
    with launched() as chromium:
        context = chromium.new_context(accept_downloads=True)
        try:
            page = context.new_page()
            sign_in(page, base)
            page.goto(base + "/dashboard/links/june")
            page.fill("#url", NEW)
            page.click("text=Save changes")
            page.wait_for_url(re.compile(r".*/dashboard/links/june$"))
            history = page.inner_text("#history")
            assert f"url changed from {OLD} to {NEW} by user:{USER}" in history
            assert f"url changed from (none) to {OLD} by key:admin" in history

            assert page.locator("nav.mainnav >> text=Audit log").count() == 1
            page.click("text=Every change to this link")
            page.wait_for_url(re.compile(r".*/dashboard/audit\?.*key=june"))
            rows = page.locator("#audit-table tbody tr")
            assert rows.count() == 2  # the marketer's own account is not this link's
            newest = rows.nth(0).inner_text()
            assert "link.update" in newest and f"user:{USER}" in newest
            assert f"url changed from {OLD} to {NEW}" in newest
            page.screenshot(path=str(SHOTS / "audit.png"), full_page=True)

            with page.expect_download() as download:
                page.click("text=Download CSV")
            text = open(download.value.path(), encoding="utf-8").read()
            [update, create] = list(csv.DictReader(io.StringIO(text)))
            assert (update["action"], update["actor"]) == ("link.update", f"user:{USER}")
            assert update["changes"] == f'{{"url": ["{OLD}", "{NEW}"]}}'
            assert create["action"] == "link.create"
        finally:
            context.close()
