"""The composition root: the one module that knows every part of the house.

Each part registers its own blueprints, commands and hooks through its
`init_app`; this module only loads the configuration and calls the parts
bottom to top (shortener, conversions, advocates, dashboard), so a part can
rely on those below it being registered first.
"""

import os

from flask import Flask

import advocates
import conversions
import conversions.settings
import dashboard
import dashboard.settings
import shortener
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


def create_app(test_config=None):
    app = Flask("shortener", instance_relative_config=True)
    configure(app, test_config)
    shortener.init_app(app)
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
