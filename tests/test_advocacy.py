"""The advocate reports (advocates/reports.py) on the hand-built programme
of tests/advocate_fixture.py; every figure is worked out in the comments.

Z2 below is z^2 for the two-sided 95 % normal quantile (1.959964^2). The
Wilson interval has closed forms at the edges: for 0 successes out of n it
is [0, Z2 / (n + Z2)], for n out of n it is [n / (n + Z2), 1].
"""

import csv
import io

import pytest
from advocate_fixture import build_programme

from advocates.reports import candidate_score

Z2 = 1.959963984540054**2  # 3.841459


@pytest.fixture(scope="module")
def programme(tmp_path_factory):
    return build_programme(tmp_path_factory.mktemp("advocates"))


def by_handle(rows):
    return {r["advocate"]: r for r in rows}


# Campaign averages (every visitor of the campaign's links, all channels):
#   spring visitors: S1 p01 p02 n01..n10 (12) + P p03..p12 (10) + Q fay gus (2)
#                    + S sam ida (2) + F jo kit (2) = 28
#   spring converted: n01..n04 (S1), fay gus (Q), sam (S), jo kit (F) = 9
#   summer: p13 on P2, nobody converted: 0 / 1
SPRING = round(9 / 28, 6)  # 0.321429
SPRING_AND_SUMMER = round(9 / 29, 6)  # pat shares in both: pooled 9 / 29 = 0.310345


def test_the_leaderboard_all_time(programme):
    rows = programme.rows("advocates")
    # best first: converted visitors, then revenue: quinn (2, 100.00), fay (2, 40.00),
    # then pat and sam (0, 0.00) by handle
    assert [r["advocate"] for r in rows] == ["quinn", "fay", "pat", "sam"]
    a = by_handle(rows)

    # pat: P (spring) p01..p12 clicked on 03-05 and p01 again on 03-06, plus a bot;
    # P2 (summer) p13. Human clicks 13 + 1 = 14, visitors 12 + 1 = 13. p01 and p02
    # clicked the brand's S1 on 03-01, before pat's link: new are p03..p13 = 11.
    # Nobody bought. 0 of 13: interval [0, Z2 / 16.84] = [0, 0.228], entirely below
    # the pooled campaign average 0.310 -> below: "shares a lot, converts little".
    pat = a["pat"]
    assert pat["currency"] == "EUR"  # no revenue: the default currency
    assert (pat["links"], pat["human_clicks"], pat["unique_visitors"], pat["new_visitors"]) == (
        2,
        14,
        13,
        11,
    )
    assert (pat["converted_visitors"], pat["conversion_rate"]) == (0, 0.0)
    assert pat["conversion_rate_low"] == 0.0
    assert pat["conversion_rate_high"] == round(Z2 / (13 + Z2), 6)  # 0.228096
    assert pat["campaign_conversion_rate"] == SPRING_AND_SUMMER
    assert pat["verdict"] == "converts below the campaign average"
    assert (pat["conversions"], pat["revenue"], pat["self_conversions"]) == (0, "0.00", 0)
    assert pat["refunded_revenue"] == "0.00"
    assert (pat["depth"], pat["parent"], pat["invited_friends"]) == (0, None, 0)
    assert pat["rewards_earned"] == "0.00"  # no rewards ledger in this database

    # quinn: Q clicked by fay and gus (03-06, never seen before); both bought:
    # 40.00 + 60.00 = 100.00 EUR. 2 of 2: interval [2 / 5.84, 1] = [0.342, 1],
    # entirely above spring's 0.321 -> above: "small buzz, real customers".
    quinn = a["quinn"]
    assert (quinn["links"], quinn["human_clicks"], quinn["unique_visitors"]) == (1, 2, 2)
    assert (quinn["new_visitors"], quinn["converted_visitors"], quinn["conversion_rate"]) == (
        2,
        2,
        1.0,
    )
    assert quinn["conversion_rate_low"] == round(2 / (2 + Z2), 6)  # 0.342380
    assert quinn["conversion_rate_high"] == 1.0
    assert quinn["campaign_conversion_rate"] == SPRING
    assert quinn["verdict"] == "converts above the campaign average"
    assert (quinn["conversions"], quinn["revenue"]) == (2, "100.00")
    assert quinn["invited_friends"] == 1  # fay

    # sam bought through his own link: his visitor (v-sam, the visitor of his
    # customer id's conversion) is left out. What is left is ida: 1 click, 1 new
    # visitor, 0 converted. 0 of 1: [0, Z2 / 4.84] = [0, 0.793] holds 0.321 and
    # 1 < 10 visitors -> "too few visitors". His own purchase is shown apart.
    sam = a["sam"]
    assert (sam["human_clicks"], sam["unique_visitors"], sam["new_visitors"]) == (1, 1, 1)
    assert (sam["converted_visitors"], sam["conversions"], sam["revenue"]) == (0, 0, "0.00")
    assert sam["self_conversions"] == 1
    assert sam["conversion_rate_high"] == round(Z2 / (1 + Z2), 6)  # 0.793451
    assert sam["verdict"] == "too few visitors"

    # fay, quinn's friend, one generation down: F clicked by jo and kit (03-15),
    # both bought: 25.00 + 15.00 = 40.00. Same 2 of 2 as quinn -> above.
    fay = a["fay"]
    assert (fay["depth"], fay["parent"]) == (1, "quinn")
    assert (fay["human_clicks"], fay["unique_visitors"], fay["new_visitors"]) == (2, 2, 2)
    assert (fay["converted_visitors"], fay["conversions"], fay["revenue"]) == (2, 2, "40.00")
    assert fay["verdict"] == "converts above the campaign average"
    assert fay["self_conversions"] == 0


