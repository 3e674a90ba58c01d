"""No redirect loop through another spelling of our own host: such
destinations are refused on create, patch and import, in every destination
field; a link that loops anyway (stored before these checks) is not
followed round again, and stores no second click."""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from conftest import AUTH, BROWSER_UA, app_config, make_link
from servers import gunicorn
from shortener import clickids, create_app
from shortener.app import init_db
from shortener.db import connect
from shortener.journal import replay_all

PORT = 5000
# the API called as it is under gunicorn (tests/servers.py): on 127.0.0.1:PORT
HERE = f"http://127.0.0.1:{PORT}"

# each spelling reaches this machine's loopback, so a link to it comes
# straight back to the shortener; {code} is an existing short link
SPELLINGS = {
    "decimal integer": "http://2130706433:{port}/{code}",
    "hex integer": "http://0x7f000001:{port}/{code}",
    "shortened": "http://127.1:{port}/{code}",
    "octal": "http://0177.0.0.1:{port}/{code}",
    "hex first part": "http://0x7f.0.0.1:{port}/{code}",
    "zero": "http://0:{port}/{code}",
    "LOCALHOST": "http://LOCALHOST:{port}/{code}",
    "localhost with a trailing dot": "http://localhost.:{port}/{code}",
    "a .localhost name": "http://shop.localhost:{port}/{code}",
    "IPv6 loopback": "http://[::1]:{port}/{code}",
    "IPv4-mapped IPv6": "http://[::ffff:127.0.0.1]:{port}/{code}",
    "full-width digits": "http://１２７.０.０.１:{port}/{code}",
    "another port": "http://127.1:8999/{code}",
    "https": "https://127.1/{code}",
    "a dot-dot segment": "http://127.1:{port}/x/../{code}",
    "percent-encoded code": "http://127.1:{port}/%74arget",
    "a doubled slash": "http://127.1:{port}//{code}",
    "a query and fragment": "http://127.1:{port}/{code}?a=1#b",
    # /CODE~POST is served as CODE, whatever the tag (shortener.posts)
    "a post tag": "http://127.1:{port}/{code}~reel",
    "an invalid post tag": "http://127.1:{port}/{code}~not!valid",
    "a percent-encoded tilde": "http://127.1:{port}/{code}%7Ereel",
}
LOOP = "http://2130706433:{port}/{code}"


def spelled(template: str, code: str = "target", port: int = PORT) -> str:
    return template.format(port=port, code=code)


def create(client, base=HERE, **fields):
    body = {"url": "https://shop.example.com/", "channel": "twitter", "campaign": "c", **fields}
    return client.post("/api/links", json=body, headers=AUTH, base_url=base)


def patch(client, code, base=HERE, **fields):
    return client.patch(f"/api/links/{code}", json=fields, headers=AUTH, base_url=base)


def count(db) -> int:
    return db.execute("SELECT count(*) FROM links").fetchone()[0]


def assert_refused(response, field="url"):
    assert response.status_code == 400, response.get_json()
    body = response.get_json()
    assert body["field"] == field
    assert "points back at this shortener" in body["error"]


# -- refused when written ------------------------------------------------------


