"""Advocates and personal share links (advocates/people.py and its API)."""

from conftest import AUTH, BROWSER_UA, make_link, post_webhook
from shortener.clicks import classify, record_click
from shortener.clock import parse_moment


def create(client, status=201, **body):
    response = client.post("/api/advocates", json=body, headers=AUTH)
    assert response.status_code == status, response.get_json()
    return response.get_json()


def share(client, code, status=None, **body):
    response = client.post(f"/api/links/{code}/share", json=body, headers=AUTH)
    if status is not None:
        assert response.status_code == status, response.get_json()
    return response


def click(db, link_code, visitor, at):
    link_id = db.execute("SELECT id FROM links WHERE code = ?", [link_code]).fetchone()[0]
    return record_click(
        db,
        link_id=link_id,
        visitor_id=visitor,
        now=parse_moment(at),
        agent=classify(BROWSER_UA),
        is_bot=False,
        user_agent=BROWSER_UA,
    )


def test_create_list_get_update_deactivate(client):
    ada = create(client, name="Ada Lovelace", email="ada@example.com", customer_id="c-1")
    assert ada["handle"] == "ada-lovelace"
    assert ada["active"] is True and ada["depth"] == 0 and ada["parent_advocate_id"] is None
    assert ada["links"] == []
    # a second Ada gets the next free handle, not a 409
    assert create(client, name="Ada Lovelace")["handle"] == "ada-lovelace-2"
    assert create(client, name="Zoë O'Brien")["handle"] == "zoe-obrien"
    assert create(client, name="1984")["handle"] == "advocate-1984"

    listed = client.get("/api/advocates", headers=AUTH).get_json()
    assert listed["total"] == 4
    assert [a["handle"] for a in listed["advocates"]] == [
        "ada-lovelace",
        "ada-lovelace-2",
        "zoe-obrien",
        "advocate-1984",
    ]
    by_id = client.get(f"/api/advocates/{ada['id']}", headers=AUTH).get_json()
    by_handle = client.get("/api/advocates/ada-lovelace", headers=AUTH).get_json()
    assert by_id == by_handle

    changed = client.patch(
        "/api/advocates/ada-lovelace", json={"email": "ada@math.example"}, headers=AUTH
    )
    assert changed.status_code == 200 and changed.get_json()["email"] == "ada@math.example"

    gone = client.delete("/api/advocates/ada-lovelace", headers=AUTH)
    assert gone.status_code == 200 and gone.get_json()["active"] is False
    active = client.get("/api/advocates?active=true", headers=AUTH).get_json()
    assert active["total"] == 3
    reactivated = client.patch("/api/advocates/ada-lovelace", json={"active": True}, headers=AUTH)
    assert reactivated.get_json()["active"] is True


def test_bad_input_is_refused_and_nothing_stored(client, db):
    assert create(client, 400, email="x@example.com")["field"] == "name"
    assert create(client, 400, name="A", email="not-an-email")["field"] == "email"
    assert create(client, 400, name="A", handle="Bad Handle!")["field"] == "handle"
    assert create(client, 400, name="A", handle="2024")["field"] == "handle"  # reads as an id
    assert create(client, 400, name="A", followers=10)["field"] == "followers"
    create(client, name="Ada", handle="ada")
    assert create(client, 409, name="Ada", handle="ada")["field"] == "handle"
    patch = client.patch("/api/advocates/ada", json={"handle": "x"}, headers=AUTH)
    assert patch.status_code == 400 and patch.get_json()["field"] == "handle"
    patch = client.patch("/api/advocates/ada", json={"active": "no"}, headers=AUTH)
    assert patch.status_code == 400 and patch.get_json()["field"] == "active"
    assert client.get("/api/advocates/nobody", headers=AUTH).status_code == 404
    assert db.execute("SELECT count(*) FROM advocates").fetchone()[0] == 1


