"""Two-way incentives: the reward maths by hand, reward rules
(API and CLI), and the ledger on the hand-built advocate programme
(tests/advocate_fixture.py): every reward worked out in the comments."""

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from advocates.rewards import (
    Facts,
    RewardError,
    assess,
    format_percent,
    parse_percent,
    percent_of,
    reward_amount,
)
from conftest import AUTH

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
    # a pixel purchase under a rule that pays on signed webhooks only
    webhooks_only = {**FLAT, "verified_only": True}
    assert assess(webhooks_only, Facts(4000, "EUR", verified=False)).reason == "unverified"
    assert assess(webhooks_only, Facts(4000, "EUR")).status == "pending"
    assert assess(FLAT, Facts(4000, "EUR", verified=False)).status == "pending"


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
        "verified_only": False,
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
        ({"verified_only": 1}, "verified_only"),
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
    runner.invoke(args=["rewards", "rules", "update", "1", "--verified-only"])
    listed = runner.invoke(args=["rewards", "rules", "list", "--json"])
    assert '"holding_days": 14' in listed.output and '"verified_only": true' in listed.output
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
    assert nothing.get_json() == {"payout_batch": None, "paid": [], "already_paid": []}
    for query, field in (("status=gone", "status"), ("from=x", "from"), ("format=xml", "format"),
                         ("limit=0", "limit"), ("advocate_id=-1", "advocate_id"),
                         ("beneficiary=me", "beneficiary"), ("limit=²", "limit")):  # fmt: skip
        response = client.get(f"/api/rewards?{query}", headers=AUTH)
        assert (response.status_code, response.get_json()["field"]) == (400, field), query


# -- the ledger on the hand-built programme (tests/advocate_fixture.py) --------
#
# Two rules on campaign "spring" (the fixture's S1 and its personal links P,
# Q, S, F), goal purchase, EUR, holding period 30 days (from the sale):
#   R1  advocate: 10 % of the friend's attributed revenue, cap 5.00 per advocate
#   R2  friend:   5.00 flat on their purchase
# The fixture's purchases, then three more made here (in this order):
#   gus-2  20.00 03-20 through Q (gus's last click is still Q, 03-06): a repeat
#   gus    the same order again: intake stores it once, nothing is assessed
#   fay-2  12.00 03-19 through F after fay clicks her own link on 03-18
#          (no customer id: her visitor id v-fay gives her away)
#
#  conversion        link (advocate)   R1 (advocate)                    R2 (friend)
#  n01..n04 10.00    S1 (the brand's)  -- no advocate, nothing --
#  fay   40.00 03-08 Q (quinn)   pending 4.00 (10 % of 40.00)       pending 5.00 fay
#  gus   60.00 03-09 Q (quinn)   refused cap_reached 6.00 (4+6>5)   pending 5.00 gus
#  sam   30.00 03-08 S (sam)     refused self_referral 3.00          refused self_referral 5.00
#                                (cust-sam is sam's own customer id)
#  jo    25.00 03-16 F (fay)     pending 2.50 fay                   pending 5.00 jo
#  kit   15.00 03-17 F (fay)     pending 1.50 fay (2.50+1.50 <= 5)  pending 5.00 kit
#  gus-2 20.00 03-20 Q (quinn)   refused cap_reached 2.00 (4+2>5)   refused already_rewarded 5.00
#  fay-2 12.00 03-19 F (fay)     refused self_referral 1.20          refused self_referral 5.00
# pat's friends never buy: nothing. jo and kit are fay's friends (second
# generation): fay earns from them, quinn (fay's parent) nothing.
RULES = [
    {"campaign": "spring", "beneficiary": "advocate", "percent": "10", "currency": "EUR",
     "cap_amount": "5.00"},
    {"campaign": "spring", "beneficiary": "friend", "amount": "5.00", "currency": "EUR"},
]  # fmt: skip


