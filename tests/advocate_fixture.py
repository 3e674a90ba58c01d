"""The hand-built advocate programme every advocate and reward test reads.

Everything happens in March 2025 at noon UTC; DEFAULT_CURRENCY is EUR.
Attribution window 30 days (default); every conversion below has exactly one
human touch in the window, so all five models credit it to that touch's link.

Source links (the brand's own)
  S1  twitter/spring  https://shop.example.com/spring   code spring-tw
  S2  email/summer    https://shop.example.com/summer   code summer-em

Advocates (handle: customer id)
  pat    cust-pat     prolific: personal links on S1 (P) and S2 (P2); 13 people
                      click, nobody buys
  quinn  cust-quinn   quiet: personal link on S1 (Q); two friends click, both buy
  sam    cust-sam     self-referral: personal link on S1 (S); sam clicks his own
                      link and buys; his friend ida clicks and does not buy
  fay    cust-fay     quinn's friend: after buying she is invited
                      (POST /api/advocates referred_by_conversion=<fay's purchase>)
                      -> depth 1, parent quinn, and with the invitation her
                      personal link on S1 (F: the link that brought her); her
                      friends jo and kit click and both buy: the second generation

Clicks (human, visitor "v-<name>"; all on 03-dd 12:00)
  S1   p01 p02 (03-01), n01..n10 (03-02)         -- p01, p02 are seen before pat's link
  P    p01..p12 (03-05), p01 again (03-06), one bot click (03-05, no visitor)
  P2   p13 (03-05)
  Q    fay gus (03-06)
  S    sam ida (03-07)
  F    jo kit (03-15)

Conversions (webhook, EUR, goal purchase; customer id "cust-<name>")
  n01..n04  10.00 each  03-03   through S1 (the brand's link)
  fay       40.00       03-08   through Q
  gus       60.00       03-09   through Q
  sam       30.00       03-08   through S -- his own link: a self-referral
  jo        25.00       03-16   through F
  kit       15.00       03-17   through F -- REFUNDED on 03-27, within the 30-day
                                holding period (the rewards tests refund it:
                                POST /api/conversions/<id>/refund)
"""

from dataclasses import dataclass, field

from conftest import AUTH, BROWSER_UA, app_config, browser, post_webhook
from shortener import create_app
from shortener.app import init_db
from shortener.clicks import classify, record_click
from shortener.clock import parse_moment
from shortener.db import connect

SOURCES = {
    "S1": {"url": "https://shop.example.com/spring", "channel": "twitter",
           "campaign": "spring", "code": "spring-tw"},
    "S2": {"url": "https://shop.example.com/summer", "channel": "email",
           "campaign": "summer", "code": "summer-em"},
}  # fmt: skip
ADVOCATES = {"pat": "Pat Prolific", "quinn": "Quinn Quiet", "sam": "Sam Self"}
# personal link name: (advocate, source)
PERSONAL = {"P": ("pat", "S1"), "P2": ("pat", "S2"), "Q": ("quinn", "S1"),
            "S": ("sam", "S1"), "F": ("fay", "S1")}  # fmt: skip
PAT_FRIENDS = [f"p{n:02d}" for n in range(1, 13)]
BRAND_VISITORS = [f"n{n:02d}" for n in range(1, 11)]
# (visitor or None for a bot, link name, day of March)
CLICKS_BEFORE_FAY = [
    ("p01", "S1", 1),
    ("p02", "S1", 1),
    *((who, "S1", 2) for who in BRAND_VISITORS),
    *((who, "P", 5) for who in PAT_FRIENDS),
    (None, "P", 5),
    ("p13", "P2", 5),
    ("p01", "P", 6),
    ("fay", "Q", 6),
    ("gus", "Q", 6),
    ("sam", "S", 7),
    ("ida", "S", 7),
]
CLICKS_AFTER_FAY = [("jo", "F", 15), ("kit", "F", 15)]
# name: (value, day of March)
CONVERSIONS = {
    "n01": ("10.00", 3),
    "n02": ("10.00", 3),
    "n03": ("10.00", 3),
    "n04": ("10.00", 3),
    "fay": ("40.00", 8),
    "gus": ("60.00", 9),
    "sam": ("30.00", 8),
    "jo": ("25.00", 16),
    "kit": ("15.00", 17),
}
REFUNDED = "kit"
REFUNDED_ON = "2025-03-27T12:00:00Z"


