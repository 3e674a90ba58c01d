"""The WSGI fast path for plain clicks: it answers exactly as the Flask view
does, leaves everything else to the view, and follows link changes."""

import re
import time
from email.utils import parsedate_to_datetime
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from test_cookie import broken_cookies, signed
from werkzeug.test import EnvironBuilder

from conftest import AUTH, BROWSER_UA, app_config, make_link
from servers import gunicorn
from shortener import cookie, create_app, links
from shortener.app import init_db
from shortener.db import connect
from shortener.fastpath import FastRedirect, LinkCache

# ids as new_visitor_id makes them: random, so itsdangerous does not compress them
VISITOR = "k3J9xQ2mZp7LwR4tY8vB1n"
OTHER_VISITOR = "Qm7Rt2Lx9Kp4Wz8Nc3Vb6Hj1Df5Gs0Ae"
CRAWLER_UA = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
CURL_UA = "curl/8.5.0"


def new_app(tmp_path, **overrides):
    config = app_config(tmp_path, **overrides)
    init_db(config["DATABASE"])
    return create_app(config)


def call(wsgi, path="/promo", **kwargs):
    """(status, headers) of one request straight through a WSGI callable."""
    no_host = kwargs.pop("no_host", False)
    environ = EnvironBuilder(path=path, **kwargs).get_environ()
    if no_host:
        del environ["HTTP_HOST"]
    seen = {}

    def start_response(status, headers, exc_info=None):
        seen["status"], seen["headers"] = status, headers

    body = wsgi(environ, start_response)
    data = b"".join(body)
    if hasattr(body, "close"):
        body.close()
    return seen["status"], seen["headers"], data


def normalised(headers) -> list:
    """Headers with the random parts (click id, signed cookie) blanked, and
    a cookie's Expires that is its Max-Age from now (the two answers may
    fall in different seconds) written as such; any other Expires stays."""
    out = []
    for name, value in headers:
        value = re.sub(r"ct_click=[\w-]+", "ct_click=*", value)
        value = re.sub(r"^ct_vid=[\w.-]+", "ct_vid=*", value)
        value = expires_as_max_age(value)
        out.append((name, value))
    return out


def expires_as_max_age(cookie: str) -> str:
    expires = re.search(r"Expires=([^;]+)", cookie)
    max_age = re.search(r"Max-Age=(\d+)", cookie)
    if expires is None or max_age is None:
        return cookie
    moment = parsedate_to_datetime(expires[1]).timestamp()
    if abs(moment - (time.time() + int(max_age[1]))) > 5:
        return cookie  # not Max-Age from now: left for the comparison to show
    return cookie.replace(expires[0], "Expires=(now + Max-Age)")


def stored(db) -> list[dict]:
    rows = db.query("SELECT * FROM clicks ORDER BY id")
    skip = ("id", "click_id", "visitor_id", "ts")
    return [{k: v for k, v in r.items() if k not in skip} for r in rows]


CASES = {
    "new visitor": {"headers": {"User-Agent": BROWSER_UA, "Referer": "https://t.co/"}},
    "returning visitor": {
        "headers": {"User-Agent": BROWSER_UA, "Cookie": f"ct_vid={signed(VISITOR)}"}
    },
    "automation": {"headers": {"User-Agent": CURL_UA}},
    "a crawler, link without a preview": {"headers": {"User-Agent": CRAWLER_UA}},
    "https": {"headers": {"User-Agent": BROWSER_UA}, "base_url": "https://go.example.test"},
    "another host": {"headers": {"User-Agent": BROWSER_UA, "Host": "other.example.test"}},
}


