import base64
import json
import time

import pytest

from shortener import create_app
from shortener.app import init_db
from shortener.db import close_pool, connect

# leaks: nothing a test starts (threads, processes) outlives it;
# lagging: an app whose clicks wait in the journal (the lagging_app fixture);
# pgserver: a throwaway PostgreSQL server (pg_server) and a fresh database per test (pg_url)
pytest_plugins = ["leaks", "lagging", "pgserver"]

API_KEY = "test-api-key"
WEBHOOK_SECRET = "whsec_" + base64.b64encode(b"clicktrail-test-webhook-secret!!").decode()
AUTH = {"Authorization": f"Bearer {API_KEY}"}
BROWSER_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
IPHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def app_config(tmp_path, **overrides):
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "ADMIN_API_KEY": API_KEY,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,
        "DATABASE": str(tmp_path / "clicktrail.db"),
        "BASE_URL": "http://go.example.test",
    }
    config.update(overrides)
    return config


@pytest.fixture
def app(tmp_path):
    config = app_config(tmp_path)
    init_db(config["DATABASE"])
    return create_app(config)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_app(request, tmp_path):
    """The app on each engine: a SQLite file, and a fresh database of the
    throwaway PostgreSQL server (its pool closed after the test)."""
    if request.param == "sqlite":
        config = app_config(tmp_path)
    else:
        url = request.getfixturevalue("pg_url")
        config = app_config(tmp_path, DATABASE=url, CLICK_JOURNAL_DIR=str(tmp_path))
    init_db(config["DATABASE"])
    app = create_app(config)
    yield app
    close_pool(app)


def browser(app, user_agent=BROWSER_UA):
    """A test client that identifies as a real browser, so device and
    browser columns are realistic (the bare test client sends
    `Werkzeug/<version>`, an unknown agent that counts as a person)."""
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = user_agent
    return client


@pytest.fixture
def client(app):
    return browser(app)


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def db(app):
    """A separate connection for asserting on what was stored."""
    database = connect(app.config["DATABASE"])
    yield database
    database.close()


def make_link(client, **fields):
    body = {"url": "https://shop.example.com/sale", "channel": "twitter", "campaign": "spring"}
    body.update(fields)
    response = client.post("/api/links", json=body, headers=AUTH)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def signed_headers(body: bytes, secret=WEBHOOK_SECRET, msg_id="msg_1", timestamp=None):
    from conversions.signing import sign

    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
        "Content-Type": "application/json",
    }


def post_webhook(client, payload: dict, msg_id="msg_1", **kwargs):
    body = json.dumps(payload).encode()
    return client.post(
        "/t/webhook", data=body, headers=signed_headers(body, msg_id=msg_id, **kwargs)
    )
