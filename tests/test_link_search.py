"""GET /api/links as a search: tags, text, channel/campaign, sorting by
clicks, offset pages with a total -- and how custom codes compare."""

from conftest import AUTH, browser, make_link


def codes(client, query="") -> tuple[list[str], int]:
    response = client.get(f"/api/links?{query}", headers=AUTH)
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    return [link["code"] for link in body["links"]], body["total"]


def test_tags_match_exactly_never_as_a_substring(client):
    make_link(client, code="one", tags=["spring"])
    make_link(client, code="two", tags=["spring-sale", "email"])
    make_link(client, code="three", tags=["Spring"])
    make_link(client, code="four", tags=['"spring"'])  # the JSON text of "spring" quoted
    assert codes(client, "tag=spring") == (["one"], 1)
    assert codes(client, "tag=spring-sale") == (["two"], 1)
    assert codes(client, "tag=sprin") == ([], 0)
    assert codes(client, "tag=Spring") == (["three"], 1)
    assert codes(client, "tag=%22spring%22") == (["four"], 1)


def test_q_searches_code_url_campaign_and_title(client):
    make_link(client, code="alpha", url="https://shop.example.com/shoes")
    make_link(client, code="beta", campaign="Black Friday")
    make_link(client, code="gamma", title="Winter boots")
    make_link(client, code="delta")
    assert codes(client, "q=SHOES") == (["alpha"], 1)  # case-insensitive
    assert codes(client, "q=friday") == (["beta"], 1)
    assert codes(client, "q=boots") == (["gamma"], 1)
    assert codes(client, "q=elt") == (["delta"], 1)
    # LIKE wildcards are plain text here
    assert codes(client, "q=%25") == ([], 0)
    assert codes(client, "q=_") == ([], 0)


def test_filters_combine_and_pages_carry_the_total(client):
    for i in range(5):
        make_link(client, code=f"tw{i}", channel="twitter", tags=["a"] if i % 2 else ["b"])
    make_link(client, code="li0", channel="linkedin", tags=["a"])
    # newest first; tw1 and tw3 carry tag a on twitter
    assert codes(client, "channel=twitter&tag=a") == (["tw3", "tw1"], 2)
    assert codes(client, "channel=twitter&limit=2&offset=2") == (["tw2", "tw1"], 5)
    assert codes(client, "tag=a&q=li") == (["li0"], 1)
    body = client.get("/api/links?limit=2", headers=AUTH).get_json()
    # the response keeps its shape: links, limit, offset, total (and the sort used)
    assert set(body) == {"links", "limit", "offset", "total", "sort"}
    assert body["sort"] == "newest"


def test_sort_by_clicks_reads_human_clicks_from_the_aggregates(app, client):
    make_link(client, code="few")
    make_link(client, code="many")
    make_link(client, code="none")
    make_link(client, code="bots")
    for code, times in [("few", 1), ("many", 3)]:
        for _ in range(times):
            client.get(f"/{code}")
    for _ in range(5):  # crawlers and scripts are not people
        browser(app, "curl/8.5").get("/bots")
    # many (3 human) > few (1) > then 0 human clicks each, newest first: bots, none
    assert codes(client, "sort=clicks") == (["many", "few", "bots", "none"], 4)
    assert codes(client, "sort=clicks&limit=1&offset=1") == (["few"], 4)


def test_bad_search_parameters_are_refused(client):
    for query, field in [("sort=oldest", "sort"), ("limit=0", "limit"), ("offset=-1", "offset")]:
        response = client.get(f"/api/links?{query}", headers=AUTH)
        assert response.status_code == 400
        assert response.get_json()["field"] == field


def test_codes_are_case_sensitive_like_in_urls(client):
    """Decision: `Sale` and `sale` are different links, as on Bitly. URL
    paths are case-sensitive, every code already shared keeps meaning what
    it meant, and random codes use both cases. Only the reserved words are
    compared case-insensitively, so `API` cannot shadow /api."""
    make_link(client, code="Sale", url="https://shop.example.com/upper")
    make_link(client, code="sale", url="https://shop.example.com/lower")
    assert client.get("/Sale").headers["Location"].startswith("https://shop.example.com/upper")
    assert client.get("/sale").headers["Location"].startswith("https://shop.example.com/lower")
    taken = client.post(
        "/api/links",
        json={"url": "https://a.example/", "channel": "x", "campaign": "c", "code": "Sale"},
        headers=AUTH,
    )
    assert taken.status_code == 409
    reserved = client.post(
        "/api/links",
        json={"url": "https://a.example/", "channel": "x", "campaign": "c", "code": "API"},
        headers=AUTH,
    )
    assert reserved.status_code == 400 and reserved.get_json()["field"] == "code"


def test_the_cli_lists_by_tag_and_text(client, runner):
    make_link(client, code="one", tags=["spring"], title="Boots")
    make_link(client, code="two", tags=["spring-sale"])
    result = runner.invoke(args=["links", "list", "--tag", "spring"])
    assert result.exit_code == 0 and "/one\t" in result.output and "/two" not in result.output
    result = runner.invoke(args=["links", "list", "--search", "boots"])
    assert "/one\t" in result.output and "/two" not in result.output
