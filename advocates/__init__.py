"""Advocates: the people who share a brand's links, their personal links,
the advocate reports and the rewards ledger.

Registered by the composition root (`shortener/app.py`) after conversions; imports from
`shortener` and `conversions`, never the other way round. What happens
below that concerns advocates (a link changed, a conversion stored or
refunded, a person erased) reaches them as signals, whose receivers the
composition root connects once through `connect_receivers`.
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


def connect_receivers():
    """Connect this part's receivers for any sender (the database a change
    is made in), so what happens below reaches advocates with or without an
    app; connecting again changes nothing."""
    from conversions import signals as conversions
    from shortener import signals as links

    from . import receivers

    for signal, receiver in (
        (links.link_updated, receivers.follow_source_link),
        (conversions.conversion_stored, receivers.assess_rewards),
        (conversions.conversion_refunded, receivers.void_pending_rewards),
        (conversions.erasing_person, receivers.forget_person),
        (conversions.advocate_named, receivers.advocate_id),
        (conversions.advocates_shown, receivers.advocate_handles),
    ):
        # strong references: module functions, holding neither app nor database
        signal.connect(receiver, weak=False)
