"""Social previews: Open Graph pages for link-preview crawlers, and the
unfurl counts they leave (kept apart from clicks)."""

import csv
import io
import json
from html.parser import HTMLParser

from conftest import AUTH, browser, make_link

FACEBOOK = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
SLACK = "Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)"
TWITTER = "Twitterbot/1.0"
LINKEDIN = "LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)"


class Metas(HTMLParser):
    """The page's <meta> tags as a browser's parser reads them."""

    def __init__(self):
        super().__init__()
        self.tags: dict[str, str] = {}
        self.title = None
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta" and "content" in attrs:
            self.tags[attrs.get("property") or attrs.get("name")] = attrs["content"]
        self._in_title = tag == "title"

    def handle_data(self, data):
        if self._in_title:
            self.title = data
            self._in_title = False


def metas(response) -> Metas:
    parser = Metas()
    parser.feed(response.get_data(as_text=True))
    return parser


def count(db, table) -> int:
    return db.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def unfurls(db) -> list[tuple]:
    return db.execute("SELECT platform, count FROM unfurls ORDER BY platform").fetchall()


def with_preview(client, **fields):
    body = {
        "code": "launch",
        "title": "Spring sale: 30 % off",
        "description": "Shoes & bags, this week only",
        "image": "https://cdn.example.com/card.png",
    }
    body.update(fields)
    return make_link(client, **body)


def test_a_crawler_gets_the_open_graph_page_with_the_links_values(app, client, db):
    with_preview(client)
    response = browser(app, FACEBOOK).get("/launch")
    assert response.status_code == 200
    assert response.mimetype == "text/html"
    tags = metas(response).tags
    assert tags["og:title"] == "Spring sale: 30 % off"
    assert tags["og:description"] == "Shoes & bags, this week only"
    assert tags["og:image"] == "https://cdn.example.com/card.png"
    assert tags["og:url"] == "http://go.example.test/launch"
    assert tags["twitter:card"] == "summary_large_image"
    assert tags["twitter:title"] == "Spring sale: 30 % off"
    assert tags["twitter:image"] == "https://cdn.example.com/card.png"
    # no cookie, no click: the fetch is reach, not traffic
    assert "Set-Cookie" not in response.headers
    assert count(db, "clicks") == 0
    assert unfurls(db) == [("facebook", 1)]


def test_preview_values_are_html_escaped(app, client):
    hostile = '"><script>alert(1)</script><meta property="og:title" content="pwned'
    with_preview(client, title=hostile, description="a < b & c > d")
    response = browser(app, TWITTER).get("/launch")
    text = response.get_data(as_text=True)
    assert "<script>" not in text
    parsed = metas(response)
    # the parser gives back exactly what was written: escaped, not cut
    assert parsed.tags["og:title"] == hostile
    assert parsed.tags["og:description"] == "a < b & c > d"
    assert parsed.title == hostile


def test_each_platform_is_counted_once_per_fetch(app, client, db):
    with_preview(client)
    for agent in (FACEBOOK, FACEBOOK, SLACK, TWITTER, LINKEDIN):
        assert browser(app, agent).get("/launch").status_code == 200
    # facebook fetched twice, the others once each
    assert unfurls(db) == [("facebook", 2), ("linkedin", 1), ("slack", 1), ("x", 1)]
    assert count(db, "clicks") == 0
    link = client.get("/api/links/launch", headers=AUTH).get_json()
    assert link["unfurls"] == {"facebook": 2, "linkedin": 1, "slack": 1, "x": 1}
    assert link["title"] == "Spring sale: 30 % off"


def test_people_still_get_the_redirect_and_a_counted_click(client, db):
    with_preview(client)
    response = client.get("/launch")
    assert response.status_code == 302
    assert "ct_vid" in response.headers["Set-Cookie"]
    assert count(db, "clicks") == 1
    assert unfurls(db) == []


def test_without_preview_fields_crawlers_keep_the_redirect(app, client, db):
    make_link(client, code="plain")
    response = browser(app, SLACK).get("/plain")
    # as before: redirected, no cookie, a click stored flagged as a bot
    assert response.status_code == 302
    assert "Set-Cookie" not in response.headers
    assert db.execute("SELECT is_bot FROM clicks").fetchall() == [(1,)]
    # ...and the unfurl is still counted as reach
    assert unfurls(db) == [("slack", 1)]
    assert client.get("/api/links/plain", headers=AUTH).get_json()["unfurls"] == {"slack": 1}


def test_title_alone_is_a_preview_with_a_small_card(app, client):
    make_link(client, code="titled", title="Only a title")
    tags = metas(browser(app, TWITTER).get("/titled")).tags
    assert tags["og:title"] == "Only a title"
    assert tags["twitter:card"] == "summary"
    assert "og:image" not in tags and "og:description" not in tags


def test_disabled_links_show_no_preview(app, client, db):
    with_preview(client)
    client.delete("/api/links/launch", headers=AUTH)
    assert browser(app, FACEBOOK).get("/launch").status_code == 410
    assert unfurls(db) == []


