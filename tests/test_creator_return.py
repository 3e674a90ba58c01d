"""Return per creator: the advocates report sets each creator's cost (cost
rows naming them, spread by day, plus the rewards they earned) against what
they brought, with the cost-and-return report's rules. Every figure is
worked out by hand in the comments.

The programme (fees, clicks and purchases by hand) is tests/creator_fixture.py:
ada's fee is March's, bo's April's, cy has a fee and rewards, dee no cost.
"""

import csv
import io

import pytest
from creator_fixture import build_creators, post

from advocates.reports import ADVOCATE_COLUMNS
from conftest import AUTH

# the columns the advocates report had before return per creator: unchanged, first
EARLIER_COLUMNS = [
    "advocate", "name", "depth", "parent", "active", "currency", "links", "human_clicks",
    "unique_visitors", "new_visitors", "converted_visitors", "conversion_rate",
    "conversion_rate_low", "conversion_rate_high", "campaign_conversion_rate", "verdict",
    "conversions", "revenue", "refunded_revenue", "self_conversions", "invited_friends",
    "rewards_earned",
]  # fmt: skip
RETURN = ["revenue", "rewards_earned", "fees", "cost", "new_customers", "cac", "roi_percent",
          "romi"]  # fmt: skip
NO_COST = {"fees": None, "cost": None, "cac": None, "roi_percent": None, "romi": None}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    return build_creators(tmp_path_factory.mktemp("creators"))


def report(client, **params) -> dict[str, dict]:
    response = client.get("/api/reports/advocates", query_string=params, headers=AUTH)
    assert response.status_code == 200, response.get_json()
    return {r["advocate"]: {k: r[k] for k in RETURN} for r in response.get_json()["rows"]}


def figures(revenue, rewards, fees, cost, new, cac, roi, romi) -> dict:
    return dict(zip(RETURN, (revenue, rewards, fees, cost, new, cac, roi, romi), strict=True))


def test_the_new_columns_come_after_the_existing_ones():
    assert ADVOCATE_COLUMNS[: len(EARLIER_COLUMNS)] == EARLIER_COLUMNS
    assert ADVOCATE_COLUMNS[len(EARLIER_COLUMNS) :] == [
        "fees", "cost", "new_customers", "cac", "roi_percent", "romi"
    ]  # fmt: skip


def test_march_last_touch(client):
    got = report(client, **{"from": "2025-03-01", "to": "2025-03-31"})
    # ada: u1's 200.00 + 50.00 = 250.00; u1 is her one new customer (u2 buys in April).
    # Fee 300.00, all in March. CAC 300 / 1; ROI (250 - 300) x 100 / 300 = -16.666667;
    # ROMI 250 / 300 (labor) = 0.833333
    roi, romi = round(-5000 * 100 / 30000, 6), round(25000 / 30000, 6)
    assert got["ada"] == figures("250.00", "0.00", "300.00", "300.00", 1, "300.00", roi, romi)
    # bo: his fee is April's and u2 buys in April: nothing in March, no cost entered
    assert got["bo"] == {**figures("0.00", "0.00", None, None, 0, None, None, None), **NO_COST}
    # cy: u3's 150.00, one new customer; fee 90.00 (03-10..03-12) + reward 10 % of 150.00
    # = 15.00 -> cost 105.00; CAC 105.00; ROI (150 - 105) x 100 / 105 = 42.857143;
    # ROMI 150 / (labor 0 + platform 0 + rewards 15) = 10 (the product is "other")
    assert got["cy"] == figures("150.00", "15.00", "90.00", "105.00", 1, "105.00",
                                round(4500 * 100 / 10500, 6), 10.0)  # fmt: skip
    # dee: u4's 80.00 and one new customer, but no cost row and no reward: every cost
    # figure is empty, not zero
    assert got["dee"] == figures("80.00", "0.00", None, None, 1, None, None, None)


def test_april_under_two_models(client):
    april = {"from": "2025-04-01", "to": "2025-04-30"}
    last = report(client, **april)
    # last touch: u2's 120.00 and u2 as a new customer go to bo (B, 04-02). Fee 200.00.
    # CAC 200.00; ROI (120 - 200) x 100 / 200 = -40; ROMI 120 / 200 = 0.6
    assert last["bo"] == figures("120.00", "0.00", "200.00", "200.00", 1, "200.00", -40.0, 0.6)
    # ada: her fee ended 03-30 and u2 is bo's: nothing, no cost
    assert last["ada"] == figures("0.00", "0.00", None, None, 0, None, None, None)

    first = report(client, model="first_touch", **april)
    # first touch: u2's purchase and u2 as a new customer go to ada (A, 03-05), who has no
    # April fee (cost empty, so ROI empty); bo brought nothing against his 200.00:
    # CAC 200 / 0 empty, ROI (0 - 200) x 100 / 200 = -100, ROMI 0 / 200 = 0
    assert first["ada"] == figures("120.00", "0.00", None, None, 1, None, None, None)
    assert first["bo"] == figures("0.00", "0.00", "200.00", "200.00", 0, None, -100.0, 0.0)

    linear = report(client, model="linear", **april)
    # linear: two touches, 60.00 and half a new customer each. bo: CAC 200 / 0.5 = 400.00;
    # ROI (60 - 200) x 100 / 200 = -70; ROMI 60 / 200 = 0.3
    assert linear["bo"] == figures("60.00", "0.00", "200.00", "200.00", 0.5, "400.00", -70.0,
                                   0.3)  # fmt: skip
    assert linear["ada"] == figures("60.00", "0.00", None, None, 0.5, None, None, None)


