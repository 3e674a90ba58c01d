"""clicktrail: campaign short links that prove what social marketing earns."""

import os

from flask import Flask

from . import settings


def create_app(test_config=None):
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(settings.defaults())
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("CLICKTRAIL")
    else:
        app.config.from_mapping(test_config)
    if not app.config["DATABASE"]:
        app.config["DATABASE"] = os.path.join(app.instance_path, "clicktrail.db")
    os.makedirs(app.instance_path, exist_ok=True)
    app.json.sort_keys = False  # keep report columns in their documented order
    settings.check(app.config)

    from . import (
        api,
        cli,
        db,
        errors,
        fastpath,
        guards,
        journal,
        openapi,
        qr,
        redirect,
    )

    guards.init_app(app)  # before any route is added
    db.init_app(app)
    journal.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    app.register_blueprint(api.bp)
    app.register_blueprint(qr.bp)
    app.register_blueprint(openapi.bp)

    from conversions import init_app as init_conversions

    init_conversions(app)

    from advocates import init_app as init_advocates

    init_advocates(app)

    from dashboard import init_app as init_dashboard

    init_dashboard(app)
    # the catch-all /<code> route goes last so it never shadows another route
    app.register_blueprint(redirect.bp)
    fastpath.init_app(app)  # in front of everything: it falls through for all but plain clicks
    return app
