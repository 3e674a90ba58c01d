"""The goal catalogue: API, CLI and the default values conversions inherit."""

import pytest

from conftest import AUTH
from conversions.goals import GOAL_NAME, get_goal, list_goals, set_goal

CATALOGUE = ["demo_request", "download", "lead", "phone_call", "purchase", "rfp", "save",
             "signup", "upsell"]  # fmt: skip


def test_the_catalogue_starts_with_the_issues_goals(db):
    names = [g["name"] for g in list_goals(db)]
    assert set(CATALOGUE) <= set(names)
    assert all(g["value_minor"] == 0 for g in list_goals(db))


def test_renewal_is_in_the_catalogue_and_a_purchase_goal(app, db):
    renewal = get_goal(db, "renewal")
    assert (renewal["value_minor"], renewal["currency"]) == (0, None)
    assert renewal["description"] == "Subscription renewed; a purchase"
    assert app.config["PURCHASE_GOALS"] == ["purchase", "upsell", "renewal"]


def test_set_goal_adds_and_updates(db):
    added = set_goal(db, "webinar", 4000, "EUR", "Webinar attended")
    assert (added["value_minor"], added["currency"], added["description"]) == (
        4000, "EUR", "Webinar attended",
    )  # fmt: skip
    changed = set_goal(db, "webinar", 4500, "EUR")  # no description: the old one stays
    assert (changed["value_minor"], changed["description"]) == (4500, "Webinar attended")
    assert get_goal(db, "nope") is None


@pytest.mark.parametrize("name", ["purchase", "a", "b2b_lead", "x" * 40, "9lives"])
def test_good_goal_names(name):
    assert GOAL_NAME.match(name)


@pytest.mark.parametrize(
    "name", ["", "Purchase", "_x", "x" * 41, "a-b", "a b", "purchase\n", "é", "a.b"]
)
def test_bad_goal_names(name):
    assert not GOAL_NAME.match(name)


def test_get_goals_needs_the_key(client):
    assert client.get("/api/goals").status_code == 401
    response = client.get("/api/goals", headers=AUTH)
    assert response.status_code == 200
    purchase = next(g for g in response.get_json()["goals"] if g["name"] == "purchase")
    # no currency of its own: DEFAULT_CURRENCY (USD)
    assert purchase == {
        "name": "purchase",
        "value": "0.00",
        "currency": "USD",
        "description": "Purchase; carries its revenue",
    }


def test_put_goal(client, db):
    response = client.put(
        "/api/goals/demo_request", json={"value": "150.00", "currency": "eur"}, headers=AUTH
    )
    assert response.status_code == 200
    assert response.get_json() == {
        "name": "demo_request",
        "value": "150.00",
        "currency": "EUR",
        "description": "Demo requested",
    }
    assert get_goal(db, "demo_request")["value_minor"] == 15000


def test_put_goal_json_number_is_exact(client, db):
    # 25.1 as a JSON number: through a float it would be 25.10000000000000142...
    response = client.put(
        "/api/goals/webinar",
        data=b'{"value": 25.1, "currency": "EUR", "description": "Webinar"}',
        headers={**AUTH, "Content-Type": "application/json"},
    )
    assert response.status_code == 200, response.get_json()
    assert get_goal(db, "webinar")["value_minor"] == 2510
    jpy = client.put("/api/goals/call_jp", json={"value": 1500, "currency": "JPY"}, headers=AUTH)
    assert jpy.get_json()["value"] == "1500"
    assert get_goal(db, "call_jp")["value_minor"] == 1500


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/goals/Bad-Name", {"value": "1"}, "name"),
        ("/api/goals/lead%0A", {"value": "1"}, "name"),
        ("/api/goals/lead", {"value": "abc"}, "value"),
        ("/api/goals/lead", {"value": "1.234", "currency": "EUR"}, "value"),
        ("/api/goals/lead", {"value": "-5"}, "value"),
        ("/api/goals/lead", {"value": None}, "value"),
        ("/api/goals/lead", {"value": "1", "currency": "euro"}, "currency"),
        ("/api/goals/lead", {"value": "1", "currency": 978}, "currency"),
        ("/api/goals/lead", {"value": "1", "description": "x" * 201}, "description"),
        ("/api/goals/lead", {"value": "1", "description": 5}, "description"),
        ("/api/goals/lead", [1, 2], None),
    ],
)
def test_bad_goal_input_is_refused_and_nothing_changes(client, db, path, body, field):
    before = list_goals(db)
    response = client.put(path, json=body, headers=AUTH)
    assert response.status_code == 400
    assert response.get_json().get("field") == field
    assert "error" in response.get_json()
    assert list_goals(db) == before


@pytest.mark.parametrize("raw", [b"", b"not json", b'{"value": NaN}', b"[" * 100000])
def test_unparseable_goal_bodies(client, db, raw):
    before = list_goals(db)
    response = client.put(
        "/api/goals/lead", data=raw, headers={**AUTH, "Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert list_goals(db) == before


def test_put_goal_needs_the_key(client, db):
    assert client.put("/api/goals/lead", json={"value": "9"}).status_code == 401
    assert get_goal(db, "lead")["value_minor"] == 0


def test_cli_goals_set_and_list(runner, db):
    result = runner.invoke(args=["goals", "set", "webinar", "--value", "40", "--currency", "EUR"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "webinar: 40.00 EUR"
    assert get_goal(db, "webinar")["value_minor"] == 4000
    listed = runner.invoke(args=["goals", "list"])
    assert "webinar\t40.00 EUR\t" in listed.output
    assert "purchase\t0.00 USD\tPurchase; carries its revenue" in listed.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["goals", "set", "Bad Name"], "lower-case"),
        (["goals", "set", "lead", "--value", "abc"], "not a decimal amount"),
        (["goals", "set", "lead", "--value", "1.5", "--currency", "JPY"], "decimal places"),
        (["goals", "set", "lead", "--currency", "EURO"], "ISO 4217"),
    ],
)
def test_cli_goals_set_refuses_bad_input(runner, db, args, message):
    before = list_goals(db)
    result = runner.invoke(args=args)
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    assert list_goals(db) == before
