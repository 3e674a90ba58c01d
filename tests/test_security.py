"""Attacks on shorteners and trackers, refused: destinations, code guessing,
webhook signatures, forged pixels, cookies, CSV injection, API keys, bodies."""

import pytest

from conftest import AUTH, make_link, post_webhook

# -- pixels are unverified; reports can tell verified revenue apart --------------


def click_id_of(response) -> str:
    return response.headers["Location"].rsplit("ct_click=", 1)[1]


def test_pixel_conversions_are_unverified_and_reports_split_them(client, db, runner):
    make_link(client, code="twt", channel="twitter")
    make_link(client, code="lnk", channel="linkedin")
    on_twitter = click_id_of(client.get("/twt"))
    # the same browser fires a pixel "purchase" for 30.00: anyone could have
    client.get("/t/pixel.gif?goal=purchase&value=30.00&order_id=P-1")
    # the shop's server confirms a 50.00 purchase by signed webhook
    confirmed = {"goal": "purchase", "value": "50.00", "click_id": on_twitter, "order_id": "W-1"}
    assert post_webhook(client, confirmed).status_code == 201
    other = client.application.test_client()
    other.environ_base["HTTP_USER_AGENT"] = client.environ_base["HTTP_USER_AGENT"]
    other.get("/lnk")
    other.get("/t/pixel.gif?goal=purchase&value=7.25&order_id=P-2")
    stored = {r["order_id"]: (r["source"], r["verified"]) for r in db.query(
        "SELECT order_id, source, verified FROM conversions")}  # fmt: skip
    assert stored == {"P-1": ("pixel", 0), "W-1": ("webhook", 1), "P-2": ("pixel", 0)}

    def revenue(query=""):
        body = client.get(f"/api/reports/channels{query}", headers=AUTH).get_json()
        return {r["channel"]: (r["conversions"], r["revenue"]) for r in body["rows"]}

    # all: twitter 30.00 + 50.00 = 80.00 over 2 conversions; linkedin 7.25
    assert revenue() == {"twitter": (2, "80.00"), "linkedin": (1, "7.25")}
    # verified only: the webhook's 50.00; linkedin has its click row but no verified money
    assert revenue("?verified=true") == {"twitter": (1, "50.00"), "linkedin": (0, "0.00")}
    # unverified only: the pixels, 30.00 and 7.25
    assert revenue("?verified=false") == {"twitter": (1, "30.00"), "linkedin": (1, "7.25")}
    bad = client.get("/api/reports/channels?verified=maybe", headers=AUTH)
    assert bad.status_code == 400 and bad.get_json()["field"] == "verified"

    result = runner.invoke(args=["report", "channels", "--verified"])
    assert result.exit_code == 0, result.output
    assert '"revenue": "50.00"' in result.output and "80.00" not in result.output
    result = runner.invoke(args=["report", "channels", "--unverified"])
    assert '"revenue": "30.00"' in result.output and '"revenue": "7.25"' in result.output


# -- request bodies ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/api/links", "/t/webhook", "/api/costs"])
def test_oversized_bodies_are_refused_before_they_are_read(client, db, path):
    body = b'{"url": "' + b"a" * (5 * 1024 * 1024) + b'"}'  # over the 4 MiB default
    response = client.post(path, data=body, headers={**AUTH, "Content-Type": "application/json"})
    assert response.status_code == 413
    assert "error" in response.get_json()
    stored = "SELECT (SELECT count(*) FROM links) + (SELECT count(*) FROM conversions)"
    assert db.execute(stored).fetchone()[0] == 0
