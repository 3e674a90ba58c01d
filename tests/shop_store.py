"""A small store for the shop webhook tests (Stripe, Shopify, gunicorn).

March-April 2025, noon UTC; DEFAULT_CURRENCY EUR; both shops configured.

  L1 twitter/spring    L2 linkedin/spring
  clicks (human): ada L1 03-01 (A1), ada L2 03-05 (A2), bo L2 03-08 (B)
"""

from dataclasses import dataclass, field

from conftest import AUTH, BROWSER_UA, app_config, browser, make_link
from shop_payloads import SHOPIFY_SECRET, STRIPE_SECRET
from shortener import create_app
from shortener.app import init_db
from shortener.clicks import classify, record_click
from shortener.clock import parse_moment
from shortener.db import connect

CLICKS = {  # name: (visitor, link, time)
    "A1": ("v-ada", "L1", "2025-03-01T12:00:00Z"),
    "A2": ("v-ada", "L2", "2025-03-05T12:00:00Z"),
    "B": ("v-bo", "L2", "2025-03-08T12:00:00Z"),
}
MARCH = {"from": "2025-03-01", "to": "2025-03-31"}


@dataclass
class Store:
    app: object
    client: object
    db: object
    clicks: dict = field(default_factory=dict)
    links: dict = field(default_factory=dict)

    def channels(self, **params) -> dict:
        """{(channel, currency): (conversions, revenue)} of the channel report."""
        response = self.client.get("/api/reports/channels", query_string=params, headers=AUTH)
        assert response.status_code == 200, response.get_json()
        return {
            (r["channel"], r["currency"]): (r["conversions"], r["revenue"])
            for r in response.get_json()["rows"]
            if r["conversions"]
        }

    def conversions(self) -> list[dict]:
        return list(self.db.query("SELECT * FROM conversions ORDER BY id"))

    def events(self) -> list[tuple]:
        return [
            (r["shop"], r["type"], r["outcome"])
            for r in self.db.query("SELECT * FROM shop_events ORDER BY id")
        ]


def build_store(tmp_path, **overrides) -> Store:
    """The store; the caller closes store.db."""
    settings = {
        "DEFAULT_CURRENCY": "EUR",
        "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
        "SHOPIFY_WEBHOOK_SECRET": SHOPIFY_SECRET,
    }
    config = app_config(tmp_path, **{**settings, **overrides})
    init_db(config["DATABASE"])
    app = create_app(config)
    store = Store(app, browser(app), connect(config["DATABASE"]))
    for name, channel in (("L1", "twitter"), ("L2", "linkedin")):
        code = make_link(store.client, channel=channel, campaign="spring")["code"]
        store.links[name] = store.db.execute(
            "SELECT id FROM links WHERE code = ?", [code]
        ).fetchone()[0]
    for name, (visitor, link, at) in CLICKS.items():
        store.clicks[name] = record_click(
            store.db,
            link_id=store.links[link],
            visitor_id=visitor,
            now=parse_moment(at),
            agent=classify(BROWSER_UA),
            is_bot=False,
            user_agent=BROWSER_UA,
        )
    return store


def assert_nothing_stored(store):
    for table in ("conversions", "credits", "shop_events", "refund_amounts"):
        assert store.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0, table