def test_share_gives_one_personal_link_per_advocate(client, db):
    source = make_link(client, medium="social", tags=["spring"])
    ada = create(client, name="Ada")
    first = share(client, source["code"], 201, advocate=ada["id"]).get_json()
    again = share(client, source["code"], 200, advocate="ada").get_json()
    assert first["code"] == again["code"] != source["code"]
    assert first["created"] is True and again["created"] is False
    assert (first["url"], first["channel"], first["campaign"], first["medium"]) == (
        source["url"],
        source["channel"],
        source["campaign"],
        "social",
    )
    assert first["content"] == "ada" and first["tags"] == ["spring"]
    row = db.execute(
        "SELECT advocate_id, parent_link_id FROM links WHERE code = ?", [first["code"]]
    ).fetchone()
    source_id = db.execute("SELECT id FROM links WHERE code = ?", [source["code"]]).fetchone()[0]
    assert row == (ada["id"], source_id)
    # sharing the personal link itself shares its source: still the same link
    assert share(client, first["code"], 200, advocate="ada").get_json()["code"] == first["code"]
    # the redirect carries the handle as utm_content
    redirect = client.get(f"/{first['code']}")
    assert "utm_content=ada" in redirect.headers["Location"]
    assert [
        link["code"] for link in client.get("/api/advocates/ada", headers=AUTH).get_json()["links"]
    ] == [first["code"]]


def test_a_personal_link_has_its_sources_social_preview(client):
    source = make_link(client, title="Spring sale", image="https://shop.example.com/spring.png")
    create(client, name="Ada")
    personal = share(client, source["code"], 201, advocate="ada").get_json()
    assert (personal["title"], personal["image"]) == (source["title"], source["image"])
    client.patch(f"/api/links/{source['code']}", json={"title": "Last days"}, headers=AUTH)
    after = client.get(f"/api/links/{personal['code']}", headers=AUTH).get_json()
    assert after["title"] == "Last days"


def test_a_personal_link_has_its_sources_device_destinations_not_its_ab_test(client):
    source = make_link(client, ios_url="https://apps.example.com/ios")
    create(client, name="Ada")
    personal = share(client, source["code"], 201, advocate="ada").get_json()
    assert personal["ios_url"] == "https://apps.example.com/ios"
    client.patch(
        f"/api/links/{source['code']}",
        json={"android_url": "https://apps.example.com/android",
              "destinations": [{"name": "a", "url": "https://shop.example.com/a", "weight": 1},
                               {"name": "b", "url": "https://shop.example.com/b", "weight": 1}]},
        headers=AUTH,
    )  # fmt: skip
    after = client.get(f"/api/links/{personal['code']}", headers=AUTH).get_json()
    assert after["android_url"] == "https://apps.example.com/android"
    assert not after.get("destinations")


def test_the_link_content_wins_over_the_handle(client):
    source = make_link(client, content="hero-banner")
    create(client, name="Ada")
    assert share(client, source["code"], 201, advocate="ada").get_json()["content"] == "hero-banner"


def test_bulk_share_is_all_or_nothing(client, db):
    source = make_link(client)
    for name in ("Ada", "Bob", "Cy"):
        create(client, name=name)
    share(client, source["code"], 201, advocate="ada")
    refused = share(client, source["code"], 404, advocates=["bob", "nobody"])
    assert refused.get_json()["field"] == "advocate"
    assert db.execute("SELECT count(*) FROM links WHERE advocate_id IS NOT NULL").fetchone()[0] == 1
    response = share(client, source["code"], 201, advocates=["ada", "bob", "cy"]).get_json()
    assert [(i["advocate"], i["created"]) for i in response["links"]] == [
        ("ada", False),
        ("bob", True),
        ("cy", True),
    ]
    assert len({i["code"] for i in response["links"]}) == 3
    again = share(client, source["code"], 200, advocates=["ada", "bob", "cy"]).get_json()
    assert [i["code"] for i in again["links"]] == [i["code"] for i in response["links"]]


def test_share_refusals(client):
    source = make_link(client)
    create(client, name="Ada")
    assert share(client, "nope", 404, advocate="ada").get_json()["field"] == "code"
    assert share(client, source["code"], 400, advocate="ada", x=1).status_code == 400
    assert share(client, source["code"], 400, advocates=[]).get_json()["field"] == "advocates"
    assert share(client, source["code"], 400, advocate=[1]).get_json()["field"] == "advocate"
    client.delete("/api/advocates/ada", headers=AUTH)
    assert share(client, source["code"], 409, advocate="ada").get_json()["field"] == "advocate"
    create(client, name="Bob")
    client.delete(f"/api/links/{source['code']}", headers=AUTH)
    assert share(client, source["code"], 409, advocate="bob").get_json()["field"] == "code"


