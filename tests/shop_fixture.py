"""The hand-built shop every analytics test reads.

Everything happens in March and April 2025, at noon UTC unless noted.
Attribution window 30 days, time-decay half-life 7 days (the defaults).
Social channels: twitter and linkedin (defaults); email is not social.

Links
  L1 twitter/spring   L2 twitter/summer   L3 linkedin/spring   L4 email/newsletter

Clicks (human unless noted; visitor ids are "v-<name>")
  #1  alice  L1  03-01        #8  erin   L3  03-20
  #2  dave   L4  03-02        #9  erin   L3  03-20 13:00
  #3  bob    L1  03-03        #10 dave   L2  03-30
  #4  carol  L3  03-05        #11 frank  L2  04-03
  #5  alice  L4  03-08        #12 (bot)  L2  04-03 12:05  Twitterbot, no visitor
  #6  carol  L4  03-12        #13 gina   L4  04-08
  #7  alice  L3  03-15

Visit pixel only (never a click): hank 03-20 10:00 and 03-25 11:00, ivy 03-27 10:00,
jill 04-05 10:00; alice also visits 03-15 12:30 (but she clicked: not control).
jack is known only from his webhook (no click, no visit).

Conversions (webhook; customer id = the name unless noted)
  a  alice  purchase 100.00 EUR 03-15  touches #1 #5 #7 (14, 7, 0 days old)
  b  bob    purchase  80.00 USD 03-05  touch #3
  c  carol  signup     5.00 EUR 03-12  (goal default value; no customer id) touches #4 #6
  d  dave   purchase 200.00 EUR 03-09  touch #2
  e  bob    upsell    20.00 USD 03-20  touch #3 (17 days old)
  f  erin   purchase  60.00 USD 03-21  touches #8 #9 (both linkedin/spring)
  g  hank   purchase  70.00 EUR 03-25  no touch: direct
  h  ivy    purchase  25.00 USD 03-28  direct
  i  dave   save      30.00 EUR 04-02  touch #10 (#2 is 31 days old: outside the window)
  j  hank   purchase  30.00 EUR 04-04  direct
  k  gina   purchase  40.00 EUR 04-08  touch #13
  l  bob    cancel     0.00 USD 04-10  direct (#3 is 38 days old)
  m  jack   purchase  15.00 EUR 04-12  direct
  n  ivy    cancel     0.00 USD 04-15  direct
  o  alice  purchase  50.00 EUR 04-20  direct (#1 #5 #7 are 36-50 days old)

Costs (POST /api/costs)
  C1 twitter           labor     310.00 EUR 03-01..03-31 (31 days, 10.00 a day)
  C2 twitter/spring    ads       100.00 EUR 03-01..03-10 (10 days, 10.00 a day)
  C3 linkedin          platform   93.00 USD 03-16..04-15 (31 days, 3.00 a day)
  C4 email             other     100.00 EUR 03-01..04-30 (61 days: 10000 = 61 x 163 + 57,
                                 so the first 57 days get 1.64 and the last 4 get 1.63)
  C5 twitter/summer    ads        50.00 USD 04-01..04-10 (10 days, 5.00 a day)
  C6 email             labor      20.00 EUR 04-21..05-10 (20 days, 1.00 a day)

Earned pay-per-click prices: twitter 0.50, twitter/summer 0.80, linkedin 2.00 (EUR).
"""

from dataclasses import dataclass, field

from conftest import AUTH, BROWSER_UA, app_config, browser, make_link, post_webhook
from shortener import create_app
from shortener.app import init_db
from shortener.clicks import classify, record_click
from shortener.clock import parse_moment, to_db
from shortener.db import connect

EARNED_CPC = {"twitter": "0.50", "twitter/summer": "0.80", "linkedin": "2.00"}

