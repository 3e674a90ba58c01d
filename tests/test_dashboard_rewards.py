"""The dashboard's rewards page: the ledger and rules as the API answers
them, the payout CSV, and marking every approved reward paid."""

from test_rewards import post_rule, small_programme

from conftest import AUTH, browser
from dashboard_support import signed_in


def test_the_rewards_page_shows_the_ledger_and_pays_the_approved(app, db):
    client = browser(app)
    ada, buy = small_programme(client, db)
    post_rule(client, amount="7.50")
    buy("v-1", "2025-03-02")  # March 2025: long past its 30-day holding period today
    buy("v-2", "2025-03-03")
    signed, token = signed_in(app)
    page = signed.get("/dashboard/rewards").get_data(as_text=True)
    assert 'data-rule="1"' in page and "7.50 EUR" in page
    # reading the ledger approved both: 2 x 7.50 = 15.00
    assert "2 rewards · 2 approved 15.00 EUR" in page
    assert 'href="/dashboard/export/rewards?format=csv"' in page

    done = signed.post("/dashboard/rewards/mark-paid", data={"csrf_token": token})
    assert done.status_code == 303
    paid = client.get("/api/rewards?status=paid", headers=AUTH).get_json()
    assert [r["amount"] for r in paid["rewards"]] == ["7.50", "7.50"]
    assert len({r["payout_batch"] for r in paid["rewards"]}) == 1
    assert "2 paid 15.00 EUR" in signed.get("/dashboard/rewards?status=paid").get_data(as_text=True)
    csv_text = signed.get("/dashboard/export/rewards?status=paid&format=csv").get_data(as_text=True)
    assert csv_text == client.get("/api/rewards?status=paid&format=csv", headers=AUTH).get_data(
        as_text=True
    )
    assert signed.post("/dashboard/rewards/mark-paid").status_code == 400  # no CSRF token
    assert signed.get("/dashboard/rewards?status=lost").status_code == 400


def test_reward_rules_are_created_and_changed_on_the_page(app, db):
    client = browser(app)
    ada, buy = small_programme(client, db)
    signed, token = signed_in(app)
    empty = signed.get("/dashboard/rewards").get_data(as_text=True)
    assert 'id="no-rules"' in empty and 'id="rule-form"' in empty  # the form, on the page
    assert "POST /api/reward-rules" not in empty and "flask --app" not in empty
    form = {"csrf_token": token, "campaign": "spring", "beneficiary": "advocate",
            "goal": "purchase", "kind": "flat", "value": "1,000.00", "currency": "EUR",
            "holding_days": "", "valid_from": "", "valid_to": "", "cap_count": "2",
            "cap_amount": "", "note": "launch"}  # fmt: skip
    made = signed.post("/dashboard/rewards/rules", data=form)
    assert made.status_code == 303
    (rule,) = client.get("/api/reward-rules", headers=AUTH).get_json()["rules"]
    # the amount as the tables write it; an empty holding period is the rules' 30 days
    assert (rule["campaign"], rule["kind"], rule["amount"], rule["currency"]) == (
        "spring",
        "flat",
        "1000.00",
        "EUR",
    )
    assert (rule["holding_days"], rule["cap_count"], rule["active"]) == (30, 2, True)
    assert rule["verified_only"] is False and rule["note"] == "launch"
    # the rule rewards ada's friend's purchase like one made by the API
    buy("v-1", "2025-03-02")
    reward = client.get("/api/rewards", headers=AUTH).get_json()["rewards"][0]
    assert (reward["amount"], reward["rule_id"]) == ("1000.00", rule["id"])

    # changed: 12.5 % of the revenue, webhooks only, deactivated
    page = signed.get(f"/dashboard/rewards?edit={rule['id']}").get_data(as_text=True)
    assert f'name="rule_id" value="{rule["id"]}"' in page and 'value="1000.00"' in page
    changed = {**form, "rule_id": rule["id"], "kind": "percent", "value": "12.5",
               "holding_days": "14", "verified_only": "on"}  # fmt: skip
    assert signed.post("/dashboard/rewards/rules", data=changed).status_code == 303
    after = client.get(f"/api/reward-rules/{rule['id']}", headers=AUTH).get_json()["rule"]
    assert (after["kind"], after["percent"], after["amount"]) == ("percent", "12.5", None)
    assert (after["holding_days"], after["verified_only"], after["active"]) == (14, True, False)

    # refused input names its box and changes nothing
    bad = signed.post("/dashboard/rewards/rules", data={**form, "value": "150", "kind": "percent"})
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert 'id="rule-value-error">percent must be a number such as' in text
    late = signed.post(
        "/dashboard/rewards/rules",
        data={**form, "valid_from": "2025-04-01", "valid_to": "2025-03-01"},
    )
    assert late.status_code == 400
    assert 'id="rule-valid_to-error">valid_to must not be before valid_from' in late.get_data(
        as_text=True
    )
    assert len(client.get("/api/reward-rules", headers=AUTH).get_json()["rules"]) == 1
    assert (
        signed.post("/dashboard/rewards/rules", data=form | {"csrf_token": ""}).status_code == 400
    )
    assert signed.get("/dashboard/rewards?edit=999").status_code == 404
