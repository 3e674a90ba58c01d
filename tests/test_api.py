"""The /api/links routes: create, read, list, change, disable."""

from urllib.parse import parse_qs, quote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import AUTH, app_config, browser, make_link
from shortener import create_app
from shortener.app import init_db


def row(db, code):
    return next(db.query("SELECT * FROM links WHERE code = ?", [code]), None)


def counts(db) -> dict:
    tables = ("links", "clicks", "conversions", "credits")
    return {t: db.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in tables}


# -- create ------------------------------------------------------------------


def test_create_answers_201_with_code_short_url_and_fields(client, db):
    response = client.post(
        "/api/links",
        json={
            "url": "https://shop.example.com/sale?ref=1",
            "channel": "LinkedIn",
            "campaign": "spring-sale",
            "medium": "paid-social",
            "content": "carousel",
            "term": "running shoes",
            "code": "spring",
            "expires_at": "2099-01-01T00:00:00Z",
        },
        headers=AUTH,
    )
    assert response.status_code == 201
    assert response.is_json
    link = response.get_json()
    assert link["code"] == "spring"
    assert link["short_url"] == "http://go.example.test/spring"  # BASE_URL + code
    assert {k: link[k] for k in ("url", "channel", "campaign", "medium", "content", "term")} == {
        "url": "https://shop.example.com/sale?ref=1",
        "channel": "linkedin",
        "campaign": "spring-sale",
        "medium": "paid-social",
        "content": "carousel",
        "term": "running shoes",
    }
    assert link["expires_at"] == "2099-01-01T00:00:00.000000Z"
    assert link["tags"] == [] and link["disabled"] is False
    assert link["created_at"] == link["updated_at"]
    stored = row(db, "spring")
    assert stored["url"] == "https://shop.example.com/sale?ref=1"
    assert stored["channel"] == "linkedin"
    assert stored["disabled"] == 0


def test_short_url_falls_back_to_the_request_origin_without_base_url(tmp_path):
    config = app_config(tmp_path, BASE_URL=None)
    init_db(config["DATABASE"])
    client = browser(create_app(config))
    link = make_link(client, code="abc")
    assert link["short_url"] == "http://localhost/abc"


def test_random_code_when_none_is_given(client):
    link = make_link(client)
    assert len(link["code"]) == 7
    assert link["short_url"] == f"http://go.example.test/{link['code']}"


# -- authentication ----------------------------------------------------------

ROUTES = [
    ("post", "/api/links"),
    ("get", "/api/links"),
    ("get", "/api/links/guarded"),
    ("patch", "/api/links/guarded"),
    ("delete", "/api/links/guarded"),
]
BAD_AUTH = {
    "no header": {},
    "wrong key": {"Authorization": "Bearer not-the-key"},
    "key with a suffix": {"Authorization": "Bearer test-api-keyX"},
    "key prefix": {"Authorization": "Bearer test-api"},
    "empty bearer": {"Authorization": "Bearer "},
    "no scheme": {"Authorization": "test-api-key"},
    "basic scheme": {"Authorization": "Basic dGVzdC1hcGkta2V5"},
    "key in another header": {"X-API-Key": "test-api-key"},
}


