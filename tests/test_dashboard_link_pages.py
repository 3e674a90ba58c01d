"""The links pages: create, edit, disable, search and per-link numbers."""

import json
import re

import pytest

from conftest import AUTH, browser, make_link
from dashboard import link_errors
from dashboard_support import build_dataset, signed_in
from shortener.db import connect
from shortener.errors import ApiError


def links_in(app) -> list[dict]:
    db = connect(app.config["DATABASE"])
    try:
        return list(db.query("SELECT * FROM links ORDER BY id"))
    finally:
        db.close()


def test_a_link_created_in_the_form_is_the_apis_link(app):
    client, token = signed_in(app)
    response = client.post(
        "/dashboard/links/new",
        data={
            "csrf_token": token,
            "url": "https://shop.example.com/sale?ref=nl",
            "channel": "LinkedIn",
            "campaign": "spring-sale",
            "content": "post-1",
            "code": "spring",
            "tags": "q2, launch, q2",
            "expires_at": "2099-12-31T23:30",
            "medium": "",
            "term": "",
        },
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/links/spring"
    api = client.get("/api/links/spring", headers=AUTH).get_json()
    assert api["url"] == "https://shop.example.com/sale?ref=nl"
    assert (api["channel"], api["campaign"], api["content"]) == (
        "linkedin",
        "spring-sale",
        "post-1",
    )
    assert api["medium"] is None and api["term"] is None
    assert api["tags"] == ["launch", "q2"]
    assert api["expires_at"] == "2099-12-31T23:30:00.000000Z"
    page = client.get("/dashboard/links/spring").get_data(as_text=True)
    assert "Link spring created." in page
    # what the page says a click lands on is what the redirect does
    final = (
        "https://shop.example.com/sale?ref=nl&amp;utm_source=linkedin&amp;utm_medium=social"
        "&amp;utm_campaign=spring-sale&amp;utm_content=post-1&amp;ct_click=CLICK_ID"
    )
    assert f'<p class="mono final-url" id="final-url">{final}</p>' in page
    hop = browser(app).get("/spring")
    assert (
        hop.headers["Location"].rsplit("&ct_click=", 1)[0]
        == final.replace("&amp;", "&").rsplit("&ct_click=", 1)[0]
    )


def test_a_refused_link_says_why_and_stores_nothing(app):
    client, token = signed_in(app)
    response = client.post(
        "/dashboard/links/new",
        data={"csrf_token": token, "url": "javascript:alert(1)", "channel": "x", "campaign": "c"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'id="url-error">Start the destination URL with https:// (or http://)</p>' in page
    assert 'aria-invalid="true"' in page
    assert 'value="javascript:alert(1)"' in page  # the form keeps what was typed
    assert links_in(app) == []
    taken = client.post(
        "/dashboard/links/new",
        data={"csrf_token": token, "url": "https://a.example/", "channel": "x", "campaign": "c",
              "code": "api"},
    )  # fmt: skip
    assert taken.status_code == 400
    assert "Choose another code: api is reserved" in taken.get_data(as_text=True)


def test_an_empty_form_lists_every_box_to_fill_in_for_a_marketer(app):
    client, token = signed_in(app)
    response = client.post("/dashboard/links/new", data={"csrf_token": token})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    summary = re.search(r'<div class="error-summary"([^>]*)>(.*?)</div>', page, re.S)
    # the summary takes the focus and is announced; each item leads to its box
    assert 'role="alert"' in summary.group(1) and 'tabindex="-1"' in summary.group(1)
    assert "autofocus" in summary.group(1)
    assert re.findall(r'<a href="#(\w+)">([^<]*)</a>', summary.group(2)) == [
        ("url", "Enter the destination URL, starting with https://"),
        ("channel", "Enter the channel in lower-case letters, digits, &#39;.&#39;, &#39;-&#39; or"
                    " &#39;_&#39;, up to 40 characters, e.g. linkedin"),
        ("campaign", "Enter the campaign, e.g. spring-sale"),
    ]  # fmt: skip
    assert 'id="url-error">Enter the destination URL, starting with https://</p>' in page
    assert page.count('aria-invalid="true"') == 3
    assert links_in(app) == []
    # the API says the same thing in its own words, which its clients read
    api = client.post("/api/links", json={}, headers=AUTH)
    assert (api.status_code, api.get_json()) == (
        400,
        {"error": "url is required and must be a string", "field": "url"},
    )
    # emptying the destination of a link that exists
    make_link(client, url="https://shop.example.com/", code="spring")
    emptied = client.post("/dashboard/links/spring", data={"csrf_token": token, "url": ""})
    assert emptied.status_code == 400
    page = emptied.get_data(as_text=True)
    assert "The changes were not saved" in page
    assert '<a href="#url">Enter the destination URL, starting with https://</a>' in page
    assert links_in(app)[0]["url"] == "https://shop.example.com/"


@pytest.mark.parametrize(
    "fields, wording",
    [
        ({"url": "shop.example.com"}, "Start the destination URL with https:// (or http://)"),
        ({"url": "https://shop example.com/"}, "Remove the spaces from the destination URL"),
        ({"url": "https://a:b@shop.example.com/"},
         "Remove the user name and password from the destination URL"),
        ({"url": "https://bit.ly/x"},
         "Give the page itself as the destination URL, not another short link"),
        ({"channel": "Twitter Ads"}, "Enter the channel in lower-case letters"),
        ({"campaign": "x" * 201}, "Keep the campaign to 200 characters or fewer"),
        ({"code": "a"}, "Enter a code of 3 to 64 letters, digits, '-' or '_'"),
        ({"code": "dashboard"}, "Choose another code: dashboard is reserved"),
        ({"expires_at": "tomorrow"}, "Enter the expiry as a date and a time"),
        ({"expires_at": "2001-01-01T00:00"}, "Choose an expiry in the future"),
        ({"max_clicks": 0}, "Enter the click limit as a whole number of 1 or more"),
        ({"tags": ["x" * 51]}, "Keep each tag to 50 characters or fewer"),
        ({"image": "ftp://cdn.example.com/a.png"},
         "Start the preview image URL with https:// (or http://)"),
        ({"destinations": [{"url": "https://shop.example.com/a"}]},
         "Give at least two A/B destinations, one per line"),
        ({"destinations": [{"url": "https://shop.example.com/a", "weight": 0},
                           {"url": "https://shop.example.com/b"}]},
         "Give each A/B destination a whole-number weight of 1 or more"),
        ({"destinations": [{"url": "javascript:x"}, {"url": "https://shop.example.com/b"}]},
         "Start the URL of each A/B destination with https:// (or http://)"),
    ],
)  # fmt: skip
def test_the_apis_refusals_read_as_what_to_enter(client, fields, wording):
    """Each refusal as the API words it today, and what the form says instead."""
    body = {"url": "https://shop.example.com/", "channel": "twitter", "campaign": "spring"}
    refused = client.post("/api/links", json={**body, **fields}, headers=AUTH)
    assert refused.status_code == 400, refused.get_json()
    answer = refused.get_json()
    assert answer["field"] == next(iter(fields))
    said = link_errors.for_marketer(ApiError(answer["error"], field=answer["field"]))
    assert said.startswith(wording), (answer, said)


def test_a_refusal_it_does_not_know_is_shown_as_the_api_wrote_it():
    unknown = ApiError("could not allocate a unique code, try again", status=503)
    assert link_errors.for_marketer(unknown) == "could not allocate a unique code, try again"
    odd = ApiError("url has a brand-new problem", field="url")
    assert link_errors.for_marketer(odd) == "url has a brand-new problem"


def test_edit_changes_what_may_change(app):
    client, token = signed_in(app)
    client.post(
        "/dashboard/links/new",
        data={"csrf_token": token, "url": "https://a.example/", "channel": "email",
              "campaign": "c", "code": "promo"},
    )  # fmt: skip
    response = client.post(
        "/dashboard/links/promo",
        data={"csrf_token": token, "url": "https://b.example/new", "medium": "newsletter",
              "tags": "vip", "channel": "twitter", "campaign": "other", "expires_at": ""},
    )  # fmt: skip
    assert response.status_code == 303
    (row,) = links_in(app)
    assert (row["url"], row["medium"], json.loads(row["tags"])) == (
        "https://b.example/new", "newsletter", ["vip"],
    )  # fmt: skip
    # channel and campaign stay as they were: past clicks were counted under them
    assert (row["channel"], row["campaign"]) == ("email", "c")
    bad = client.post(
        "/dashboard/links/promo", data={"csrf_token": token, "url": "ftp://x.example/"}
    )
    assert bad.status_code == 400
    assert links_in(app)[0]["url"] == "https://b.example/new"
    assert client.get("/dashboard/links/nope").status_code == 404


def test_disable_and_enable(app):
    client, token = signed_in(app)
    client.post(
        "/dashboard/links/new",
        data={"csrf_token": token, "url": "https://a.example/", "channel": "x", "campaign": "c",
              "code": "gone"},
    )  # fmt: skip
    assert (
        client.post("/dashboard/links/gone/disable", data={"csrf_token": token}).status_code == 303
    )
    assert browser(app).get("/gone").status_code == 410
    page = client.get("/dashboard/links/gone").get_data(as_text=True)
    assert "Link gone disabled" in page and "Enable link" in page
    client.post("/dashboard/links/gone/enable", data={"csrf_token": token})
    assert browser(app).get("/gone").status_code == 302


def test_the_list_shows_each_links_numbers_from_the_aggregates(app):
    build_dataset(app.config["DATABASE"])
    client, _ = signed_in(app)
    page = client.get("/dashboard/links").get_data(as_text=True)
    # newest first; numbers as worked out in dashboard_support.build_dataset
    assert page.index('data-code="em-spring"') < page.index('data-code="tw-spring"')
    row = page[page.index('data-code="tw-spring"') :]
    row = row[: row.index("</tr>")]
    # human clicks 2 (3 with the bot), 2 visitors, 1 conversion, 0.00 USD
    assert 'title="3 with bots">2</td>' in row
    assert 'data-col="unique_visitors">2</td>' in row
    assert 'data-col="conversions">1</td>' in row
    assert "0.00 USD" in row
    first = client.get("/dashboard/links?model=first_touch").get_data(as_text=True)
    row = first[first.index('data-code="tw-spring"') :]
    assert 'data-col="conversions">2</td>' in row[: row.index("</tr>")]  # v1's buy + v2


def test_search_and_filters(app):
    build_dataset(app.config["DATABASE"])
    client, _ = signed_in(app)

    def codes(query: str) -> list[str]:
        page = client.get(f"/dashboard/links?{query}").get_data(as_text=True)
        return [part.split('"')[0] for part in page.split('data-code="')[1:]]

    assert codes("") == ["em-spring", "tw-autumn", "tw-spring"]
    assert codes("channel=twitter") == ["tw-autumn", "tw-spring"]
    assert codes("campaign=spring") == ["em-spring", "tw-spring"]
    assert codes("q=autumn") == ["tw-autumn"]
    assert codes("q=%25") == []  # a LIKE wildcard typed by the user is just a character
    db = connect(app.config["DATABASE"])
    db.execute("UPDATE links SET tags = '[\"vip\"]', disabled = 1 WHERE code = 'tw-autumn'")
    db.close()
    assert codes("tag=vip") == ["tw-autumn"]
    assert codes("status=disabled") == ["tw-autumn"]
    assert codes("status=active") == ["em-spring", "tw-spring"]
    assert "No link matches these filters." in client.get("/dashboard/links?q=zzz").get_data(
        as_text=True
    )


def test_the_link_page_shows_the_ab_test_and_ends_it(app):
    client, token = signed_in(app)
    destinations = [
        {"name": "A", "url": "https://shop.example.com/a"},
        {"name": "B", "url": "https://shop.example.com/b"},
    ]
    made = client.post(
        "/api/links",
        json={"url": "https://shop.example.com/", "channel": "twitter", "campaign": "ab",
              "code": "split", "destinations": destinations, "ios_url": "https://apps.apple.com/x"},
        headers=AUTH,
    )  # fmt: skip
    assert made.status_code == 201
    for _ in range(4):
        browser(app).get("/split")
    page = client.get("/dashboard/links/split").get_data(as_text=True)
    assert 'id="ab-table"' in page and "/dashboard/export/links/split/ab?format=csv" in page
    assert "https://apps.apple.com/x" in page  # the targeting card
    csv_text = client.get("/dashboard/export/links/split/ab?format=csv").get_data(as_text=True)
    assert csv_text.startswith("variant,url,weight,visitors")
    ended = client.post("/dashboard/links/split/ab/end", data={"csrf_token": token, "variant": "B"})
    assert ended.status_code == 303
    link = client.get("/api/links/split", headers=AUTH).get_json()
    assert (link["url"], link["destinations"]) == ("https://shop.example.com/b", [])
    page = client.get("/dashboard/links/split").get_data(as_text=True)
    assert "variant B is now the link&#39;s destination" in page
    assert 'name="variant"' not in page  # ended: no form, the figures stay
    assert 'id="ab-table"' in page


def test_targeting_limits_and_ab_destinations_from_the_form(app):
    client, token = signed_in(app)
    form = {
        "csrf_token": token, "url": "https://shop.example.com/", "channel": "x", "campaign": "c",
        "code": "launch", "ios_url": "https://apps.apple.com/app/id1", "android_url": "",
        "desktop_url": "", "expired_url": "https://shop.example.com/over", "max_clicks": "500",
        "destinations": "https://shop.example.com/a 3 red\n\nhttps://shop.example.com/b 1 blue\n",
    }  # fmt: skip
    assert client.post("/dashboard/links/new", data=form).status_code == 303
    api = client.get("/api/links/launch", headers=AUTH).get_json()
    assert (api["ios_url"], api["android_url"]) == ("https://apps.apple.com/app/id1", None)
    assert (api["expired_url"], api["max_clicks"]) == ("https://shop.example.com/over", 500)
    assert api["destinations"] == [
        {"name": "red", "url": "https://shop.example.com/a", "weight": 3},
        {"name": "blue", "url": "https://shop.example.com/b", "weight": 1},
    ]
    # the edit page shows them as its label says, one destination per line
    page = client.get("/dashboard/links/launch").get_data(as_text=True)
    assert (
        "https://shop.example.com/a, 3, red\nhttps://shop.example.com/b, 1, blue</textarea>" in page
    )
    assert 'name="max_clicks" value="500"' in page
    # refused input says which box and changes nothing
    for field, value, message in [
        ("max_clicks", "lots", "Enter the click limit as a whole number of 1 or more"),
        ("destinations", "https://shop.example.com/a heavy", "Write one A/B destination per line"),
        (
            "ios_url",
            "javascript:alert(1)",
            "Start the address for iPhone and iPad visitors with https:// (or http://)",
        ),
    ]:
        bad = client.post("/dashboard/links/launch", data={**form, field: value})
        assert bad.status_code == 400, field
        assert f'id="{field}-error">' in bad.get_data(as_text=True)
        assert message in bad.get_data(as_text=True)
        assert client.get("/api/links/launch", headers=AUTH).get_json() == api
    # emptied boxes clear the options: a plain link again
    cleared = {**form, "ios_url": "", "expired_url": "", "max_clicks": "", "destinations": ""}
    assert client.post("/dashboard/links/launch", data=cleared).status_code == 303
    after = client.get("/api/links/launch", headers=AUTH).get_json()
    assert (after["ios_url"], after["expired_url"], after["max_clicks"]) == (None, None, None)
    assert after["destinations"] == []


def test_ab_lines_as_the_label_says_with_names_of_several_words(app):
    client, token = signed_in(app)
    form = {
        "csrf_token": token, "url": "https://shop.example.com/", "channel": "twitter",
        "campaign": "spring", "code": "hero",
        # the label's format: URL, weight, name; a URL with a comma of its own; and the
        # older spaces-only line, which keeps working
        "destinations": "https://shop.example.com/a, 50, Hero video\n"
                        "https://shop.example.com/b?tags=x,y, 30, Plain page\n"
                        "https://shop.example.com/c 20 third",
    }  # fmt: skip
    assert client.post("/dashboard/links/new", data=form).status_code == 303
    api = client.get("/api/links/hero", headers=AUTH).get_json()
    assert api["destinations"] == [
        {"name": "Hero video", "url": "https://shop.example.com/a", "weight": 50},
        {"name": "Plain page", "url": "https://shop.example.com/b?tags=x,y", "weight": 30},
        {"name": "third", "url": "https://shop.example.com/c", "weight": 20},
    ]
    # "A click lands on" shows each variant with its share and its UTM tags
    page = client.get("/dashboard/links/hero").get_data(as_text=True)
    landing = re.search(r'id="final-url-variants">(.*?)</ul>', page, re.S).group(1)
    assert [re.sub(r"<[^>]+>", "", m).split(" (")[0] for m in re.findall(
        r'<li data-variant="[^"]+">(.*?)</li>', landing, re.S)] == [
        "Hero video", "Plain page", "third"]  # fmt: skip
    assert "(50 % of visitors)" in landing and "(30 % of visitors)" in landing
    assert (
        "https://shop.example.com/b?tags=x,y&amp;utm_source=twitter&amp;utm_medium=social"
        "&amp;utm_campaign=spring&amp;ct_click=CLICK_ID" in landing
    )
    # a name the API refuses is named in the form's words
    bad = client.post(
        "/dashboard/links/hero",
        data={**form, "destinations": "https://shop.example.com/a, 1, a/b\n"
                                      "https://shop.example.com/b, 1, B"},
    )  # fmt: skip
    assert bad.status_code == 400
    assert "Name each A/B destination with up to 32 letters, digits, spaces" in bad.get_data(
        as_text=True
    )
    # a weight missing between URL and name is refused, not guessed
    missing = client.post(
        "/dashboard/links/hero",
        data={**form, "destinations": "https://shop.example.com/a, Hero video\n"
                                      "https://shop.example.com/b, 1, B"},
    )  # fmt: skip
    assert missing.status_code == 400
    assert "Write one A/B destination per line" in missing.get_data(as_text=True)
    assert client.get("/api/links/hero", headers=AUTH).get_json() == api


def test_a_links_page_charts_its_clicks_and_conversions(app):
    build_dataset(app.config["DATABASE"])
    client, _ = signed_in(app)
    page = client.get(
        "/dashboard/links/tw-spring?period=custom&from=2026-03-01&to=2026-03-03"
    ).get_data(as_text=True)
    chart = json.loads(re.search(r'id="link-chart-1-data">(.*?)</script>', page, re.S).group(1))
    assert chart["labels"] == ["2026-03-01", "2026-03-02", "2026-03-03"]
    data = {d["label"]: d["data"] for d in chart["datasets"]}
    # v1 and v2 clicked on 03-01 (the bot is not a human click); v2's signup is credited
    # to it under last touch; no QR scans
    assert data == {"Human clicks": [2, 0, 0], "Visitors": [2, 0, 0], "QR scans": [0, 0, 0],
                    "Conversions": [1, 0, 0]}  # fmt: skip
    assert 'data-chart="link-chart-1-data"' in page
    assert "/dashboard/static/vendor/chart.umd.min.js" in page


def test_the_links_page_searches_as_the_api_does(app):
    """The page lists through the links API's own listing: its text search
    reads the title (not the channel), and its count is the API's total."""
    build_dataset(app.config["DATABASE"])
    client, _ = signed_in(app)
    db = connect(app.config["DATABASE"])
    db.execute("UPDATE links SET title = 'Winter boots' WHERE code = 'em-spring'")
    db.close()
    page = client.get("/dashboard/links?q=boots").get_data(as_text=True)
    assert [p.split('"')[0] for p in page.split('data-code="')[1:]] == ["em-spring"]
    api = app.test_client().get("/api/links?q=boots", headers=AUTH).get_json()
    assert [link["code"] for link in api["links"]] == ["em-spring"]
    page = client.get("/dashboard/links?q=twitter").get_data(as_text=True)
    assert 'data-code="' not in page
    assert app.test_client().get("/api/links?q=twitter", headers=AUTH).get_json()["total"] == 0
