"""Crawlers and prefetches, as the redirect treats them: they get the
redirect (link previews must work), no cookie, a click row flagged is_bot=1
with no visitor, and they are never counted as visitors."""

from urllib.parse import parse_qs, urlsplit

import pytest

from conftest import AUTH, BROWSER_UA, IPHONE_UA, browser, make_link
from shortener.bots import crawler_platform, is_prefetch
from shortener.cookie import SALT

CRAWLERS = {
    "facebook": "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
    "twitter": "Twitterbot/1.0",
    "linkedin": "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)",
    "slack": "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)",
    "discord": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.10; rv:38.0) Gecko/20100101 "
    "Firefox/38.0 (compatible; Discordbot/2.0; +https://discordapp.com)",
    "whatsapp": "WhatsApp/2.23.20.0 A",
    "telegram": "TelegramBot (like TwitterBot)",
    "googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "googlebot smartphone": "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.6367.60 Mobile Safari/537.36 "
    "(compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "bingbot": "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "apple imessage": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_11_1) AppleWebKit/601.2.4 "
    "(KHTML, like Gecko) Version/9.0.1 Safari/601.2.4 facebookexternalhit/1.1 Facebot "
    "Twitterbot/1.0",
    "mastodon": "http.rb/5.1.1 (Mastodon/4.2.0; +https://mastodon.social/)",
    "headless chrome": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/124.0.6367.60 Safari/537.36",
    "phantomjs": "Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) "
    "PhantomJS/2.1.1 Safari/538.1",
    "curl": "curl/8.5.0",
    "python-requests": "python-requests/2.32.0",
    "empty": "",
}

PREFETCH_HEADERS = {
    "Sec-Purpose prefetch": {"Sec-Purpose": "prefetch"},
    "Sec-Purpose prerender": {"Sec-Purpose": "prefetch;prerender"},
    "Purpose prefetch": {"Purpose": "prefetch"},
    "Purpose upper case": {"Purpose": "Prefetch"},
    "X-Moz prefetch": {"X-Moz": "prefetch"},
}

# people following links inside social apps: these must stay human
IN_APP_BROWSERS = {
    "facebook ios": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBAV/440.0.0.36.109;FBBV/553000000]",
    "facebook android": "Mozilla/5.0 (Linux; Android 13; SM-S911B Build/TP1A.220624.014; wv) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/119.0.6045.163 Mobile "
    "Safari/537.36 [FB_IAB/FB4A;FBAV/442.0.0.33.113;]",
    "instagram": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 Instagram 305.0.0.21.109 (iPhone14,5; iOS 17_0)",
    "linkedin app": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Mobile/15E148 [LinkedInApp]/9.29.8962",
    "twitter android": "Mozilla/5.0 (Linux; Android 12; Pixel 6 Build/SD1A.210817.036; wv) "
    "AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/94.0.4606.71 Mobile "
    "Safari/537.36 TwitterAndroid",
    "telegram android": "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, "
    "like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 Telegram-Android/10.5.0",
    "desktop chrome": BROWSER_UA,
    "iphone safari": IPHONE_UA,
}


def click_rows(db) -> list[dict]:
    return list(db.query("SELECT * FROM clicks ORDER BY id"))


def set_cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


@pytest.fixture
def link(client):
    return make_link(client, code="promo")


def assert_bot_click(response, db):
    """Redirected with a click id, no cookie, one bot row with no visitor."""
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).netloc == "shop.example.com"
    assert set_cookies(response) == []
    [row] = click_rows(db)
    assert row["is_bot"] == 1
    assert row["visitor_id"] is None
    ct_click = parse_qs(urlsplit(response.headers["Location"]).query)["ct_click"]
    assert ct_click == [row["click_id"]]
    return row


@pytest.mark.parametrize("user_agent", CRAWLERS.values(), ids=CRAWLERS.keys())
def test_crawlers_get_the_redirect_but_no_cookie_and_no_visitor(app, db, link, user_agent):
    crawler = browser(app, user_agent)
    row = assert_bot_click(crawler.get("/promo"), db)
    assert row["device"] == "bot"


@pytest.mark.parametrize("headers", PREFETCH_HEADERS.values(), ids=PREFETCH_HEADERS.keys())
def test_prefetches_are_bots(client, db, link, headers):
    assert_bot_click(client.get("/promo", headers=headers), db)


def test_a_crawler_carrying_a_valid_cookie_is_still_no_visitor(app, db, link):
    from itsdangerous import URLSafeTimedSerializer

    crawler = browser(app, CRAWLERS["facebook"])
    crawler.set_cookie(
        "ct_vid", URLSafeTimedSerializer("test-secret-key", salt=SALT).dumps("V" * 22)
    )
    assert_bot_click(crawler.get("/promo"), db)


def test_a_prefetch_with_the_visitors_cookie_does_not_count_as_the_visitor(client, db, link):
    client.get("/promo")  # the person clicks: cookie set
    response = client.get("/promo", headers={"Sec-Purpose": "prefetch"})
    assert set_cookies(response) == []
    human, prefetch = click_rows(db)
    assert (human["is_bot"], prefetch["is_bot"]) == (0, 1)
    assert human["visitor_id"] and prefetch["visitor_id"] is None


@pytest.mark.parametrize("user_agent", IN_APP_BROWSERS.values(), ids=IN_APP_BROWSERS.keys())
def test_people_in_social_apps_are_not_bots(app, db, link, user_agent):
    response = browser(app, user_agent).get("/promo")
    assert response.status_code == 302
    assert any(c.startswith("ct_vid=") for c in set_cookies(response))
    [row] = click_rows(db)
    assert row["is_bot"] == 0
    assert row["visitor_id"]


def test_bots_count_as_clicks_but_never_as_visitors_in_the_report(app, db, link):
    # 9 crawler fetches (one per platform the issue names) and 1 person
    for name in ("facebook", "twitter", "linkedin", "slack", "discord", "whatsapp", "telegram"):
        browser(app, CRAWLERS[name]).get("/promo")
    browser(app, CRAWLERS["googlebot"]).get("/promo")
    browser(app, CRAWLERS["bingbot"]).get("/promo")
    person = browser(app)
    person.get("/promo")
    person.get("/promo", headers={"Purpose": "prefetch"})  # +1 bot click, same person
    body = person.get("/api/reports/channels", headers=AUTH).get_json()
    [row] = [r for r in body["rows"] if r["channel"] == "twitter"]
    # clicks: 9 crawlers + 1 human + 1 prefetch = 11; human_clicks 1; visitors 1
    assert (row["clicks"], row["human_clicks"], row["unique_visitors"]) == (11, 1, 1)


def test_crawler_platform_names_the_network():
    assert crawler_platform(CRAWLERS["facebook"]) == "facebook"
    assert crawler_platform(CRAWLERS["twitter"]) == "x"
    assert crawler_platform(CRAWLERS["whatsapp"]) == "whatsapp"
    assert crawler_platform(BROWSER_UA) is None


def test_is_prefetch_reads_only_purpose_headers():
    assert is_prefetch({"Sec-Purpose": "prefetch"})
    assert not is_prefetch({})
    assert not is_prefetch({"Sec-Fetch-Mode": "navigate"})