def programme_with_rules(tmp_path):
    from advocate_fixture import build_programme

    from advocates.rewards import create_rule, parse_rule
    from conftest import app_config
    from shortener.app import init_db
    from shortener.clock import utcnow
    from shortener.db import connect

    # the rules exist before the first click: the programme's own database
    database = app_config(tmp_path)["DATABASE"]
    init_db(database)
    db = connect(database)
    for fields in RULES:
        create_rule(db, parse_rule(db, fields, "USD"), utcnow())
    db.close()
    programme = build_programme(tmp_path)
    extra(programme, "gus-2", "gus", "20.00", 20, customer="cust-gus")
    again = extra(programme, "gus", "gus", "60.00", 9, customer="cust-gus", status=200)
    assert again["duplicate"] is True
    extra(programme, "fay-2", "fay", "12.00", 19, click=("F", 18))
    return programme


def extra(programme, order, who, value, day, customer=None, click=None, status=201):
    from advocate_fixture import _click, at

    from conftest import post_webhook
    from shortener.db import connect

    if click:
        db = connect(programme.app.config["DATABASE"])
        _click(db, programme, who, click[0], click[1])
        db.close()
    payload = {"goal": "purchase", "value": value, "currency": "EUR", "visitor_id": f"v-{who}",
               "occurred_at": at(day), "order_id": f"order-{order}"}  # fmt: skip
    if customer:
        payload["customer_id"] = customer
    response = post_webhook(programme.client, payload, msg_id=f"msg_{order}_{day}")
    assert response.status_code == status, response.get_json()
    programme.conversions.setdefault(order, response.get_json()["conversion"]["id"])
    return response.get_json()


def ledger(db):
    """(conversion name, rule, beneficiary, advocate handle, amount, status, reason)"""
    return [
        tuple(r)
        for r in db.execute(
            "SELECT c.order_id, r.rule_id, r.beneficiary, a.handle, r.amount_minor, r.status,"
            " r.reason FROM rewards r JOIN conversions c ON c.id = r.conversion_id"
            " JOIN advocates a ON a.id = r.advocate_id ORDER BY r.id"
        ).fetchall()
    ]


