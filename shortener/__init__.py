"""clicktrail: campaign short links that prove what social marketing earns.

This package is the bottom part of the house: links, the redirect and the
click log. The app itself is put together in `shortener.app.create_app`,
re-exported here so `flask --app shortener` and gunicorn's
`'shortener:create_app()'` find it.
"""


def create_app(test_config=None):
    # imported on call: the root imports every part, and the parts import
    # this package first
    from .app import create_app as create

    return create(test_config)


def init_app(app, migrations):
    """Links, clicks and the JSON API's own routes; the catch-all redirect
    comes later, from `init_redirect`."""
    from . import api, apispec, cli, db, errors, guards, journal, openapi, qr

    guards.init_app(app)  # before any route is added
    db.init_app(app, migrations)
    journal.init_app(app)
    errors.init_app(app)
    cli.init_app(app)
    apispec.init_app(app)  # the API's declarations, links and QR codes
    app.register_blueprint(api.bp)
    app.register_blueprint(qr.bp)
    app.register_blueprint(openapi.bp)


def init_redirect(app):
    """The catch-all /<code> route, registered after every other part's
    routes so it never shadows one, and the fast WSGI path in front of
    everything (it falls through for all but plain clicks)."""
    from . import fastpath, redirect

    app.register_blueprint(redirect.bp)
    fastpath.init_app(app)
