"""Read the app's attribution settings once per request."""

from flask import current_app

from .intake import Policy


def current_policy() -> Policy:
    config = current_app.config
    return Policy(
        window_days=config["ATTRIBUTION_WINDOW_DAYS"],
        half_life_days=config["TIME_DECAY_HALF_LIFE_DAYS"],
        default_currency=config["DEFAULT_CURRENCY"],
    )
