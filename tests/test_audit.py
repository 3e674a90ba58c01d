"""The audit log: who changed a link, when, and its values before and after,
through the API, the dashboard and the command line; the CSV; pruning."""

import csv
import io
import json
import re
from datetime import UTC, datetime

from conftest import AUTH, browser, make_link
from dashboard_support import USER, signed_in
from shortener import audit
from shortener.db import connect

OLD, NEW = "https://shop.example.com/sale", "https://shop.example.com/summer"


def entries(db, **filters) -> list[dict]:
    return audit.entries(db, limit=None, **filters)


def test_an_api_destination_change_records_before_and_after(client, db):
    make_link(client, code="spring")
    response = client.patch("/api/links/spring", json={"url": NEW, "medium": None}, headers=AUTH)
    assert response.status_code == 200
    change, created = entries(db, object_type="link", key="spring")
    assert (change["actor"], change["action"]) == ("key:admin", "link.update")
    # medium was null and stays null: only changed fields are written
    assert change["changes"] == {"url": [OLD, NEW]}
    assert created["action"] == "link.create"
    assert created["changes"] == {
        "url": [None, OLD], "channel": [None, "twitter"], "campaign": [None, "spring"],
    }  # fmt: skip
    body = client.get("/api/audit?object_type=link&key=spring", headers=AUTH).get_json()
    assert body["total"] == 2 and body["limit"] == 100 and body["offset"] == 0
    assert body["entries"][0]["changes"] == {"url": [OLD, NEW]}
    assert body["entries"][0]["at"].endswith("Z")


def test_the_api_names_a_dashboard_key_and_records_a_disable(app, client, db):
    make_link(client, code="spring")
    signed, token = signed_in(app)
    page = signed.post("/dashboard/keys", data={"csrf_token": token, "name": "Zapier"})
    key = re.search(r'id="new-key-value" value="([^"]+)"', page.get_data(as_text=True))[1]
    bearer = {"Authorization": f"Bearer {key}"}
    assert client.delete("/api/links/spring", headers=bearer).status_code == 200
    [latest] = audit.entries(db, limit=1)
    assert (latest["actor"], latest["action"]) == ("key:Zapier", "link.disable")
    assert latest["changes"] == {"disabled": [0, 1]}
    mine = client.get("/api/audit?actor=key:Zapier", headers=AUTH).get_json()
    assert [e["action"] for e in mine["entries"]] == ["link.disable"]


def test_a_refused_change_writes_nothing_and_a_password_is_never_written(client, db):
    make_link(client, code="spring")
    bad = client.patch("/api/links/spring", json={"url": "ftp://x"}, headers=AUTH)
    assert bad.status_code == 400
    assert len(entries(db)) == 1  # the creation only
    secret = "correct horse battery"
    protect = client.patch("/api/links/spring", json={"password": secret}, headers=AUTH)
    assert protect.status_code == 200
    [latest] = audit.entries(db, limit=1)
    assert latest["changes"] == {"password": "(changed)"}
    stored = db.execute("SELECT group_concat(changes) FROM audit").fetchone()[0]
    assert secret not in stored and "scrypt" not in stored


def test_the_audit_log_as_csv(client, db):
    make_link(client, code="spring")
    client.patch("/api/links/spring", json={"url": NEW, "term": "=cmd"}, headers=AUTH)
    response = client.get("/api/audit?format=csv&key=spring", headers=AUTH)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["action"] for r in rows] == ["link.update", "link.create"]
    assert rows[0]["actor"] == "key:admin" and rows[0]["object_key"] == "spring"
    assert json.loads(rows[0]["changes"]) == {"url": [OLD, NEW], "term": [None, "=cmd"]}


def test_the_listing_filters_by_day_and_pages(client, db):
    make_link(client, code="one")
    make_link(client, code="two")
    db.execute("UPDATE audit SET at = '2026-03-01T10:00:00.000000Z' WHERE object_key = 'one'")
    db.conn.commit()
    day = client.get("/api/audit?from=2026-03-01&to=2026-03-01", headers=AUTH).get_json()
    assert [e["object_key"] for e in day["entries"]] == ["one"]
    assert client.get("/api/audit?to=2026-02-28", headers=AUTH).get_json()["total"] == 0
    paged = client.get("/api/audit?limit=1&offset=1", headers=AUTH).get_json()
    assert paged["total"] == 2 and [e["object_key"] for e in paged["entries"]] == ["one"]
    backwards = client.get("/api/audit?from=2026-03-02&to=2026-03-01", headers=AUTH)
    assert backwards.status_code == 400 and backwards.get_json()["field"] == "to"
    assert client.get("/api/audit").status_code == 401