LINKS = {
    "L1": ("twitter", "spring"),
    "L2": ("twitter", "summer"),
    "L3": ("linkedin", "spring"),
    "L4": ("email", "newsletter"),
}
CLICKS = [
    ("alice", "L1", "2025-03-01T12:00:00"),
    ("dave", "L4", "2025-03-02T12:00:00"),
    ("bob", "L1", "2025-03-03T12:00:00"),
    ("carol", "L3", "2025-03-05T12:00:00"),
    ("alice", "L4", "2025-03-08T12:00:00"),
    ("carol", "L4", "2025-03-12T12:00:00"),
    ("alice", "L3", "2025-03-15T12:00:00"),
    ("erin", "L3", "2025-03-20T12:00:00"),
    ("erin", "L3", "2025-03-20T13:00:00"),
    ("dave", "L2", "2025-03-30T12:00:00"),
    ("frank", "L2", "2025-04-03T12:00:00"),
    (None, "L2", "2025-04-03T12:05:00"),  # a link-preview crawler
    ("gina", "L4", "2025-04-08T12:00:00"),
]
VISITS = [
    ("hank", "2025-03-20T10:00:00"),
    ("hank", "2025-03-25T11:00:00"),
    ("ivy", "2025-03-27T10:00:00"),
    ("jill", "2025-04-05T10:00:00"),
    ("alice", "2025-03-15T12:30:00"),
]
# letter: (visitor, customer, goal, value, currency, occurred_at)
CONVERSIONS = {
    "a": ("alice", "alice", "purchase", "100.00", "EUR", "2025-03-15T12:00:00Z"),
    "b": ("bob", "bob", "purchase", "80.00", "USD", "2025-03-05T12:00:00Z"),
    "c": ("carol", None, "signup", None, None, "2025-03-12T12:00:00Z"),
    "d": ("dave", "dave", "purchase", "200.00", "EUR", "2025-03-09T12:00:00Z"),
    "e": ("bob", "bob", "upsell", "20.00", "USD", "2025-03-20T12:00:00Z"),
    "f": ("erin", "erin", "purchase", "60.00", "USD", "2025-03-21T12:00:00Z"),
    "g": ("hank", "hank", "purchase", "70.00", "EUR", "2025-03-25T12:00:00Z"),
    "h": ("ivy", "ivy", "purchase", "25.00", "USD", "2025-03-28T12:00:00Z"),
    "i": ("dave", "dave", "save", "30.00", "EUR", "2025-04-02T12:00:00Z"),
    "j": ("hank", "hank", "purchase", "30.00", "EUR", "2025-04-04T12:00:00Z"),
    "k": ("gina", "gina", "purchase", "40.00", "EUR", "2025-04-08T12:00:00Z"),
    "l": ("bob", "bob", "cancel", None, None, "2025-04-10T12:00:00Z"),
    "m": ("jack", "jack", "purchase", "15.00", "EUR", "2025-04-12T12:00:00Z"),
    "n": ("ivy", "ivy", "cancel", None, None, "2025-04-15T12:00:00Z"),
    "o": ("alice", "alice", "purchase", "50.00", "EUR", "2025-04-20T12:00:00Z"),
}
COSTS = {
    "C1": ("2025-03-01", "2025-03-31", "twitter", None, "labor", "310.00", "EUR"),
    "C2": ("2025-03-01", "2025-03-10", "twitter", "spring", "ads", "100.00", "EUR"),
    "C3": ("2025-03-16", "2025-04-15", "linkedin", None, "platform", "93.00", "USD"),
    "C4": ("2025-03-01", "2025-04-30", "email", None, "other", "100.00", "EUR"),
    "C5": ("2025-04-01", "2025-04-10", "twitter", "summer", "ads", "50.00", "USD"),
    "C6": ("2025-04-21", "2025-05-10", "email", None, "labor", "20.00", "EUR"),
}


@dataclass
class Shop:
    app: object
    client: object
    links: dict = field(default_factory=dict)  # L1.. -> link id
    codes: dict = field(default_factory=dict)  # L1.. -> short code
    clicks: dict = field(default_factory=dict)  # 1.. -> click id
    conversions: dict = field(default_factory=dict)  # a.. -> conversion id
    costs: dict = field(default_factory=dict)  # C1.. -> cost id

    def get(self, path: str, **params):
        response = self.client.get(path, query_string=params, headers=AUTH)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response

    def rows(self, report: str, **params) -> list[dict]:
        return self.get(f"/api/reports/{report}", **params).get_json()["rows"]


def build_shop(tmp_path) -> Shop:
    config = app_config(tmp_path, EARNED_CPC=EARNED_CPC, EARNED_CPC_CURRENCY="EUR")
    init_db(config["DATABASE"])
    app = create_app(config)
    shop = Shop(app, browser(app))
    client = shop.client
    response = client.put("/api/goals/signup", json={"value": "5.00", "currency": "EUR"},
                          headers=AUTH)  # fmt: skip
    assert response.status_code == 200, response.get_json()
    codes = shop.codes
    for name, (channel, campaign) in LINKS.items():
        codes[name] = make_link(client, channel=channel, campaign=campaign)["code"]
    db = connect(config["DATABASE"])
    try:
        for name, code in codes.items():
            shop.links[name] = db.execute("SELECT id FROM links WHERE code = ?", [code]).fetchone()[
                0
            ]
        human = classify(BROWSER_UA)
        bot_ua = "Twitterbot/1.0"
        for n, (who, link, at) in enumerate(CLICKS, start=1):
            shop.clicks[n] = record_click(
                db,
                link_id=shop.links[link],
                visitor_id=f"v-{who}" if who else None,
                now=parse_moment(at),
                agent=human if who else classify(bot_ua),
                is_bot=who is None,
                user_agent=BROWSER_UA if who else bot_ua,
            )
        with db.conn:
            db.conn.executemany(
                "INSERT INTO visits (visitor_id, ts, url) VALUES (?, ?, ?)",
                [(f"v-{who}", to_db(parse_moment(at)), "https://shop.example.com/")
                 for who, at in VISITS],
            )  # fmt: skip
    finally:
        db.close()
    for letter, (who, customer, goal, value, currency, at) in CONVERSIONS.items():
        payload = {"goal": goal, "visitor_id": f"v-{who}", "occurred_at": at,
                   "order_id": f"order-{letter}"}  # fmt: skip
        if customer:
            payload["customer_id"] = customer
        if value:
            payload.update(value=value, currency=currency)
        response = post_webhook(client, payload, msg_id=f"msg_{letter}")
        assert response.status_code == 201, response.get_json()
        shop.conversions[letter] = response.get_json()["conversion"]["id"]
    for name, (start, end, channel, campaign, kind, amount, currency) in COSTS.items():
        body = {"from": start, "to": end, "channel": channel, "kind": kind, "amount": amount,
                "currency": currency}  # fmt: skip
        if campaign:
            body["campaign"] = campaign
        response = client.post("/api/costs", json=body, headers=AUTH)
        assert response.status_code == 201, response.get_json()
        shop.costs[name] = response.get_json()["cost"]["id"]
    return shop