@pytest.mark.parametrize("path", ["/promo", "/promo~reel"], ids=["untagged", "a post tag"])
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_fast_path_answers_and_stores_as_the_flask_view_does(tmp_path, case, path):
    app = new_app(tmp_path)
    client = app.test_client()
    make_link(client, code="promo", content="hero", campaign="Spring Sale")
    fast, flask_view = app.wsgi_app, app.wsgi_app.wsgi_app
    assert isinstance(fast, FastRedirect)
    db = connect(app.config["DATABASE"])
    answers = [call(fast, path, **case), call(flask_view, path, **case)]
    assert normalised(answers[0][1]) == normalised(answers[1][1])
    assert answers[0][0] == answers[1][0] == "302 FOUND"
    assert answers[0][2] == answers[1][2] == b""
    first, second = stored(db)
    assert first == second
    ids = [r[0] for r in db.execute("SELECT click_id FROM clicks ORDER BY id")]
    for (_, headers, _), click_id in zip(answers, ids, strict=True):
        location = dict(headers)["Location"]
        assert parse_qs(urlsplit(location).query)["ct_click"] == [click_id]
    # a crawler's fetch is counted as an unfurl by both (outbound's previews)
    crawler = case["headers"]["User-Agent"] == CRAWLER_UA
    assert db.execute("SELECT coalesce(sum(count), 0) FROM unfurls").fetchone()[0] == 2 * crawler
    if "Cookie" in case.get("headers", {}):
        visitors = [r[0] for r in db.execute("SELECT visitor_id FROM clicks")]
        assert visitors == [VISITOR, VISITOR]
    # the link's own content stays its utm_content; the post is recorded all the same
    post = "reel" if "~" in path else None
    assert [r["post"] for r in (first, second)] == [post, post]
    assert all("utm_content=hero&" in dict(h)["Location"] for _, h, _ in answers)
    db.close()


# a link with country destinations: the fast path leaves it to the view
# (its country_urls column is set), so both answer as the view does
COUNTRY_CASES = {
    "a German visitor": ("193.99.144.80", "/de"),  # heise online's RIPE block, DE (geo_fixture)
    "an American visitor": ("8.8.8.8", "/sale"),  # Google Public DNS, ARIN, US
    "no country": ("203.0.113.9", "/sale"),  # TEST-NET-3: a documentation address
}


@pytest.mark.parametrize(("address", "path"), COUNTRY_CASES.values(), ids=COUNTRY_CASES.keys())
def test_a_link_with_country_destinations_gets_the_same_answer_from_both(tmp_path, address, path):
    app = new_app(tmp_path)
    make_link(app.test_client(), code="promo",
              country_urls={"DE": "https://shop.example.com/de"})  # fmt: skip
    db = connect(app.config["DATABASE"])
    case = {"headers": {"User-Agent": BROWSER_UA}, "environ_base": {"REMOTE_ADDR": address}}
    answers = [call(app.wsgi_app, **case), call(app.wsgi_app.wsgi_app, **case)]
    # the view answers both, so the second may be a clock second later
    same_second = [[(n, re.sub(r"Expires=[^;]+", "Expires=*", v)) for n, v in normalised(h)]
                   for _, h, _ in answers]  # fmt: skip
    assert same_second[0] == same_second[1]
    assert answers[0][0] == answers[1][0] == "302 FOUND"
    assert urlsplit(dict(answers[0][1])["Location"]).path == path
    first, second = stored(db)
    assert first == second
    assert first["target"] == ("country:DE" if path == "/de" else None)
    db.close()


def test_a_link_with_country_destinations_is_the_flask_views(tmp_path):
    app = new_app(tmp_path)
    make_link(app.test_client(), code="promo", country_urls={"DE": "https://a.example/de"})
    make_link(app.test_client(), code="plain")
    app.view_functions["redirect.follow"] = lambda code: ("flask", 418)
    plain = {"headers": {"User-Agent": BROWSER_UA}}
    assert call(app.wsgi_app, "/promo", **plain)[0].startswith("418")
    assert call(app.wsgi_app, "/plain", **plain)[0] == "302 FOUND"  # plain links stay fast


# path -> the post recorded and sent as utm_content (the link has no content)
POST_PATHS = {
    "a post tag": ("/promo~reel", "reel"),
    "a percent-encoded tilde": ("/promo%7Ereel", "reel"),
    "40 characters": ("/promo~" + "p" * 40, "p" * 40),
    "too long": ("/promo~" + "p" * 41, None),
    "bad characters": ("/promo~bad!", None),
    "non-ASCII": ("/promo~caf%C3%A9", None),
    "empty": ("/promo~", None),
    "a second tilde": ("/promo~a~b", None),
}


