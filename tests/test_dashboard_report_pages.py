"""Overview, channel and campaign pages over the hand-worked data set
(dashboard_support.build_dataset): the figures shown are worked out there."""

import json
import re

import pytest

from dashboard_support import build_dataset, signed_in

ALL = "period=custom&from=2026-03-01&to=2026-03-31"


@pytest.fixture
def client(app):
    build_dataset(app.config["DATABASE"])
    client, _ = signed_in(app)
    return client


def text(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def kpi(page, name) -> str:
    return re.search(rf'id="total-{name}">(.*?)</p>', page, re.S).group(1)


def cell(page, channel, column, currency="USD") -> str:
    row = re.search(
        rf'<tr data-channel="{re.escape(channel)}" data-currency="{currency}">(.*?)</tr>',
        page,
        re.S,
    ).group(1)
    return re.search(rf'data-col="{column}">(.*?)</td>', row).group(1)


def test_overview_totals_and_channel_rows(client):
    page = text(client, f"/dashboard/?{ALL}")
    assert kpi(page, "human-clicks") == "5"  # 6 clicks less the bot
    assert kpi(page, "visitors") == "3"  # v1, v2, v3
    assert kpi(page, "conversions") == "4"
    assert kpi(page, "rate") == "100.0 %"  # 3 converted of 3 link visitors
    assert "100.00 USD" in kpi(page, "revenue") and "30.00 EUR" in kpi(page, "revenue")
    # last touch: email gets v1's 100.00; twitter v2's signup and v3's 30.00 EUR
    assert cell(page, "email", "revenue") == "100.00 USD"
    assert cell(page, "twitter", "conversions") == "1"
    assert cell(page, "twitter", "revenue", "EUR") == "30.00 EUR"
    assert cell(page, "twitter", "conversion_rate") == "33.3 %"  # 1 of 3 visitors
    assert cell(page, "(direct)", "conversions") == "1"  # v4's lead
    assert cell(page, "(direct)", "conversion_rate") == "—"  # no visitors: no rate


def test_the_attribution_switch(client):
    first = text(client, f"/dashboard/?{ALL}&model=first_touch")
    assert '<option value="first_touch" selected>' in first
    assert cell(first, "email", "conversions") == "0"
    assert cell(first, "twitter", "revenue") == "100.00 USD"  # v1's purchase, first touch
    linear = text(client, f"/dashboard/?{ALL}&model=linear")
    assert cell(linear, "email", "conversions") == "0.5"
    assert cell(linear, "email", "revenue") == "50.00 USD"  # 100.00 / 2
    assert kpi(linear, "conversions") == "4"  # the model moves credit, never adds any


def test_growth_chart_data_is_in_the_page(client):
    page = text(client, "/dashboard/?period=custom&from=2026-03-01&to=2026-03-05")
    data = json.loads(re.search(r'id="growth-data">(.*?)</script>', page, re.S).group(1))
    twitter = next(s for s in data["series"] if s["channel"] == "twitter")
    assert twitter["human_clicks"] == [2, 0, 0, 0, 2]


def test_channel_page_breaks_down_by_campaign(client):
    page = text(client, f"/dashboard/channels/twitter?{ALL}")
    assert "<h1>twitter</h1>" in page
    assert 'data-campaign="autumn"' in page and 'data-campaign="spring"' in page
    # the breakdown report's rows in its order: most human clicks, then most clicks
    assert page.index('data-campaign="spring"') < page.index('data-campaign="autumn"')
    assert 'data-channel="email"' not in page
    assert kpi(page, "visitors") == "3"  # v1, v2 on spring; v3 on autumn
    # conversions whose journey touched twitter: v3's, v1's and v2's, not v4's lead
    assert page.count('<ol class="journey">') == 3


def test_campaign_page(client):
    page = text(client, f"/dashboard/campaigns/autumn?{ALL}")
    assert kpi(page, "human-clicks") == "2"
    assert cell(page, "twitter", "revenue", "EUR") == "30.00 EUR"


def test_a_mistyped_period_shows_a_warning_not_an_error(client):
    page = text(client, "/dashboard/?period=custom&from=2026-13-01&model=best")
    assert "is not a date like 2026-03-31" in page
    assert "unknown attribution model" in page
    page = text(client, "/dashboard/?period=custom&from=2026-03-31&to=2026-03-01")
    assert "were swapped" in page
    assert kpi(page, "visitors") == "3"


def add_cost(app, **fields):
    from conftest import AUTH, browser

    body = {"kind": "labor", "currency": "USD", **fields}
    response = browser(app).post("/api/costs", json=body, headers=AUTH)
    assert response.status_code == 201, response.get_json()


def panel_cell(page, panel, channel, column, currency="USD") -> str:
    table = re.search(rf'id="panel-{panel}-table">(.*?)</table>', page, re.S).group(1)
    for row in re.findall(rf'<tr data-currency="{currency}">(.*?)</tr>', table, re.S):
        if f'data-col="channel">{channel}<' in row:
            return re.search(rf'data-col="{column}"[^>]*>(.*?)</td>', row, re.S).group(1)
    raise AssertionError(f"no {channel}/{currency} row")


def test_overview_shows_cost_and_return(app, client):
    # email cost 50.00 USD of labour; it earned v1's 100.00 USD under last touch
    add_cost(app, **{"from": "2026-03-01", "to": "2026-03-02", "channel": "email",
                     "amount": "50.00"})  # fmt: skip
    page = text(client, f"/dashboard/?{ALL}")
    # every money cell carries its currency
    assert panel_cell(page, "roi", "email", "cost") == "50.00 USD"
    assert panel_cell(page, "roi", "email", "revenue") == "100.00 USD"
    assert panel_cell(page, "roi", "email", "cac") == "50.00 USD"  # 50.00 / 1 new customer
    assert panel_cell(page, "roi", "email", "roi_percent") == "100 %"  # (100 - 50) x 100 / 50
    assert panel_cell(page, "roi", "email", "romi") == "2"  # 100 / (50 labour + 0 platform)
    assert panel_cell(page, "roi", "twitter", "roi_percent") == "—"  # no cost: no ROI
    # no cost entered is not a cost of 0.00: the cell says so and leads to the costs form
    assert panel_cell(page, "roi", "twitter", "cost") == (
        '<a class="no-cost" href="/dashboard/costs?channel=twitter#cost-form">No cost entered</a>'
    )
    assert panel_cell(page, "roi", "twitter", "cac") == "—"
    # under first touch the 100.00 is twitter's, and email's ROI is -100 %
    first = text(client, f"/dashboard/?{ALL}&model=first_touch")
    assert panel_cell(first, "roi", "email", "roi_percent") == "-100 %"  # (0 - 50) x 100 / 50
    assert 'href="/dashboard/export/reports/roi?model=first_touch&amp;from=2026-03-01' in first


def test_overview_shows_the_control_group_in_plain_words(client):
    page = text(client, f"/dashboard/?{ALL}")
    # v1, v2, v3 all clicked twitter (social); nobody came by visit pixel alone
    assert "<li>no comparison yet: n = 3 social / 0 control visitors</li>" in page
    assert page.count("no comparison yet: n = 3 social") == 1  # once, not per currency
    table = re.search(r'id="panel-control-table">(.*?)</table>', page, re.S).group(1)
    assert 'data-col="conversion_rate" class="num">100.0 %</td>' in table  # 3 of 3


def test_overview_shows_earned_value(client):
    page = text(client, f"/dashboard/?{ALL}")
    assert panel_cell(page, "earned", "twitter", "human_clicks") == "4"  # 6 clicks - bot - email


def test_the_overview_leads_with_cost_roi_and_cac(app, client):
    page = text(client, f"/dashboard/?{ALL}")
    # no cost entered anywhere: said so, with the way to enter one; no ROI or CAC
    assert "No cost entered" in kpi(page, "cost")
    assert 'href="/dashboard/costs#cost-form">Add what the channels cost</a>' in page
    assert kpi(page, "roi") == "—" and kpi(page, "cac") == "—"
    assert page.index('id="total-cost"') < page.index('id="total-human-clicks"')
    assert page.index('id="total-cac"') < page.index('id="growth-chart"')
    assert page.index('id="growth-chart"') < page.index('id="panel-roi"')
    assert page.index('id="panel-roi"') < page.index('id="channels-table"')
    # email cost 50.00 USD; under last touch it earned v1's 100.00 USD, and v1 is its one new
    # customer: ROI (100 - 50) x 100 / 50 = 100 %, CAC 50.00 / 1. Twitter has no cost entered:
    # its revenue (v2's signup, 0.00 USD; v3's 30.00 EUR) is left out of ROI and CAC.
    add_cost(app, **{"from": "2026-03-01", "to": "2026-03-02", "channel": "email",
                     "amount": "50.00"})  # fmt: skip
    page = text(client, f"/dashboard/?{ALL}")
    assert kpi(page, "cost") == '<span class="nowrap">50.00 USD</span>'
    assert kpi(page, "roi") == '<span class="nowrap">100 %</span>'
    assert kpi(page, "cac") == '<span class="nowrap">50.00 USD</span>'
    assert "left out, no cost entered: twitter" in page
    assert "100.00 USD" in kpi(page, "revenue") and "30.00 EUR" in kpi(page, "revenue")
    # first touch: v1's purchase is twitter's, so email earned nothing: ROI -100 %, and no
    # new customer for email: no CAC
    first = text(client, f"/dashboard/?{ALL}&model=first_touch")
    assert kpi(first, "roi") == '<span class="nowrap">-100 %</span>'
    assert kpi(first, "cac") == "—"


def test_a_period_from_year_one_keeps_the_overview(client):
    """The growth chart comes from the Growth report, which refuses more than
    a thousand periods; the overview still answers, with its tables."""
    response = client.get("/dashboard/?period=custom&from=0001-01-01&to=2026-03-05")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    data = json.loads(re.search(r'id="growth-data">(.*?)</script>', page, re.S).group(1))
    assert data["series"] == []
    assert 'data-channel="twitter"' in page
