"""The click log export: GET /api/exports/clicks and `report clicks` stream
the same CSV, whole or cut to UTC days."""

import csv
import io
from datetime import UTC, datetime

from geo_fixture import GERMANY

from conftest import AUTH, make_link
from shortener.clicks import Agent, record_click
from shortener.db import connect

DESKTOP = Agent(device="pc", browser="Chrome", os="Windows", is_bot=False)
CRAWLER = Agent(device="other", browser="Googlebot", os="Other", is_bot=True)


def seed(app, client):
    spring = make_link(client, channel="twitter", campaign="spring")
    autumn = make_link(client, channel="linkedin", campaign="autumn")
    db = connect(app.config["DATABASE"])
    ids = {}
    for name, link, moment, agent in [
        ("first", spring, datetime(2026, 3, 1, 0, 0, tzinfo=UTC), DESKTOP),
        ("late", spring, datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=UTC), DESKTOP),
        ("bot", autumn, datetime(2026, 3, 3, 0, 0, tzinfo=UTC), CRAWLER),
    ]:
        link_id = db.execute("SELECT id FROM links WHERE code = ?", [link["code"]]).fetchone()[0]
        ids[name] = record_click(
            db, link_id=link_id, visitor_id=f"v-{name}", now=moment, agent=agent,
            is_bot=agent.is_bot, user_agent="=HYPERLINK(\"x\")",
            ip=GERMANY if name == "late" else "203.0.113.9",
            source="qr" if name == "late" else None, variant="B" if name == "first" else None,
        )  # fmt: skip
    db.close()
    return spring, autumn, ids


def rows(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def test_export_streams_every_click_with_its_link(app, client):
    spring, autumn, ids = seed(app, client)
    response = client.get("/api/exports/clicks", headers=AUTH)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="clicks.csv"'
    got = rows(response.get_data(as_text=True))
    assert [r["click_id"] for r in got] == [ids["first"], ids["late"], ids["bot"]]
    assert [(r["code"], r["channel"], r["campaign"]) for r in got] == [
        (spring["code"], "twitter", "spring"),
        (spring["code"], "twitter", "spring"),
        (autumn["code"], "linkedin", "autumn"),
    ]
    assert [r["is_bot"] for r in got] == ["false", "false", "true"]
    assert got[1]["ts"] == "2026-03-02T23:59:59.999999Z"
    assert got[0]["ip_prefix"] == "203.0.113.0/24"
    assert [(r["source"], r["variant"]) for r in got] == [("", "B"), ("qr", ""), ("", "")]
    # the country (from the full address, which is not exported: it was never
    # stored) is the last column, after the ones exports had before it
    assert [r["country"] for r in got] == ["", "DE", ""]
    header = response.get_data(as_text=True).splitlines()[0].split(",")
    assert header[-4:] == ["source", "variant", "post", "country"]
    # a user agent is visitor-controlled text: a spreadsheet must not run it
    assert got[0]["user_agent"] == '\'=HYPERLINK("x")'


def test_export_cuts_whole_utc_days(app, client):
    _, _, ids = seed(app, client)
    one_day = client.get("/api/exports/clicks?from=2026-03-02&to=2026-03-02", headers=AUTH)
    assert [r["click_id"] for r in rows(one_day.get_data(as_text=True))] == [ids["late"]]
    since = client.get("/api/exports/clicks?from=2026-03-02", headers=AUTH)
    assert [r["click_id"] for r in rows(since.get_data(as_text=True))] == [ids["late"], ids["bot"]]
    until = client.get("/api/exports/clicks?to=2026-03-01", headers=AUTH)
    assert [r["click_id"] for r in rows(until.get_data(as_text=True))] == [ids["first"]]


def test_export_refuses_bad_parameters_and_missing_key(app, client):
    seed(app, client)
    assert client.get("/api/exports/clicks").status_code == 401
    bad = client.get("/api/exports/clicks?from=March", headers=AUTH)
    assert bad.status_code == 400 and bad.get_json()["field"] == "from"
    reversed_ = client.get("/api/exports/clicks?from=2026-03-03&to=2026-03-01", headers=AUTH)
    assert reversed_.status_code == 400
    json_ = client.get("/api/exports/clicks?format=json", headers=AUTH)
    assert json_.status_code == 400 and json_.get_json()["field"] == "format"


def test_cli_writes_the_same_file_as_the_api(app, client, runner, tmp_path):
    seed(app, client)
    api = client.get("/api/exports/clicks?from=2026-03-02", headers=AUTH).get_data(as_text=True)
    out = tmp_path / "clicks.csv"
    result = runner.invoke(args=["report", "clicks", "--from", "2026-03-02", "--csv", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_bytes().decode() == api
    bad = runner.invoke(args=["report", "clicks", "--from", "2026-03-03", "--to", "2026-03-01"])
    assert bad.exit_code == 1 and "--from must not be after --to" in bad.output
