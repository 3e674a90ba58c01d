"""Password-protected links: the API sets and clears the password and never
shows it; a visitor gets a form and nothing is recorded until the right
password comes back; wrong ones are counted and limited; crawlers learn
nothing of the destination; the fast path leaves these links to the view."""

import json
import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from itsdangerous import URLSafeTimedSerializer
from test_decide import NOW, SITE
from test_fastpath import call, new_app
from werkzeug.security import check_password_hash

from conftest import AUTH, BROWSER_UA, browser, make_link
from dashboard_support import signed_in
from shortener import protect, ratelimit
from shortener.clicks import Agent
from shortener.decide import PROTECTED, REDIRECT, Facts, decide
from shortener.fastpath import FastRedirect

PASSWORD = "open sesame 42"
DESTINATION = "https://shop.example.com/sale"
CRAWLER_UA = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def protected(client, **fields) -> dict:
    return make_link(client, code="secret", password=PASSWORD, title="Spring sale",
                     description="20% off everything", **fields)  # fmt: skip


def form_token(client, path="/secret", **headers) -> str:
    page = client.get(path, headers=headers)
    assert page.status_code == 200
    return TOKEN.search(page.get_data(as_text=True))[1]


def submit(client, password, path="/secret", token=None, **kwargs):
    token = form_token(client, path) if token is None else token
    return client.post(path, data={"csrf_token": token, "password": password}, **kwargs)


def clicks(db) -> list[dict]:
    return list(db.query("SELECT link_id, click_id, visitor_id, referrer FROM clicks"))


def wrong_count(db) -> int:
    return db.execute("SELECT coalesce(sum(count), 0) FROM wrong_passwords").fetchone()[0]


# -- the API ------------------------------------------------------------------


def test_the_api_stores_a_hash_and_shows_only_protected(client, db):
    created = protected(client)
    assert created["protected"] is True
    stored = db.execute("SELECT password_hash FROM links WHERE code = 'secret'").fetchone()[0]
    assert stored.startswith("scrypt:") and check_password_hash(stored, PASSWORD)
    plain = make_link(client, code="plain")
    assert plain["protected"] is False
    answers = [
        json.dumps(created),
        client.get("/api/links/secret", headers=AUTH).get_data(as_text=True),
        client.get("/api/links", headers=AUTH).get_data(as_text=True),
        client.patch("/api/links/secret", json={"term": "x"}, headers=AUTH).get_data(as_text=True),
    ]
    for text in answers:
        assert '"protected": true' in text.replace('":true', '": true')
        assert PASSWORD not in text and "scrypt" not in text and "password" not in text


@pytest.mark.parametrize(
    "password",
    ["seven77", "x" * 129, "tab\there!", 12345678, ["a" * 8]],
    ids=["too short", "too long", "a control character", "a number", "a list"],
)
def test_a_bad_password_is_refused_naming_the_field_and_nothing_is_stored(client, db, password):
    body = {"url": DESTINATION, "channel": "twitter", "campaign": "spring", "password": password}
    response = client.post("/api/links", headers=AUTH, json=body)
    assert response.status_code == 400
    assert response.get_json()["field"] == "password"
    assert db.execute("SELECT count(*) FROM links").fetchone()[0] == 0


def test_patch_sets_changes_and_null_clears_the_password(client, db):
    make_link(client, code="secret")
    assert client.get("/secret").status_code == 302
    changed = client.patch("/api/links/secret", json={"password": PASSWORD}, headers=AUTH)
    assert changed.get_json()["protected"] is True
    assert client.get("/secret").status_code == 200
    client.patch("/api/links/secret", json={"password": "another one"}, headers=AUTH)
    assert submit(client, PASSWORD).status_code == 403
    assert submit(client, "another one").status_code == 302
    cleared = client.patch("/api/links/secret", json={"password": None}, headers=AUTH)
    assert cleared.get_json()["protected"] is False
    assert db.execute("SELECT password_hash FROM links").fetchone()[0] is None
    assert client.get("/secret").status_code == 302
    # a PATCH without the field keeps it
    client.patch("/api/links/secret", json={"password": PASSWORD}, headers=AUTH)
    client.patch("/api/links/secret", json={"term": "kept"}, headers=AUTH)
    assert client.get("/api/links/secret", headers=AUTH).get_json()["protected"] is True


# -- the page -------------------------------------------------------------------


def test_a_visit_gets_the_form_and_nothing_is_recorded(client, db):
    protected(client)
    page = client.get("/secret", headers={"Referer": "https://t.co/abc"})
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in page.headers
    html = page.get_data(as_text=True)
    assert "<title>Protected link</title>" in html
    assert 'type="password"' in html and TOKEN.search(html)
    assert "shop.example.com" not in html and "Spring sale" not in html
    assert clicks(db) == []
    head = client.head("/secret")
    assert head.status_code == 200 and head.data == b"" and "Set-Cookie" not in head.headers
    assert clicks(db) == []
    assert db.execute("SELECT count(*) FROM unfurls").fetchone()[0] == 0


