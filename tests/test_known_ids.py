"""Cookies and click ids already in the wild keep working: fixed inputs give
exactly the bytes the redirect has always written, and ids made before still
verify. The expected strings were computed with the code that issued them
(pre-keyed HMAC states and a pooled os.urandom buffer), before the redirect
path moved to plain hmac and itsdangerous; any change of format fails here."""

import time

import pytest
from itsdangerous import URLSafeTimedSerializer

from conftest import app_config
from shortener import clickids, cookie, create_app
from shortener.app import init_db
from shortener.fastpath import FastRedirect

SECRET = "known-secret-key"
FALLBACK = "older-key"
STAMP = 1767225600.25  # 2026-01-01T00:00:00.25Z

# (visitor id, the ct_vid value signed at STAMP with SECRET)
SIGNED = [
    (
        "AbCdEfGhIjKlMnOpQrStUv",
        "IkFiQ2RFZkdoSWpLbE1uT3BRclN0VXYi.aVW5AA.oeTC8waoazm3Gsi-6GDAFFv35yU",
    ),
    (
        "known-visitor-0000000001",
        "Imtub3duLXZpc2l0b3ItMDAwMDAwMDAwMSI.aVW5AA.gTU1N45cXY6ABVdUGO-mYAGU0k4",
    ),
]
# (link id, the 10 random bytes, the click id made from them with SECRET)
CLICK_IDS = [
    (1, bytes(range(10)), "AAECAwQFBgcICWtq"),
    (123456, b"\xff" * 10, "_____________6nc"),
    (7, b"clicktrail", "Y2xpY2t0cmFpbFhY"),
]
FALLBACK_CLICK_ID = (5, "MDEyMzQ1Njc4OToH")  # made while FALLBACK was the SECRET_KEY


@pytest.fixture
def known_app(tmp_path):
    config = app_config(tmp_path, SECRET_KEY=SECRET, SECRET_KEY_FALLBACKS=[FALLBACK])
    init_db(config["DATABASE"])
    return create_app(config)


@pytest.fixture
def at_stamp(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: STAMP)


@pytest.mark.parametrize(("visitor", "expected"), SIGNED)
def test_a_known_visitor_signs_to_the_same_bytes(known_app, at_stamp, visitor, expected):
    with known_app.app_context():
        assert cookie.sign_visitor(visitor) == expected
    # and it is what itsdangerous itself writes for the same key and salt
    assert URLSafeTimedSerializer([SECRET], salt=cookie.SALT).dumps(visitor) == expected


@pytest.mark.parametrize(("visitor", "expected"), SIGNED)
def test_the_fast_path_signs_and_reads_the_same_bytes(known_app, at_stamp, visitor, expected):
    fast = known_app.wsgi_app
    assert isinstance(fast, FastRedirect)
    assert fast.sign(visitor) == expected
    assert fast.visitor({"HTTP_COOKIE": f"ct_vid={expected}"}) == visitor


@pytest.mark.parametrize(("visitor", "expected"), SIGNED)
def test_known_cookies_are_read_back(known_app, visitor, expected, monkeypatch):
    monkeypatch.setattr(time, "time", lambda: STAMP + 3600)
    with known_app.test_request_context(headers={"Cookie": f"ct_vid={expected}"}):
        assert cookie.read_visitor() == visitor
    assert known_app.wsgi_app.visitor({"HTTP_COOKIE": f"ct_vid={expected}"}) == visitor


@pytest.mark.parametrize(("link_id", "nonce", "expected"), CLICK_IDS)
def test_click_ids_are_made_as_before(known_app, link_id, nonce, expected):
    key = clickids.app_keys(known_app)[0]
    assert clickids.click_id_from(link_id, key, nonce) == expected


@pytest.mark.parametrize(("link_id", "nonce", "expected"), CLICK_IDS)
def test_known_click_ids_are_recognised(known_app, link_id, nonce, expected):
    keys = clickids.app_keys(known_app)
    assert clickids.made_for(expected, link_id, keys)
    assert not clickids.made_for(expected, link_id + 1, keys)


def test_a_click_id_made_under_the_old_key_is_still_recognised(known_app):
    link_id, click_id = FALLBACK_CLICK_ID
    assert clickids.made_for(click_id, link_id, clickids.app_keys(known_app))
    assert not clickids.made_for(click_id, link_id, clickids.keys({
        "SECRET_KEY": SECRET, "SECRET_KEY_FALLBACKS": []
    }))  # fmt: skip


def test_new_click_ids_carry_their_link(known_app):
    keys = clickids.app_keys(known_app)
    made = {clickids.new_click_id(42, keys[0]) for _ in range(200)}
    assert len(made) == 200
    assert all(len(c) == 16 and not c.startswith("-") for c in made)
    assert all(clickids.made_for(c, 42, keys) for c in made)
    assert sum(clickids.made_for(c, 43, keys) for c in made) <= 2  # 1 in 65,536 by chance