def test_every_reward_of_the_programme_by_hand(tmp_path):
    from advocates import rewards
    from shortener.clock import parse_moment
    from shortener.db import connect

    programme = programme_with_rules(tmp_path)
    db = connect(programme.app.config["DATABASE"])
    # the table above, row by row, in the order intake stored them
    assert ledger(db) == [
        ("order-fay", 1, "advocate", "quinn", 400, "pending", None),
        ("order-fay", 2, "friend", "quinn", 500, "pending", None),
        ("order-gus", 1, "advocate", "quinn", 600, "refused", "cap_reached"),
        ("order-gus", 2, "friend", "quinn", 500, "pending", None),
        ("order-sam", 1, "advocate", "sam", 300, "refused", "self_referral"),
        ("order-sam", 2, "friend", "sam", 500, "refused", "self_referral"),
        ("order-jo", 1, "advocate", "fay", 250, "pending", None),
        ("order-jo", 2, "friend", "fay", 500, "pending", None),
        ("order-kit", 1, "advocate", "fay", 150, "pending", None),
        ("order-kit", 2, "friend", "fay", 500, "pending", None),
        ("order-gus-2", 1, "advocate", "quinn", 200, "refused", "cap_reached"),
        ("order-gus-2", 2, "friend", "quinn", 500, "refused", "already_rewarded"),
        ("order-fay-2", 1, "advocate", "fay", 120, "refused", "self_referral"),
        ("order-fay-2", 2, "friend", "fay", 500, "refused", "self_referral"),
    ]
    # a friend reward names the friend: fay's is for v-fay / cust-fay
    assert db.execute(
        "SELECT visitor_id, customer_id, due_at FROM rewards WHERE id = 2"
    ).fetchone() == ("v-fay", "cust-fay", "2025-04-07T12:00:00.000000Z")  # 03-08 + 30 days

    # kit refunded on 03-27, ten days into the holding period: both kit rewards voided
    refund = programme.client.post(
        f"/api/conversions/{programme.conversions['kit']}/refund",
        json={"reason": "returned", "refunded_at": "2025-03-27T12:00:00Z"},
        headers=AUTH,
    ).get_json()
    assert [(r["id"], r["status"], r["amount"]) for r in refund["voided"]] == [
        (9, "voided", "1.50"),
        (10, "voided", "5.00"),
    ]
    assert refund["kept"] == [] and refund["already_refunded"] is False
    assert refund["refunded_at"] == "2025-03-27T12:00:00.000000Z"

    # 04-08 12:00: fay's two (due 04-07 12:00) and gus's friend reward (due
    # 04-08 12:00) are due; jo's are due 04-15. Running it again does nothing.
    april_8 = parse_moment("2025-04-08T12:00:00Z")
    assert rewards.approve_due(db, april_8) == 3
    assert rewards.approve_due(db, april_8) == 0
    statuses = {r[0]: r[1] for r in db.execute("SELECT id, status FROM rewards")}
    assert [i for i, s in statuses.items() if s == "approved"] == [1, 2, 4]
    assert [i for i, s in statuses.items() if s == "pending"] == [7, 8]
    approved_at = db.execute("SELECT approved_at FROM rewards WHERE id = 4").fetchone()[0]
    assert approved_at == "2025-04-08T12:00:00.000000Z"  # when its holding period ended

    # what each advocate earned (as the advocate, not their friends' rewards):
    # quinn 4.00 (fay's purchase); fay 2.50 (jo; kit's 1.50 voided); sam, pat nothing
    ids = programme.advocates
    assert rewards.rewards_earned(db) == {ids["quinn"]: {"EUR": 400}, ids["fay"]: {"EUR": 250}}
    # up to 03-15 jo's purchase (03-16) is outside the period
    assert rewards.rewards_earned(db, end=parse_moment("2025-03-15").date()) == {
        ids["quinn"]: {"EUR": 400}
    }
    assert rewards.rewards_earned(db, advocate_ids=[ids["fay"], ids["pat"]]) == {
        ids["fay"]: {"EUR": 250}
    }

    # payout on 04-10 of everything approved: 4.00 + 5.00 + 5.00 = 14.00 in one batch
    paid = rewards.mark_paid(db, parse_moment("2025-04-10T12:00:00Z"))
    assert paid["payout_batch"] == "payout-20250410T120000Z-1"
    assert [(r["id"], r["amount_minor"]) for r in paid["paid"]] == [(1, 400), (2, 500), (4, 500)]
    assert sum(r["amount_minor"] for r in paid["paid"]) == 1400
    # the same batch again pays nothing twice
    again = rewards.mark_paid(db, parse_moment("2025-04-11T12:00:00Z"), ids=[1, 2, 4])
    assert again["paid"] == [] and again["payout_batch"] is None
    assert {r["paid_at"] for r in again["already_paid"]} == {"2025-04-10T12:00:00.000000Z"}
    # a pending reward cannot be paid: the whole batch is refused
    with pytest.raises(RewardError) as refused:
        rewards.mark_paid(db, parse_moment("2025-04-11T12:00:00Z"), ids=[1, 7])
    assert (refused.value.status, refused.value.field) == (409, "ids")
    assert db.execute("SELECT status FROM rewards WHERE id = 7").fetchone()[0] == "pending"

    # gus refunded after his friend reward was paid: it stays, listed as kept
    late = programme.client.post(
        f"/api/conversions/{programme.conversions['gus']}/refund", headers=AUTH
    ).get_json()
    assert late["voided"] == [] and [(r["id"], r["status"]) for r in late["kept"]] == [(4, "paid")]
    # refunding kit again changes nothing and says so
    twice = programme.client.post(
        f"/api/conversions/{programme.conversions['kit']}/refund", headers=AUTH
    ).get_json()
    assert twice["already_refunded"] is True and twice["refunded_at"] == refund["refunded_at"]
    assert twice["reason"] == "returned" and len(twice["voided"]) == 2

    # reading the ledger today approves jo's two (due 04-15): approved 2.50 + 5.00 = 7.50;
    # paid 14.00 (3); voided kit's 1.50 + 5.00 = 6.50 (2); refused, at what they would have
    # been: 6.00 + 3.00 + 5.00 + 2.00 + 5.00 + 1.20 + 5.00 = 27.20 (7). 14 rows in all.
    listed = programme.get("/api/rewards").get_json()
    assert listed["total"] == 14
    assert listed["totals"] == [
        {"status": "approved", "currency": "EUR", "count": 2, "amount": "7.50"},
        {"status": "paid", "currency": "EUR", "count": 3, "amount": "14.00"},
        {"status": "refused", "currency": "EUR", "count": 7, "amount": "27.20"},
        {"status": "voided", "currency": "EUR", "count": 2, "amount": "6.50"},
    ]
    jo = listed["rewards"][6]
    assert (jo["advocate_handle"], jo["order_id"], jo["status"], jo["approved_at"]) == (
        "fay", "order-jo", "approved", "2025-04-15T12:00:00.000000Z"
    )  # fmt: skip
    refusals = programme.get("/api/rewards/refusals").get_json()["rewards"]
    assert [(r["order_id"], r["beneficiary"], r["reason"]) for r in refusals] == [
        ("order-gus", "advocate", "cap_reached"),
        ("order-sam", "advocate", "self_referral"),
        ("order-sam", "friend", "self_referral"),
        ("order-gus-2", "advocate", "cap_reached"),
        ("order-gus-2", "friend", "already_rewarded"),
        ("order-fay-2", "advocate", "self_referral"),
        ("order-fay-2", "friend", "self_referral"),
    ]
    # the second generation: every reward on jo's and kit's purchases goes to fay
    quinn = programme.get("/api/rewards", advocate_id=ids["quinn"]).get_json()["rewards"]
    assert {r["order_id"] for r in quinn} == {"order-fay", "order-gus", "order-gus-2"}

    # the payout run: the approved rewards as CSV, from the API and the CLI alike
    csv_text = programme.get("/api/rewards", status="approved", format="csv").get_data(as_text=True)
    lines = csv_text.splitlines()
    assert lines[0].startswith("id,status,reason,beneficiary,amount,currency,advocate_id,")
    assert [line.split(",")[:6] for line in lines[1:]] == [
        ["7", "approved", "", "advocate", "2.50", "EUR"],
        ["8", "approved", "", "friend", "5.00", "EUR"],
    ]
    out = tmp_path / "payout.csv"
    result = programme.app.test_cli_runner().invoke(
        args=["rewards", "export", "--status", "approved", "--csv", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().decode() == csv_text

    # the advocates leaderboard's "rewards earned" is the ledger's: quinn 4.00, fay 2.50
    # (kit's 1.50 voided), sam 0.00 (his own purchase was refused), pat 0.00
    def earned(**params):
        rows = programme.rows("advocates", **params)
        return {r["advocate"]: r["rewards_earned"] for r in rows}

    assert earned() == {"quinn": "4.00", "fay": "2.50", "sam": "0.00", "pat": "0.00"}
    # up to 03-15: jo's purchase (03-16) is outside the period, fay earned nothing yet
    assert earned(to="2025-03-15")["fay"] == "0.00"
    assert earned(to="2025-03-15")["quinn"] == "4.00"
    db.close()


def test_approval_from_the_command_line_is_idempotent(tmp_path):
    programme = programme_with_rules(tmp_path)
    runner = programme.app.test_cli_runner()
    # today every pending reward of March 2025 is long past its holding period:
    # fay's, gus's (friend), jo's and kit's two = 2 + 1 + 2 + 2 = 7
    assert runner.invoke(args=["rewards", "approve"]).output == "approved 7 reward(s)\n"
    assert runner.invoke(args=["rewards", "approve"]).output == "approved 0 reward(s)\n"
    # approved before the refund: kit's rewards are kept, not voided
    kit = programme.conversions["kit"]
    result = runner.invoke(args=["rewards", "refund", str(kit), "--reason", "late"])
    assert "voided 0 reward(s), kept 2 approved or paid" in result.output
    paid = runner.invoke(args=["rewards", "mark-paid", "--all-approved"])
    assert paid.output.startswith("paid 7 reward(s) in batch payout-")
    none = runner.invoke(args=["rewards", "mark-paid", "1"])  # already paid: nothing twice
    assert none.output == "paid 0 reward(s) in batch -; 1 already paid\n"
    bad = runner.invoke(args=["rewards", "mark-paid", "5"])  # sam's refusal
    assert bad.exit_code == 1 and "refused, not approved" in bad.output


# -- which conversions a rule assesses ------------------------------------------


def small_programme(client, db):
    """One advocate (ada, customer c-ada) with a personal link on campaign
    spring; returns a function that makes visitor `who` click it and buy."""
    from conftest import BROWSER_UA, make_link, post_webhook
    from shortener.clicks import classify, record_click
    from shortener.clock import parse_moment

    source = make_link(client, campaign="spring")
    ada = client.post("/api/advocates", json={"name": "Ada", "customer_id": "c-ada"},
                      headers=AUTH).get_json()  # fmt: skip
    shared = client.post(f"/api/links/{source['code']}/share", json={"advocate": ada["handle"]},
                         headers=AUTH).get_json()  # fmt: skip
    link_id = db.execute("SELECT id FROM links WHERE code = ?", [shared["code"]]).fetchone()[0]

    def buy(who, day, value="50.00", currency="EUR", goal="purchase", status=201):
        record_click(db, link_id=link_id, visitor_id=who, now=parse_moment(f"{day}T10:00:00Z"),
                     agent=classify(BROWSER_UA), is_bot=False, user_agent=BROWSER_UA)  # fmt: skip
        payload = {"goal": goal, "value": value, "currency": currency, "visitor_id": who,
                   "occurred_at": f"{day}T11:00:00Z", "order_id": f"{who}-{day}"}  # fmt: skip
        response = post_webhook(client, payload, msg_id=f"msg-{who}-{day}-{goal}")
        assert response.status_code == status, response.get_json()
        return response.get_json()["conversion"]["id"]

    return ada, buy


def test_a_rule_assesses_its_campaign_goal_and_days_only(client, db):
    ada, buy = small_programme(client, db)
    post_rule(client, valid_from="2025-03-01", valid_to="2025-03-31", amount="2.00")
    post_rule(client, campaign="summer", amount="7.00")  # another campaign
    post_rule(client, goal="signup", amount="1.00")  # another goal
    post_rule(client, percent="10", amount=None, currency="USD")  # dollars only
    off = post_rule(client, amount="9.00").get_json()["rule"]
    client.delete(f"/api/reward-rules/{off['id']}", headers=AUTH)  # deactivated

    in_march = buy("v-1", "2025-03-31")  # the last valid day: rule 1 pays 2.00
    buy("v-2", "2025-04-01")  # the day after: rule 1 does not apply
    rows = db.execute(
        "SELECT rule_id, conversion_id, amount_minor, status, reason FROM rewards ORDER BY id"
    ).fetchall()
    # rule 4 is a percentage in USD and the sales are in EUR: refused, not converted
    assert rows == [
        (1, in_march, 200, "pending", None),
        (4, in_march, 0, "refused", "currency_mismatch"),
        (4, in_march + 1, 0, "refused", "currency_mismatch"),
    ]


def test_an_inactive_advocate_earns_nothing_and_it_is_listed(client, db):
    ada, buy = small_programme(client, db)
    post_rule(client)
    client.delete(f"/api/advocates/{ada['id']}", headers=AUTH)
    buy("v-1", "2025-03-02")
    refusals = client.get("/api/rewards/refusals", headers=AUTH).get_json()["rewards"]
    assert [(r["reason"], r["amount"]) for r in refusals] == [("advocate_inactive", "10.00")]


def test_a_visitor_who_bought_as_the_advocate_is_the_advocate(client, db):
    # v-ada once bought with ada's customer id (not through her link); later
    # she buys through her own link without logging in: a self-referral
    from conftest import post_webhook

    ada, buy = small_programme(client, db)
    post_rule(client)
    payload = {"goal": "signup", "visitor_id": "v-ada", "customer_id": "c-ada",
               "occurred_at": "2025-03-01T09:00:00Z"}  # fmt: skip
    assert post_webhook(client, payload, msg_id="msg-ada").status_code == 201
    buy("v-ada", "2025-03-02")
    assert db.execute("SELECT status, reason FROM rewards").fetchall() == [
        ("refused", "self_referral")
    ]


def test_a_failing_ledger_never_loses_the_conversion(client, db):
    ada, buy = small_programme(client, db)
    post_rule(client)
    db.execute("ALTER TABLE rewards RENAME TO rewards_elsewhere")  # the insert will fail
    db.conn.commit()
    conversion_id = buy("v-1", "2025-03-02")  # still 201
    assert db.execute("SELECT count(*) FROM conversions WHERE id = ?", [conversion_id]).fetchone()
    assert db.execute("SELECT count(*) FROM credits WHERE conversion_id = ?",
                      [conversion_id]).fetchone()[0] == 5  # one per model  # fmt: skip
    assert db.execute("SELECT count(*) FROM rewards_elsewhere").fetchone()[0] == 0


def test_erasing_a_friend_keeps_the_reward_but_forgets_who(client, db, runner):
    ada, buy = small_programme(client, db)
    post_rule(client, beneficiary="friend")
    conversion_id = buy("v-1", "2025-03-02")
    # refunded long after its holding period (March 2025): the reward stays approved
    client.post(f"/api/conversions/{conversion_id}/refund", json={}, headers=AUTH)
    result = runner.invoke(args=["privacy", "erase", "--visitor", "v-1"])
    assert result.exit_code == 0, result.output
    assert db.execute(
        "SELECT visitor_id, customer_id, amount_minor, status FROM rewards"
    ).fetchall() == [(None, None, 1000, "approved")]
    assert db.execute("SELECT count(*) FROM conversion_refunds").fetchone()[0] == 0


def test_a_webhook_confirming_a_pixel_order_is_assessed_again(app, client, db):
    # intake turns the pixel's row for an order into the webhook's (same id);
    # the rewards assessed on the pixel's word are assessed again on the webhook's
    from flask import has_app_context

    from conftest import BROWSER_UA
    from conversions.intake import Conversion, Policy, record_conversion
    from shortener.clicks import classify, record_click
    from shortener.clock import parse_moment

    ada, buy = small_programme(client, db)
    post_rule(client)  # rule 1: 10.00 flat
    post_rule(client, amount=None, percent="10")  # rule 2: 10 %
    link_id = db.execute("SELECT id FROM links WHERE advocate_id IS NOT NULL").fetchone()[0]
    when = parse_moment("2025-03-02T11:00:00Z")

    def convert(source, visitor, order, value_minor, customer=None):
        if source == "pixel":
            record_click(db, link_id=link_id, visitor_id=visitor, now=parse_moment(
                "2025-03-02T10:00:00Z"), agent=classify(BROWSER_UA), is_bot=False,
                user_agent=BROWSER_UA)  # fmt: skip
        c = Conversion(goal="purchase", source=source, occurred_at=when, received_at=when,
                       value_minor=value_minor, currency="EUR", order_id=order,
                       visitor_id=visitor, customer_id=customer,
                       webhook_id=f"msg-{order}" if source == "webhook" else None)  # fmt: skip
        # no app context: the ledger hears intake on a bare connection too
        assert not has_app_context()
        return record_conversion(db, c, Policy())[0]["id"]

    def ledger_of(conversion_id):
        return db.execute(
            "SELECT rule_id, amount_minor, status, reason FROM rewards WHERE conversion_id = ?"
            " ORDER BY rule_id",
            [conversion_id],
        ).fetchall()

    # the pixel says 50.00: 10.00 and 10 % = 5.00; the webhook says 80.00: 10.00 and 8.00
    first = convert("pixel", "v-9", "o-1", 5000)
    assert ledger_of(first) == [(1, 1000, "pending", None), (2, 500, "pending", None)]
    assert convert("webhook", "v-9", "o-1", 8000) == first
    assert ledger_of(first) == [(1, 1000, "pending", None), (2, 800, "pending", None)]
    # an anonymous pixel, then the shop's webhook names the buyer: ada herself
    second = convert("pixel", "v-10", "o-2", 3000)
    assert ledger_of(second) == [(1, 1000, "pending", None), (2, 300, "pending", None)]
    assert convert("webhook", "v-10", "o-2", 3000, customer="c-ada") == second
    assert ledger_of(second) == [(1, 1000, "refused", "self_referral"),
                                 (2, 300, "refused", "self_referral")]  # fmt: skip

    # a rule paying on signed webhooks only: the pixel's purchase is refused, and
    # paid once the shop's webhook confirms the order
    client.patch("/api/reward-rules/1", json={"verified_only": True}, headers=AUTH)
    client.delete("/api/reward-rules/2", headers=AUTH)
    third = convert("pixel", "v-11", "o-3", 2000)
    assert ledger_of(third) == [(1, 1000, "refused", "unverified")]
    assert convert("webhook", "v-11", "o-3", 2000) == third
    assert ledger_of(third) == [(1, 1000, "pending", None)]