@pytest.mark.parametrize("agent", [BROWSER_UA, CRAWLER_UA], ids=["a person", "a crawler"])
@pytest.mark.parametrize(("path", "post"), POST_PATHS.values(), ids=POST_PATHS.keys())
def test_post_tags_get_the_same_answer_from_both(tmp_path, path, post, agent):
    app = new_app(tmp_path)
    make_link(app.test_client(), code="promo", content=None)
    db = connect(app.config["DATABASE"])
    case = {"headers": {"User-Agent": agent}}
    answers = [call(app.wsgi_app, path, **case), call(app.wsgi_app.wsgi_app, path, **case)]
    assert normalised(answers[0][1]) == normalised(answers[1][1])
    assert answers[0][0] == answers[1][0] == "302 FOUND"
    first, second = stored(db)
    assert first == second
    assert first["post"] == post  # an invalid tag: as if none were given
    query = parse_qs(urlsplit(dict(answers[0][1])["Location"]).query)
    assert query.get("utm_content") == ([post] if post else None)
    db.close()


@pytest.mark.parametrize("value", broken_cookies().values(), ids=broken_cookies().keys())
def test_cookie_check_agrees_with_itsdangerous(app, value):
    fast = app.wsgi_app
    environ = EnvironBuilder(headers={"Cookie": f"ct_vid={value}"}).get_environ()
    with app.test_request_context(headers={"Cookie": f"ct_vid={value}"}):
        reference = cookie.read_visitor()
    found = fast.visitor(environ)
    assert found is False or found == reference  # False: left to itsdangerous itself


def test_cookie_check_accepts_what_itsdangerous_accepts(tmp_path):
    app = new_app(tmp_path, SECRET_KEY="new-key", SECRET_KEY_FALLBACKS=["old-key"])
    for value in (signed(VISITOR, key="new-key"), signed(OTHER_VISITOR, "old-key", 99)):
        header = f"other=1; ct_vid={value}; more=2"
        with app.test_request_context(headers={"Cookie": header}):
            reference = cookie.read_visitor()
        assert reference is not None
        assert app.wsgi_app.visitor(EnvironBuilder(headers={"Cookie": header}).get_environ()) == (
            reference
        )


def test_the_fast_path_signs_cookies_the_flask_view_can_read(app, client):
    make_link(client, code="promo")
    _, headers, _ = call(app.wsgi_app, headers={"User-Agent": BROWSER_UA})
    value = dict(headers)["Set-Cookie"].split(";")[0].removeprefix("ct_vid=")
    with app.test_request_context(headers={"Cookie": f"ct_vid={value}"}):
        assert cookie.read_visitor() is not None


FALLS_THROUGH = {
    "HEAD": {"method": "HEAD"},
    "a query string": {"query_string": "ref=x"},
    "Sec-GPC": {"headers": {"User-Agent": BROWSER_UA, "Sec-GPC": "1"}},
    "a prefetch": {"headers": {"User-Agent": BROWSER_UA, "Sec-Purpose": "prefetch"}},
    "a quoted cookie": {"headers": {"User-Agent": BROWSER_UA, "Cookie": 'ct_vid="x"'}},
    "no Host header (HTTP/1.0)": {"headers": {"User-Agent": BROWSER_UA}, "no_host": True},
    "an invalid post tag": {"path": "/promo~bad!", "headers": {"User-Agent": BROWSER_UA}},
    "an empty post tag": {"path": "/promo~", "headers": {"User-Agent": BROWSER_UA}},
}


@pytest.mark.parametrize("case", FALLS_THROUGH.values(), ids=FALLS_THROUGH.keys())
def test_what_the_fast_path_leaves_to_the_flask_view(tmp_path, case):
    """Observable: the fast path never reaches the view's code, so a view
    that answers 418 proves which one answered."""
    app = new_app(tmp_path)
    make_link(app.test_client(), code="promo")
    app.view_functions["redirect.follow"] = lambda code: ("flask", 418)
    status, _, _ = call(app.wsgi_app, **case)
    assert status.startswith("418")
    plain = {"headers": {"User-Agent": BROWSER_UA}}
    assert call(app.wsgi_app, **plain)[0] == "302 FOUND"  # and a plain click does not
    assert call(app.wsgi_app, "/promo~reel", **plain)[0] == "302 FOUND"  # nor a valid tag


# destinations that lead back to the link itself, as an old installation may hold them
LOOPS = {
    "decimal loopback": "http://2130706433/promo",
    "through a post tag": "http://[::1]:8000/promo~reel",
    "IPv6 loopback, another port": "http://[::1]:8000/promo",
    "a .localhost name": "http://shop.localhost:8000/promo",
}


