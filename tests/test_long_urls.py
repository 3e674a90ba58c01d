"""Long pixel, visit and short-link URLs under a real gunicorn.

A page's own address (with its tracking parameters) and its referrer travel
in the visit pixel's query string, so real pixel URLs run past gunicorn's
default 4 KB request line. Up to the pixel cap they are stored; past it the
GIF still answers (a page must not show a broken image) and nothing is
stored; only a request line past gunicorn's own bound gets its 414.
"""

import socket
from urllib.parse import urlsplit

import pytest
import requests

from conftest import AUTH, BROWSER_UA, app_config
from conversions.pixel import GIF, MAX_PIXEL_QUERY
from servers import gunicorn
from shortener.app import init_db
from shortener.db import connect
from shortener.journal import replay_all

SIX_KB = 6 * 1024


@pytest.fixture
def server(tmp_path):
    config = app_config(tmp_path, BASE_URL="http://127.0.0.1", WEBHOOK_DELIVERY_THREAD="false")
    init_db(config["DATABASE"])
    with gunicorn(config) as base:
        yield base, config


def get(base, path, **params):
    return requests.get(
        f"{base}{path}", params=params, headers={"User-Agent": BROWSER_UA}, timeout=10
    )


def count(config, table) -> int:
    db = connect(config["DATABASE"])
    try:
        replay_all(db)  # clicks wait in the workers' journals until replayed
        return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    finally:
        db.close()


def is_gif(response) -> bool:
    return (
        response.status_code == 200
        and response.headers["Content-Type"] == "image/gif"
        and response.content == GIF
    )


def test_a_6kb_pixel_query_gets_the_gif_and_is_stored(server):
    base, config = server
    response = get(base, "/t/pixel.gif", goal="signup", order_id="A-6k", page="p" * SIX_KB)
    assert len(urlsplit(response.url).query) > SIX_KB  # past gunicorn's default 4094
    assert is_gif(response)
    assert count(config, "conversions") == 1


def test_a_6kb_visit_query_gets_the_gif_and_is_stored(server):
    base, config = server
    page = "https://shop.example.com/sale?" + "utm_x=" + "v" * SIX_KB
    response = get(base, "/t/visit.gif", url=page, ref="https://www.google.com/")
    assert is_gif(response)
    db = connect(config["DATABASE"])
    [(url, referrer)] = db.execute("SELECT url, referrer FROM visits").fetchall()
    db.close()
    assert url == page[:1024] and referrer == "https://www.google.com/"


@pytest.mark.parametrize("path", ["/t/pixel.gif", "/t/visit.gif"])
def test_a_query_past_the_pixel_cap_gets_the_gif_and_stores_nothing(server, path):
    base, config = server
    response = get(base, path, goal="signup", url="https://shop.example.com/",
                   page="p" * (MAX_PIXEL_QUERY + 1))  # fmt: skip
    assert len(urlsplit(response.url).query) > MAX_PIXEL_QUERY
    assert is_gif(response)
    assert count(config, "conversions") == 0
    assert count(config, "visits") == 0
    # the server goes on storing what is within the cap
    assert is_gif(get(base, path, goal="signup", url="https://shop.example.com/"))
    assert count(config, "conversions") + count(config, "visits") == 1


@pytest.mark.parametrize("size", [SIX_KB, MAX_PIXEL_QUERY + 1])
def test_a_short_link_with_a_long_query_still_redirects_and_counts(server, size):
    """The query of a short-link visit (an ad platform's click id, a
    newsletter's tracking) is not read, so its length does not matter."""
    base, config = server
    created = requests.post(
        f"{base}/api/links",
        json={"url": "https://shop.example.com/sale", "channel": "x", "campaign": "c"},
        headers=AUTH,
        timeout=10,
    )
    code = created.json()["code"]
    hop = requests.get(
        f"{base}/{code}",
        params={"fbclid": "f" * size},
        headers={"User-Agent": BROWSER_UA},
        allow_redirects=False,
        timeout=10,
    )
    assert hop.status_code == 302
    assert hop.headers["Location"].startswith("https://shop.example.com/sale?")
    assert "f" * 100 not in hop.headers["Location"]  # the visit's query is not passed on
    assert count(config, "clicks") == 1


def test_a_request_line_past_gunicorns_bound_gets_414_and_the_worker_goes_on(server):
    """Gunicorn still bounds the request line (what it buffers before the
    app sees anything), well above anything a browser sends."""
    base, config = server
    port = urlsplit(base).port
    line = b"GET /t/pixel.gif?goal=signup&page=" + b"p" * (2 * 1024 * 1024) + b" HTTP/1.1\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        try:
            s.sendall(line + b"Host: 127.0.0.1\r\nConnection: close\r\n\r\n")
            answer = s.recv(200)
        except ConnectionError:
            # gunicorn answered and closed with the rest of the line unread: the
            # reset can overtake its 414 (what matters: no GIF, nothing stored)
            answer = b""
    assert answer == b"" or answer.startswith(b"HTTP/1.1 414 ")
    assert count(config, "conversions") == 0
    assert is_gif(get(base, "/t/pixel.gif", goal="signup"))
    assert count(config, "conversions") == 1
