"""Conversions: intake by pixel and webhook, attribution, reports.

Registered by the composition root (`shortener/app.py`); imports from `shortener`, never the
other way round.
"""

from shortener.signals import click_counts_read


def init_app(app):
    from . import abtest, apispec, cli, pixel, privacy, views, webhook

    apispec.init_app(app)  # this part's /api operations

    app.register_blueprint(abtest.bp)  # A/B destinations
    app.register_blueprint(pixel.bp)
    app.register_blueprint(webhook.bp)
    app.register_blueprint(views.bp)
    cli.init_app(app)
    privacy.init_app(app)

    from . import analytics_cli, analytics_views  # ROI analytics

    analytics_views.init_app(app)
    analytics_cli.init_app(app)

    from . import unfurls  # social previews

    unfurls.init_app(app)

    from . import outbound_views  # outbound webhooks

    outbound_views.init_app(app)

    from . import shop_shopify, shop_stripe  # sales straight from the shop

    app.register_blueprint(shop_stripe.bp)
    app.register_blueprint(shop_shopify.bp)

    from . import posts  # one link, many posts

    posts.init_app(app)


def connect_receivers():
    """Connect this part's receivers for any sender (the database), once,
    from the composition root."""
    # shortener's link list sorted by clicks reads the counts folded here
    click_counts_read.connect(_fold_new_clicks, weak=False)


def _fold_new_clicks(db):
    from . import aggregates

    aggregates.refresh(db)
