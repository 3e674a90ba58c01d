"""shortener.decide: every outcome of a follow, from hand-built facts, with no
app, database or request."""

import json
from datetime import UTC, datetime

import pytest

from shortener import clickids
from shortener.clicks import Agent
from shortener.decide import (
    DISABLED,
    EXPIRED,
    LOOP,
    NOT_FOUND,
    REDIRECT,
    REFUSED,
    Click,
    Decision,
    Facts,
    Site,
    decide,
    loops_back,
)
from shortener.destinations import build_destination

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
KEYS = tuple(clickids.keys({"SECRET_KEY": "decide-key", "SECRET_KEY_FALLBACKS": []}))
SITE = Site(
    own=("go.example.test",),
    configured=("go.example.test",),
    blocked=("evil.example",),
    social_channels=("twitter", "instagram"),
    click_keys=KEYS,
)
DESKTOP = Agent("desktop", "Chrome", "Windows", False)
IPHONE = Agent("mobile", "Mobile Safari", "iOS", False)
CRAWLER = Agent("bot", "FacebookBot", "Other", True)
VISITOR = "k3J9xQ2mZp7LwR4tY8vB1n"
NEW = "Qm7Rt2Lx9Kp4Wz8Nc3Vb6H"


def link(**fields) -> dict:
    row = {
        "id": 7, "url": "https://shop.example/p?x=1", "channel": "twitter",
        "campaign": "spring", "medium": None, "content": None, "term": None,
        "disabled": 0, "expires_at": None, "destinations": None, "ios_url": None,
        "android_url": None, "desktop_url": None, "expired_url": None, "max_clicks": None,
    }  # fmt: skip
    row.update(fields)
    return row


def facts(**fields) -> Facts:
    return Facts(**{"agent": DESKTOP, "new_visitor": NEW, **fields})


def test_no_link_is_404():
    assert decide(None, facts(), NOW, SITE) == Decision(NOT_FOUND, 404)


def test_a_disabled_link_is_410():
    assert decide(link(disabled=1), facts(), NOW, SITE) == Decision(DISABLED, 410)


def test_a_visit_carrying_the_links_own_click_id_is_508():
    own = clickids.click_id_from(7, KEYS[0], b"0123456789")
    other = clickids.click_id_from(8, KEYS[0], b"0123456789")
    assert decide(link(), facts(click_ids=(own,)), NOW, SITE) == Decision(LOOP, 508)
    # another link's id, or a stranger's, is an ordinary click
    assert decide(link(), facts(click_ids=(other, "x")), NOW, SITE).outcome == REDIRECT


def test_a_new_visitor_is_redirected_with_tags_a_click_and_a_new_cookie():
    decision = decide(link(), facts(), NOW, SITE)
    assert decision == Decision(
        REDIRECT,
        302,
        "https://shop.example/p?x=1",
        (("utm_source", "twitter"), ("utm_medium", "social"), ("utm_campaign", "spring")),
        Click(7, NEW, is_bot=False, private=False),
        fresh_visitor=True,
    )
    assert decision.cookie_visitor == NEW
    assert build_destination(decision.url, dict(decision.utm), "CID") == (
        "https://shop.example/p?x=1&utm_source=twitter&utm_medium=social"
        "&utm_campaign=spring&ct_click=CID"
    )


def test_a_returning_visitor_keeps_their_id():
    decision = decide(link(), facts(visitor=VISITOR), NOW, SITE)
    assert decision.click.visitor_id == VISITOR
    assert decision.cookie_visitor == VISITOR and not decision.fresh_visitor


def test_a_post_tag_is_the_content_unless_the_link_has_one():
    assert ("utm_content", "reel") in decide(link(), facts(post="reel"), NOW, SITE).utm
    tagged = decide(link(content="bio"), facts(post="reel"), NOW, SITE)
    assert ("utm_content", "bio") in tagged.utm
    assert tagged.click.post == "reel"


def test_a_bot_click_is_recorded_flagged_without_a_visitor_or_cookie():
    decision = decide(link(), facts(agent=CRAWLER, crawler="facebook"), NOW, SITE)
    assert decision.click == Click(7, None, is_bot=True, private=False)
    assert decision.cookie_visitor is None and decision.crawler == "facebook"


def test_a_prefetch_is_a_bot_click():
    decision = decide(link(), facts(prefetch=True), NOW, SITE)
    assert decision.click == Click(7, None, is_bot=True, private=False)


def test_an_opted_out_person_is_counted_privately_without_a_cookie():
    decision = decide(link(), facts(opted_out=True, visitor=VISITOR, country="DE"), NOW, SITE)
    assert decision.click == Click(7, None, is_bot=False, private=True, country="")
    assert decision.cookie_visitor is None


def test_head_redirects_without_a_click_or_cookie():
    decision = decide(link(), facts(head=True), NOW, SITE)
    assert (decision.outcome, decision.status, decision.click) == (REDIRECT, 302, None)
    assert decision.utm and decision.cookie_visitor is None


def test_past_expiry_goes_to_the_expired_url_as_it_stands_and_is_counted():
    expired = link(
        expires_at="2026-03-01T11:59:59.000000Z", expired_url="https://shop.example/over"
    )
    decision = decide(expired, facts(), NOW, SITE)
    assert decision == Decision(EXPIRED, 302, "https://shop.example/over", count_expired=True)
    assert build_destination(decision.url, dict(decision.utm), None) == "https://shop.example/over"
    # a bot's or a HEAD's follow is not counted
    assert not decide(expired, facts(agent=CRAWLER), NOW, SITE).count_expired
    assert not decide(expired, facts(head=True), NOW, SITE).count_expired


