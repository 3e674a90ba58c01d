"""The composition root: the one module that knows every part of the house.

Each part registers its own blueprints, commands and hooks through its
`init_app`; this module only loads the configuration and calls the parts
bottom to top (shortener, conversions, advocates, dashboard), so a part can
rely on those below it being registered first.
"""

import os

from flask import Flask
from sqlite_utils import Migrations

import advocates
import advocates.schema
import conversions
import conversions.schema
import conversions.settings
import dashboard
import dashboard.schema
import dashboard.settings
import shortener
import shortener.db
import shortener.schema
import shortener.settings

# each part's settings, bottom to top (advocates have none of their own); a
# part's check may rely on the parts below it having been checked
PART_SETTINGS = {
    "shortener": shortener.settings,
    "conversions": conversions.settings,
    "dashboard": dashboard.settings,
}


def all_settings() -> list:
    return [s for part in PART_SETTINGS.values() for s in part.SETTINGS]


# Every part's migrations in the order they landed: installed databases
# applied them in this order, so it is history. A new migration is appended.
LANDING_ORDER = [
    (shortener.schema, "m001_core"),
    (conversions.schema, "m002_aggregates"),
    (dashboard.schema, "m003_dashboard_accounts"),
    (conversions.schema, "m004_cost_ledger"),
    (conversions.schema, "m005_channel_rollups"),
    (conversions.schema, "m006_channel_months"),
    (advocates.schema, "m009_advocates"),
    (conversions.schema, "m008_previews_webhooks"),
    (conversions.schema, "m012_intake_speed"),
    (conversions.schema, "m012_intake_speed_2"),
    (advocates.schema, "m010_rewards"),
    (conversions.schema, "m007_link_features"),
    (shortener.schema, "m011_click_journal"),
    (advocates.schema, "m010_rewards_2"),
    (advocates.schema, "m018_creator_fees"),
    (shortener.schema, "m018_imported_clicks"),
    (conversions.schema, "m016_shop_webhooks"),
    (shortener.schema, "m018_click_posts"),
    (shortener.schema, "m015_click_country"),
    (conversions.schema, "m015_breakdowns"),
    (conversions.schema, "m015_earned_prices"),
    (shortener.schema, "m015_geo_targeting"),
    (shortener.schema, "m019_link_passwords"),
]


def connect_receivers() -> None:
    """Each part above connects what it does when a part below sends a
    signal; for every database, with or without an app, so a conversion
    stored by a script earns the same rewards as one stored by a request."""
    conversions.connect_receivers()
    advocates.connect_receivers()


# once per process, when the root is loaded: anything that migrates a
# database or makes an app has come through here (connecting is idempotent)
connect_receivers()


def migrations() -> Migrations:
    """The house's one migration set, under its installed name."""
    found = Migrations("clicktrail")
    for module, name in LANDING_ORDER:
        found(name=name)(getattr(module, name))
    return found


def init_db(path: str) -> list[str]:
    """Migrate the database at `path` with the whole house's set (for tests,
    benches and scripts that have no app)."""
    return shortener.db.init_db(path, migrations())


def create_app(test_config=None):
    app = Flask("shortener", instance_relative_config=True)
    configure(app, test_config)
    shortener.init_app(app, migrations())
    conversions.init_app(app)
    advocates.init_app(app)
    dashboard.init_app(app)
    shortener.init_redirect(app)  # last: see its docstring
    return app


def configure(app, test_config) -> None:
    """Defaults, then instance/config.py and CLICKTRAIL_* variables (or the
    test's mapping alone), then the checks that refuse a bad setting."""
    app.config.from_mapping({s.name: s.default for s in all_settings()})
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("CLICKTRAIL")
    else:
        app.config.from_mapping(test_config)
    if not app.config["DATABASE"]:
        app.config["DATABASE"] = os.path.join(app.instance_path, "clicktrail.db")
    os.makedirs(app.instance_path, exist_ok=True)
    app.json.sort_keys = False  # keep report columns in their documented order
    for part in PART_SETTINGS.values():
        part.check(app.config)
