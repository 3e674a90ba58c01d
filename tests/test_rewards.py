"""Two-way incentives (issue 7): the reward maths by hand, reward rules
(API and CLI), and the ledger on the hand-built advocate programme
(tests/advocate_fixture.py): every reward worked out in the comments."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import AUTH
from conversions.rewards import (
    Facts,
    RewardError,
    assess,
    format_percent,
    parse_percent,
    percent_of,
    reward_amount,
)

# -- the maths -----------------------------------------------------------------


def test_percent_is_rounded_down_to_the_minor_unit():
    # 10 % of 40.00 EUR = 4000 x 1000 / 10000 = 400 cents exactly
    assert percent_of(4000, 1000) == 400
    # 12.5 % of 49.99 = 4999 x 0.125 = 624.875 cents -> down to 624 (never 625)
    assert percent_of(4999, 1250) == 624
    # 33.33 % of 0.10 = 10 x 0.3333 = 3.333 -> 3
    assert percent_of(10, 3333) == 3
    # 0.01 % of 99.99 = 9999 x 0.0001 = 0.9999 -> 0 (a reward of nothing)
    assert percent_of(9999, 1) == 0
    # 100 % gives the revenue back to the cent
    assert percent_of(123456, 10000) == 123456
    # a zero-decimal currency: 7 % of 1234 JPY = 86.38 -> 86
    assert percent_of(1234, 700) == 86


@given(st.integers(0, 10**14), st.integers(1, 10000))
def test_percent_never_exceeds_the_exact_share_by_a_minor_unit(revenue, bp):
    exact = Decimal(revenue) * bp / 10000
    assert exact - 1 < percent_of(revenue, bp) <= exact


def test_percentages_parse_exactly():
    assert parse_percent("12.5") == 1250
    assert parse_percent(10) == 1000
    assert parse_percent(Decimal("0.01")) == 1
    assert parse_percent(" 100 ") == 10000
    assert format_percent(1250) == "12.5" and format_percent(1000) == "10"
    assert format_percent(1) == "0.01" and format_percent(10000) == "100"
    for bad in ("0", "100.01", "-5", "12.345", "ten", "", "NaN", "1e2", True, 12.5, None):
        with pytest.raises(RewardError) as refused:
            parse_percent(bad)
        assert refused.value.field == "percent"


FLAT = {"kind": "flat", "amount_minor": 1000, "percent_bp": None, "currency": "EUR",
        "cap_count": None, "cap_amount_minor": None}  # fmt: skip
PERCENT = {**FLAT, "kind": "percent", "amount_minor": None, "percent_bp": 1000}


def test_reward_amounts():
    # flat 10.00 whatever the sale; 10 % of a 60.00 sale is 6.00
    assert reward_amount(FLAT, 6000) == 1000
    assert reward_amount(PERCENT, 6000) == 600


def test_assess_rewards_or_refuses_with_the_first_reason():
    ok = Facts(attributed_minor=4000, currency="EUR")
    assert assess(FLAT, ok).status == "pending"
    assert assess(FLAT, ok).amount_minor == 1000
    assert assess(PERCENT, ok).amount_minor == 400  # 10 % of 40.00
    # a flat rule pays in its own currency whatever the sale's
    assert assess(FLAT, Facts(4000, "USD")).status == "pending"
    # a percentage of dollars is not euros: refused, amount unknown (0)
    usd = assess(PERCENT, Facts(4000, "USD"))
    assert (usd.status, usd.reason, usd.amount_minor) == ("refused", "currency_mismatch", 0)
    # the reasons in order: inactive before self-referral before already rewarded ...
    both = Facts(4000, "EUR", advocate_active=False, self_referral=True)
    assert assess(FLAT, both).reason == "advocate_inactive"
    self_ref = assess(FLAT, Facts(4000, "EUR", self_referral=True, already_rewarded=True))
    # a refusal keeps the amount the reward would have had
    assert (self_ref.reason, self_ref.amount_minor) == ("self_referral", 1000)
    assert assess(FLAT, Facts(4000, "EUR", already_rewarded=True)).reason == "already_rewarded"
    # 10 % of a free signup is nothing to reward
    assert assess(PERCENT, Facts(0, "EUR")).reason == "zero_amount"


def test_caps_by_count_and_by_amount():
    by_count = {**FLAT, "cap_count": 2}
    # two live rewards already: the third is past the cap; one: the second is fine
    assert assess(by_count, Facts(4000, "EUR", earned_count=2, earned_minor=2000)).reason == (
        "cap_reached"
    )
    assert assess(by_count, Facts(4000, "EUR", earned_count=1, earned_minor=1000)).status == (
        "pending"
    )
    by_amount = {**PERCENT, "cap_amount_minor": 1000}
    # 6.00 earned, 10 % of 40.00 = 4.00 more makes 10.00: exactly the cap, allowed
    assert assess(by_amount, Facts(4000, "EUR", earned_minor=600)).status == "pending"
    # 6.01 earned + 4.00 = 10.01 > 10.00: refused whole (never cut to fit)
    refused = assess(by_amount, Facts(4000, "EUR", earned_minor=601))
    assert (refused.reason, refused.amount_minor) == ("cap_reached", 400)


# -- reward rules: API and CLI -------------------------------------------------


def post_rule(client, **fields):
    body = {"campaign": "spring", "beneficiary": "advocate", "amount": "10.00",
            "currency": "EUR"}  # fmt: skip
    body.update(fields)
    body = {k: v for k, v in body.items() if v is not None}
    return client.post("/api/reward-rules", json=body, headers=AUTH)


def test_create_list_patch_and_deactivate_a_rule(client):
    response = post_rule(client, cap_count=20, valid_from="2025-03-01", note="spring push")
    assert response.status_code == 201, response.get_json()
    rule = response.get_json()["rule"]
    assert rule == {
        "id": rule["id"],
        "campaign": "spring",
        "beneficiary": "advocate",
        "goal": "purchase",  # the default goal
        "kind": "flat",
        "amount": "10.00",
        "percent": None,
        "currency": "EUR",
        "valid_from": "2025-03-01",
        "valid_to": None,
        "holding_days": 30,  # the default holding period
        "cap_count": 20,
        "cap_amount": None,
        "active": True,
        "note": "spring push",
        "created_at": rule["created_at"],
        "updated_at": rule["updated_at"],
    }
    friend = post_rule(client, beneficiary="friend", amount=None, percent="12.5",
                       holding_days=14, goal="signup").get_json()["rule"]  # fmt: skip
    assert (friend["kind"], friend["percent"], friend["amount"]) == ("percent", "12.5", None)
    post_rule(client, campaign="summer")
    listed = client.get("/api/reward-rules?campaign=spring", headers=AUTH).get_json()["rules"]
    assert [r["id"] for r in listed] == [rule["id"], friend["id"]]

    url = f"/api/reward-rules/{rule['id']}"
    # switching a flat rule to a percentage drops its amount
    patched = client.patch(url, json={"percent": 5, "cap_amount": "100"}, headers=AUTH)
    assert patched.status_code == 200, patched.get_json()
    patched = patched.get_json()["rule"]
    assert (patched["kind"], patched["amount"], patched["percent"]) == ("percent", None, "5")
    assert (patched["cap_amount"], patched["cap_count"], patched["note"]) == (
        "100.00", 20, "spring push"
    )  # fmt: skip
    gone = client.delete(url, headers=AUTH).get_json()["rule"]
    assert gone["active"] is False
    assert client.get(url, headers=AUTH).get_json()["rule"]["active"] is False
    inactive = client.get("/api/reward-rules?active=false", headers=AUTH).get_json()["rules"]
    assert [r["id"] for r in inactive] == [rule["id"]]
    assert client.get("/api/reward-rules/999", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"campaign": None}, "campaign"),
        ({"beneficiary": "both"}, "beneficiary"),
        ({"goal": "nope"}, "goal"),
        ({"amount": None}, "amount"),  # neither amount nor percent
        ({"percent": "10"}, "amount"),  # both
        ({"amount": "10.001"}, "amount"),
        ({"amount": -1}, "amount"),
        ({"currency": "EURO"}, "currency"),
        ({"valid_from": "2025-13-01"}, "valid_from"),
        ({"valid_from": "2025-04-01", "valid_to": "2025-03-01"}, "valid_to"),
        ({"holding_days": -1}, "holding_days"),
        ({"holding_days": True}, "holding_days"),
        ({"cap_count": 0}, "cap_count"),
        ({"cap_amount": "abc"}, "cap_amount"),
        ({"active": "yes"}, "active"),
        ({"bonus": 1}, "bonus"),
    ],
)
def test_bad_rules_are_refused_naming_the_field(client, db, fields, field):
    response = post_rule(client, **fields)
    assert response.status_code == 400
    assert response.get_json()["field"] == field, response.get_json()
    assert db["reward_rules"].count == 0


def test_a_bad_patch_changes_nothing(client):
    rule = post_rule(client).get_json()["rule"]
    url = f"/api/reward-rules/{rule['id']}"
    response = client.patch(url, json={"holding_days": 5000}, headers=AUTH)
    assert (response.status_code, response.get_json()["field"]) == (400, "holding_days")
    assert client.get(url, headers=AUTH).get_json()["rule"] == rule


def test_rules_from_the_command_line(runner):
    made = runner.invoke(
        args=["rewards", "rules", "create", "--campaign", "spring", "--for", "friend",
              "--percent", "10", "--currency", "EUR", "--holding-days", "14"]
    )  # fmt: skip
    assert made.exit_code == 0, made.output
    assert made.output == "1\tspring\tfriend\tpurchase\t10 %\n"
    updated = runner.invoke(args=["rewards", "rules", "update", "1", "--amount", "5"])
    assert updated.output == "1\tspring\tfriend\tpurchase\t5.00 EUR\n"
    off = runner.invoke(args=["rewards", "rules", "deactivate", "1"])
    assert off.output == "1\tspring\tfriend\tpurchase\t5.00 EUR\t(inactive)\n"
    listed = runner.invoke(args=["rewards", "rules", "list", "--json"])
    assert '"holding_days": 14' in listed.output
    bad = runner.invoke(args=["rewards", "rules", "create", "--campaign", "x", "--for",
                              "advocate", "--amount", "1", "--percent", "2"])  # fmt: skip
    assert bad.exit_code == 1 and "either amount" in bad.output and "Traceback" not in bad.output
    missing = runner.invoke(args=["rewards", "rules", "update", "9", "--amount", "5"])
    assert missing.exit_code == 1 and "no reward rule 9" in missing.output


# -- refunds and payouts: refused input ---------------------------------------


def test_refund_and_mark_paid_refuse_bad_input(client, db):
    assert client.post("/api/conversions/5/refund", headers=AUTH).status_code == 404
    for body, field in (
        ({}, "ids"),
        ({"ids": [1], "all_approved": True}, "ids"),
        ({"ids": []}, "ids"),
        ({"ids": ["1"]}, "ids"),
        ({"ids": [True]}, "ids"),
        ({"all_approved": "yes"}, "all_approved"),
        ({"all_approved": True, "up_to": "soon"}, "up_to"),
        ({"ids": [1], "up_to": "2025-01-01T00:00:00Z"}, "up_to"),
        ({"all": True}, "all"),
    ):
        response = client.post("/api/rewards/mark-paid", json=body, headers=AUTH)
        assert response.status_code == 400, body
        assert response.get_json()["field"] == field, (body, response.get_json())
    unknown = client.post("/api/rewards/mark-paid", json={"ids": [7]}, headers=AUTH)
    assert unknown.status_code == 404 and unknown.get_json()["field"] == "ids"
    nothing = client.post("/api/rewards/mark-paid", json={"all_approved": True}, headers=AUTH)
    assert nothing.get_json() == {"payout_batch": None, "paid": []}
    for query, field in (("status=gone", "status"), ("from=x", "from"), ("format=xml", "format"),
                         ("limit=0", "limit"), ("advocate_id=-1", "advocate_id"),
                         ("beneficiary=me", "beneficiary")):  # fmt: skip
        response = client.get(f"/api/rewards?{query}", headers=AUTH)
        assert (response.status_code, response.get_json()["field"]) == (400, field), query