def test_head_requests_are_not_unfurls(app, client, db):
    with_preview(client)
    assert browser(app, FACEBOOK).head("/launch").status_code == 302
    assert unfurls(db) == []


def test_preview_fields_are_validated_and_nothing_is_stored(client, db):
    base = {"url": "https://shop.example.com/", "channel": "x", "campaign": "c"}
    for field, value in [
        ("image", "javascript:alert(1)"),
        ("image", "ftp://cdn.example.com/a.png"),
        ("image", "not a url"),
        ("image", 12),
        ("title", "x" * 201),
        ("title", "bad\x00title"),
        ("description", "x" * 501),
        ("description", ["a"]),
    ]:
        response = client.post("/api/links", json={**base, field: value}, headers=AUTH)
        assert response.status_code == 400, (field, value)
        assert response.get_json()["field"] == field
    assert count(db, "links") == 0


def test_preview_fields_can_be_changed_and_cleared(client):
    with_preview(client)
    changed = client.patch(
        "/api/links/launch",
        json={"title": "New title", "image": None},
        headers=AUTH,
    ).get_json()
    assert changed["title"] == "New title"
    assert changed["image"] is None
    assert changed["description"] == "Shoes & bags, this week only"
    refused = client.patch("/api/links/launch", json={"image": "data:x"}, headers=AUTH)
    assert refused.status_code == 400 and refused.get_json()["field"] == "image"


# -- the unfurls report ---------------------------------------------------------


def test_unfurls_report_json_csv_and_cli(app, client, runner, db):
    with_preview(client)
    make_link(client, code="other", channel="linkedin")
    for agent, code in [(FACEBOOK, "launch"), (FACEBOOK, "launch"), (SLACK, "launch"),
                        (LINKEDIN, "other")]:  # fmt: skip
        browser(app, agent).get(f"/{code}")
    # launch/facebook 2 first, then the ones fetched once, by code then platform
    expected = [
        {"code": "launch", "channel": "twitter", "campaign": "spring", "platform": "facebook",
         "unfurls": 2},
        {"code": "launch", "channel": "twitter", "campaign": "spring", "platform": "slack",
         "unfurls": 1},
        {"code": "other", "channel": "linkedin", "campaign": "spring", "platform": "linkedin",
         "unfurls": 1},
    ]  # fmt: skip
    body = client.get("/api/reports/unfurls", headers=AUTH).get_json()
    assert body["rows"] == expected
    only = client.get("/api/reports/unfurls?channel=linkedin", headers=AUTH).get_json()
    assert only["rows"] == expected[2:]
    future = client.get("/api/reports/unfurls?from=2999-01-01", headers=AUTH).get_json()
    assert future["rows"] == []
    response = client.get("/api/reports/unfurls?format=csv", headers=AUTH)
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["code"], r["platform"], r["unfurls"]) for r in rows] == [
        ("launch", "facebook", "2"), ("launch", "slack", "1"), ("other", "linkedin", "1"),
    ]  # fmt: skip
    result = runner.invoke(args=["report", "unfurls", "--platform", "facebook"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.output.splitlines()] == expected[:1]


def test_unfurls_report_refuses_bad_input(client, runner):
    assert client.get("/api/reports/unfurls?from=nope", headers=AUTH).status_code == 400
    bad = client.get("/api/reports/unfurls?from=2026-02-01&to=2026-01-01", headers=AUTH)
    assert bad.status_code == 400 and bad.get_json()["field"] == "from"
    assert client.get("/api/reports/unfurls?format=xml", headers=AUTH).status_code == 400
    result = runner.invoke(args=["report", "unfurls", "--from", "2026-02-01", "--to", "2026-01-01"])
    assert result.exit_code != 0 and "Traceback" not in result.output


# -- the dashboard ----------------------------------------------------------------------


def test_the_dashboard_edits_preview_fields_and_shows_unfurls(app):
    from dashboard_support import signed_in

    client, token = signed_in(app)
    response = client.post(
        "/dashboard/links/new",
        data={"csrf_token": token, "url": "https://shop.example.com/", "channel": "x",
              "campaign": "c", "code": "card", "title": "Card <b>title</b>",
              "image": "https://cdn.example.com/c.png", "tags": ""},
    )  # fmt: skip
    assert response.status_code == 303
    api = client.get("/api/links/card", headers=AUTH).get_json()
    assert (api["title"], api["image"], api["description"]) == (
        "Card <b>title</b>", "https://cdn.example.com/c.png", None,
    )  # fmt: skip
    browser(app, SLACK).get("/card")
    page = client.get("/dashboard/links/card").get_data(as_text=True)
    assert 'value="Card &lt;b&gt;title&lt;/b&gt;"' in page
    assert "Slack 1" in page  # unfurls per platform, in the plain words of the page
    bad = client.post(
        "/dashboard/links/card",
        data={"csrf_token": token, "url": "https://shop.example.com/", "image": "nope"},
    )
    assert bad.status_code == 400 and 'id="image-error"' in bad.get_data(as_text=True)