def test_a_dashboard_change_is_recorded_and_shown_on_the_links_page(app, client, db):
    make_link(client, code="spring")
    signed, token = signed_in(app)
    form = {"csrf_token": token, "url": NEW, "medium": "", "content": "", "term": "",
            "expires_at": "", "title": "", "description": "", "image": "", "tags": ""}  # fmt: skip
    response = signed.post("/dashboard/links/spring", data=form)
    assert response.status_code == 303
    [latest] = audit.entries(db, limit=1)
    assert (latest["actor"], latest["action"]) == (f"user:{USER}", "link.update")
    assert latest["changes"] == {"url": [OLD, NEW]}
    page = signed.get("/dashboard/links/spring").get_data(as_text=True)
    history = page[page.index('id="history"') :]
    assert f"url changed from {OLD} to {NEW} by user:{USER} at {latest['at']}" in history
    listing = signed.get("/dashboard/audit?key=spring").get_data(as_text=True)
    assert f"url changed from {OLD} to {NEW}" in listing and "link.create" in listing
    download = signed.get("/dashboard/export/audit?format=csv&key=spring")
    assert download.status_code == 200 and NEW in download.get_data(as_text=True)


def test_the_audit_page_pages(app, client, db):
    for n in range(51):
        make_link(client, code=f"link-{n:02}")
    signed, _ = signed_in(app)
    first = signed.get("/dashboard/audit").get_data(as_text=True)
    assert "Page 1 of 2" in first and "link-50" in first and ">link-00<" not in first
    second = signed.get("/dashboard/audit?page=2").get_data(as_text=True)
    assert ">link-00<" in second and ">link-50<" not in second


def test_a_cli_change_is_recorded_and_told(app, runner, db):
    created = runner.invoke(args=["links", "create", OLD, "--channel", "email", "--campaign",
                                  "june", "--code", "spring"])  # fmt: skip
    assert created.exit_code == 0, created.output
    changed = runner.invoke(args=["links", "update", "spring", "--url", NEW])
    assert changed.exit_code == 0, changed.output
    assert changed.output == f"spring\t{NEW}\n"
    latest, first = entries(db, key="spring")
    assert (latest["actor"], latest["action"]) == ("cli", "link.update")
    assert latest["changes"] == {"url": [OLD, NEW]}
    assert first["actor"] == "cli"
    told = runner.invoke(args=["links", "history", "spring"])
    assert told.output.splitlines()[0] == (
        f"url changed from {OLD} to {NEW} by cli at {latest['at']}"
    )
    refused = runner.invoke(args=["links", "update", "nope", "--url", NEW])
    assert refused.exit_code == 1 and "no link with code 'nope'" in refused.output
    assert len(entries(db)) == 2


def test_pruning_keeps_audit_log_days(app, db):
    for moment in ("2025-01-30T12:00", "2025-01-31T11:59", "2025-01-31T12:00"):
        audit.record(db, "cli", "link.update", "link", "x", {"url": ["a", "b"]},
                     now=datetime.fromisoformat(f"{moment}+00:00"))  # fmt: skip
    db.conn.commit()
    # 2026-03-07 12:00 less 400 days: 365 back is 2025-03-07, 35 more is
    # 2025-01-31 12:00; an entry made at that very moment is kept
    now = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    assert audit.prune(db, 400, now) == 2
    assert [e["at"][:16] for e in entries(db)] == ["2025-01-31T12:00"]


def test_the_retention_command_prunes_the_audit_log_too(tmp_path):
    from conftest import app_config
    from shortener import create_app
    from shortener.app import init_db

    config = app_config(tmp_path, AUDIT_LOG_DAYS=30, CLICK_RETENTION_DAYS=180)
    init_db(config["DATABASE"])
    app = create_app(config)
    db = connect(config["DATABASE"])
    try:
        audit.record(db, "cli", "link.update", "link", "x", {"url": ["a", "b"]},
                     now=datetime(2000, 1, 1, tzinfo=UTC))  # fmt: skip
        db.conn.commit()
        result = app.test_cli_runner().invoke(args=["privacy", "retention"])
        assert result.exit_code == 0, result.output
        assert "1 audit log entries older than 30 days" in result.output
        assert entries(db) == []
    finally:
        db.close()
    assert browser(app).get("/api/audit", headers=AUTH).get_json()["total"] == 0


COST = {"from": "2025-03-01", "to": "2025-03-31", "channel": "twitter", "kind": "ads",
        "amount": "310.00", "currency": "EUR"}  # fmt: skip


def test_costs_are_audited_through_the_api(client, db):
    cost = client.post("/api/costs", json=COST, headers=AUTH).get_json()["cost"]
    key = str(cost["id"])
    changed = client.patch(f"/api/costs/{key}", json={"amount": "320.50"}, headers=AUTH)
    assert changed.status_code == 200
    assert client.delete(f"/api/costs/{key}", headers=AUTH).status_code == 200
    deleted, updated, created = entries(db, object_type="cost", key=key)
    assert [e["action"] for e in (created, updated, deleted)] == [
        "cost.create", "cost.update", "cost.delete",
    ]  # fmt: skip
    assert {e["actor"] for e in (created, updated, deleted)} == {"key:admin"}
    assert created["changes"]["amount_minor"] == [None, 31000]
    assert created["changes"]["start_day"] == [None, "2025-03-01"]
    assert updated["changes"] == {"amount_minor": [31000, 32050]}
    assert deleted["changes"]["amount_minor"] == [32050, None]
    assert "note" not in deleted["changes"]  # none before, none after