def test_the_leaderboard_for_one_campaign_and_period(programme):
    spring = by_handle(programme.rows("advocates", campaign="spring"))
    # only advocates with a spring link; pat's summer link P2 and p13 drop out:
    # 13 clicks, 12 visitors, new p03..p12 = 10; 0 of 12: high Z2 / 15.84 = 0.242
    # is below spring's 0.321
    pat = spring["pat"]
    assert (pat["links"], pat["human_clicks"], pat["unique_visitors"], pat["new_visitors"]) == (
        1,
        13,
        12,
        10,
    )
    assert pat["conversion_rate_high"] == round(Z2 / (12 + Z2), 6)
    assert pat["campaign_conversion_rate"] == SPRING
    assert pat["verdict"] == "converts below the campaign average"

    summer = programme.rows("advocates", campaign="summer")
    # pat alone: p13 (new), 0 of 1 against summer's 0 / 1 = 0.0: [0, 0.793] holds 0
    assert [(r["advocate"], r["unique_visitors"], r["new_visitors"]) for r in summer] == [
        ("pat", 1, 1)
    ]
    assert summer[0]["campaign_conversion_rate"] == 0.0
    assert summer[0]["verdict"] == "too few visitors"

    # from 03-10: only F's clicks (03-15) and jo's and kit's purchases remain
    late = by_handle(programme.rows("advocates", **{"from": "2025-03-10"}))
    assert (late["fay"]["unique_visitors"], late["fay"]["revenue"]) == (2, "40.00")
    assert (late["quinn"]["unique_visitors"], late["quinn"]["revenue"]) == (0, "0.00")
    assert late["quinn"]["conversion_rate"] is None
    assert late["quinn"]["verdict"] == "too few visitors"


def test_every_model_agrees_when_each_conversion_has_one_touch(programme):
    for model in ("first_touch", "linear", "position_based", "time_decay"):
        rows = programme.rows("advocates", model=model)
        assert [(r["advocate"], r["revenue"]) for r in rows] == [
            ("quinn", "100.00"),
            ("fay", "40.00"),
            ("pat", "0.00"),
            ("sam", "0.00"),
        ]


def test_the_referral_chain_and_k(programme):
    rows = programme.rows("referrals")
    assert [(r["campaign"], r["generation"]) for r in rows] == [
        ("spring", 1),
        ("spring", 2),
        ("summer", 1),
    ]
    first, second, summer = rows
    # generation 1 of spring: the depth-0 advocates sharing in spring are pat,
    # quinn and sam (3). Friends converted through their links: quinn's fay and
    # gus (sam's own purchase is no friend's) = 2, 2/3 per advocate. Those friends
    # created 1 invitation (fay's link F): 1/2 = 0.5 per converted friend. F
    # reached jo and kit and both converted: rate 2/2 = 1.0. k = 0.5 x 1.0 = 0.5.
    assert first == {
        "campaign": "spring",
        "generation": 1,
        "advocates": 3,
        "friends_converted": 2,
        "friends_converted_per_advocate": round(2 / 3, 6),
        "invitations": 1,
        "invitations_per_converted": 0.5,
        "invited_visitors": 2,
        "invited_converted": 2,
        "invited_conversion_rate": 1.0,
        "k": 0.5,
    }
    # generation 2: fay (depth 1) converted jo and kit, who created no links: k = 0
    assert (second["advocates"], second["friends_converted"], second["invitations"]) == (1, 2, 0)
    assert (second["invitations_per_converted"], second["invited_conversion_rate"]) == (0.0, None)
    assert second["k"] == 0.0
    # summer: pat alone, nobody converted, so nobody could invite: k undefined
    assert (summer["advocates"], summer["friends_converted"], summer["k"]) == (1, 0, None)
    assert programme.rows("referrals", campaign="summer") == [summer]


