"""The dashboard's Advocates page (dashboard/advocate_pages.py)."""

import re

from advocate_fixture import build_programme

from dashboard_support import signed_in


def test_the_page_lists_advocates_and_the_api_leaderboard(tmp_path):
    programme = build_programme(tmp_path)
    client, _ = signed_in(programme.app)
    page = client.get("/dashboard/advocates?period=all&campaign=spring").get_data(as_text=True)
    # nobody has a cost here, so no ROI: the API's order, quinn, fay, pat, sam (test_advocacy)
    board = page[page.index('id="leaderboard-table"') :]
    assert re.findall(r'data-col="advocate">([a-z]+)<', board) == ["quinn", "fay", "pat", "sam"]
    assert "converts below the campaign average" in board
    assert "too few visitors" in board
    # everyone, with fay referred by quinn one generation down
    fay = re.search(r'<tr data-advocate="fay">(.*?)</tr>', page, re.S).group(1)
    assert "quinn" in fay and '<td class="num" data-label="Referral depth">1</td>' in fay
    assert (
        'href="/dashboard/export/reports/advocates?model=last_touch&amp;campaign=spring'
        '&amp;format=csv"' in page
    )
    assert 'href="/dashboard/reports/referrals?model=last_touch&amp;period=all"' in page
    assert 'aria-current="page">Advocates<' in page


def test_the_leaderboard_sorts_by_roi_with_each_creators_cost(tmp_path):
    from creator_fixture import build_creators

    app = build_creators(tmp_path).application
    client, _ = signed_in(app)
    page = client.get("/dashboard/advocates?period=custom&from=2025-03-01&to=2025-03-31")
    board = page.get_data(as_text=True)
    board = board[board.index('id="leaderboard-table"') :]
    # March, last touch (tests/test_creator_return.py): ROI cy 42.857143, ada -16.666667;
    # bo and dee have no cost entered, so no ROI: after them, in the API's order
    assert re.findall(r'data-col="advocate">([a-z]+)<', board) == ["cy", "ada", "dee", "bo"]
    head = board[: board.index("</thead>")]
    # cost beside what they brought (fees and rewards, its parts, in all columns)
    headings = re.findall(r"<th[^>]*>([^<]+)</th>", head)
    assert headings[headings.index("Revenue") :] == [
        "Revenue", "New customers", "Cost", "ROI\u00a0%", "Cost per new customer (CAC)"
    ]  # fmt: skip
    cy = board[board.index('data-col="advocate">cy<') :].split("</tr>")[0]
    assert re.search(r'data-col="cost" class="num">105\.00 [A-Z]{3}<', cy)
    assert 'data-col="roi_percent" class="num">42.86 %<' in cy
    dee = board[board.index('data-col="advocate">dee<') :].split("</tr>")[0]
    # no cost entered for dee: said so, with the costs form filled for dee
    assert 'href="/dashboard/costs?advocate=dee#cost-form">No cost entered</a>' in dee
    assert re.search(r'data-col="roi_percent"( class="num")?>—<', dee)


def test_the_reports_index_offers_the_advocate_reports(tmp_path):
    programme = build_programme(tmp_path)
    client, _ = signed_in(programme.app)
    index = client.get("/dashboard/reports").get_data(as_text=True)
    for name in ("advocates", "referrals", "advocate-candidates"):
        assert f'href="/dashboard/reports/{name}"' in index
    page = client.get("/dashboard/reports/referrals?period=all").get_data(as_text=True)
    assert page.count("<tr>") == 3 + 1  # spring 1, spring 2, summer 1 and the header


def test_an_empty_programme_says_how_to_start(app):
    client, _ = signed_in(app)
    page = client.get("/dashboard/advocates").get_data(as_text=True)
    assert "No advocates yet" in page and "0 advocates" in page
    # what fills it, with the form on the page, not a command line
    assert 'href="#add-advocate">Add the first one</a>' in page
    assert "flask --app" not in page and "POST /api/advocates" not in page


def test_disabling_a_link_in_the_dashboard_disables_its_personal_links(tmp_path):
    from conftest import AUTH

    programme = build_programme(tmp_path)
    client, token = signed_in(programme.app)
    response = client.post("/dashboard/links/spring-tw/disable", data={"csrf_token": token})
    assert response.status_code == 303
    # quinn's personal link Q shares spring-tw: it is disabled with it
    quinn = programme.get("/api/advocates/quinn").get_json()["links"][0]
    assert quinn["disabled"] is True
    summer = programme.client.get(f"/api/links/{programme.codes['P2']}", headers=AUTH)
    assert summer.get_json()["disabled"] is False


def test_add_an_advocate_and_give_personal_links_from_the_page(app, db):
    from conftest import make_link

    client, token = signed_in(app)
    code = make_link(client)["code"]
    added = client.post(
        "/dashboard/advocates",
        data={"csrf_token": token, "action": "create", "name": "Ada Lovelace",
              "email": "ada@example.com"},
    )  # fmt: skip
    assert added.status_code == 303
    page = client.get(added.headers["Location"]).get_data(as_text=True)
    assert "Advocate &#39;ada-lovelace&#39; added." in page
    assert '<tr data-advocate="ada-lovelace">' in page
    shared = client.post(
        "/dashboard/advocates",
        data={"csrf_token": token, "action": "share", "code": code, "handles": "ada-lovelace"},
    )
    assert shared.status_code == 303
    assert "1 personal link created, 0 existed." in client.get("/dashboard/advocates").get_data(
        as_text=True
    )
    assert db.execute("SELECT count(*) FROM links WHERE advocate_id IS NOT NULL").fetchone()[0] == 1
    # refusals keep the form, say why in the API's words, and store nothing
    bad = client.post(
        "/dashboard/advocates",
        data={"csrf_token": token, "action": "create", "name": "Bob", "email": "nope"},
    )
    assert bad.status_code == 400
    assert "email must look like name@example.com" in bad.get_data(as_text=True)
    unknown = client.post(
        "/dashboard/advocates",
        data={"csrf_token": token, "action": "share", "code": code, "handles": "nobody"},
    )
    assert unknown.status_code == 400 and "no advocate &#39;nobody&#39;" in unknown.get_data(
        as_text=True
    )
    assert db.execute("SELECT count(*) FROM advocates").fetchone()[0] == 1
    # without the CSRF token nothing is stored
    forged = client.post("/dashboard/advocates", data={"action": "create", "name": "Eve"})
    assert forged.status_code == 400
    assert db.execute("SELECT count(*) FROM advocates").fetchone()[0] == 1
