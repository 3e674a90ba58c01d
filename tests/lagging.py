"""An app whose clicks wait in the worker's journal, as under gunicorn
between two replays: what a reader in any worker may find.

Under TESTING each click is otherwise replayed before its redirect is
answered. Here the batch never fills, the delay never passes and no
replay thread runs, so a click stays in the journal until a reader
catches the click log up (or a test replays it)."""

import os
from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import app_config
from shortener import create_app
from shortener.app import init_db
from shortener.db import connect
from shortener.journal import directory


@pytest.fixture
def lagging_app(tmp_path):
    return make_lagging_app(tmp_path)


def make_lagging_app(tmp_path, **settings):
    config = app_config(
        tmp_path, CLICK_JOURNAL_BATCH=10**9, CLICK_JOURNAL_MAX_DELAY_MS=10**9, **settings
    )
    init_db(config["DATABASE"])
    app = create_app(config)
    journal = app.extensions["clicktrail.journal"]
    journal.sync = False  # the redirect leaves the click in the file
    journal.background = False  # and no thread of this worker replays it
    return app


def answer(client, code: str) -> str:
    """Follow a short link; the click id its redirect carried."""
    response = client.get(f"/{code}")
    assert response.status_code == 302, response.get_data(as_text=True)
    return parse_qs(urlsplit(response.headers["Location"]).query)["ct_click"][0]


def stored_click_ids(app) -> list[str]:
    db = connect(app.config["DATABASE"])
    try:
        return [r[0] for r in db.execute("SELECT click_id FROM clicks ORDER BY id")]
    finally:
        db.close()


def journalled_lines(app) -> int:
    folder = directory(app.config["DATABASE"])
    total = 0
    for name in os.listdir(folder):
        if name.endswith(".jsonl"):
            with open(os.path.join(folder, name), "rb") as f:
                total += f.read().count(b"\n")
    return total