@pytest.mark.parametrize("url", LOOPS.values(), ids=LOOPS.keys())
def test_a_looping_link_gets_the_same_refusal_from_both(tmp_path, url):
    app = new_app(tmp_path)
    make_link(app.test_client(), code="promo")
    db = connect(app.config["DATABASE"])
    db.execute("UPDATE links SET url = ? WHERE code = 'promo'", [url])
    db.conn.commit()
    case = {"headers": {"User-Agent": BROWSER_UA}}
    for path in ("/promo", "/promo~reel"):  # a tagged visit is the link's
        answers = [call(app.wsgi_app, path, **case), call(app.wsgi_app.wsgi_app, path, **case)]
        assert answers[0] == answers[1]
        assert answers[0][0] == "410 GONE"
    assert db.execute("SELECT count(*) FROM clicks").fetchone()[0] == 0
    db.close()


def test_a_visit_that_came_round_gets_the_same_answer_from_both(tmp_path):
    app = new_app(tmp_path)
    make_link(app.test_client(), code="promo", url="http://go-alias.example.test/promo")
    case = {"headers": {"User-Agent": BROWSER_UA}}
    status, headers, _ = call(app.wsgi_app, **case)  # the fast path's click
    assert status == "302 FOUND"
    query = urlsplit(dict(headers)["Location"]).query
    answers = [call(app.wsgi_app, query_string=query, **case),
               call(app.wsgi_app.wsgi_app, query_string=query, **case)]  # fmt: skip
    assert answers[0] == answers[1]
    assert answers[0][0] == "508 LOOP DETECTED"
    db = connect(app.config["DATABASE"])
    assert db.execute("SELECT count(*) FROM clicks").fetchone()[0] == 1
    db.close()


def test_a_crawler_of_a_link_with_a_preview_gets_the_views_preview_page(app, client):
    make_link(client, code="promo", title="Spring sale")
    crawler = app.test_client()
    response = crawler.get("/promo", headers={"User-Agent": CRAWLER_UA})
    assert response.status_code == 200
    assert b'property="og:title" content="Spring sale"' in response.data


def test_unknown_disabled_and_expired_links_get_the_views_answers(app, client, db):
    make_link(client, code="gone")
    make_link(client, code="old", expires_at="2099-01-01T00:00:00Z")
    client.delete("/api/links/gone", headers=AUTH)
    db.execute("UPDATE links SET expires_at = '2020-01-01T00:00:00.000000Z' WHERE code = 'old'")
    db.conn.commit()
    assert client.get("/nope").status_code == 404
    assert client.get("/gone").status_code == 410
    assert client.get("/old").status_code == 410
    assert db.execute("SELECT count(*) FROM clicks").fetchone()[0] == 0


def test_a_code_that_is_also_a_route_is_the_route(app, client, db):
    """A link whose code became a route later (here /healthz, written
    behind the API's back) must not shadow the route."""
    make_link(client, code="promo")
    db.execute("UPDATE links SET code = 'healthz' WHERE code = 'promo'")
    db.conn.commit()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json()["status"] == "ok"


def test_a_link_with_a_column_the_fast_path_does_not_know_goes_to_the_view(tmp_path):
    """A feature added later (a new links column set on this link) is the
    view's business until the fast path learns it."""
    app = new_app(tmp_path)
    make_link(app.test_client(), code="promo")
    make_link(app.test_client(), code="plain")
    db = connect(app.config["DATABASE"])
    db.execute("ALTER TABLE links ADD COLUMN some_feature TEXT")
    db.execute("UPDATE links SET some_feature = 'on' WHERE code = 'promo'")
    db.conn.commit()
    db.close()
    app.view_functions["redirect.follow"] = lambda code: ("flask", 418)
    assert call(app.wsgi_app, headers={"User-Agent": BROWSER_UA})[0].startswith("418")
    assert call(app.wsgi_app, "/plain", headers={"User-Agent": BROWSER_UA})[0] == "302 FOUND"