def test_expiry_without_an_expired_url_is_410():
    expired = link(expires_at="2026-03-01T12:00:00.000000Z")  # expires at NOW: expired
    assert decide(expired, facts(), NOW, SITE) == Decision(EXPIRED, 410, count_expired=True)
    assert decide(link(expires_at="2026-03-01T12:00:01.000000Z"), facts(), NOW, SITE).click


def test_a_click_limit_reached_expires_the_link():
    limited = link(max_clicks=3, expired_url="https://shop.example/sold-out")
    assert decide(limited, facts(clicks_so_far=3), NOW, SITE).outcome == EXPIRED
    below = decide(limited, facts(clicks_so_far=2), NOW, SITE)
    assert below.outcome == REDIRECT and below.click.limited
    # a bot's click does not count against the limit
    assert not decide(limited, facts(agent=CRAWLER, clicks_so_far=2), NOW, SITE).click.limited


def test_a_refused_destination_is_410_with_the_reason():
    decision = decide(link(url="https://evil.example/x"), facts(), NOW, SITE)
    assert (decision.outcome, decision.status, decision.click) == (REFUSED, 410, None)
    assert decision.reason == "url points at another link shortener"  # a blocked host
    own = decide(link(url="https://go.example.test/abc"), facts(), NOW, SITE)
    assert (own.outcome, own.status) == (REFUSED, 410)


def test_a_refused_expired_url_is_410():
    expired = link(expires_at="2020-01-01T00:00:00.000000Z", expired_url="https://evil.example/")
    assert decide(expired, facts(), NOW, SITE) == Decision(EXPIRED, 410, count_expired=True)


def test_a_destination_that_may_be_one_of_our_links_is_left_to_the_renderer_to_look_up():
    # this machine's own name with a short link's path: only the database
    # knows whether /abc is a link here
    decision = decide(link(url="http://localhost:8080/abc~post"), facts(), NOW, SITE)
    assert (decision.outcome, decision.looping_code) == (REDIRECT, "abc")
    refused = loops_back(decision)
    assert (refused.outcome, refused.status, refused.click) == (REFUSED, 410, None)
    assert refused.reason == "url points back at this shortener: /abc is one of its short links"
    head = decide(link(url="http://localhost:8080/abc"), facts(head=True), NOW, SITE)
    assert head.looping_code == "abc"
    assert decide(link(url="http://localhost:8080/a/b"), facts(), NOW, SITE).looping_code is None


def test_loops_back_keeps_an_expired_follow_counted():
    decision = Decision(EXPIRED, 302, "https://x.test/abc", count_expired=True, looping_code="abc")
    assert loops_back(decision) == Decision(EXPIRED, 410, count_expired=True)


def test_a_device_destination_wins():
    decision = decide(link(ios_url="https://apps.apple.com/app/1"), facts(agent=IPHONE), NOW, SITE)
    assert decision.url == "https://apps.apple.com/app/1"
    assert decide(link(ios_url="https://apps.apple.com/app/1"), facts(), NOW, SITE).url == (
        "https://shop.example/p?x=1"
    )


def test_an_ab_visitor_gets_their_variant_recorded():
    variants = [
        {"name": "a", "url": "https://shop.example/a", "weight": 1},
        {"name": "b", "url": "https://shop.example/b", "weight": 0},
    ]
    decision = decide(link(destinations=json.dumps(variants)), facts(), NOW, SITE)
    assert decision.url == "https://shop.example/a"
    assert decision.click.variant == "a"


@pytest.mark.parametrize("agent", [DESKTOP, CRAWLER])
def test_decide_reads_nothing_but_its_arguments(agent):
    """Same arguments, same decision: nothing random or clocked inside."""
    assert decide(link(), facts(agent=agent), NOW, SITE) == decide(
        link(), facts(agent=agent), NOW, SITE
    )


COUNTRY_URLS = json.dumps({"DE": "https://shop.example/de", "FR": "https://shop.example/fr"})


def test_a_country_destination_for_the_visitors_country():
    decision = decide(link(country_urls=COUNTRY_URLS), facts(country="DE"), NOW, SITE)
    assert decision.url == "https://shop.example/de"
    assert (decision.click.target, decision.click.country) == ("country:DE", "DE")
    other = decide(link(country_urls=COUNTRY_URLS), facts(country="IT"), NOW, SITE)
    assert other.url == "https://shop.example/p?x=1"
    assert (other.click.target, other.click.country) == (None, "IT")
    # not looked up (the fast path's plain links): the click row looks it up
    assert decide(link(), facts(), NOW, SITE).click.country is None


def test_an_opted_out_visitor_is_sent_to_their_country_without_recording_it():
    decision = decide(
        link(country_urls=COUNTRY_URLS), facts(country="FR", opted_out=True), NOW, SITE
    )
    assert decision.url == "https://shop.example/fr"
    assert (decision.click.target, decision.click.country) == (None, "")


def test_a_device_destination_wins_over_a_country_and_is_recorded():
    row = link(country_urls=COUNTRY_URLS, ios_url="https://apps.apple.com/app/1")
    decision = decide(row, facts(agent=IPHONE, country="DE"), NOW, SITE)
    assert decision.url == "https://apps.apple.com/app/1"
    assert decision.click.target == "device:ios"
