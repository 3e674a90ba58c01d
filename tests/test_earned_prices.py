"""Prices per click for the earned-value report, set in the database (the
dashboard or POST /api/earned-prices) over the EARNED_CPC setting's.

Data set (dashboard_support.build_dataset), human clicks in March 2026:
twitter/spring 2 (v1, v2; the bot is not human), twitter/autumn 2 (v3 twice),
email/spring 1 (v1). No costs. The setting prices twitter at 0.50 USD.
"""

import pytest

from conftest import AUTH, app_config, browser
from conversions import prices
from dashboard_support import build_dataset, signed_in
from shortener import create_app
from shortener.app import init_db
from shortener.db import connect

MARCH = "from=2026-03-01&to=2026-03-31"


@pytest.fixture
def app(tmp_path):
    config = app_config(tmp_path, EARNED_CPC={"twitter": "0.50"}, EARNED_CPC_CURRENCY="USD")
    init_db(config["DATABASE"])
    build_dataset(config["DATABASE"])
    return create_app(config)


def earned(client, by="channel") -> dict:
    rows = client.get(f"/api/reports/earned?{MARCH}&by={by}", headers=AUTH).get_json()["rows"]
    return {
        (r["channel"], r.get("campaign")) if by == "campaign" else r["channel"]: (
            r["human_clicks"], r["cpc"], r["earned_value"])
        for r in rows
    }  # fmt: skip


def test_prices_are_kept_to_the_millionth_as_integers():
    assert prices.to_micros("0.80") == 800_000
    assert prices.to_micros("0.125") == 125_000
    assert prices.to_micros("3") == 3_000_000
    assert prices.price_text(800_000) == "0.80"
    assert prices.price_text(125_000) == "0.125"
    assert prices.price_text(3_000_000) == "3.00"
    for bad in ("-1", "0.1234567", "1e3", "", "abc", "10000000", 0.5, True, None):
        with pytest.raises(prices.PriceError):
            prices.to_micros(bad)


def test_stored_prices_come_before_the_setting(app):
    client = browser(app)
    # the setting alone: twitter 4 human clicks x 0.50 = 2.00; email has no price
    assert earned(client) == {"email": (1, None, None), "twitter": (4, "0.50", "2.00")}
    # email at 1.25: 1 x 1.25 = 1.25; twitter/autumn at 0.125 (a campaign's own price):
    # autumn 2 x 0.125 = 0.25, spring 2 x 0.50 = 1.00 -> twitter 1.25
    email = client.post("/api/earned-prices", json={"channel": "Email", "price": "1.25"},
                        headers=AUTH)  # fmt: skip
    assert email.status_code == 201
    assert email.get_json()["price"] | {"updated_at": None} == {
        "id": 1, "channel": "email", "campaign": None, "price": "1.25", "currency": "USD",
        "updated_at": None,
    }  # fmt: skip
    autumn = {"channel": "twitter", "campaign": "autumn", "price": "0.125"}
    assert client.post("/api/earned-prices", json=autumn, headers=AUTH).status_code == 201
    assert earned(client) == {"email": (1, "1.25", "1.25"), "twitter": (4, "0.50", "1.25")}
    assert earned(client, "campaign") == {
        ("email", "spring"): (1, "1.25", "1.25"),
        ("twitter", "autumn"): (2, "0.125", "0.25"),
        ("twitter", "spring"): (2, "0.50", "1.00"),
    }
    # a stored twitter price replaces the setting's: spring 2 x 0.80 = 1.60 + autumn 0.25
    twitter = {"channel": "twitter", "price": "0.80"}
    assert client.post("/api/earned-prices", json=twitter, headers=AUTH).status_code == 201
    assert earned(client)["twitter"] == (4, "0.80", "1.85")
    # setting it again replaces it (200): 2 x 0.90 + 0.25 = 2.05
    again = client.post("/api/earned-prices", json={**twitter, "price": "0.90"}, headers=AUTH)
    assert again.status_code == 200
    assert earned(client)["twitter"] == (4, "0.90", "2.05")
    listed = client.get("/api/earned-prices", headers=AUTH).get_json()
    assert listed["currency"] == "USD"
    assert listed["defaults"] == [{"channel": "twitter", "campaign": None, "price": "0.50"}]
    assert [(p["channel"], p["campaign"], p["price"]) for p in listed["prices"]] == [
        ("email", None, "1.25"), ("twitter", None, "0.90"), ("twitter", "autumn", "0.125"),
    ]  # fmt: skip
    # removed: the setting's 0.50 applies again, 1.00 + 0.25
    gone = client.delete(f"/api/earned-prices/{again.get_json()['price']['id']}", headers=AUTH)
    assert gone.status_code == 200
    assert earned(client)["twitter"] == (4, "0.50", "1.25")
    assert client.delete("/api/earned-prices/99", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    "body, field",
    [
        ({"channel": "twitter", "price": "-0.10"}, "price"),
        ({"channel": "twitter", "price": "0.1234567"}, "price"),
        ({"channel": "twitter", "price": True}, "price"),
        ({"channel": "twitter"}, "price"),
        ({"channel": "Not A Channel", "price": "1"}, "channel"),
        ({"price": "1"}, "channel"),
        ({"channel": "twitter", "price": "1", "currency": "XYZ"}, "currency"),
        ({"channel": "twitter", "price": "1", "colour": "red"}, "colour"),
        ({"channel": "twitter", "campaign": 5, "price": "1"}, "campaign"),
    ],
)
def test_a_refused_price_names_its_field_and_stores_nothing(app, body, field):
    client = browser(app)
    response = client.post("/api/earned-prices", json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json()["field"] == field
    db = connect(app.config["DATABASE"])
    try:
        assert prices.list_prices(db) == []
    finally:
        db.close()


def test_prices_are_set_on_the_earned_reports_page(app):
    client, token = signed_in(app)
    page = client.get(f"/dashboard/reports/earned?period=custom&{MARCH}").get_data(as_text=True)
    assert 'id="price-form"' in page  # the form, on the report's own page
    # the configured default is shown as such
    assert "in the server's configuration (the default)" in page
    saved = client.post(
        "/dashboard/reports/earned/prices",
        data={"csrf_token": token, "channel": "email", "campaign": "", "price": "1.25"},
    )
    assert saved.status_code == 303
    assert earned(browser(app))["email"] == (1, "1.25", "1.25")
    page = client.get(f"/dashboard/reports/earned?period=custom&{MARCH}").get_data(as_text=True)
    assert 'data-col="earned_value" class="num">1.25 USD</td>' in page
    refused = client.post(
        "/dashboard/reports/earned/prices",
        data={"csrf_token": token, "channel": "email", "campaign": "", "price": "1,5"},
    )
    assert refused.status_code == 400
    assert 'id="price-price-error">price must be decimal text' in refused.get_data(as_text=True)
    (row,) = browser(app).get("/api/earned-prices", headers=AUTH).get_json()["prices"]
    removed = client.post(
        f"/dashboard/reports/earned/prices/{row['id']}/delete", data={"csrf_token": token}
    )
    assert removed.status_code == 303
    assert earned(browser(app))["email"] == (1, None, None)
