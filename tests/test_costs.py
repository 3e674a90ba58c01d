"""The cost ledger: exact even spreading, validation, POST/GET/PATCH/DELETE
/api/costs, a row naming an advocate (a creator's fee), and CSV import with
a report of refused rows."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import AUTH
from conversions.costs import CostError, import_csv, parse_cost, share_between
from shortener.clock import utcnow
from shortener.db import get_db

D = date.fromisoformat

# -- spreading ---------------------------------------------------------------


def test_spreading_by_hand():
    # 100.00 over 61 days (03-01..04-30): 10000 = 61 x 163 + 57 -> the first 57 days carry
    # 164, the last 4 carry 163. March = days 0-30: 31 x 164 = 5084.
    # April = days 31-60: 26 x 164 + 4 x 163 = 4264 + 652 = 4916. Together 10000.
    start, end = D("2025-03-01"), D("2025-04-30")
    assert share_between(10000, start, end, D("2025-03-01"), D("2025-03-31")) == 5084
    assert share_between(10000, start, end, D("2025-04-01"), D("2025-04-30")) == 4916
    assert share_between(10000, start, end, None, None) == 10000
    # day 56 (04-26) is the last with 164, day 57 (04-27) the first with 163
    assert share_between(10000, start, end, D("2025-04-26"), D("2025-04-26")) == 164
    assert share_between(10000, start, end, D("2025-04-27"), D("2025-04-27")) == 163
    # outside the row, or a period that ends before it starts
    assert share_between(10000, start, end, D("2025-05-01"), None) == 0
    assert share_between(10000, start, end, None, D("2025-02-28")) == 0
    # 1.00 over 3 days: 34, 33, 33
    assert [
        share_between(100, D("2025-01-01"), D("2025-01-03"), d, d)
        for d in (D("2025-01-01"), D("2025-01-02"), D("2025-01-03"))
    ] == [34, 33, 33]
    # fewer units than days: 2 units over 5 days go to the first two days
    assert share_between(2, D("2025-01-01"), D("2025-01-05"), D("2025-01-03"), None) == 0


@given(
    amount=st.integers(min_value=0, max_value=10**14),
    days=st.integers(min_value=1, max_value=400),
    cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=6),
)
def test_any_split_into_periods_adds_up_to_the_amount(amount, days, cuts):
    start = D("2024-02-27")
    end = start + timedelta(days=days - 1)
    points = sorted({c for c in cuts if 0 < c < days})
    bounds = [0, *points, days]
    parts = [
        share_between(amount, start, end, start + timedelta(days=a), start + timedelta(days=b - 1))
        for a, b in zip(bounds, bounds[1:], strict=False)
    ]
    assert sum(parts) == amount
    # even: no two days differ by more than one minor unit
    each = [share_between(amount, start, end, d, d)
            for d in (start, end, start + timedelta(days=days // 2))]  # fmt: skip
    assert max(each) - min(each) <= 1


# -- validation --------------------------------------------------------------

GOOD = {"from": "2025-03-01", "to": "2025-03-31", "channel": "Twitter", "kind": "ads",
        "amount": "310.00", "currency": "eur"}  # fmt: skip


def test_parse_cost_normalises():
    cost = parse_cost({**GOOD, "campaign": " spring ", "note": "agency invoice 12"})
    assert (cost.start, cost.end, cost.days) == (D("2025-03-01"), D("2025-03-31"), 31)
    assert (cost.channel, cost.campaign, cost.kind) == ("twitter", "spring", "ads")
    assert (cost.amount_minor, cost.currency, cost.note) == (31000, "EUR", "agency invoice 12")
    assert parse_cost({**GOOD, "campaign": ""}).campaign is None
    assert parse_cost({**GOOD, "amount": 5, "currency": "JPY"}).amount_minor == 5  # no cents


@pytest.mark.parametrize(
    "change, field",
    [
        ({"from": None}, "from"),
        ({"from": "2025-02-30"}, "from"),
        ({"to": "yesterday"}, "to"),
        ({"to": "2025-02-28"}, "to"),  # before from
        ({"from": "2010-01-01", "to": "2025-01-01"}, "to"),  # more than ten years
        ({"channel": ""}, "channel"),
        ({"channel": "bad channel!"}, "channel"),
        ({"campaign": 7}, "campaign"),
        ({"campaign": "x" * 201}, "campaign"),
        ({"kind": "coffee"}, "kind"),
        ({"kind": None}, "kind"),
        ({"amount": "-1.00"}, "amount"),
        ({"amount": "12.345"}, "amount"),  # EUR has two decimals
        ({"amount": "ten"}, "amount"),
        ({"amount": 1.5}, "amount"),  # a binary float
        ({"amount": True}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"currency": "euro"}, "currency"),
        ({"note": "x" * 501}, "note"),
        ({"price": "1"}, "price"),  # unknown field
    ],
)
def test_parse_cost_refuses_naming_the_field(change, field):
    with pytest.raises(CostError) as refused:
        parse_cost({**GOOD, **change})
    assert refused.value.field == field


# -- the API -----------------------------------------------------------------


def count(db) -> int:
    return db.execute("SELECT count(*) FROM costs").fetchone()[0]


def test_post_cost(client, db):
    response = client.post("/api/costs", headers=AUTH,
                           json={**GOOD, "campaign": "spring", "note": "March ads"})  # fmt: skip
    assert response.status_code == 201
    cost = response.get_json()["cost"]
    assert cost == {
        "id": cost["id"], "from": "2025-03-01", "to": "2025-03-31", "days": 31,
        "channel": "twitter", "campaign": "spring", "kind": "ads", "amount": "310.00",
        "currency": "EUR", "amount_in_period": "310.00", "note": "March ads", "source": "api",
        "created_at": cost["created_at"], "advocate": None,
    }  # fmt: skip
    row = db.execute("SELECT amount_minor, currency, kind FROM costs").fetchone()
    assert row == (31000, "EUR", "ads")


def test_post_cost_takes_json_numbers_exactly(client, db):
    # 0.1 + 0.2 style amounts arrive as exact decimals, never through a binary float
    response = client.post(
        "/api/costs",
        data='{"from": "2025-03-01", "to": "2025-03-01", "channel": "x", "kind": "other",'
        ' "amount": 1234.10, "currency": "USD"}',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 201
    assert response.get_json()["cost"]["amount"] == "1234.10"


@pytest.mark.parametrize(
    "body, field",
    [
        ({**GOOD, "kind": "coffee"}, "kind"),
        ({**GOOD, "amount": "1.001"}, "amount"),
        ({**GOOD, "to": "2025-02-01"}, "to"),
        ({**GOOD, "currency": None}, "currency"),
        ({**GOOD, "extra": 1}, "extra"),
        ([GOOD], "body"),
        ("not json", "body"),
    ],
)
def test_post_cost_refusals_store_nothing(client, db, body, field):
    if isinstance(body, str):
        response = client.post("/api/costs", data=body, headers=AUTH)
    else:
        response = client.post("/api/costs", json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    assert response.get_json()["error"]
    assert count(db) == 0


def test_costs_need_the_api_key(client, db):
    assert client.post("/api/costs", json=GOOD).status_code == 401
    assert client.get("/api/costs").status_code == 401
    assert client.delete("/api/costs/1").status_code == 401
    assert count(db) == 0


def test_list_and_delete_costs(client, db):
    for body in (
        GOOD,  # twitter 03-01..03-31 310.00 EUR
        {
            **GOOD,
            "channel": "email",
            "from": "2025-03-20",
            "to": "2025-04-08",
            "amount": "20.00",
            "kind": "labor",
        },  # 20 days, 1.00 a day  # fmt: skip
        {**GOOD, "from": "2025-05-01", "to": "2025-05-31"},  # outside the period below
    ):
        assert client.post("/api/costs", json=body, headers=AUTH).status_code == 201
    listed = client.get(
        "/api/costs", headers=AUTH, query_string={"from": "2025-04-01", "to": "2025-04-30"}
    ).get_json()
    # only the email row touches April: 04-01..04-08 = 8 days x 1.00
    assert [(c["channel"], c["amount"], c["amount_in_period"]) for c in listed["rows"]] == [
        ("email", "20.00", "8.00")
    ]
    twitter = client.get("/api/costs", headers=AUTH, query_string={"channel": "twitter"})
    assert [c["from"] for c in twitter.get_json()["rows"]] == ["2025-03-01", "2025-05-01"]
    as_csv = client.get("/api/costs", headers=AUTH, query_string={"format": "csv"})
    lines = as_csv.get_data(as_text=True).splitlines()
    assert lines[0] == ("id,from,to,days,channel,campaign,kind,amount,currency,"
                        "amount_in_period,note,source,created_at,advocate")  # fmt: skip
    assert len(lines) == 4
    first = listed["rows"][0]["id"]
    deleted = client.delete(f"/api/costs/{first}", headers=AUTH)
    assert deleted.status_code == 200 and deleted.get_json()["deleted"]["id"] == first
    assert client.delete(f"/api/costs/{first}", headers=AUTH).status_code == 404
    assert count(db) == 2
    bad = client.get("/api/costs", headers=AUTH, query_string={"from": "2025-04-31"})
    assert bad.status_code == 400 and bad.get_json()["field"] == "from"


# -- CSV import --------------------------------------------------------------

CSV = (
    "from,to,channel,campaign,kind,amount,currency,note\r\n"
    "2025-03-01,2025-03-31,twitter,,labor,310.00,EUR,team\r\n"  # line 2: fine
    "2025-03-01,2025-03-10,twitter,spring,ads,100.00,EUR,\r\n"  # line 3: fine
    "\r\n"  # line 4: blank, skipped
    "2025-03-16,2025-04-15,linkedin,,platform,93,usd,\r\n"  # line 5: fine (93 -> 93.00 USD)
    "2025-03-01,2025-02-01,email,,other,1.00,EUR,\r\n"  # line 6: to before from
    "2025-03-01,2025-03-01,email,,coffee,1.00,EUR,\r\n"  # line 7: unknown kind
    "2025-03-01,2025-03-01,email,,other,1.005,EUR,\r\n"  # line 8: three decimals
    "2025-03-01,2025-03-01,email,,other,1.00,EUR,note,extra\r\n"  # line 9: too many cells
    "=cmd,2025-03-01,email,,other,1.00,EUR,\r\n"  # line 10: not a date
)


def test_import_adds_good_rows_and_reports_refused_ones(app, db):
    with app.app_context():
        result = import_csv(get_db(), CSV, utcnow())
    assert [(r["channel"], r["campaign"], r["kind"], r["amount_minor"], r["currency"])
            for r in result.added] == [
        ("twitter", None, "labor", 31000, "EUR"),
        ("twitter", "spring", "ads", 10000, "EUR"),
        ("linkedin", None, "platform", 9300, "USD"),
    ]  # fmt: skip
    assert [(r.line, r.field) for r in result.refused] == [
        (6, "to"), (7, "kind"), (8, "amount"), (9, "line"), (10, "from")
    ]  # fmt: skip
    assert count(db) == 3
    assert {r[0] for r in db.execute("SELECT source FROM costs")} == {"import"}
    # the same file again: the three rows are already in the ledger and are refused
    with app.app_context():
        again = import_csv(get_db(), CSV, utcnow())
    assert again.added == []
    assert [(r.line, r.field) for r in again.refused][:3] == [(2, "line"), (3, "line"),
                                                              (5, "line")]  # fmt: skip
    assert "already in the ledger" in again.refused[0].message
    assert count(db) == 3


# -- a creator's fee: a row naming an advocate -------------------------------


def make_advocates(client) -> dict[str, int]:
    ids = {}
    for handle in ("ada", "bo"):
        made = client.post("/api/advocates", json={"name": handle, "handle": handle}, headers=AUTH)
        assert made.status_code == 201, made.get_json()
        ids[handle] = made.get_json()["id"]
    return ids


def test_a_cost_may_name_an_advocate_by_handle_or_id(client, db):
    ids = make_advocates(client)
    by_handle = client.post("/api/costs", json={**GOOD, "advocate": "ADA"}, headers=AUTH)
    assert by_handle.status_code == 201
    assert by_handle.get_json()["cost"]["advocate"] == "ada"  # shown by handle
    by_id = client.post("/api/costs", json={**GOOD, "advocate": ids["bo"]}, headers=AUTH)
    as_text = client.post("/api/costs", json={**GOOD, "advocate": str(ids["bo"])}, headers=AUTH)
    assert by_id.get_json()["cost"]["advocate"] == as_text.get_json()["cost"]["advocate"] == "bo"
    stored = db.execute("SELECT advocate_id FROM costs ORDER BY id").fetchall()
    assert stored == [(ids["ada"],), (ids["bo"],), (ids["bo"],)]
    listed = client.get("/api/costs?format=csv", headers=AUTH).get_data(as_text=True)
    assert [line.rsplit(",", 1)[1] for line in listed.splitlines()[1:]] == ["ada", "bo", "bo"]


def test_costs_ask_the_advocates_part_on_a_bare_connection(client, db):
    # no app context: costs find an advocate and show handles through the
    # advocates part's receivers, not by reading its table
    from flask import has_app_context

    from conversions.costs import add_cost, overlapping
    from conversions.reports import Period

    ids = make_advocates(client)
    assert not has_app_context()
    named = parse_cost({**GOOD, "advocate": " Bo "}, db)
    assert named.advocate_id == ids["bo"]
    with pytest.raises(CostError, match="no advocate 'nobody'"):
        parse_cost({**GOOD, "advocate": "nobody"}, db)
    add_cost(db, named, utcnow())
    add_cost(db, parse_cost(GOOD, db), utcnow())
    rows = overlapping(db, Period())
    assert [(r["advocate_id"], r["advocate"]) for r in rows] == [(ids["bo"], "bo"), (None, None)]


@pytest.mark.parametrize("advocate", ["nobody", 999, True, ["ada"], {"id": 1}, -1, -(2**70)])
def test_an_unknown_advocate_is_refused_and_nothing_stored(client, db, advocate):
    make_advocates(client)
    response = client.post("/api/costs", json={**GOOD, "advocate": advocate}, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["field"] == "advocate"
    assert count(db) == 0


def test_patch_a_cost_names_or_clears_its_advocate(client, db):
    make_advocates(client)
    cost = client.post("/api/costs", json={**GOOD, "campaign": "spring"}, headers=AUTH)
    url = f"/api/costs/{cost.get_json()['cost']['id']}"
    named = client.patch(url, json={"advocate": "bo", "amount": "320.00"}, headers=AUTH)
    assert named.status_code == 200
    got = named.get_json()["cost"]
    # the other fields stay as they were
    assert (got["advocate"], got["amount"], got["campaign"], got["channel"], got["source"]) == (
        "bo", "320.00", "spring", "twitter", "api"
    )  # fmt: skip
    before = db.execute("SELECT * FROM costs").fetchall()
    for body, field in (({"advocate": "nobody"}, "advocate"), ({"to": "2025-01-01"}, "to"),
                        ({"price": 1}, "price"), ([1], "body")):  # fmt: skip
        refused = client.patch(url, json=body, headers=AUTH)
        assert (refused.status_code, refused.get_json()["field"]) == (400, field)
    assert db.execute("SELECT * FROM costs").fetchall() == before  # nothing changed
    cleared = client.patch(url, json={"advocate": None, "campaign": None}, headers=AUTH)
    assert (cleared.get_json()["cost"]["advocate"], cleared.get_json()["cost"]["campaign"]) == (
        None, None
    )  # fmt: skip
    assert client.patch("/api/costs/999", json={}, headers=AUTH).status_code == 404
    assert client.patch(url, json={"advocate": "ada"}).status_code == 401


def test_import_reads_an_advocate_column(client, app, db):
    ids = make_advocates(client)
    text = (
        "from,to,channel,campaign,kind,amount,currency,note,advocate\n"
        "2025-03-01,2025-03-31,instagram,spring,labor,500.00,EUR,reel,ada\n"  # line 2
        f"2025-03-01,2025-03-31,instagram,spring,labor,500.00,EUR,reel,{ids['bo']}\n"  # 3
        "2025-03-01,2025-03-31,instagram,spring,other,80.00,EUR,sample,nobody\n"  # line 4
        "2025-03-01,2025-03-31,instagram,spring,ads,50.00,EUR,,\n"  # line 5: no advocate
    )
    with app.app_context():
        result = import_csv(get_db(), text, utcnow())
    # ada's and bo's fees are two costs, though alike in everything else
    assert [r["advocate"] for r in result.added] == ["ada", "bo", None]
    assert [(r.line, r.field, r.message) for r in result.refused] == [
        (4, "advocate", "no advocate 'nobody'")
    ]
    with app.app_context():
        again = import_csv(get_db(), text, utcnow())
    assert again.added == [] and [r.line for r in again.refused] == [2, 3, 4, 5]
    assert count(db) == 3