def test_a_period_that_cuts_the_fee_rows(client):
    got = report(client, **{"from": "2025-03-16", "to": "2025-04-15"})
    # ada's 300.00 over 03-01..03-30 is 10.00 a day: 03-16..03-30 = 15 days = 150.00.
    # In the period she brought u1's second purchase (50.00), and no new customer (u1's
    # first purchase was 03-06): CAC 150 / 0 empty; ROI (50 - 150) x 100 / 150 = -66.666667;
    # ROMI 50 / 150 = 0.333333
    roi, romi = round(-10000 * 100 / 15000, 6), round(5000 / 15000, 6)
    assert got["ada"] == figures("50.00", "0.00", "150.00", "150.00", 0, None, roi, romi)
    # bo's 200.00 over 04-01..04-30: 20000 = 30 x 666 + 20, the first 20 days carry one cent
    # more; 04-01..04-15 = 15 days x 6.67 = 100.05. u2's 120.00, one new customer:
    # CAC 100.05; ROI (120.00 - 100.05) x 100 / 100.05 = 19.940030; ROMI 120 / 100.05 = 1.1994
    assert got["bo"] == figures("120.00", "0.00", "100.05", "100.05", 1, "100.05",
                                round(1995 * 100 / 10005, 6), round(12000 / 10005, 6))  # fmt: skip
    # cy: the fee (03-10..03-12) and the reward (u3 bought 03-11) lie before the period
    assert got["cy"] == figures("0.00", "0.00", None, None, 0, None, None, None)
    # the parts of bo's row over the two halves of April add up to the row
    rest = report(client, **{"from": "2025-04-16", "to": "2025-04-30"})["bo"]["fees"]
    assert rest == "99.95"  # 5 days x 6.67 + 10 days x 6.66 = 33.35 + 66.60


def test_a_campaign_filter_keeps_the_creators_of_that_campaign(client):
    got = report(client, campaign="reviews")
    assert list(got) == ["cy"]  # ada, bo and dee share spring links only
    assert got["cy"]["cost"] == "105.00"


def test_the_fees_stay_in_their_channels_cost(client):
    # a creator's fee is also a cost of its channel in the cost-and-return report
    rows = client.get("/api/reports/roi?from=2025-03-01&to=2025-04-30", headers=AUTH)
    cost = {r["channel"]: r["cost"] for r in rows.get_json()["rows"]}
    assert (cost["instagram"], cost["youtube"]) == ("500.00", "90.00")


def test_csv_and_cli_say_the_same(client):
    params = {"from": "2025-03-01", "to": "2025-03-31"}
    rows = client.get("/api/reports/advocates", query_string=params, headers=AUTH)
    as_csv = client.get("/api/reports/advocates", headers=AUTH,
                        query_string={**params, "format": "csv"})  # fmt: skip
    lines = list(csv.DictReader(io.StringIO(as_csv.get_data(as_text=True))))
    assert list(lines[0]) == ADVOCATE_COLUMNS
    by_handle = {r["advocate"]: r for r in lines}
    assert by_handle["cy"]["roi_percent"] == "42.857143" and by_handle["cy"]["cost"] == "105.00"
    assert by_handle["dee"]["cost"] == "" and by_handle["dee"]["roi_percent"] == ""  # empty
    assert len(lines) == len(rows.get_json()["rows"])
    app = client.application
    result = app.test_cli_runner().invoke(
        args=["report", "advocates", "--from", "2025-03-01", "--to", "2025-03-31", "--csv", "-"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.replace("\r\n", "\n") == as_csv.get_data(as_text=True).replace(
        "\r\n", "\n"
    )


def test_an_advocate_buying_through_their_own_link_is_not_a_new_customer(tmp_path):
    from advocate_fixture import build_programme

    programme = build_programme(tmp_path)
    rows = {r["advocate"]: r for r in programme.rows("advocates")}
    # quinn's friends fay and gus bought for the first time: 2 new customers; sam bought
    # through his own link (a self-conversion): 0; nobody has a cost row or a reward
    assert (rows["quinn"]["new_customers"], rows["sam"]["new_customers"]) == (2, 0)
    assert rows["fay"]["new_customers"] == 2  # jo and kit
    for row in rows.values():
        assert {k: row[k] for k in NO_COST} == NO_COST


def test_money_stays_in_its_currency(client):
    fee = {"advocate": "dee", "from": "2025-03-01", "to": "2025-03-31", "channel": "instagram",
           "kind": "platform", "amount": "40.00", "currency": "USD"}  # fmt: skip
    added = post(client, "/api/costs", fee)["cost"]
    try:
        response = client.get("/api/reports/advocates?from=2025-03-01&to=2025-03-31",
                              headers=AUTH)  # fmt: skip
        dee = {r["currency"]: r for r in response.get_json()["rows"] if r["advocate"] == "dee"}
        # the EUR row is as before (80.00 brought, no EUR cost); the USD fee is its own row:
        # nothing brought in USD, ROI (0 - 40) x 100 / 40 = -100, ROMI 0 / 40 = 0
        assert {k: dee["EUR"][k] for k in RETURN} == figures(
            "80.00", "0.00", None, None, 1, None, None, None
        )
        assert {k: dee["USD"][k] for k in RETURN} == figures(
            "0.00", "0.00", "40.00", "40.00", 0, None, -100.0, 0.0
        )
    finally:
        client.delete(f"/api/costs/{added['id']}", headers=AUTH)
