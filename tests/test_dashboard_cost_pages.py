"""The costs page: add, edit, delete, import; the list is the API's."""

import io

from conftest import AUTH, browser
from dashboard_support import signed_in


def api_costs(app) -> list[dict]:
    return browser(app).get("/api/costs", headers=AUTH).get_json()["rows"]


FORM = {"from": "2026-03-01", "to": "2026-03-31", "channel": "LinkedIn", "campaign": "",
        "kind": "ads", "amount": "1200.50", "currency": "usd", "note": ""}  # fmt: skip


def test_a_cost_added_here_is_the_apis_cost(app):
    client, token = signed_in(app)
    response = client.post("/dashboard/costs", data={**FORM, "csrf_token": token})
    assert response.status_code == 303
    (cost,) = api_costs(app)
    assert (cost["from"], cost["to"], cost["days"]) == ("2026-03-01", "2026-03-31", 31)
    assert (cost["channel"], cost["campaign"], cost["kind"]) == ("linkedin", None, "ads")
    assert (cost["amount"], cost["currency"]) == ("1200.50", "USD")
    page = client.get("/dashboard/costs").get_data(as_text=True)
    assert 'data-col="amount">1,200.50 USD</td>' in page
    # for March 1-15 the page shows the part of the row in the period:
    # 120050 cents x 15 / 31 days = 58088.7 -> 580.89 (largest remainder)
    march = client.get("/dashboard/costs?period=custom&from=2026-03-01&to=2026-03-15")
    assert browser(app).get("/api/costs?from=2026-03-01&to=2026-03-15", headers=AUTH).get_json()[
        "rows"
    ][0]["amount_in_period"] in march.get_data(as_text=True)


def test_a_refused_cost_names_the_field_and_stores_nothing(app):
    client, token = signed_in(app)
    response = client.post(
        "/dashboard/costs", data={**FORM, "amount": "12.345", "csrf_token": token}
    )
    assert response.status_code == 400
    assert 'id="cost-amount-error">amount has more decimal places than USD' in response.get_data(
        as_text=True
    )
    late = client.post("/dashboard/costs", data={**FORM, "to": "2026-02-01", "csrf_token": token})
    assert late.status_code == 400 and "to must not be before from" in late.get_data(as_text=True)
    assert api_costs(app) == []


def test_edit_replaces_and_delete_removes(app):
    client, token = signed_in(app)
    client.post("/dashboard/costs", data={**FORM, "csrf_token": token})
    (cost,) = api_costs(app)
    form = client.get(f"/dashboard/costs?edit={cost['id']}").get_data(as_text=True)
    assert 'value="1200.50"' in form and f'name="replace" value="{cost["id"]}"' in form
    client.post(
        "/dashboard/costs",
        data={**FORM, "amount": "900.00", "replace": cost["id"], "csrf_token": token},
    )
    (edited,) = api_costs(app)
    assert edited["amount"] == "900.00"
    client.post(f"/dashboard/costs/{edited['id']}/delete", data={"csrf_token": token})
    assert api_costs(app) == []
    assert client.post("/dashboard/costs/99/delete", data={"csrf_token": token}).status_code == 404


def test_import_adds_good_rows_and_lists_the_refused(app):
    client, token = signed_in(app)
    text = (
        "from,to,channel,campaign,kind,amount,currency,note\n"
        "2026-03-01,2026-03-31,twitter,spring,platform,99.00,USD,Buffer\n"
        "2026-03-01,2026-03-31,twitter,,teleport,5.00,USD,\n"
    )
    response = client.post(
        "/dashboard/costs/import",
        data={"csrf_token": token, "file": (io.BytesIO(text.encode()), "march.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400  # one line refused
    page = response.get_data(as_text=True)
    assert "Imported 1 row" in page
    assert "line 3, kind: kind must be one of labor, platform, ads, other" in page
    assert [c["note"] for c in api_costs(app)] == ["Buffer"]
    empty = client.post(
        "/dashboard/costs/import", data={"csrf_token": token}, content_type="multipart/form-data"
    )
    assert empty.status_code == 400 and "choose a CSV file" in empty.get_data(as_text=True)


def test_a_creators_fee_names_an_advocate(app):
    client, token = signed_in(app)
    made = browser(app).post("/api/advocates", json={"name": "Ada", "handle": "ada"}, headers=AUTH)
    assert made.status_code == 201
    form = client.get("/dashboard/costs").get_data(as_text=True)
    assert '<datalist id="cost-advocates"><option value="ada"></datalist>' in form
    unknown = client.post(
        "/dashboard/costs", data={**FORM, "advocate": "nobody", "csrf_token": token}
    )
    assert unknown.status_code == 400
    assert 'id="cost-advocate-error">no advocate &#39;nobody&#39;' in unknown.get_data(as_text=True)
    assert api_costs(app) == []
    saved = client.post("/dashboard/costs", data={**FORM, "advocate": "ada", "csrf_token": token})
    assert saved.status_code == 303
    (cost,) = api_costs(app)
    assert cost["advocate"] == "ada"
    page = client.get("/dashboard/costs").get_data(as_text=True)
    assert 'data-col="advocate">· ada</span>' in page
    edit = client.get(f"/dashboard/costs?edit={cost['id']}").get_data(as_text=True)
    assert 'name="advocate" maxlength="40" list="cost-advocates" value="ada"' in edit


def test_the_form_takes_an_amount_as_the_table_writes_it(app):
    client, token = signed_in(app)
    # the table shows 1,200.50 USD; typed back with its separator it is the same amount
    response = client.post(
        "/dashboard/costs", data={**FORM, "amount": "1,200.50", "csrf_token": token}
    )
    assert response.status_code == 303
    assert [c["amount"] for c in api_costs(app)] == ["1200.50"]
    # a comma that groups no thousands is not guessed at: refused, naming the box
    refused = client.post("/dashboard/costs", data={**FORM, "amount": "12,5", "csrf_token": token})
    assert refused.status_code == 400
    assert 'id="cost-amount-error">' in refused.get_data(as_text=True)
    assert len(api_costs(app)) == 1
    # the API itself stays strict: it takes decimal text without separators
    api = browser(app).post(
        "/api/costs", json={**FORM, "amount": "1,200.50", "campaign": None}, headers=AUTH
    )
    assert api.status_code == 400 and api.get_json()["field"] == "amount"


def test_no_cost_entered_leads_to_a_form_filled_for_that_channel(app):
    client, _ = signed_in(app)
    page = client.get("/dashboard/costs?channel=twitter&campaign=spring").get_data(as_text=True)
    assert 'id="cost-channel" name="channel" required value="twitter"' in page
    assert 'id="cost-campaign" name="campaign" value="spring"' in page
    assert "No costs in this period yet: what you spend on a channel" in page