def at(day: int) -> str:
    return f"2025-03-{day:02d}T12:00:00Z"


@dataclass
class Programme:
    app: object
    client: object
    codes: dict = field(default_factory=dict)  # S1, P, ... -> short code
    link_ids: dict = field(default_factory=dict)  # S1, P, ... -> links.id
    advocates: dict = field(default_factory=dict)  # handle -> advocate id
    conversions: dict = field(default_factory=dict)  # visitor name -> conversion id

    def get(self, path: str, **params):
        response = self.client.get(path, query_string=params, headers=AUTH)
        assert response.status_code == 200, response.get_data(as_text=True)
        return response

    def rows(self, report: str, **params) -> list[dict]:
        return self.get(f"/api/reports/{report}", **params).get_json()["rows"]


def _post(client, path, body, status=(200, 201)):
    response = client.post(path, json=body, headers=AUTH)
    assert response.status_code in status, response.get_json()
    return response.get_json()


def _click(db, programme: Programme, who, link: str, day: int):
    record_click(
        db,
        link_id=programme.link_ids[link],
        visitor_id=f"v-{who}" if who else None,
        now=parse_moment(at(day)),
        agent=classify(BROWSER_UA if who else "Twitterbot/1.0"),
        is_bot=who is None,
        user_agent=BROWSER_UA if who else "Twitterbot/1.0",
    )


def _convert(programme: Programme, who: str):
    value, day = CONVERSIONS[who]
    payload = {"goal": "purchase", "value": value, "currency": "EUR",
               "visitor_id": f"v-{who}", "customer_id": f"cust-{who}",
               "occurred_at": at(day), "order_id": f"order-{who}"}  # fmt: skip
    response = post_webhook(programme.client, payload, msg_id=f"msg_{who}")
    assert response.status_code == 201, response.get_json()
    programme.conversions[who] = response.get_json()["conversion"]["id"]


def _share(programme: Programme, db, name: str):
    handle, source = PERSONAL[name]
    link = _post(programme.client, f"/api/links/{programme.codes[source]}/share",
                 {"advocate": handle})  # fmt: skip
    programme.codes[name] = link["code"]
    programme.link_ids[name] = db.execute(
        "SELECT id FROM links WHERE code = ?", [link["code"]]
    ).fetchone()[0]


def build_programme(tmp_path, **config_overrides) -> Programme:
    config = app_config(tmp_path, **{"DEFAULT_CURRENCY": "EUR", **config_overrides})
    init_db(config["DATABASE"])
    app = create_app(config)
    programme = Programme(app, browser(app))
    client = programme.client
    db = connect(config["DATABASE"])
    try:
        for name, body in SOURCES.items():
            link = _post(client, "/api/links", body)
            programme.codes[name] = link["code"]
            programme.link_ids[name] = db.execute(
                "SELECT id FROM links WHERE code = ?", [link["code"]]
            ).fetchone()[0]
        for handle, full_name in ADVOCATES.items():
            body = {"name": full_name, "handle": handle, "customer_id": f"cust-{handle}"}
            made = _post(client, "/api/advocates", body)
            programme.advocates[handle] = made["id"]
        for name in ("P", "P2", "Q", "S"):
            _share(programme, db, name)
        for who, link, day in CLICKS_BEFORE_FAY:
            _click(db, programme, who, link, day)
        for who in ("n01", "n02", "n03", "n04", "fay", "gus", "sam"):
            _convert(programme, who)
        fay = _post(client, "/api/advocates",
                    {"name": "Fay Friend", "handle": "fay",
                     "referred_by_conversion": programme.conversions["fay"]})  # fmt: skip
        programme.advocates["fay"] = fay["id"]
        _share(programme, db, "F")
        for who, link, day in CLICKS_AFTER_FAY:
            _click(db, programme, who, link, day)
        for who in ("jo", "kit"):
            _convert(programme, who)
    finally:
        db.close()
    return programme
