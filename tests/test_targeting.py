"""Where a follow goes: A/B variants, device destinations, expiry and click
limits -- the pure rules, then the same through real redirects."""

from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import pytest

from conftest import AUTH, BROWSER_UA, IPHONE_UA, browser, make_link
from shortener.clicks import classify
from shortener.targeting import (
    CLICK,
    EXPIRED,
    bucket,
    choose_destination,
    parse_destinations,
    pick_variant,
)

NOW = datetime(2026, 5, 1, 12, tzinfo=UTC)
ANDROID_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Mobile Safari/537.36"
)
HUMAN, IPHONE, ANDROID = classify(BROWSER_UA), classify(IPHONE_UA), classify(ANDROID_UA)
BOT = classify("Twitterbot/1.0")
AB = '[{"name": "A", "url": "https://shop.example.com/a", "weight": 1},' \
     ' {"name": "B", "url": "https://shop.example.com/b", "weight": 3}]'  # fmt: skip


def link(**fields) -> dict:
    row = {
        "id": 7,
        "url": "https://shop.example.com/",
        "expires_at": None,
        "destinations": None,
        "ios_url": None,
        "android_url": None,
        "desktop_url": None,
        "expired_url": None,
        "max_clicks": None,
    }
    row.update(fields)
    return row


# -- the pure rules -----------------------------------------------------------


def test_the_split_follows_the_weights_on_10000_visitors():
    variants = parse_destinations(AB)
    counts = Counter(
        choose_destination(link(destinations=AB), HUMAN, f"visitor-{n}", NOW)[1]
        for n in range(10_000)
    )
    # weights 1:3 -> expected 2,500 A and 7,500 B; a binomial count's standard
    # deviation is sqrt(10000 * 0.25 * 0.75) = 43.3, so +-200 is 4.6 sigma
    assert abs(counts["A"] - 2500) <= 200
    assert counts["A"] + counts["B"] == 10_000
    assert variants == (
        ("A", "https://shop.example.com/a", 1),
        ("B", "https://shop.example.com/b", 3),
    )


def test_a_visitor_keeps_the_variant_and_links_are_independent():
    first = [choose_destination(link(destinations=AB), HUMAN, f"v{n}", NOW) for n in range(200)]
    again = [choose_destination(link(destinations=AB), HUMAN, f"v{n}", NOW) for n in range(200)]
    assert first == again
    # the same visitors on another link are placed afresh (a hash of link and visitor)
    other = [
        choose_destination(link(id=8, destinations=AB), HUMAN, f"v{n}", NOW) for n in range(200)
    ]
    assert [r[1] for r in other] != [r[1] for r in first]


def test_pick_variant_lays_the_weights_out_in_order():
    variants = (("A", "a", 1), ("B", "b", 3))
    # the total is 4: [0, 1/4) is A, [1/4, 1) is B
    assert pick_variant(variants, 0.0) == ("A", "a")
    assert pick_variant(variants, 0.2499) == ("A", "a")
    assert pick_variant(variants, 0.25) == ("B", "b")
    assert pick_variant(variants, 0.9999) == ("B", "b")
    assert 0 <= bucket(1, "x") < 1 and bucket(1, "x") == bucket(1, "x")


def test_device_destinations_win_for_their_device_and_bots_get_the_main_url():
    row = link(
        destinations=AB,
        ios_url="https://apps.apple.com/app/id1",
        android_url="https://play.google.com/store/apps/details?id=x",
    )
    assert choose_destination(row, IPHONE, "v1", NOW) == (row["ios_url"], None, CLICK, "device:ios")
    assert choose_destination(row, ANDROID, "v1", NOW) == (
        row["android_url"],
        None,
        CLICK,
        "device:android",
    )
    assert choose_destination(row, HUMAN, "v1", NOW)[1] in ("A", "B")  # no desktop_url: A/B
    desktop = link(desktop_url="https://shop.example.com/desktop")
    assert choose_destination(desktop, HUMAN, "v1", NOW)[0] == "https://shop.example.com/desktop"
    assert choose_destination(desktop, IPHONE, "v1", NOW)[0] == "https://shop.example.com/"
    assert choose_destination(row, BOT, None, NOW) == (
        "https://shop.example.com/",
        None,
        CLICK,
        None,
    )