def test_an_imported_link_takes_the_fast_path(tmp_path):
    """The click count another shortener had is a figure, not a feature."""
    app = new_app(tmp_path)
    make_link(app.test_client(), code="promo")
    db = connect(app.config["DATABASE"])
    db.execute("UPDATE links SET imported_clicks = 1234 WHERE code = 'promo'")
    db.conn.commit()
    db.close()
    app.view_functions["redirect.follow"] = lambda code: ("flask", 418)
    assert call(app.wsgi_app, headers={"User-Agent": BROWSER_UA})[0] == "302 FOUND"


def test_link_changes_reach_the_cache_once_checked(tmp_path):
    """Cached links are re-read once `link_version` moved, checked at most
    every `seconds` (LINK_CACHE_SECONDS): a clock stands in for time."""
    path = str(tmp_path / "ct.db")
    init_db(path)
    db, other = connect(path), connect(path)
    links.create_link(db, {"url": "https://a.example/", "channel": "x", "campaign": "c",
                           "code": "promo"}, [], [])  # fmt: skip
    now = [100.0]
    cache = LinkCache(1.0, clock=lambda: now[0])
    assert cache.get(db, "promo").row["url"] == "https://a.example/"
    links.update_link(other, "promo", {"url": "https://b.example/"}, [], [])
    now[0] += 0.5
    assert cache.get(db, "promo").row["url"] == "https://a.example/"  # inside the window: as cached
    now[0] += 0.5
    assert cache.get(db, "promo").row["url"] == "https://b.example/"
    links.update_link(other, "promo", {"disabled": True})
    now[0] += 1
    assert cache.get(db, "promo") is None  # disabled: the view answers 410
    db.close()
    other.close()


def test_edits_through_the_api_take_effect_at_once_under_testing(app, client):
    make_link(client, code="promo")
    first = client.get("/promo")
    assert first.headers["Location"].startswith("https://shop.example.com/sale?")
    patched = client.patch("/api/links/promo", json={"url": "https://shop.example.com/new"},
                           headers=AUTH)  # fmt: skip
    assert patched.status_code == 200
    assert client.get("/promo").headers["Location"].startswith("https://shop.example.com/new?")
    client.delete("/api/links/promo", headers=AUTH)
    assert client.get("/promo").status_code == 410


@pytest.mark.slow
@pytest.mark.parametrize("cache_seconds", ["0", "1"])
def test_edits_reach_every_gunicorn_worker(tmp_path, cache_seconds):
    """PATCH and disable through the API of one worker; every worker's
    cache follows: at once with LINK_CACHE_SECONDS=0, within the setting's
    second otherwise. A batch of answers all new is not enough: gunicorn may
    hand every request of a batch to one worker while the other still holds
    the link from before the edit, as it may for up to the setting's
    second; past that second from the edit's answer, every worker's next
    request reads the link again."""
    config = app_config(tmp_path, BASE_URL="http://127.0.0.1", LINK_CACHE_SECONDS=cache_seconds)
    init_db(config["DATABASE"])
    with gunicorn(config, workers=2) as base:
        session = requests.Session()
        session.headers["User-Agent"] = BROWSER_UA

        def answers() -> set:
            hops = [session.get(f"{base}/promo", allow_redirects=False, timeout=5)
                    for _ in range(12)]  # fmt: skip
            return {(h.status_code, h.headers.get("Location", "").split("?")[0]) for h in hops}

        created = session.post(f"{base}/api/links", headers=AUTH, timeout=5,
                               json={"url": "https://shop.example.com/a", "channel": "x",
                                     "campaign": "c", "code": "promo"})  # fmt: skip
        assert created.status_code == 201
        assert answers() == {(302, "https://shop.example.com/a")}  # both workers cached it
        patched = session.patch(f"{base}/api/links/promo", headers=AUTH, timeout=5,
                                json={"url": "https://shop.example.com/b"})  # fmt: skip
        assert patched.status_code == 200
        past_the_window(float(cache_seconds))
        assert answers() == {(302, "https://shop.example.com/b")}
        disabled = session.delete(f"{base}/api/links/promo", headers=AUTH, timeout=5)
        assert disabled.status_code == 200
        past_the_window(float(cache_seconds))
        assert answers() == {(410, "")}


def past_the_window(seconds: float) -> None:
    """Wait out LINK_CACHE_SECONDS from an edit's answer (and a little more:
    the clocks are the same, the reads of the version are not instant)."""
    if seconds:
        time.sleep(seconds + 0.25)
