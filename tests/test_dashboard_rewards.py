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