def test_goals_are_audited_through_the_api_and_the_cli(client, runner, db):
    put = client.put("/api/goals/webinar", json={"value": "40.00", "currency": "EUR"},
                     headers=AUTH)  # fmt: skip
    assert put.status_code in (200, 201)
    result = runner.invoke(args=["goals", "set", "webinar", "--value", "45", "--currency", "EUR"])
    assert result.exit_code == 0, result.output
    changed, created = entries(db, object_type="goal", key="webinar")
    assert (created["actor"], created["action"]) == ("key:admin", "goal.create")
    assert created["changes"] == {"value_minor": [None, 4000], "currency": [None, "EUR"],
                                  "description": [None, ""]}  # fmt: skip
    assert (changed["actor"], changed["action"]) == ("cli", "goal.update")
    assert changed["changes"] == {"value_minor": [4000, 4500]}


def test_a_dashboard_cost_edit_is_a_delete_and_a_create_by_the_user(app, client, db):
    cost = client.post("/api/costs", json=COST, headers=AUTH).get_json()["cost"]
    signed, token = signed_in(app)
    response = signed.post(f"/dashboard/costs/{cost['id']}/delete", data={"csrf_token": token})
    assert response.status_code == 303
    [latest] = audit.entries(db, limit=1)
    assert (latest["actor"], latest["action"]) == (f"user:{USER}", "cost.delete")
    assert latest["changes"]["amount_minor"] == [31000, None]


def test_keys_and_users_are_audited_without_secrets(app, client, db):
    signed, token = signed_in(app)  # a user made by accounts.create_user
    page = signed.post("/dashboard/keys", data={"csrf_token": token, "name": "Zapier"})
    key = re.search(r'id="new-key-value" value="([^"]+)"', page.get_data(as_text=True))[1]
    [row] = db.query("SELECT id, key_hash FROM api_keys")
    revoked = signed.post(f"/dashboard/keys/{row['id']}/revoke", data={"csrf_token": token})
    assert revoked.status_code == 303
    runner = app.test_cli_runner()
    changed = runner.invoke(args=["users", "password", USER, "--password", "another long one!"])
    assert changed.exit_code == 0, changed.output
    password, revoke, made, user = entries(db)
    assert (user["action"], user["object_key"]) == ("user.create", USER)
    assert user["changes"] == {"username": [None, USER], "password": "(changed)"}
    assert (made["actor"], made["action"]) == (f"user:{USER}", "key.create")
    assert made["changes"]["name"] == [None, "Zapier"]
    assert made["changes"]["key_hash"] == "(changed)"
    assert (revoke["action"], revoke["object_key"]) == ("key.revoke", str(row["id"]))
    assert (password["actor"], password["action"]) == ("cli", "user.password")
    stored = db.execute("SELECT group_concat(changes) FROM audit").fetchone()[0]
    assert key not in stored and row["key_hash"] not in stored and "scrypt" not in stored


def test_advocates_and_reward_rules_are_audited_through_the_api(client, db):
    made = client.post("/api/advocates", json={"name": "Ada Lovelace"}, headers=AUTH)
    assert made.status_code == 201
    handle = made.get_json()["handle"]
    renamed = client.patch(f"/api/advocates/{handle}", json={"name": "Ada L."}, headers=AUTH)
    assert renamed.status_code == 200
    assert client.delete(f"/api/advocates/{handle}", headers=AUTH).status_code == 200
    gone, renamed, created = entries(db, object_type="advocate", key=handle)
    assert created["action"] == "advocate.create"
    assert created["changes"]["name"] == [None, "Ada Lovelace"]
    assert (renamed["action"], renamed["changes"]) == (
        "advocate.update", {"name": ["Ada Lovelace", "Ada L."]},
    )  # fmt: skip
    assert (gone["action"], gone["changes"]) == ("advocate.deactivate", {"active": [1, 0]})

    body = {"campaign": "spring", "beneficiary": "advocate", "amount": "10.00", "currency": "EUR"}
    rule = client.post("/api/reward-rules", json=body, headers=AUTH).get_json()["rule"]
    url = f"/api/reward-rules/{rule['id']}"
    assert client.patch(url, json={"amount": "12.50"}, headers=AUTH).status_code == 200
    changed, made_rule = entries(db, object_type="reward_rule", key=str(rule["id"]))
    assert made_rule["action"] == "reward_rule.create" and made_rule["actor"] == "key:admin"
    assert made_rule["changes"]["amount_minor"] == [None, 1000]
    assert changed["changes"] == {"amount_minor": [1000, 1250]}
