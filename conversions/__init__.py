"""Conversions: intake by pixel and webhook, attribution, reports.

Registered by the composition root (`shortener/app.py`); imports from `shortener`, never the
other way round.
"""


def init_app(app):
    from . import abtest, aggregates, cli, pixel, privacy, views, webhook

    # for shortener's link list sorted by clicks (it may not import us)
    app.extensions["clicktrail.refresh_aggregates"] = aggregates.refresh

    app.register_blueprint(abtest.bp)  # issue 6: A/B destinations
    app.register_blueprint(pixel.bp)
    app.register_blueprint(webhook.bp)
    app.register_blueprint(views.bp)
    cli.init_app(app)
    privacy.init_app(app)

    from . import analytics_cli, analytics_views  # issue 3: ROI analytics

    analytics_views.init_app(app)
    analytics_cli.init_app(app)

    from . import unfurls  # issue 6: social previews

    unfurls.init_app(app)

    from . import outbound_views  # issue 6: outbound webhooks

    outbound_views.init_app(app)

    from . import shop_shopify, shop_stripe  # sales straight from the shop

    app.register_blueprint(shop_stripe.bp)
    app.register_blueprint(shop_shopify.bp)

    from . import posts  # one link, many posts

    posts.init_app(app)
