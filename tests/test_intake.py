"""Conversion intake: dedupe, and attribution credits fixed at intake time."""

from datetime import UTC, datetime, timedelta

import pytest

from conftest import BROWSER_UA
from conversions.intake import (
    Conversion,
    Policy,
    UnknownClick,
    UnknownGoal,
    record_conversion,
    touches,
)
from shortener.app import init_db
from shortener.clicks import classify, record_click
from shortener.clock import to_db
from shortener.db import connect

HUMAN = classify(BROWSER_UA)
BOT = classify("Twitterbot/1.0")
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
V = "visitor-vvvvvvvvvvvvvvvv"


@pytest.fixture
def db(tmp_path):
    path = str(tmp_path / "intake.db")
    init_db(path)
    database = connect(path)
    yield database
    database.close()


def add_link(db, channel, code=None) -> int:
    now = to_db(T0)
    return db.execute(
        "INSERT INTO links (code, url, channel, campaign, created_at, updated_at)"
        " VALUES (?, 'https://shop.example.com/', ?, 'spring', ?, ?)",
        [code or channel, channel, now, now],
    ).lastrowid


@pytest.fixture
def links(db):
    return {c: add_link(db, c) for c in ("twitter", "linkedin", "newsletter")}


def click(db, link_id, when, visitor=V, bot=False) -> str:
    return record_click(
        db, link_id=link_id, visitor_id=visitor, now=when, agent=BOT if bot else HUMAN, is_bot=bot
    )


DEFAULT_POLICY = Policy()


def convert(db, when, policy=DEFAULT_POLICY, **fields):
    fields.setdefault("visitor_id", V)
    conversion = Conversion(
        goal=fields.pop("goal", "purchase"),
        source=fields.pop("source", "webhook"),
        occurred_at=when,
        received_at=when,
        **fields,
    )
    return record_conversion(db, conversion, policy)


def credits(db, conversion_id, model="last_touch") -> list[tuple]:
    """(link id or None, weight ppm, revenue) per credited touch, oldest first."""
    return [
        (r["link_id"], r["weight_ppm"], r["revenue_minor"])
        for r in db.query(
            "SELECT cr.link_id, cr.weight_ppm, cr.revenue_minor FROM credits cr"
            " LEFT JOIN clicks c ON c.id = cr.click_row"
            " WHERE cr.conversion_id = ? AND cr.model = ? ORDER BY c.ts, cr.id",
            [conversion_id, model],
        )
    ]


def count(db, table) -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_the_last_human_click_in_the_window_gets_the_credit(db, links):
    click(db, links["twitter"], T0 - timedelta(days=10))
    click(db, links["linkedin"], T0 - timedelta(days=3))
    row, duplicate = convert(db, T0, value_minor=4990, currency="EUR")
    assert not duplicate
    assert credits(db, row["id"]) == [(links["linkedin"], 1_000_000, 4990)]
    assert credits(db, row["id"], "first_touch") == [(links["twitter"], 1_000_000, 4990)]


def test_bot_clicks_are_never_credited(db, links):
    click(db, links["twitter"], T0 - timedelta(days=2))
    # a bot click carrying the visitor's id, after the human one
    click(db, links["linkedin"], T0 - timedelta(hours=1), bot=True)
    row, _ = convert(db, T0, value_minor=100, currency="USD")
    assert credits(db, row["id"]) == [(links["twitter"], 1_000_000, 100)]
    for model in ("linear", "position_based", "time_decay", "first_touch"):
        assert credits(db, row["id"], model) == [(links["twitter"], 1_000_000, 100)]


def test_only_bot_clicks_is_direct(db, links):
    click(db, links["twitter"], T0 - timedelta(days=1), bot=True)
    row, _ = convert(db, T0, value_minor=100, currency="USD")
    assert credits(db, row["id"]) == [(None, 1_000_000, 100)]


def test_clicks_after_the_conversion_are_not_credited(db, links):
    click(db, links["twitter"], T0 + timedelta(seconds=1))
    click(db, links["linkedin"], T0 + timedelta(days=1))
    row, _ = convert(db, T0, value_minor=100, currency="USD")
    assert credits(db, row["id"]) == [(None, 1_000_000, 100)]


def test_a_click_at_the_same_moment_is_credited(db, links):
    click(db, links["twitter"], T0)
    row, _ = convert(db, T0, value_minor=100, currency="USD")
    assert credits(db, row["id"]) == [(links["twitter"], 1_000_000, 100)]


def test_clicks_older_than_the_window_are_not_credited(db, links):
    click(db, links["twitter"], T0 - timedelta(days=31))
    click(db, links["linkedin"], T0 - timedelta(days=30))  # exactly 30 days: expired
    row, _ = convert(db, T0, value_minor=100, currency="USD")
    assert credits(db, row["id"]) == [(None, 1_000_000, 100)]
    # a 40-day window reaches both; the newer is the last touch
    row, _ = convert(db, T0, Policy(window_days=40), value_minor=100, currency="USD")
    assert credits(db, row["id"]) == [(links["linkedin"], 1_000_000, 100)]
    assert credits(db, row["id"], "linear") == [
        (links["twitter"], 500_000, 50),
        (links["linkedin"], 500_000, 50),
    ]


def test_just_inside_the_window(db, links):
    click(db, links["twitter"], T0 - timedelta(days=30) + timedelta(seconds=1))
    row, _ = convert(db, T0, value_minor=100, currency="USD")
    assert credits(db, row["id"]) == [(links["twitter"], 1_000_000, 100)]