def test_a_referred_friend_joins_the_tree_one_generation_deeper(client, db):
    source = make_link(client)
    ada = create(client, name="Ada")
    ada_link = share(client, source["code"], 201, advocate="ada").get_json()
    # bea clicks ada's link on 03-01 and buys on 03-02
    click(db, ada_link["code"], "v-bea", "2025-03-01T12:00:00Z")
    bought = post_webhook(
        client,
        {"goal": "purchase", "value": "10.00", "currency": "EUR", "visitor_id": "v-bea",
         "customer_id": "cust-bea", "occurred_at": "2025-03-02T12:00:00Z", "order_id": "o-1"},
    )  # fmt: skip
    conversion = bought.get_json()["conversion"]["id"]
    bea = create(client, name="Bea", referred_by_conversion=conversion)
    assert (bea["parent_advocate_id"], bea["depth"]) == (ada["id"], 1)
    assert (bea["visitor_id"], bea["customer_id"]) == ("v-bea", "cust-bea")
    assert bea["referred_conversion_id"] == conversion
    # invited to share: she already has her own link for the campaign link that
    # brought her (asking for it again gives the same one)
    [bea_own] = bea["links"]
    assert (bea_own["url"], bea_own["campaign"], bea_own["content"]) == (
        source["url"],
        source["campaign"],
        "bea",
    )
    # cy clicks bea's personal link and is invited by visitor id: generation 2
    bea_link = share(client, source["code"], 200, advocate="bea").get_json()
    assert bea_link["code"] == bea_own["code"]
    click(db, bea_link["code"], "v-cy", "2025-03-05T12:00:00Z")
    cy = create(client, name="Cy", referred_by_visitor="v-cy", share=False)
    assert (cy["parent_advocate_id"], cy["depth"]) == (bea["id"], 2)
    assert cy["links"] == []  # share: false -- the record only
    assert create(client, 400, name="Di", referred_by_visitor="v-cy", share="yes")["field"] == (
        "share"
    )

    # a conversion that no advocate brought, and unknown ones, are refused
    plain = post_webhook(
        client,
        {"goal": "signup", "visitor_id": "v-dan", "order_id": "o-2"},
        msg_id="msg_2",
    ).get_json()["conversion"]["id"]
    assert create(client, 400, name="Dan", referred_by_conversion=plain)["field"] == (
        "referred_by_conversion"
    )
    assert create(client, 404, name="Dan", referred_by_conversion=999)["field"] == (
        "referred_by_conversion"
    )
    assert create(client, 400, name="Dan", referred_by_visitor="v-dan")["field"] == (
        "referred_by_visitor"
    )
    assert create(client, 400, name="Dan", referred_by_conversion="7")["field"] == (
        "referred_by_conversion"
    )
    assert db.execute("SELECT count(*) FROM advocates").fetchone()[0] == 3


def test_the_shared_fixture_builds_the_referral_tree(tmp_path):
    from advocate_fixture import build_programme

    programme = build_programme(tmp_path)
    fay = programme.get("/api/advocates/fay").get_json()
    # fay came through quinn's link Q: one generation below quinn
    assert (fay["parent_advocate_id"], fay["depth"]) == (programme.advocates["quinn"], 1)
    assert fay["customer_id"] == "cust-fay" and fay["visitor_id"] == "v-fay"
    pat = programme.get("/api/advocates/pat").get_json()
    assert sorted(link["campaign"] for link in pat["links"]) == ["spring", "summer"]


def test_out_of_range_ids_are_not_found(client):
    assert create(client, 404, name="Dan", referred_by_conversion=2**70)["field"] == (
        "referred_by_conversion"
    )
    assert client.get(f"/api/advocates/{2**70}", headers=AUTH).status_code == 404
    source = make_link(client)
    assert share(client, source["code"], 404, advocate=2**70).get_json()["field"] == "advocate"


