"""Advocates: the people who share a brand's links, their personal links,
the advocate reports and the rewards ledger.

Registered by the composition root (`shortener/app.py`) after conversions; imports from
`shortener` and `conversions`, never the other way round. What happens
below that concerns advocates (a link changed, a conversion stored or
refunded, a person erased) reaches them as signals, connected here for this
app only.
"""


def init_app(app):
    from . import api, apispec, cli, reports_api, reports_cli, rewards_api, rewards_cli

    apispec.init_app(app)  # this part's /api operations
    api.init_app(app)
    cli.init_app(app)
    reports_api.init_app(app)
    reports_cli.init_app(app)
    rewards_api.init_app(app)
    rewards_cli.init_app(app)
    connect_receivers(app)


def connect_receivers(app):
    from conversions import signals as conversions
    from shortener import signals as links

    from . import receivers

    for signal, receiver in (
        (links.link_updated, receivers.follow_source_link),
        (conversions.conversion_stored, receivers.assess_rewards),
        (conversions.conversion_refunded, receivers.void_pending_rewards),
        (conversions.erasing_person, receivers.forget_person),
    ):
        # strong references to module functions (they hold no app); the app
        # itself is held weakly by blinker, so a finished app takes its
        # receivers with it
        signal.connect(receiver, sender=app, weak=False)