def test_advocate_candidates(programme):
    rows = programme.rows("advocate-candidates", as_of="2025-03-31")
    # Customers (first purchase up to 03-31): n01..n04 10.00, kit 15.00, jo 25.00,
    # sam 30.00, fay 40.00, gus 60.00 (EUR); the lower median of those nine is the
    # fifth, 15.00. Nobody bought twice, nobody saved or cancelled, and the longest
    # tenure (n01..n04: 03-03 12:00 to 04-01 00:00) is 28.5 days: under 30, no
    # tenure points. So the score is revenue / 15.00, plus 10 x the lower bound of
    # the friends' conversion rate for the customers who are advocates:
    #   fay  40/15 = 2.666667 + 10 x 2 / (2 + Z2) = 3.423803 -> 6.09
    #   gus  60/15 = 4.00;  sam 30/15 = 2.00 (+ 0: ida did not buy, low bound 0)
    #   jo   25/15 = 1.67;  kit 15/15 = 1.00;  n01..n04 10/15 = 0.67
    assert [(r["customer"], r["score"]) for r in rows] == [
        ("cust-fay", round(40 / 15 + 10 * 2 / (2 + Z2), 2)),
        ("cust-gus", 4.0),
        ("cust-sam", 2.0),
        ("cust-jo", 1.67),
        ("cust-kit", 1.0),
        ("cust-n01", 0.67),
        ("cust-n02", 0.67),
        ("cust-n03", 0.67),
        ("cust-n04", 0.67),
    ]
    fay = rows[0]
    assert fay["advocate"] == "fay" and fay["revenue"] == "40.00"
    assert (fay["friends_reached"], fay["friends_converted"]) == (2, 2)
    assert fay["tenure_days"] == 23.5  # 03-08 12:00 to 04-01 00:00
    assert rows[1]["advocate"] is None and rows[1]["friends_reached"] is None


def test_refunded_revenue_is_shown_beside_revenue(tmp_path):
    from advocate_fixture import REFUNDED, REFUNDED_ON

    from conftest import AUTH

    programme = build_programme(tmp_path)
    before = by_handle(programme.rows("advocates"))
    assert before["fay"]["refunded_revenue"] == "0.00"
    response = programme.client.post(
        f"/api/conversions/{programme.conversions[REFUNDED]}/refund",
        json={"refunded_at": REFUNDED_ON},
        headers=AUTH,
    )
    assert response.status_code in (200, 201), response.get_json()
    after = by_handle(programme.rows("advocates"))
    # kit's 15.00 came through fay's link F: her revenue stays the attributed
    # 25.00 + 15.00 = 40.00 (as in every report), 15.00 of it since refunded
    assert (after["fay"]["revenue"], after["fay"]["refunded_revenue"]) == ("40.00", "15.00")
    assert after["quinn"]["refunded_revenue"] == "0.00"
    # outside the period of the refunded conversion (03-17) it is not counted
    early = by_handle(programme.rows("advocates", to="2025-03-16"))
    assert (early["fay"]["revenue"], early["fay"]["refunded_revenue"]) == ("25.00", "0.00")


def test_csv_and_cli_give_the_same_rows(programme):
    response = programme.get("/api/reports/advocates", format="csv", campaign="spring")
    assert response.mimetype == "text/csv"
    table = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["advocate"] for r in table] == ["quinn", "fay", "pat", "sam"]
    assert table[0]["revenue"] == "100.00" and table[0]["active"] == "true"
    runner = programme.app.test_cli_runner()
    result = runner.invoke(args=["report", "advocates", "--campaign", "spring", "--csv", "-"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == response.get_data(as_text=True).splitlines()
    for name in ("referrals", "advocate-candidates"):
        result = runner.invoke(args=["report", name, "--as-of", "2025-03-31", "--csv", "-"])
        assert result.exit_code == 0, result.output
        api = programme.get(f"/api/reports/{name}", format="csv", as_of="2025-03-31")
        assert result.output.splitlines() == api.get_data(as_text=True).splitlines()


def test_bad_report_parameters_are_refused(programme):
    client = programme.client
    from conftest import AUTH

    for path, params, field in [
        ("/api/reports/advocates", {"model": "nope"}, "model"),
        ("/api/reports/advocates", {"format": "xml"}, "format"),
        ("/api/reports/referrals", {"from": "2025-13-01"}, "from"),
        ("/api/reports/advocate-candidates", {"as_of": "2025-02-01", "to": "2025-03-01"}, "as_of"),
    ]:
        response = client.get(path, query_string=params, headers=AUTH)
        assert response.status_code == 400, (path, params)
        assert response.get_json()["field"] == field


def test_candidate_score_caps_saves_and_cancels():
    # 6 repeat purchases -> 12 points capped at 10; revenue 9x the median -> capped
    # at 5; 400 days -> 13 months capped at 6; one save -2; no friends: 10+5+6-2 = 19
    assert candidate_score(6, 9.0, 400, 1, None, False) == 19.0
    assert candidate_score(6, 9.0, 400, 0, 0.5, True) == 0.0  # cancelled
    assert candidate_score(0, 0.1, 10, 3, None, False) == 0.0  # never below zero