def test_the_right_password_redirects_and_records_one_click(client, db):
    protected(client, medium="paid")
    token = form_token(client, **{"Referer": "https://t.co/abc"})
    response = submit(
        client, PASSWORD, token=token, headers={"Referer": "http://go.example.test/secret"}
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == DESTINATION
    query = parse_qs(location.query)
    assert query["utm_source"] == ["twitter"] and query["utm_medium"] == ["paid"]
    assert query["utm_campaign"] == ["spring"]
    assert "ct_vid=" in response.headers["Set-Cookie"]
    [click] = clicks(db)
    assert query["ct_click"] == [click["click_id"]]
    assert click["visitor_id"]
    # where the visitor came from before the form, not the form itself
    assert click["referrer"] == "https://t.co/abc"


def test_a_post_tag_and_the_query_ride_through_the_form(client, db):
    protected(client)
    response = submit(client, PASSWORD, path="/secret~reel?qr=1")
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["Location"]).query)["utm_content"] == ["reel"]
    row = db.execute("SELECT post, source FROM clicks").fetchone()
    assert tuple(row) == ("reel", "qr")


def test_wrong_passwords_are_counted_and_the_sixth_within_a_minute_is_429(client, db):
    protected(client)
    token = form_token(client)
    for n in range(1, ratelimit.WRONG_PASSWORD_LIMIT + 1):
        wrong = submit(client, f"guess number {n}", token=token)
        assert wrong.status_code == 403
        assert "Wrong password" in wrong.get_data(as_text=True)
        assert "Set-Cookie" not in wrong.headers
        assert wrong_count(db) == n
    sixth = submit(client, "guess number 6", token=token)
    assert sixth.status_code == 429
    assert 1 <= int(sixth.headers["Retry-After"]) <= ratelimit.WRONG_PASSWORD_WINDOW_SECONDS
    # blocked means blocked: the right one waits too, and nothing more is counted
    assert submit(client, PASSWORD, token=token).status_code == 429
    assert wrong_count(db) == 5 and clicks(db) == []
    # per address: another visitor of the link is not held up
    other = {"environ_base": {"REMOTE_ADDR": "198.51.100.7"}}
    assert submit(client, PASSWORD, token=token, **other).status_code == 302
    assert len(clicks(db)) == 1
    day = datetime.now(UTC).date().isoformat()
    assert [tuple(r) for r in db.execute("SELECT day, count FROM wrong_passwords")] == [(day, 5)]


def test_the_form_must_carry_our_token_for_this_link_from_our_own_page(client, db):
    protected(client)
    make_link(client, code="other", password=PASSWORD)
    foreign = URLSafeTimedSerializer("another-secret", salt=protect.TOKEN_SALT)
    cases = {
        "no token": submit(client, PASSWORD, token=""),
        "another link's token": submit(client, PASSWORD, token=form_token(client, "/other")),
        "signed elsewhere": submit(client, PASSWORD, token=foreign.dumps({"c": "secret", "r": ""})),
        "a cross-site page": submit(client, PASSWORD, headers={"Origin": "https://evil.example"}),
        "a cross-site fetch": submit(client, PASSWORD, headers={"Sec-Fetch-Site": "cross-site"}),
    }
    for name, response in cases.items():
        assert response.status_code == 400, name
        assert "expired" in response.get_data(as_text=True), name
    assert clicks(db) == [] and wrong_count(db) == 0
    same_site = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
    assert submit(client, PASSWORD, headers=same_site).status_code == 302


def test_an_old_form_is_refused(client, db, monkeypatch):
    protected(client)
    token = form_token(client)
    later = datetime.now(UTC).timestamp() + protect.TOKEN_MAX_AGE_SECONDS + 5
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    assert submit(client, PASSWORD, token=token).status_code == 400
    assert clicks(db) == []


def test_links_without_a_password_take_no_post(client):
    make_link(client, code="plain")
    assert client.post("/plain", data={"password": PASSWORD}).status_code == 405
    assert client.post("/nothing-here", data={"password": PASSWORD}).status_code == 405


def test_a_disabled_protected_link_is_gone_for_get_and_post(client):
    protected(client)
    token = form_token(client)
    client.delete("/api/links/secret", headers=AUTH)
    assert client.get("/secret").status_code == 410
    assert submit(client, PASSWORD, token=token).status_code == 410


def test_a_crawler_gets_the_page_without_the_destination_or_its_preview(client, db):
    protected(client)
    page = client.get("/secret", headers={"User-Agent": CRAWLER_UA})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<title>Protected link</title>" in html
    assert "og:" not in html and "twitter:" not in html
    assert "shop.example.com" not in html and "Spring sale" not in html and "20%" not in html
    assert page.headers["X-Robots-Tag"] == "noindex"
    assert clicks(db) == []


# -- the decision and the fast path ------------------------------------------------


