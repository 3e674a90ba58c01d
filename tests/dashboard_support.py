"""Helpers for the dashboard tests: a signed-in client, and a small data set
whose every number is worked out by hand in the tests that use it."""

import re
from datetime import UTC, datetime

from conftest import BROWSER_UA, browser
from conversions.intake import Conversion, Policy, record_conversion
from dashboard import accounts
from shortener.clicks import classify, record_click
from shortener.clock import utcnow
from shortener.db import connect

USER, PASSWORD = "ann@example.com", "a long enough password"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_user(app, username=USER, password=PASSWORD) -> dict:
    db = connect(app.config["DATABASE"])
    try:
        return accounts.create_user(db, username, password, utcnow())
    finally:
        db.close()


def csrf_of(client, path="/dashboard/login") -> str:
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def sign_in(client, username=USER, password=PASSWORD):
    token = csrf_of(client)
    return client.post(
        "/dashboard/login",
        data={"username": username, "password": password, "csrf_token": token},
    )


def signed_in(app):
    """A browser-like test client with a signed-in session and its token."""
    make_user(app)
    client = browser(app)
    response = sign_in(client)
    assert response.status_code == 303, response.get_data(as_text=True)
    return client, csrf_of(client, "/dashboard/goals")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


HUMAN = classify(BROWSER_UA)
BOT = classify("Twitterbot/1.0")
V1, V2, V3, V4 = (f"visitor-{n}-aaaaaaaaaaaa" for n in ("one", "two", "three", "four"))


def insert_link(db, code, channel, campaign, url="https://shop.example.com/") -> int:
    db.execute(
        "INSERT INTO links (code, url, channel, campaign, tags, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, '[]', '2026-02-01T00:00:00.000000Z', '2026-02-01T00:00:00.000000Z')",
        [code, url, channel, campaign],
    )
    return next(db.query("SELECT id FROM links WHERE code = ?", [code]))["id"]


def click(db, link_id, visitor, when, bot=False) -> str:
    return record_click(
        db,
        link_id=link_id,
        visitor_id=None if bot else visitor,
        now=at(when),
        agent=BOT if bot else HUMAN,
        is_bot=bot,
        user_agent="Twitterbot/1.0" if bot else BROWSER_UA,
    )


def convert(db, goal, visitor, when, value=None, currency=None, order_id=None):
    conversion = Conversion(
        goal=goal,
        source="webhook",
        occurred_at=at(when),
        received_at=at(when),
        value_minor=value,
        currency=currency,
        order_id=order_id,
        visitor_id=visitor,
        webhook_id=f"msg-{goal}-{visitor}-{when}",
    )
    record_conversion(db, conversion, Policy())


def build_dataset(path: str) -> dict[str, int]:
    """Three links, four visitors, a bot, a two-touch journey, two currencies
    and a conversion with no click:

    - v1 clicks tw-spring (03-01 10:00) then em-spring (03-02 09:00) and buys
      for 100.00 USD (03-02 12:00): two touches, twitter first, email last.
    - v2 clicks tw-spring (03-01 11:00) and signs up (03-01 12:00, 0.00 USD).
    - a bot (Twitterbot) opens tw-spring (03-01 13:00).
    - v3 clicks tw-autumn twice (03-05 08:00, 08:30) and buys for 30.00 EUR
      (03-05 09:00).
    - v4 sends a lead (03-02 15:00) without any click: (direct).
    """
    db = connect(path)
    try:
        ids = {
            "tw-spring": insert_link(db, "tw-spring", "twitter", "spring"),
            "tw-autumn": insert_link(db, "tw-autumn", "twitter", "autumn"),
            "em-spring": insert_link(db, "em-spring", "email", "spring"),
        }
        click(db, ids["tw-spring"], V1, "2026-03-01T10:00:00")
        click(db, ids["tw-spring"], V2, "2026-03-01T11:00:00")
        click(db, ids["tw-spring"], None, "2026-03-01T13:00:00", bot=True)
        click(db, ids["em-spring"], V1, "2026-03-02T09:00:00")
        click(db, ids["tw-autumn"], V3, "2026-03-05T08:00:00")
        click(db, ids["tw-autumn"], V3, "2026-03-05T08:30:00")
        convert(db, "signup", V2, "2026-03-01T12:00:00")
        convert(db, "purchase", V1, "2026-03-02T12:00:00", 10000, "USD", "A-1")
        convert(db, "lead", V4, "2026-03-02T15:00:00")
        convert(db, "purchase", V3, "2026-03-05T09:00:00", 3000, "EUR", "A-2")
        return ids
    finally:
        db.close()
