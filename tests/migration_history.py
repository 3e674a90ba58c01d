"""The order in which the migrations landed, as installed databases applied
them: the yardstick for any change to how the migration list is built.

Keep this list as it is; append a migration here when one lands. A database
migrated part way under this order must, migrated again by the current code,
end with the schema a fresh database gets (tests/test_schema.py).
"""

from sqlite_utils import Migrations

SET_NAME = "clicktrail"

LANDED = [
    "m001_core",
    "m002_aggregates",
    "m003_dashboard_accounts",
    "m004_cost_ledger",
    "m005_channel_rollups",
    "m006_channel_months",
    "m009_advocates",
    "m008_previews_webhooks",
    "m012_intake_speed",
    "m012_intake_speed_2",
    "m010_rewards",
    "m007_link_features",
    "m011_click_journal",
    "m010_rewards_2",
    "m018_creator_fees",
    "m018_imported_clicks",
    "m016_shop_webhooks",
    "m018_click_posts",
    "m015_click_country",
    "m015_breakdowns",
    "m015_earned_prices",
    "m015_geo_targeting",
    "m019_link_passwords",
]


def landed_migrations(current: Migrations) -> Migrations:
    """A migration set under the same name holding the current code's
    migration functions in landing order."""
    functions = {m.name: m for m in current._migrations}
    history = Migrations(SET_NAME)
    for name in LANDED:
        history(name=name, transactional=functions[name].transactional)(functions[name].fn)
    return history
