"""The hand-built creator programme the return-per-creator tests read
(tests/test_creator_return.py, the dashboard's Advocates page).

The programme (DEFAULT_CURRENCY EUR; every time 12:00 UTC; window 30 days)

  Source links        S1 instagram/spring, S2 youtube/reviews
  Personal links      A ada on S1, B bo on S1, D dee on S1, C cy on S2
  Reward rule         reviews: the advocate earns 10 % of the friend's revenue

  Fees (cost rows naming the creator)
    ada  labor  300.00 EUR  03-01..03-30  30 days: 10.00 a day
    bo   labor  200.00 EUR  04-01..04-30  30 days: 20000 / 30 = 666 rem 20,
                            so 04-01..04-20 carry 6.67 and 04-21..04-30 6.66
    cy   other   90.00 EUR  03-10..03-12  (a product sent for review)
    dee  -- none, and no rewards

  Clicks and purchases (webhook, goal purchase, EUR)
    u1  A 03-05, buys 03-06 200.00 (first purchase); A 03-24, buys 03-25 50.00
    u2  A 03-05, B 04-02, buys 04-03 120.00 (first purchase): last touch bo,
        first touch ada, linear 60.00 each
    u3  C 03-11, buys 03-11 150.00 (first purchase): cy earns 15.00
    u4  D 03-20, buys 03-21  80.00 (first purchase)
"""

from conftest import AUTH, BROWSER_UA, app_config, browser, post_webhook
from shortener import create_app
from shortener.app import init_db
from shortener.clicks import classify, record_click
from shortener.clock import parse_moment
from shortener.db import connect

SOURCES = {
    "S1": {"url": "https://shop.example.com/spring", "channel": "instagram",
           "campaign": "spring", "code": "spring-ig"},
    "S2": {"url": "https://shop.example.com/reviews", "channel": "youtube",
           "campaign": "reviews", "code": "reviews-yt"},
}  # fmt: skip
PERSONAL = {"A": ("ada", "S1"), "B": ("bo", "S1"), "D": ("dee", "S1"), "C": ("cy", "S2")}
FEES = [
    {"advocate": "ada", "from": "2025-03-01", "to": "2025-03-30", "channel": "instagram",
     "campaign": "spring", "kind": "labor", "amount": "300.00", "currency": "EUR"},
    {"advocate": "bo", "from": "2025-04-01", "to": "2025-04-30", "channel": "instagram",
     "campaign": "spring", "kind": "labor", "amount": "200.00", "currency": "EUR"},
    {"advocate": "cy", "from": "2025-03-10", "to": "2025-03-12", "channel": "youtube",
     "campaign": "reviews", "kind": "other", "amount": "90.00", "currency": "EUR",
     "note": "camera sent for review"},
]  # fmt: skip
# (visitor, link, day) clicks and (visitor, order, value, day) purchases, in time order
EVENTS = [
    ("click", "u1", "A", "03-05"),
    ("click", "u2", "A", "03-05"),
    ("buy", "u1", "200.00", "03-06"),
    ("click", "u3", "C", "03-11"),
    ("buy", "u3", "150.00", "03-11"),
    ("click", "u4", "D", "03-20"),
    ("buy", "u4", "80.00", "03-21"),
    ("click", "u1", "A", "03-24"),
    ("buy", "u1", "50.00", "03-25"),
    ("click", "u2", "B", "04-02"),
    ("buy", "u2", "120.00", "04-03"),
]


def post(client, path, body):
    response = client.post(path, json=body, headers=AUTH)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def build_creators(tmp_path):
    """An app's test client with the programme above."""
    config = app_config(tmp_path, DEFAULT_CURRENCY="EUR")
    init_db(config["DATABASE"])
    client = browser(create_app(config))
    post(client, "/api/reward-rules", {"campaign": "reviews", "beneficiary": "advocate",
                                       "percent": "10", "currency": "EUR"})  # fmt: skip
    for body in SOURCES.values():
        post(client, "/api/links", body)
    for handle in ("ada", "bo", "cy", "dee"):
        post(client, "/api/advocates", {"name": handle.title(), "handle": handle})
    db = connect(config["DATABASE"])
    try:
        link_ids = {}
        for name, (handle, source) in PERSONAL.items():
            code = post(client, f"/api/links/{SOURCES[source]['code']}/share",
                        {"advocate": handle})["code"]  # fmt: skip
            link_ids[name] = db.execute("SELECT id FROM links WHERE code = ?", [code]).fetchone()[0]
        for fee in FEES:
            post(client, "/api/costs", fee)
        for n, (what, who, detail, day) in enumerate(EVENTS):
            when = f"2025-{day}T12:00:00Z"
            if what == "click":
                record_click(db, link_id=link_ids[detail], visitor_id=f"v-{who}",
                             now=parse_moment(when), agent=classify(BROWSER_UA), is_bot=False,
                             user_agent=BROWSER_UA)  # fmt: skip
                continue
            payload = {"goal": "purchase", "value": detail, "currency": "EUR",
                       "visitor_id": f"v-{who}", "occurred_at": when,
                       "order_id": f"o{n}"}  # fmt: skip
            response = post_webhook(client, payload, msg_id=f"msg_{n}")
            assert response.status_code == 201, response.get_json()
    finally:
        db.close()
    return client