@pytest.mark.parametrize("template", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_a_destination_looping_back_through_any_spelling_is_refused_on_create(client, db, template):
    make_link(client, code="target")
    assert_refused(create(client, url=spelled(template)))
    assert count(db) == 1


@pytest.mark.parametrize("template", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_a_destination_looping_back_through_any_spelling_is_refused_on_patch(client, db, template):
    make_link(client, code="target")
    make_link(client, code="other", url="https://shop.example.com/other")
    assert_refused(patch(client, "other", url=spelled(template)))
    assert db.execute("SELECT url FROM links WHERE code = 'other'").fetchone()[0] == (
        "https://shop.example.com/other"
    )


def test_a_link_to_itself_is_refused_before_its_code_exists(client, db):
    assert_refused(create(client, code="self", url=spelled(LOOP, "self")))
    assert count(db) == 0


def test_a_link_patched_to_itself_is_refused(client, db):
    make_link(client, code="self")
    assert_refused(patch(client, "self", url=spelled(LOOP, "self")))


FIELDS = {
    "ios_url": lambda url: url,
    "android_url": lambda url: url,
    "desktop_url": lambda url: url,
    "expired_url": lambda url: url,
    "destinations": lambda url: [{"url": "https://shop.example.com/a"}, {"url": url}],
}


@pytest.mark.parametrize("field", FIELDS)
def test_every_destination_field_is_checked_on_create_and_patch(client, db, field):
    make_link(client, code="target")
    value = FIELDS[field](spelled(LOOP))
    assert_refused(create(client, **{field: value}), field)
    assert count(db) == 1
    assert_refused(patch(client, "target", **{field: value}), field)
    assert db.execute(f"SELECT {field} FROM links").fetchone()[0] is None


def test_a_ring_of_two_links_cannot_be_closed(client, db):
    # A -> localhost/B and B -> 127.0.0.1/A, each written on the other host
    localhost = f"http://localhost:{PORT}"
    make_link(client, code="ring-a", url="https://shop.example.com/a")
    make_link(client, code="ring-b", url="https://shop.example.com/b")
    assert_refused(patch(client, "ring-a", base=HERE, url=f"{localhost}/ring-b"))
    assert_refused(patch(client, "ring-b", base=localhost, url=f"{HERE}/ring-a"))
    urls = dict(db.execute("SELECT code, url FROM links").fetchall())
    assert urls == {"ring-a": "https://shop.example.com/a", "ring-b": "https://shop.example.com/b"}


def test_a_ring_is_refused_at_the_link_that_would_close_it(client, db):
    localhost = f"http://localhost:{PORT}"
    # B does not exist yet: A leads to a 404 page, not round a loop
    first = create(client, base=HERE, code="ring-a", url=f"{localhost}/ring-b")
    assert first.status_code == 201, first.get_json()
    assert_refused(create(client, base=localhost, code="ring-b", url=f"{HERE}/ring-a"))
    assert count(db) == 1


def test_the_hosts_the_installation_is_named_by_are_refused_whatever_the_path(tmp_path):
    config = app_config(tmp_path, BASE_URL="https://Go.Example.TEST:8443",
                        SERVER_NAME="internal.example.test")  # fmt: skip
    init_db(config["DATABASE"])
    client = create_app(config).test_client()
    for url in ("http://GO.example.test./any/path", "https://internal.EXAMPLE.test:9/",
                "http://internal.example.test./dashboard/"):  # fmt: skip
        response = client.post("/api/links", headers=AUTH, base_url="http://localhost",
                               json={"url": url, "channel": "x", "campaign": "c"})  # fmt: skip
        assert_refused(response)


GOOD = {
    "a page on a local shop": "http://shop.localhost:8001/landing.html",
    "a path that is no short link": "http://127.1:{port}/not-a-link",
    "a post tag on a path that is no short link": "http://127.1:{port}/not-a-link~reel",
    "the root of a loopback address": "http://127.1:{port}/",
    "another site with the same path": "https://shop.example.com/target",
    "a subdomain of our BASE_URL": "https://www.go.example.test/target",
}


@pytest.mark.parametrize("template", GOOD.values(), ids=GOOD.keys())
def test_local_destinations_that_are_no_short_link_are_kept(client, db, template):
    make_link(client, code="target")
    url = spelled(template)
    response = create(client, base="http://localhost", url=url)
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["url"] == url


def test_a_looping_row_of_an_import_is_refused_with_its_line(client, runner, db, tmp_path):
    make_link(client, code="target")
    path = tmp_path / "links.csv"
    path.write_text(
        "url,channel,campaign,code\n"
        f"{spelled(LOOP)},twitter,spring,\n"  # line 2: to an existing link
        "http://127.1:5000/self,twitter,spring,self\n"  # line 3: to itself
        "http://localhost:5000/ring-b,twitter,spring,ring-a\n"  # line 4: B is not a link yet
        "http://0x7f.1:5000/ring-a,twitter,spring,ring-b\n"  # line 5: closes the ring
        "https://shop.example.com/ok,twitter,spring,fine\n",  # line 6
        encoding="utf-8",
    )
    result = runner.invoke(args=["links", "import", str(path)])
    assert "imported 2 links, refused 3 rows" in result.output
    for line in (2, 3, 5):
        assert f"line {line}: refused (url): url points back at this shortener" in result.output
    codes = {r[0] for r in db.execute("SELECT code FROM links")}
    assert codes == {"target", "ring-a", "fine"}


# -- followed anyway: loops stored before these checks --------------------------

# another name of ours (a DNS alias, say): nothing here can tell it is us
ALIAS = "http://go-alias.example.test"


def clicks(db) -> int:
    return db.execute("SELECT count(*) FROM clicks").fetchone()[0]


def store_url(db, code: str, url: str) -> None:
    """As an old installation may hold it: written before any check."""
    db.execute("UPDATE links SET url = ? WHERE code = ?", [url, code])
    db.conn.commit()


@pytest.mark.parametrize("base", [HERE, "http://localhost"])
@pytest.mark.parametrize("template", SPELLINGS.values(), ids=SPELLINGS.keys())
def test_a_looping_link_stored_before_the_check_is_refused_at_redirect(client, db, template, base):
    make_link(client, code="target")
    store_url(db, "target", spelled(template))
    for method in (client.get, client.head):
        response = method("/target", base_url=base)
        assert response.status_code == 410
        assert "Location" not in response.headers
    assert clicks(db) == 0


def test_an_expired_url_leading_back_is_refused_at_redirect(client, db):
    make_link(client, code="target")
    make_link(client, code="old", expired_url="https://shop.example.com/ended")
    db.execute("UPDATE links SET expires_at = '2001-01-01 00:00:00', expired_url = ?",
               [spelled(LOOP)])  # fmt: skip
    db.conn.commit()
    response = client.get("/old", base_url=HERE)
    assert response.status_code == 410
    assert "Location" not in response.headers


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def test_a_visit_that_comes_round_carrying_its_own_click_id_is_not_redirected_again(client, db):
    # accepted when written: the alias cannot be told from another site
    make_link(client, code="alias", url=f"{ALIAS}/alias")
    first = client.get("/alias")
    assert first.status_code == 302
    location = first.headers["Location"]
    assert location.startswith(f"{ALIAS}/alias?utm_source=twitter&")
    # the alias brings the browser back, through a proxy that sends its own
    # Host (nginx's default): the request names none of our hosts
    again = client.get(path_of(location))
    assert again.status_code == 508
    assert "Location" not in again.headers
    assert "leads back to itself" in again.get_data(as_text=True)
    assert client.head(path_of(location)).status_code == 508
    assert clicks(db) == 1


def test_a_click_id_of_another_link_or_from_elsewhere_is_no_loop(client, db):
    make_link(client, code="first")
    make_link(client, code="second")
    location = client.get("/first").headers["Location"]
    [first_click] = parse_qs(urlsplit(location).query)["ct_click"]
    for value in (first_click, "AAAAAAAAAAAAAAAA", "not-a-click-id", ""):
        response = client.get(f"/second?ct_click={value}")
        assert response.status_code == 302
        [new_click] = parse_qs(urlsplit(response.headers["Location"]).query)["ct_click"]
        assert new_click != value
    assert clicks(db) == 5


def test_click_ids_keep_their_shape_and_tell_their_link():
    keys = clickids.keys({"SECRET_KEY": "old-key", "SECRET_KEY_FALLBACKS": []})
    ids = [clickids.new_click_id(7, keys[0]) for _ in range(2000)]
    assert len(set(ids)) == 2000
    for click_id in ids:
        assert clickids.CLICK_ID.fullmatch(click_id)  # 16 URL-safe characters, as before
        assert not click_id.startswith("-")  # a CSV formula otherwise
        assert clickids.made_for(click_id, 7, keys)
    # another link's: a 2-byte tag matches by chance once in 65,536
    assert sum(clickids.made_for(c, 8, keys) for c in ids) <= 2
    rotated = clickids.keys({"SECRET_KEY": "new-key", "SECRET_KEY_FALLBACKS": ["old-key"]})
    assert all(clickids.made_for(c, 7, rotated) for c in ids[:50])
    stranger = clickids.keys({"SECRET_KEY": "someone-else", "SECRET_KEY_FALLBACKS": []})
    assert sum(clickids.made_for(c, 7, stranger) for c in ids) <= 2


# -- under gunicorn, as the attack was made -----------------------------------


def test_under_gunicorn_no_spelling_of_our_host_makes_a_loop(tmp_path):
    config = app_config(tmp_path)
    init_db(config["DATABASE"])
    with gunicorn(config) as base:
        port = urlsplit(base).port
        auth = {"Authorization": f"Bearer {config['ADMIN_API_KEY']}"}

        def create(**fields):
            body = {"url": "https://shop.example.com/", "channel": "x", "campaign": "c", **fields}
            return requests.post(f"{base}/api/links", json=body, headers=auth, timeout=10)

        assert create(code="target").status_code == 201
        db = connect(config["DATABASE"])
        try:
            for n, template in enumerate(SPELLINGS.values()):
                refused = create(url=spelled(template, port=port))
                assert refused.status_code == 400, template
                assert refused.json()["field"] == "url"
                # as an old installation may hold it: a link leading to itself
                code = f"old-{n}"
                assert create(code=code).status_code == 201
                store_url(db, code, spelled(template, code, port))
                answer = requests.get(f"{base}/{code}", allow_redirects=False, timeout=10)
                assert answer.status_code == 410, template
            # A -> localhost/B, B -> 127.0.0.1/A
            assert create(code="ring-a", url=f"http://localhost:{port}/ring-b").status_code == 201
            assert create(code="ring-b", url=f"http://127.0.0.1:{port}/ring-a").status_code == 400
            replay_all(db)
            assert clicks(db) == 0
        finally:
            db.close()


def test_under_gunicorn_a_loop_through_an_alias_stores_one_click(tmp_path):
    config = app_config(tmp_path)
    init_db(config["DATABASE"])
    with gunicorn(config) as base:
        port = urlsplit(base).port
        alias = f"http://go-alias.example.test:{port}"
        created = requests.post(
            f"{base}/api/links",
            json={"url": f"{alias}/alias", "channel": "x", "campaign": "c", "code": "alias"},
            headers={"Authorization": f"Bearer {config['ADMIN_API_KEY']}"},
            timeout=10,
        )
        assert created.status_code == 201
        # each hop comes back through the alias and a proxy that sends its
        # own Host (nginx's default): to our gunicorn, as 127.0.0.1
        url, answers = f"{alias}/alias", []
        while len(answers) < 20:  # where Chromium gives up
            answer = requests.get(
                base + path_of(url),
                headers={"User-Agent": BROWSER_UA},
                allow_redirects=False,
                timeout=10,
            )
            answers.append(answer.status_code)
            if answer.status_code != 302:
                break
            url = answer.headers["Location"]
        assert answers == [302, 508]
        db = connect(config["DATABASE"])
        try:
            replay_all(db)  # the workers' journals
            assert db.execute("SELECT count(*), sum(is_bot) FROM clicks").fetchone() == (1, 0)
        finally:
            db.close()