def test_other_visitors_clicks_are_not_credited(db, links):
    click(db, links["twitter"], T0 - timedelta(days=1), visitor="someone-else-entirely")
    row, _ = convert(db, T0, value_minor=100, currency="USD")
    assert credits(db, row["id"]) == [(None, 1_000_000, 100)]


def test_every_model_credited_at_intake(db, links):
    # three touches 14, 7 and 0 days before a 10.00 EUR conversion
    click(db, links["twitter"], T0 - timedelta(days=14))
    click(db, links["newsletter"], T0 - timedelta(days=7))
    click(db, links["linkedin"], T0)
    row, _ = convert(db, T0, value_minor=1000, currency="EUR")
    tw, nl, li = links["twitter"], links["newsletter"], links["linkedin"]
    assert credits(db, row["id"], "last_touch") == [(li, 1_000_000, 1000)]
    assert credits(db, row["id"], "first_touch") == [(tw, 1_000_000, 1000)]
    # a third each: 333,333.33 ppm and 333.33 cents; the leftover unit goes first
    assert credits(db, row["id"], "linear") == [
        (tw, 333_334, 334),
        (nl, 333_333, 333),
        (li, 333_333, 333),
    ]
    # 40/20/40 %
    assert credits(db, row["id"], "position_based") == [
        (tw, 400_000, 400),
        (nl, 200_000, 200),
        (li, 400_000, 400),
    ]
    # half-life 7 days: 1/7, 2/7, 4/7; 1000 cents: 142.86, 285.71, 571.43 ->
    # floors 142 + 285 + 571 = 998, 2 cents to the largest remainders (.86, .71)
    assert credits(db, row["id"], "time_decay") == [
        (tw, 142_857, 143),
        (nl, 285_714, 286),
        (li, 571_429, 571),
    ]


def test_conversion_by_click_id_uses_that_clicks_visitor(db, links):
    other = "visitor-from-the-click-0000"
    click_id = click(db, links["twitter"], T0 - timedelta(days=1), visitor=other)
    row, _ = convert(db, T0, click_id=click_id, visitor_id=None, value_minor=5, currency="USD")
    assert (row["visitor_id"], row["click_id"]) == (other, click_id)
    assert credits(db, row["id"]) == [(links["twitter"], 1_000_000, 5)]


def test_a_bot_click_id_falls_back_to_the_visitor_given(db, links):
    bot_click = click(db, links["twitter"], T0 - timedelta(hours=1), visitor=None, bot=True)
    click(db, links["linkedin"], T0 - timedelta(days=1))
    row, _ = convert(db, T0, click_id=bot_click, value_minor=5, currency="USD")
    assert row["visitor_id"] == V
    assert credits(db, row["id"]) == [(links["linkedin"], 1_000_000, 5)]


def test_goal_default_value_when_none_given(db):
    db.execute("UPDATE goals SET value_minor = 15000, currency = 'EUR' WHERE name = 'demo_request'")
    row, _ = convert(db, T0, goal="demo_request")
    assert (row["value_minor"], row["currency"]) == (15000, "EUR")
    # a goal without its own currency: the policy's default currency
    db.execute("UPDATE goals SET value_minor = 500, currency = NULL WHERE name = 'lead'")
    row, _ = convert(db, T0, Policy(default_currency="GBP"), goal="lead")
    assert (row["value_minor"], row["currency"]) == (500, "GBP")


def test_unknown_goal_or_click_stores_nothing(db, links):
    with pytest.raises(UnknownGoal):
        convert(db, T0, goal="nope")
    with pytest.raises(UnknownClick):
        convert(db, T0, click_id="no-such-click")
    assert (count(db, "conversions"), count(db, "credits")) == (0, 0)


def test_duplicates_by_webhook_id_and_by_order(db):
    first, dup = convert(db, T0, webhook_id="msg_1", value_minor=100, currency="USD")
    assert not dup
    again, dup = convert(db, T0, webhook_id="msg_1", value_minor=999, currency="USD")
    assert dup and again["id"] == first["id"]
    order, dup = convert(db, T0, order_id="A-1", value_minor=100, currency="USD")
    assert not dup
    same, dup = convert(db, T0, order_id="A-1", webhook_id="msg_2", source="webhook")
    assert dup and same["id"] == order["id"]
    other_goal, dup = convert(db, T0, order_id="A-1", goal="upsell", value_minor=1, currency="USD")
    assert not dup
    assert count(db, "conversions") == 3
    assert count(db, "credits") == 3 * 5  # (direct) under each of five models


def test_a_twin_stored_by_another_connection_is_a_duplicate(db, tmp_path):
    # another worker (its own connection) stored the same order first
    other = connect(str(tmp_path / "intake.db"))
    convert(other, T0, order_id="A-1", value_minor=100, currency="USD")
    row, dup = convert(db, T0, order_id="A-1", value_minor=100, currency="USD")
    assert dup
    assert count(db, "conversions") == 1
    other.close()


def test_touches_are_the_visitors_human_clicks_in_the_window(db, links):
    click(db, links["twitter"], T0 - timedelta(days=40))
    click(db, links["linkedin"], T0 - timedelta(days=2))
    click(db, links["newsletter"], T0 - timedelta(days=1), bot=True)
    click(db, links["newsletter"], T0 - timedelta(hours=1))
    click(db, links["twitter"], T0 + timedelta(hours=1))
    found = touches(db, V, T0, 30)
    assert [t["link_id"] for t in found] == [links["linkedin"], links["newsletter"]]
