"""The conversions page."""

from dashboard_support import build_dataset, signed_in


def test_latest_conversions_with_goal_value_source_and_journey(app):
    build_dataset(app.config["DATABASE"])
    client, _ = signed_in(app)
    page = client.get("/dashboard/conversions").get_data(as_text=True)
    rows = page.split('<tr data-conversion="')[1:]
    assert len(rows) == 4
    # newest first: v3's purchase, v4's lead, v1's purchase, v2's signup
    assert 'data-col="value">30.00 EUR</td>' in rows[0]
    assert "(direct) — no click in the window" in rows[1]
    assert 'data-col="value">100.00 USD</td>' in rows[2]
    assert rows[2].index("twitter") < rows[2].index("email")  # first touch, then last
    assert "email 100 %" in rows[2]  # last touch
    assert '<span class="badge good"' in rows[2]  # webhook: verified
    linear = client.get("/dashboard/conversions?model=linear").get_data(as_text=True)
    v1 = linear.split('<tr data-conversion="')[3]
    assert "twitter 50 %" in v1 and "email 50 %" in v1


def test_filter_by_goal_and_period(app):
    build_dataset(app.config["DATABASE"])
    client, _ = signed_in(app)
    page = client.get("/dashboard/conversions?goal=purchase").get_data(as_text=True)
    assert page.count('<tr data-conversion="') == 2
    page = client.get("/dashboard/conversions?period=custom&from=2026-03-02&to=2026-03-02")
    assert page.get_data(as_text=True).count('<tr data-conversion="') == 2  # v1's buy, v4's lead