def test_decide_keeps_a_protected_link_behind_its_form_until_unlocked():
    link = {"id": 3, "url": DESTINATION, "channel": "twitter", "campaign": "spring",
            "medium": None, "content": None, "term": None, "disabled": 0,
            "expires_at": "2000-01-01T00:00:00Z",  # expired: even that is not told
            "expired_url": "https://shop.example.com/over",
            "password_hash": "scrypt:..."}  # fmt: skip

    agent = Agent("desktop", "Chrome", "Windows", False)
    locked = decide(link, Facts(agent=agent, new_visitor="v"), NOW, SITE)
    assert locked.outcome == PROTECTED and locked.status == 200
    assert locked.url is None and locked.click is None and locked.cookie_visitor is None
    live = {**link, "expires_at": None}
    unlocked = decide(live, Facts(agent=agent, new_visitor="v", unlocked=True), NOW, SITE)
    assert unlocked.outcome == REDIRECT and unlocked.click.link_id == 3


CASES = {
    "a person": {"headers": {"User-Agent": BROWSER_UA}},
    "a crawler": {"headers": {"User-Agent": CRAWLER_UA}},
    "a returning visitor": {"headers": {"User-Agent": BROWSER_UA, "Cookie": "ct_vid=x.y.z"}},
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_fast_path_and_view_give_the_same_page(tmp_path, case):
    app = new_app(tmp_path)
    protected(app.test_client())
    fast, view = app.wsgi_app, app.wsgi_app.wsgi_app
    assert isinstance(fast, FastRedirect)
    answers = [call(fast, "/secret", **case), call(view, "/secret", **case)]
    bodies = [TOKEN.sub("token", body.decode()) for _, _, body in answers]
    assert answers[0][0] == answers[1][0] == "200 OK"
    assert bodies[0] == bodies[1]
    assert dict(answers[0][1]).keys() == dict(answers[1][1]).keys()
    assert "Set-Cookie" not in dict(answers[0][1])


def test_a_protected_link_falls_through_to_the_view(tmp_path):
    app = new_app(tmp_path)
    protected(app.test_client())
    make_link(app.test_client(), code="plain")
    app.view_functions["redirect.follow"] = lambda code: ("flask", 418)
    person = {"headers": {"User-Agent": BROWSER_UA}}
    assert call(app.wsgi_app, "/secret", **person)[0].startswith("418")
    assert call(app.wsgi_app, "/plain", **person)[0] == "302 FOUND"


def test_personal_links_keep_and_follow_their_sources_password(client, db):
    protected(client)
    client.post("/api/advocates", json={"name": "Ada", "handle": "ada"}, headers=AUTH)
    shared = client.post("/api/links/secret/share", json={"advocate": "ada"}, headers=AUTH)
    personal = shared.get_json()
    assert shared.status_code == 201 and personal["protected"] is True
    path = f"/{personal['code']}"
    assert client.get(path).status_code == 200
    assert submit(client, PASSWORD, path=path).status_code == 302
    client.patch("/api/links/secret", json={"password": None}, headers=AUTH)
    assert (
        client.get(f"/api/links/{personal['code']}", headers=AUTH).get_json()["protected"] is False
    )
    assert client.get(path).status_code == 302


# -- the dashboard ------------------------------------------------------------------


def stored_hash(db, code="secret"):
    return db.execute("SELECT password_hash FROM links WHERE code = ?", [code]).fetchone()[0]


def test_the_link_form_sets_keeps_and_removes_a_password(app, db):
    client, token = signed_in(app)
    form = {"csrf_token": token, "url": DESTINATION, "channel": "twitter", "campaign": "spring"}
    short = client.post("/dashboard/links/new", data={**form, "code": "short", "password": "short"})
    assert short.status_code == 400
    assert "8 to 128 characters" in short.get_data(as_text=True)
    assert 'value="short"' not in short.get_data(as_text=True).split('id="password"')[1][:200]
    created = client.post("/dashboard/links/new", data={**form, "code": "secret",
                                                        "password": PASSWORD})  # fmt: skip
    assert created.status_code == 303 and check_password_hash(stored_hash(db), PASSWORD)
    page = client.get("/dashboard/links/secret").get_data(as_text=True)
    assert "asks visitors for a password" in page and PASSWORD not in page
    assert "scrypt" not in page
    listing = client.get("/dashboard/links").get_data(as_text=True)
    assert listing.count("protected-badge") == 1
    edit = {"csrf_token": token, "url": DESTINATION, "password": ""}
    # an empty box keeps the password; a wrong guess shows in the count
    assert client.post("/dashboard/links/secret", data=edit).status_code == 303
    assert check_password_hash(stored_hash(db), PASSWORD)
    submit(browser(app), "not it at all")
    assert '<span id="wrong-passwords">1</span>' in client.get("/dashboard/links/secret").get_data(
        as_text=True
    )
    removed = client.post("/dashboard/links/secret", data={**edit, "remove_password": "1"})
    assert removed.status_code == 303 and stored_hash(db) is None
    assert "protected-badge" not in client.get("/dashboard/links").get_data(as_text=True)
