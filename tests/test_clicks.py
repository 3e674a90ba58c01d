"""The click log's helpers: user-agent classification (ua-parser 1.0 with
the Rust accelerator, checked against the `user-agents` package it replaced
on the hot path), IP truncation, and record_click's committed row."""

import importlib.util
import multiprocessing
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
import user_agents

from shortener.bots import crawler_platform, is_automation
from shortener.clicks import Agent, classify, new_click_id, record_click, truncate_ip
from shortener.cookie import new_visitor_id

BENCH = Path(__file__).resolve().parent.parent / "bench" / "useragents.py"


def bench_user_agents() -> list[str]:
    spec = importlib.util.spec_from_file_location("bench_useragents", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.spread()


# Real strings seen in the wild, chosen for the rules' corners: tablets,
# feature phones, Windows RT, Kindle Silk, Chrome OS, Linux desktops,
# empty and unknown agents.
EDGE_CASES = [
    "",
    "Mozilla/5.0",
    "Opera/9.80 (J2ME/MIDP; Opera Mini/9.80 (S60; SymbOS; Opera Mobi/23.348; U; en)"
    " Presto/2.5.25 Version/10.54",
    "Mozilla/5.0 (Windows NT 6.3; ARM; Trident/7.0; Touch; rv:11.0) like Gecko",
    "Mozilla/5.0 (Linux; U; Android 4.0.3; en-us; KFTT Build/IML74K) AppleWebKit/537.36"
    " (KHTML, like Gecko) Silk/3.68 like Chrome/39.0.2171.93 Safari/537.36",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
    "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (BlackBerry; U; BlackBerry 9800; en) AppleWebKit/534.1+ (KHTML, like Gecko)"
    " Version/6.0.0.337 Mobile Safari/534.1+",
    "Mozilla/5.0 (PlayBook; U; RIM Tablet OS 2.1.0; en-US) AppleWebKit/536.2+ (KHTML, like"
    " Gecko) Version/7.2.1.0 Safari/536.2+",
    "Mozilla/5.0 (Mobile; rv:26.0) Gecko/26.0 Firefox/26.0",
    "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36"
    " (KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
    "Mozilla/4.0 (compatible; MSIE 6.0; Windows 98)",
    "Mozilla/5.0 (Linux; Android 12; SM-T220) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Linux; Android 10; Mobile; rv:120.0) Gecko/120.0 Firefox/120.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML,"
    " like Gecko) Mobile/15E148 [LinkedInApp]/9.29.8",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML,"
    " like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 (compatible; Googlebot/2.1)",
    "Nokia6300/2.0 (05.00) Profile/MIDP-2.0 Configuration/CLDC-1.1",
    "Mozilla/5.0 (Nintendo Switch; WifiWebAuthApplet) AppleWebKit/606.4 (KHTML, like Gecko)"
    " NF/6.0.1.15.4 NintendoBrowser/5.1.0.20393",
    "curl/8.5.0",
    "python-requests/2.32.3",
    "Wget/1.21.4",
    "   ",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Version/17.4.1 Safari/605.1.15",
]


def classify_with_user_agents(user_agent: str) -> Agent:
    """The classification as clicktrail first did it, through `user-agents`."""
    parsed = user_agents.parse(user_agent)
    bot = parsed.is_bot or is_automation(user_agent) or bool(crawler_platform(user_agent))
    if bot:
        device = "bot"
    elif parsed.is_tablet:
        device = "tablet"
    elif parsed.is_mobile:
        device = "mobile"
    elif parsed.is_pc:
        device = "desktop"
    else:
        device = "other"
    return Agent(device, parsed.browser.family, parsed.os.family, bot)


def test_classification_equals_user_agents_on_every_string():
    strings = bench_user_agents() + EDGE_CASES
    assert len(set(strings)) > 400  # the benchmark's several hundred, plus the corners
    different = [
        (ua, classify_with_user_agents(ua), classify.__wrapped__(ua))
        for ua in strings
        if classify_with_user_agents(ua) != classify.__wrapped__(ua)
    ]
    assert different == []


def test_classification_covers_every_device_class():
    # the list above must exercise each branch, or equality proves little
    devices = {classify(ua).device for ua in bench_user_agents() + EDGE_CASES}
    assert devices == {"desktop", "mobile", "tablet", "bot", "other"}


@pytest.mark.parametrize(
    "user_agent, expected",
    [
        (
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
            " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
            Agent("mobile", "Mobile Safari", "iOS", False),
        ),
        (
            "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15"
            " (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
            Agent("tablet", "Mobile Safari", "iOS", False),
        ),
        (
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
            " Chrome/124.0.0.0 Safari/537.36",
            Agent("desktop", "Chrome", "Windows", False),
        ),
        (
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            Agent("bot", "FacebookBot", "Other", True),
        ),
        ("curl/8.5.0", Agent("bot", "curl", "Other", True)),
        ("", Agent("bot", "Other", "Other", True)),
    ],
)
def test_classification_of_common_agents(user_agent, expected):
    assert classify(user_agent) == expected


def test_classification_is_cached_per_string():
    ua = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0 cache-test"
    before = classify.cache_info().hits
    first = classify(ua)
    assert classify(ua) is first
    assert classify.cache_info().hits == before + 1


@pytest.mark.parametrize(
    "address, network",
    [
        ("203.0.113.77", "203.0.113.0/24"),
        ("10.0.0.255", "10.0.0.0/24"),
        (" 8.8.8.8 ", "8.8.8.0/24"),
        ("0.0.0.0", "0.0.0.0/24"),
        ("255.255.255.255", "255.255.255.0/24"),
        ("2001:db8:1234:5678::1", "2001:db8:1234::/48"),
        ("::ffff:198.51.100.9", "198.51.100.0/24"),  # IPv4-mapped: the IPv4 /24
        ("01.2.3.4", None),  # leading zeros are not an address
        ("256.1.1.1", None),
        ("1.2.3", None),
        ("1.2.3.4.5", None),
        ("not an address", None),
        ("", None),
        (None, None),
    ],
)
def test_truncate_ip_keeps_only_the_network(address, network):
    assert truncate_ip(address) == network


def test_record_click_commits_one_row_before_returning(app, db):
    from shortener.db import connect

    writer = connect(app.config["DATABASE"])
    writer.execute(
        "INSERT INTO links (code, url, channel, campaign, created_at, updated_at)"
        " VALUES ('c1', 'https://shop.example.com/', 'twitter', 'spring', 'x', 'x')"
    )
    link_id = next(writer.query("SELECT id FROM links WHERE code = 'c1'"))["id"]
    agent = classify("Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0.0.0 Safari/537.36")
    click_id = record_click(
        writer,
        link_id=link_id,
        visitor_id="visitor-0000000001",
        now=datetime(2026, 3, 1, 12, 30, tzinfo=UTC),
        agent=agent,
        is_bot=False,
        user_agent="x" * 600,
        referrer="https://t.co/abc",
        ip="203.0.113.77",
    )
    assert not writer.conn.in_transaction
    # read through another connection: committed, not just written
    row = next(db.query("SELECT * FROM clicks WHERE click_id = ?", [click_id]))
    assert row["link_id"] == link_id
    assert row["visitor_id"] == "visitor-0000000001"
    assert row["ts"] == "2026-03-01T12:30:00.000000Z"
    assert row["ip_prefix"] == "203.0.113.0/24"
    assert row["user_agent"] == "x" * 512  # cut to MAX_USER_AGENT
    assert row["referrer"] == "https://t.co/abc"
    assert (row["device"], row["is_bot"]) == ("desktop", 0)
    writer.close()


def test_click_ids_are_url_safe_and_distinct():
    ids = {new_click_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(len(i) == 16 and i.replace("-", "").replace("_", "").isalnum() for i in ids)


def test_ids_never_start_with_a_dash():
    # a leading "-" is escaped in CSV exports (formula guard), so such an id
    # would not match itself after a round trip; 1 random id in 64 had one
    clicks = {new_click_id() for _ in range(5000)}
    visitors = {new_visitor_id() for _ in range(5000)}
    assert len(clicks) == len(visitors) == 5000
    assert not [i for i in clicks | visitors if i.startswith("-")]
    assert {len(i) for i in clicks} == {16} and {len(i) for i in visitors} == {22}


def test_ids_from_threads_and_forked_workers_never_repeat():
    # ids come from a pool of random bytes: threads must not share a slice,
    # and a forked worker must not reuse its parent's pool
    new_click_id()  # fill the parent's pool before forking
    ids, threads = [], []
    for _ in range(8):
        thread = threading.Thread(target=lambda: ids.extend(new_click_id() for _ in range(2000)))
        threads.append(thread)
        thread.start()
    for thread in threads:
        thread.join()
    with multiprocessing.get_context("fork").Pool(2) as pool:  # terminated on the way out
        forked = pool.map_async(_ids, [500, 500]).get(timeout=60)
    everything = ids + forked[0] + forked[1] + _ids(500)
    assert len(set(everything)) == len(everything) == 16000 + 1500


def _ids(n):
    return [new_click_id() for _ in range(n)]