def test_personal_links_follow_their_source(client):
    source = make_link(client, medium="social")
    create(client, name="Ada")
    personal = share(client, source["code"], 201, advocate="ada").get_json()
    changed = client.patch(
        f"/api/links/{source['code']}",
        json={"url": "https://shop.example.com/fixed", "term": "shoes", "content": "banner"},
        headers=AUTH,
    )
    assert changed.status_code == 200
    after = client.get(f"/api/links/{personal['code']}", headers=AUTH).get_json()
    # destination and utm_term follow; utm_content stays the advocate's handle
    assert (after["url"], after["term"], after["content"]) == (
        "https://shop.example.com/fixed",
        "shoes",
        "ada",
    )
    client.delete(f"/api/links/{source['code']}", headers=AUTH)
    assert client.get(f"/api/links/{personal['code']}", headers=AUTH).get_json()["disabled"]
    # a refused change changes nothing, on either link
    refused = client.patch(f"/api/links/{source['code']}", json={"url": "ftp://x"}, headers=AUTH)
    assert refused.status_code == 400
    assert client.get(f"/api/links/{personal['code']}", headers=AUTH).get_json()["url"] == (
        "https://shop.example.com/fixed"
    )


def test_erasing_a_person_anonymises_them_as_an_advocate(tmp_path):
    from advocate_fixture import build_programme

    from conversions import privacy
    from shortener.db import connect

    programme = build_programme(tmp_path)
    db = connect(programme.app.config["DATABASE"])
    # no app context: erasure reaches the advocates part on a bare connection
    try:
        # fay was referred by her own purchase and shares link F: erasing her
        # deletes that conversion (which an advocate row points at) without a
        # foreign-key error, and leaves no name, email, ids or handle of hers
        privacy.erase(db, customer_id="cust-fay")
        row = db.execute(
            "SELECT handle, name, email, customer_id, visitor_id, referred_conversion_id,"
            " active, parent_advocate_id, depth FROM advocates WHERE id = ?",
            [programme.advocates["fay"]],
        ).fetchone()
        erased = f"erased-{programme.advocates['fay']}"
        assert row == (erased, "(erased)", None, None, None, None, 0,
                       programme.advocates["quinn"], 1)  # fmt: skip
        content = db.execute(
            "SELECT content FROM links WHERE code = ?", [programme.codes["F"]]
        ).fetchone()[0]
        assert content == erased
        # erasing the visitor of a friend who referred no one touches no advocate
        privacy.erase(db, visitor_id="v-gus")
        assert db.execute("SELECT count(*) FROM advocates WHERE name = '(erased)'").fetchone() == (
            1,
        )
    finally:
        db.close()


def test_a_friend_is_invited_once_and_never_their_own_referrer(tmp_path):
    from advocate_fixture import build_programme

    programme = build_programme(tmp_path)
    client = programme.client
    # fay is already quinn's referred friend
    again = create(client, 409, name="Fay Again",
                   referred_by_conversion=programme.conversions["fay"])  # fmt: skip
    assert again == {"error": "that friend is already advocate 'fay'",
                     "field": "referred_by_conversion"}  # fmt: skip
    assert create(client, 409, name="Fay", referred_by_visitor="v-fay")["field"] == (
        "referred_by_visitor"
    )
    # sam bought through his own link: his purchase refers no new advocate
    own = create(client, 400, name="Sam Twin", referred_by_conversion=programme.conversions["sam"])
    assert "converting through their own link" in own["error"]
    # gus, quinn's other buyer, may still be invited: generation 1 like fay
    gus = create(client, name="Gus", referred_by_conversion=programme.conversions["gus"])
    assert (gus["parent_advocate_id"], gus["depth"]) == (programme.advocates["quinn"], 1)


def test_a_non_ascii_digit_key_is_a_handle_not_an_id(client):
    # "²".isdigit() is True but int("²") raises: found by the API fuzzing
    response = client.get("/api/advocates/%C2%B2", headers=AUTH)
    assert response.status_code == 404 and response.get_json()["field"] == "advocate"