@pytest.mark.parametrize("method, path", ROUTES)
@pytest.mark.parametrize("headers", BAD_AUTH.values(), ids=BAD_AUTH.keys())
def test_every_route_needs_the_api_key(client, db, method, path, headers):
    make_link(client, code="guarded")
    before = row(db, "guarded")
    body = {"url": "https://evil.example/", "channel": "x", "campaign": "c", "disabled": True}
    response = getattr(client, method)(path, json=body, headers=headers)
    assert response.status_code == 401
    assert "API key" in response.get_json()["error"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert row(db, "guarded") == before
    assert counts(db)["links"] == 1


def test_no_key_configured_means_no_access(tmp_path):
    config = app_config(tmp_path, ADMIN_API_KEY=None)
    init_db(config["DATABASE"])
    client = create_app(config).test_client()
    for header in ("Bearer None", "Bearer ", "Bearer null"):
        assert client.get("/api/links", headers={"Authorization": header}).status_code == 401


def test_bearer_scheme_is_case_insensitive(client):
    response = client.get("/api/links", headers={"Authorization": "bearer test-api-key"})
    assert response.status_code == 200


# -- read and list -----------------------------------------------------------


def test_get_one_link(client):
    created = make_link(client, code="one", tags=["q3"])
    response = client.get("/api/links/one", headers=AUTH)
    assert response.status_code == 200
    assert response.get_json() == {**created, "unfurls": {}}  # preview fetches per platform


def test_unknown_code_is_404_json(client):
    for method in ("get", "patch", "delete"):
        response = getattr(client, method)("/api/links/nope", json={}, headers=AUTH)
        assert response.status_code == 404
        assert response.get_json()["field"] == "code"


def test_list_pages_newest_first(client):
    codes = [make_link(client, code=f"link{i}")["code"] for i in range(5)]
    newest_first = codes[::-1]  # ["link4", ..., "link0"]
    pages = []
    for offset in (0, 2, 4):
        body = client.get(f"/api/links?limit=2&offset={offset}", headers=AUTH).get_json()
        assert (body["limit"], body["offset"], body["total"]) == (2, offset, 5)
        pages.append([link["code"] for link in body["links"]])
    assert pages == [newest_first[0:2], newest_first[2:4], newest_first[4:5]]
    past_the_end = client.get("/api/links?offset=5", headers=AUTH).get_json()
    assert past_the_end["links"] == [] and past_the_end["total"] == 5


def test_list_defaults_and_short_urls(client):
    make_link(client, code="abc")
    body = client.get("/api/links", headers=AUTH).get_json()
    assert (body["limit"], body["offset"], body["total"]) == (100, 0, 1)
    assert body["links"][0]["short_url"] == "http://go.example.test/abc"


def test_list_filters_by_channel_and_campaign(client):
    make_link(client, code="tw-spring", channel="twitter", campaign="spring")
    make_link(client, code="tw-fall", channel="twitter", campaign="fall")
    make_link(client, code="li-spring", channel="linkedin", campaign="spring")

    def codes(query):
        body = client.get(f"/api/links?{query}", headers=AUTH).get_json()
        return sorted(link["code"] for link in body["links"]), body["total"]

    assert codes("channel=Twitter") == (["tw-fall", "tw-spring"], 2)
    assert codes("campaign=spring") == (["li-spring", "tw-spring"], 2)
    assert codes("channel=twitter&campaign=spring") == (["tw-spring"], 1)
    assert codes("channel=email") == ([], 0)


@pytest.mark.parametrize(
    "query, field",
    [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=abc", "limit"),
        ("limit=", "limit"),
        ("limit=1.5", "limit"),
        ("offset=-1", "offset"),
        ("offset=x", "offset"),
    ],
)
def test_bad_paging_is_400_naming_the_parameter(client, query, field):
    response = client.get(f"/api/links?{query}", headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["field"] == field


# -- change ------------------------------------------------------------------


def follow(client, code):
    return client.get(f"/{code}")


def test_patch_destination_changes_where_the_link_goes(client, db):
    make_link(client, code="promo")
    response = client.patch(
        "/api/links/promo", json={"url": "https://shop.example.com/new"}, headers=AUTH
    )
    assert response.status_code == 200
    assert response.get_json()["url"] == "https://shop.example.com/new"
    assert row(db, "promo")["url"] == "https://shop.example.com/new"
    location = urlsplit(follow(client, "promo").headers["Location"])
    assert (location.netloc, location.path) == ("shop.example.com", "/new")


def test_patch_tags_expiry_and_utm_fields(client, db):
    make_link(client, code="promo")
    body = {
        "tags": ["b", "a"],
        "expires_at": "2099-05-01T00:00:00Z",
        "medium": "paid",
        "content": "video",
        "term": "shoes",
    }
    link = client.patch("/api/links/promo", json=body, headers=AUTH).get_json()
    assert link["tags"] == ["a", "b"]
    assert link["expires_at"] == "2099-05-01T00:00:00.000000Z"
    assert (link["medium"], link["content"], link["term"]) == ("paid", "video", "shoes")
    assert link["updated_at"] >= link["created_at"]
    query = parse_qs(urlsplit(follow(client, "promo").headers["Location"]).query)
    assert query["utm_medium"] == ["paid"] and query["utm_content"] == ["video"]
    cleared = client.patch(
        "/api/links/promo", json={"expires_at": None, "tags": None}, headers=AUTH
    )
    assert cleared.get_json()["expires_at"] is None
    assert cleared.get_json()["tags"] == []


def test_patch_expiry_into_the_past_ends_the_link(client, db):
    make_link(client, code="promo")
    response = client.patch(
        "/api/links/promo", json={"expires_at": "2020-01-01T00:00:00Z"}, headers=AUTH
    )
    assert response.status_code == 200
    assert follow(client, "promo").status_code == 410


def test_patch_disabled_switches_the_link_off_and_on(client):
    make_link(client, code="promo")
    off = client.patch("/api/links/promo", json={"disabled": True}, headers=AUTH)
    assert off.get_json()["disabled"] is True
    assert follow(client, "promo").status_code == 410
    on = client.patch("/api/links/promo", json={"disabled": False}, headers=AUTH)
    assert on.get_json()["disabled"] is False
    assert follow(client, "promo").status_code == 302


@pytest.mark.parametrize(
    "body, field",
    [
        ({"channel": "facebook"}, "channel"),
        ({"campaign": "other"}, "campaign"),
        ({"code": "renamed"}, "code"),
        ({"short_url": "x"}, "short_url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "https://go.example.test/loop"}, "url"),
        ({"url": None}, "url"),
        ({"disabled": "yes"}, "disabled"),
        ({"disabled": 1}, "disabled"),
        ({"tags": "a"}, "tags"),
        ({"expires_at": "soon"}, "expires_at"),
        ({"medium": 3}, "medium"),
        # one bad field spoils the whole change
        ({"tags": ["ok"], "url": "data:text/html,x"}, "url"),
        ({"disabled": True, "channel": "x"}, "channel"),
    ],
)
def test_refused_patch_changes_nothing(client, db, body, field):
    make_link(client, code="promo", tags=["keep"])
    before = row(db, "promo")
    response = client.patch("/api/links/promo", json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert row(db, "promo") == before


@pytest.mark.parametrize("body", [[], "x", None])
def test_patch_body_must_be_an_object(client, db, body):
    make_link(client, code="promo")
    before = row(db, "promo")
    response = client.patch("/api/links/promo", json=body, headers=AUTH)
    assert response.status_code == 400
    assert row(db, "promo") == before


# -- delete ------------------------------------------------------------------


def test_delete_disables_but_keeps_clicks_and_conversions(client, db):
    make_link(client, code="promo")
    hop = follow(client, "promo")
    click_id = parse_qs(urlsplit(hop.headers["Location"]).query)["ct_click"][0]
    client.get(f"/t/pixel.gif?goal=signup&order_id=A-1&click={click_id}")
    before = counts(db)
    assert (before["links"], before["clicks"], before["conversions"]) == (1, 1, 1)

    response = client.delete("/api/links/promo", headers=AUTH)
    assert response.status_code == 200
    assert response.get_json()["disabled"] is True
    assert counts(db) == before  # nothing deleted: the link row is only disabled
    assert row(db, "promo")["disabled"] == 1
    conversion = next(db.query("SELECT click_id FROM conversions"))
    assert conversion["click_id"] == click_id

    assert follow(client, "promo").status_code == 410
    assert counts(db) == before  # the refused follow recorded nothing
    again = client.delete("/api/links/promo", headers=AUTH)
    assert again.status_code == 200


def test_a_deleted_code_is_never_handed_out_again(client, db):
    make_link(client, code="promo")
    client.delete("/api/links/promo", headers=AUTH)
    response = client.post(
        "/api/links",
        json={"url": "https://other.example/", "channel": "x", "campaign": "c", "code": "promo"},
        headers=AUTH,
    )
    assert response.status_code == 409
    assert row(db, "promo")["url"] == "https://shop.example.com/sale"


# -- other methods and paths ---------------------------------------------------


def test_wrong_method_and_unknown_api_path_answer_json(client):
    put = client.put("/api/links/promo", json={}, headers=AUTH)
    assert put.status_code == 405 and "error" in put.get_json()
    missing = client.get("/api/nothing-here", headers=AUTH)
    assert missing.status_code == 404 and "error" in missing.get_json()


# -- no input is a server error -------------------------------------------------

# any character, with lone surrogates (valid JSON, not UTF-8) and controls made
# common; joined by hand because st.text() drops surrogates from a one_of alphabet
ANY_CHAR = (
    st.characters(exclude_categories=())
    | st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
    | st.characters(max_codepoint=0x20)
)


def any_text(min_size=0, max_size=30):
    return st.lists(ANY_CHAR, min_size=min_size, max_size=max_size).map("".join)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | any_text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=6,
)
FIELDS = ["url", "channel", "campaign", "medium", "content", "term", "code", "expires_at"]
VALID = {"url": "https://shop.example.com/", "channel": "x", "campaign": "c"}
# a valid body with one or two fields replaced, so each field's own checks are reached
BODIES = st.dictionaries(
    st.sampled_from([*FIELDS, "tags", "disabled", "x"]),
    any_text() | st.lists(any_text(max_size=5)) | JSON_VALUES,
    min_size=1,
    max_size=2,
).map(lambda changes: {**VALID, **changes})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=BODIES, patch=st.booleans())
def test_no_json_body_causes_a_server_error(tmp_path_factory, body, patch):
    client = fuzz_client(tmp_path_factory)
    if patch:
        response = client.patch("/api/links/fuzz", json=body, headers=AUTH)
    else:
        response = client.post("/api/links", json=body, headers=AUTH)
    assert response.status_code in (200, 201, 400, 409), response.data
    assert "error" in response.get_json() or response.status_code in (200, 201)
    assert client.get("/fuzz").status_code in (302, 410)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=any_text(min_size=1, max_size=80))
def test_no_path_or_query_causes_a_server_error(tmp_path_factory, text):
    client = fuzz_client(tmp_path_factory)
    part = quote(text.encode("utf-8", "surrogatepass"), safe="")
    # ("%2F" decodes to "/": werkzeug may answer 308 to merge slashes)
    assert client.get(f"/{part}").status_code < 500
    assert client.get(f"/api/links/{part}", headers=AUTH).status_code < 500
    listed = client.get(f"/api/links?limit={part}&offset={part}&channel={part}", headers=AUTH)
    assert listed.status_code in (200, 400)


_FUZZ = {}


def fuzz_client(tmp_path_factory):
    """One app for every example (hypothesis runs a test body many times)."""
    if "client" not in _FUZZ:
        path = tmp_path_factory.mktemp("fuzz")
        config = app_config(path)
        init_db(config["DATABASE"])
        client = browser(create_app(config))
        make_link(client, code="fuzz")
        _FUZZ["client"] = client
    return _FUZZ["client"]


def test_no_such_thing_is_one_404_shape_across_the_parts(client):
    # links, webhook endpoints, reward rules and advocates answer "not found"
    # through the one helper (shortener.errors.or_404), each naming its field
    for path, error, field in (
        ("/api/links/nope", "no link with code 'nope'", "code"),
        ("/api/webhooks/99", "no webhook endpoint 99", "id"),
        ("/api/reward-rules/99", "no reward rule 99", "id"),
        ("/api/advocates/nobody", "no advocate 'nobody'", "advocate"),
        ("/api/conversions/99/journey", "no conversion 99", "id"),
    ):
        response = client.get(path, headers=AUTH)
        assert (response.status_code, response.get_json()) == (
            404, {"error": error, "field": field}
        ), path  # fmt: skip
