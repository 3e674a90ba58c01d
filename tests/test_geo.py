"""The click's country: looked up from the full client address at click
time with the database shipped in the `iptocc` package, stored as an
ISO 3166-1 alpha-2 code ("" when unknown), the address itself never."""

import sqlite3

import pytest
from geo_fixture import COUNTRY_ADDRESSES, GERMANY, UNKNOWN_ADDRESSES

from conftest import app_config, browser, make_link
from shortener import create_app
from shortener.app import init_db
from shortener.clicks import Agent, click_row
from shortener.db import connect
from shortener.geo import UNKNOWN, country_of


@pytest.mark.parametrize("address, country", sorted(COUNTRY_ADDRESSES.items()))
def test_addresses_of_known_registrations_give_their_country(address, country):
    assert country_of(address) == country


@pytest.mark.parametrize("address", UNKNOWN_ADDRESSES)
def test_documentation_private_and_loopback_addresses_have_no_country(address):
    assert country_of(address) == UNKNOWN == ""


@pytest.mark.parametrize(
    "address, country",
    [
        (f"::ffff:{GERMANY}", "DE"),  # an IPv4 client on a dual-stack socket
        (f" {GERMANY} ", "DE"),  # a header's spaces
        ("", ""),
        (None, ""),
        ("not an address", ""),
        ("::ffff:not-an-address", ""),
        ("256.1.1.1", ""),
    ],
)
def test_odd_input_is_unknown_not_an_error(address, country):
    assert country_of(address) == country


def test_click_row_takes_the_country_from_the_full_address_and_keeps_only_the_network():
    from datetime import UTC, datetime

    agent = Agent("desktop", "Chrome", "Windows", False)
    now = datetime(2026, 3, 1, tzinfo=UTC)
    row = click_row(link_id=1, visitor_id="v", now=now, agent=agent, is_bot=False, ip=GERMANY)
    assert (row["country"], row["ip_prefix"]) == ("DE", "193.99.144.0/24")
    assert GERMANY not in repr(row)
    # a caller that looked the country up already (geo targeting) passes it on
    given = click_row(link_id=1, visitor_id="v", now=now, agent=agent, is_bot=False,
                      ip=GERMANY, country="FR")  # fmt: skip
    assert given["country"] == "FR"
    none = click_row(link_id=1, visitor_id="v", now=now, agent=agent, is_bot=False)
    assert none["country"] == ""


def every_text_value(path) -> list[str]:
    """Every text and blob value in every table of the database file."""
    conn = sqlite3.connect(path)
    try:
        values = []
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                values += [str(v) for v in row if isinstance(v, str | bytes)]
        return values
    finally:
        conn.close()


@pytest.mark.parametrize("journal", [True, False], ids=["journalled", "direct"])
@pytest.mark.parametrize("plain", [True, False], ids=["fast-path", "flask-view"])
def test_each_redirect_path_stores_the_country_never_the_address(tmp_path, journal, plain):
    config = app_config(tmp_path, CLICK_JOURNAL=journal)
    init_db(config["DATABASE"])
    app = create_app(config)
    client = browser(app)
    # a device destination sends the click through the Flask view
    link = make_link(client, code="geo1", **({} if plain else {"ios_url": "https://a.example/"}))
    for address in [*COUNTRY_ADDRESSES, "203.0.113.9"]:
        response = client.get(f"/{link['code']}", environ_base={"REMOTE_ADDR": address})
        assert response.status_code == 302
    db = connect(config["DATABASE"])
    try:
        stored = list(db.query("SELECT * FROM clicks ORDER BY id"))
    finally:
        db.close()
    assert [c["country"] for c in stored] == [*COUNTRY_ADDRESSES.values(), ""]
    for address, click in zip(COUNTRY_ADDRESSES, stored, strict=False):
        assert not any(address in str(value) for value in click.values()), click
    # nowhere in the database either (the journal files are replayed by now)
    everything = "\n".join(every_text_value(config["DATABASE"]))
    for address in COUNTRY_ADDRESSES:
        assert address not in everything


def test_a_trusted_proxy_header_gives_the_visitors_country(tmp_path):
    config = app_config(tmp_path, TRUST_PROXY_HEADERS=True)
    init_db(config["DATABASE"])
    client = browser(create_app(config))
    make_link(client, code="geo2")
    client.get(
        "/geo2", headers={"X-Forwarded-For": GERMANY}, environ_base={"REMOTE_ADDR": "10.0.0.5"}
    )
    db = connect(config["DATABASE"])
    try:
        assert [r[0] for r in db.execute("SELECT country FROM clicks")] == ["DE"]
    finally:
        db.close()


def test_clicks_stored_before_the_column_existed_read_as_unknown(tmp_path):
    """The migration adds the column with "" for every older click: their
    addresses were never kept, so there is nothing to look up."""
    path = str(tmp_path / "old.db")
    init_db(path)
    db = connect(path)
    try:
        db.execute(
            "INSERT INTO links (id, code, url, channel, campaign, created_at, updated_at)"
            " VALUES (1, 'c', 'https://a.example/', 'x', 'y', 'x', 'x')"
        )
        # a journal line written by a worker of the previous version has no country
        db.execute(
            "INSERT INTO clicks (click_id, link_id, ts, is_bot) VALUES ('k', 1, '2026-01-01', 0)"
        )
        assert db.execute("SELECT country FROM clicks").fetchone() == ("",)
    finally:
        db.close()