def test_expiry_and_click_limits():
    past = (NOW - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    gone = link(expires_at=past, expired_url="https://shop.example.com/over")
    assert choose_destination(gone, HUMAN, "v", NOW) == (
        "https://shop.example.com/over",
        None,
        EXPIRED,
        None,
    )
    assert choose_destination(link(expires_at=past), HUMAN, "v", NOW) == (None, None, EXPIRED, None)
    limited = link(max_clicks=3)
    assert choose_destination(limited, HUMAN, "v", NOW, clicks_so_far=2)[2] == CLICK
    assert choose_destination(limited, HUMAN, "v", NOW, clicks_so_far=3)[2] == EXPIRED


# -- through the redirect -----------------------------------------------------


def location(response) -> str:
    assert response.status_code == 302, response.status_code
    return response.headers["Location"]


def test_ab_visitors_keep_their_variant_across_clicks(app, db):
    destinations = [
        {"url": "https://shop.example.com/a", "weight": 1},
        {"url": "https://shop.example.com/b", "weight": 1},
    ]
    created = make_link(app.test_client(), code="ab-test", destinations=destinations)
    assert [d["name"] for d in created["destinations"]] == ["A", "B"]
    seen = Counter()
    for _ in range(20):
        person = browser(app)
        paths = {urlsplit(location(person.get("/ab-test"))).path for _ in range(3)}
        assert len(paths) == 1  # the same variant on every click
        seen[paths.pop()] += 1
    assert set(seen) <= {"/a", "/b"}
    rows = list(db.query("SELECT visitor_id, variant FROM clicks"))
    assert len(rows) == 60
    by_visitor = {}
    for r in rows:
        by_visitor.setdefault(r["visitor_id"], set()).add(r["variant"])
    assert all(len(v) == 1 for v in by_visitor.values())


def test_a_variant_named_in_words_is_stored_on_its_clicks(app, db):
    destinations = [
        {"url": "https://shop.example.com/a", "weight": 1, "name": "Hero video"},
        {"url": "https://shop.example.com/b", "weight": 1, "name": "x" * 32},
    ]
    created = make_link(app.test_client(), code="named", destinations=destinations)
    assert [d["name"] for d in created["destinations"]] == ["Hero video", "x" * 32]
    person = browser(app)
    path = urlsplit(location(person.get("/named"))).path
    (row,) = db.query("SELECT variant FROM clicks")
    assert row["variant"] == {"/a": "Hero video", "/b": "x" * 32}[path]


def test_device_targeting_through_the_redirect(app):
    make_link(
        app.test_client(),
        code="app-link",
        ios_url="https://apps.apple.com/app/id1",
        android_url="https://play.google.com/store/apps/details?id=x",
    )
    assert location(browser(app, IPHONE_UA).get("/app-link")).startswith("https://apps.apple.com/")
    assert location(browser(app, ANDROID_UA).get("/app-link")).startswith("https://play.google")
    assert location(browser(app).get("/app-link")).startswith("https://shop.example.com/sale?")


def test_an_expired_link_sends_people_to_expired_url_without_a_click(app, db):
    client = app.test_client()
    make_link(client, code="over", expired_url="https://shop.example.com/ended")
    make_link(client, code="gone")
    db.execute("UPDATE links SET expires_at = '2020-01-01T00:00:00.000000Z'")
    response = browser(app).get("/over")
    # as it stands: no UTM tags, no click id, no cookie
    assert location(response) == "https://shop.example.com/ended"
    assert response.headers.getlist("Set-Cookie") == []
    assert browser(app).get("/gone").status_code == 410
    assert db.execute("SELECT count(*) FROM clicks").fetchone()[0] == 0
    hits = dict(db.execute("SELECT code, expired_hits FROM links").fetchall())
    assert hits == {"over": 1, "gone": 1}
    shown = client.get("/api/links/over", headers=AUTH).get_json()
    assert (shown["expired_hits"], shown["expired_url"]) == (1, "https://shop.example.com/ended")


def test_max_clicks_counts_human_clicks_then_expires(app, db):
    make_link(app.test_client(), code="first-two", max_clicks=2)
    person = browser(app)
    assert "ct_click=" in location(person.get("/first-two"))
    assert browser(app, "Twitterbot/1.0").get("/first-two").status_code == 302  # not counted
    assert app.test_client().get("/api/reports/channels", headers=AUTH).status_code == 200
    assert "ct_click=" in location(browser(app).get("/first-two"))
    assert person.get("/first-two").status_code == 410  # 2 human clicks: the limit
    assert db.execute("SELECT count(*) FROM clicks WHERE is_bot = 0").fetchone()[0] == 2


def test_a_qr_scan_is_recorded_as_such_and_reported(app, db):
    make_link(app.test_client(), code="poster", channel="print")
    person = browser(app)
    assert "qr=" not in location(person.get("/poster?qr=1"))
    location(person.get("/poster"))
    assert [r["source"] for r in db.query("SELECT source FROM clicks ORDER BY id")] == ["qr", None]
    report = app.test_client().get("/api/reports/channels", headers=AUTH).get_json()
    [row] = report["rows"]
    # one scan, one typed or tapped click: 2 human clicks, 1 of them a scan,
    # one unique click (the same visitor in the same hour)
    assert (row["channel"], row["human_clicks"], row["qr_scans"], row["unique_clicks"]) == (
        "print",
        2,
        1,
        1,
    )


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"destinations": [{"url": "https://a.example.com/"}]}, "destinations"),
        (
            {"destinations": [{"url": "javascript:alert(1)"}, {"url": "https://b.example/"}]},
            "destinations",
        ),  # fmt: skip
        (
            {
                "destinations": [
                    {"url": "https://a.example/", "weight": 0},
                    {"url": "https://b.example/"},
                ]
            },
            "destinations",
        ),  # fmt: skip
        (
            {
                "destinations": [
                    {"url": "https://a.example/", "weight": 1.5},
                    {"url": "https://b.example/"},
                ]
            },
            "destinations",
        ),  # fmt: skip
        (
            {
                "destinations": [
                    {"url": "https://a.example/", "name": "x"},
                    {"url": "https://b.example/", "name": "x"},
                ]
            },
            "destinations",
        ),  # fmt: skip
        (
            {
                "destinations": [
                    {"url": "https://a.example/", "colour": "red"},
                    {"url": "https://b.example/"},
                ]
            },
            "destinations",
        ),  # fmt: skip
        *[
            (
                {
                    "destinations": [
                        {"url": "https://a.example/", "name": name},
                        {"url": "https://b.example/"},
                    ]
                },
                "destinations",
            )
            # a name is 1-32 characters, spaces only inside it
            for name in (" lead", "trail ", "", "a/b", "x" * 33, "Hero, video")
        ],
        ({"ios_url": "ftp://a.example/"}, "ios_url"),
        ({"android_url": "https://bit.ly/x"}, "android_url"),
        ({"desktop_url": "http://go.example.test/loop"}, "desktop_url"),
        ({"expired_url": 5}, "expired_url"),
        ({"max_clicks": 0}, "max_clicks"),
        ({"max_clicks": True}, "max_clicks"),
        ({"max_clicks": "10"}, "max_clicks"),
    ],
)
def test_bad_feature_fields_are_refused_and_nothing_changes(app, db, fields, field):
    client = app.test_client()
    body = {"url": "https://shop.example.com/", "channel": "x", "campaign": "c", **fields}
    response = client.post("/api/links", json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    make_link(client, code="keep")
    before = client.get("/api/links/keep", headers=AUTH).get_json()
    response = client.patch("/api/links/keep", json=fields, headers=AUTH)
    assert (response.status_code, response.get_json()["field"]) == (400, field)
    assert client.get("/api/links/keep", headers=AUTH).get_json() == before
    assert db.execute("SELECT count(*) FROM links").fetchone()[0] == 1


def test_patch_sets_and_clears_features(app):
    client = app.test_client()
    make_link(client, code="feat")
    changed = client.patch(
        "/api/links/feat",
        json={"max_clicks": 5, "destinations": [{"url": "https://a.example/", "weight": 2,
              "name": "red"}, {"url": "https://b.example/", "weight": 1, "name": "blue"}]},
        headers=AUTH,
    ).get_json()  # fmt: skip
    assert changed["max_clicks"] == 5
    assert [(d["name"], d["weight"]) for d in changed["destinations"]] == [("red", 2), ("blue", 1)]
    cleared = client.patch(
        "/api/links/feat", json={"max_clicks": None, "destinations": []}, headers=AUTH
    ).get_json()
    assert (cleared["max_clicks"], cleared["destinations"]) == (None, [])


def test_the_click_count_reads_the_aggregates_and_the_unfolded_clicks(app, db):
    from conversions.aggregates import refresh
    from shortener.clicks import record_click
    from shortener.targeting import count_click, human_clicks_so_far

    make_link(app.test_client(), code="counted", max_clicks=100)
    link_id = db.execute("SELECT id FROM links WHERE code = 'counted'").fetchone()[0]
    for visitor, agent in (("v1", HUMAN), ("v2", HUMAN), (None, BOT)):
        record_click(db, link_id=link_id, visitor_id=visitor, now=NOW, agent=agent,
                     is_bot=agent.is_bot)  # fmt: skip
    refresh(db)  # two human clicks folded into link_day
    record_click(db, link_id=link_id, visitor_id="v3", now=NOW, agent=HUMAN, is_bot=False)
    key = app.config["DATABASE"]
    # 2 folded + 1 not yet folded; the bot is not counted
    assert human_clicks_so_far(db, key, link_id, clock=lambda: 1000.0) == 3
    count_click(key, link_id)  # this worker's next click
    assert human_clicks_so_far(db, key, link_id, clock=lambda: 1001.0) == 4  # from memory
    # two seconds on the database is read again: the click counted above
    # was never stored here, so the count is the stored 3
    assert human_clicks_so_far(db, key, link_id, clock=lambda: 1002.5) == 3
