"""The settings of conversion intake, attribution, reports and outbound
webhooks, with their defaults and meaning (gathered by the composition root;
checked after shortener's, so ATTRIBUTION_WINDOW_DAYS is already sound)."""

import base64

from shortener.settings import ConfigError, Setting

SETTINGS = [
    Setting(
        "WEBHOOK_SECRET",
        None,
        "Standard Webhooks secret (`whsec_...`), or a list of them during rotation.",
    ),
    Setting(
        "STRIPE_WEBHOOK_SECRET",
        None,
        "Signing secret (`whsec_...`) of the Stripe webhook endpoint that sends to "
        "`/t/stripe`, or a list of them while Stripe rotates it; unset: refused.",
    ),
    Setting(
        "SHOPIFY_WEBHOOK_SECRET",
        None,
        "The key Shopify signs webhooks to `/t/shopify` with (the store's webhook signing "
        "key, or the app's client secret), or a list of them during rotation; unset: refused.",
    ),
    Setting(
        "DEFAULT_CURRENCY",
        "USD",
        "Currency of goal values and of conversions that name none.",
    ),
    Setting(
        "WEBHOOK_TOLERANCE_SECONDS",
        300,
        "How far a webhook's timestamp may be from now before it is refused.",
    ),
    Setting(
        "WEBHOOK_ALLOW_PRIVATE_TARGETS",
        False,
        "Let outbound webhook endpoints be on loopback or private addresses (off: SSRF guard).",
    ),
    Setting(
        "WEBHOOK_TIMEOUT_SECONDS",
        10,
        "How long one outbound webhook delivery may take (connect and answer).",
    ),
    Setting(
        "WEBHOOK_MAX_ATTEMPTS",
        10,
        "Attempts per outbound delivery before it is marked failed (backoff 30 s doubling).",
    ),
    Setting(
        "WEBHOOK_LOG_DAYS",
        30,
        "Finished outbound deliveries (delivered or failed) are kept this many days in the log.",
    ),
    Setting(
        "WEBHOOK_DELIVERY_THREAD",
        True,
        "Under gunicorn, deliver outbound webhooks from a background thread (one server-wide).",
    ),
    Setting(
        "WEBHOOK_POLL_SECONDS",
        2,
        "How often the outbound webhook deliverer looks for new events when idle.",
    ),
    Setting(
        "TIME_DECAY_HALF_LIFE_DAYS",
        7,
        "Half-life of a touch's weight under the `time_decay` attribution model.",
    ),
    Setting(
        "PURCHASE_GOALS",
        ["purchase", "upsell", "renewal"],
        "Goals that are purchases: they make a customer (new customers, CAC, retention, "
        "tenure, cross-sell, repeat purchases).",
    ),
    Setting(
        "EARNED_CPC",
        {},
        "Default cost per click to price human clicks at for the earned-value report, per "
        'channel or per campaign: {"twitter": "0.80", "twitter/spring-sale": "1.10"}; a '
        "price set in the dashboard or by POST /api/earned-prices comes first.",
    ),
    Setting(
        "EARNED_CPC_CURRENCY",
        None,
        "Currency of the EARNED_CPC prices; default DEFAULT_CURRENCY.",
    ),
    Setting(
        "CLICK_RETENTION_DAYS",
        None,
        "Raw clicks older than this many days are deleted by `flask privacy retention` "
        "(aggregates keep their counts); at least ATTRIBUTION_WINDOW_DAYS. None keeps them.",
    ),
]


def _webhook_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_<base64>` secret, b"" when it is not one
    (checked here so a bad secret stops start-up, not every webhook)."""
    if not secret.startswith("whsec_"):
        return b""
    encoded = secret.removeprefix("whsec_").strip()
    try:
        return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except ValueError:
        return b""


def _shop_secrets(config, key: str, what: str, prefix: str = "") -> list[str]:
    """A shop's webhook secret as a list (one, or several during rotation).
    Stripe's are used as written, `whsec_` included, as Stripe's library does."""
    secrets = config.get(key)
    if isinstance(secrets, str):
        secrets = [secrets]
    secrets = list(secrets or [])
    for secret in secrets:
        # startswith(prefix): an API key pasted in its place is refused at start-up
        if not isinstance(secret, str) or not secret.strip() or not secret.startswith(prefix):
            raise ConfigError(f"{key} must be {what}, or a list of them")
    return secrets


def check(config) -> None:
    """Refuse to start on a setting that would silently produce wrong numbers."""
    secrets = config["WEBHOOK_SECRET"]
    if isinstance(secrets, str):
        secrets = [secrets]
    for secret in secrets or []:
        if not isinstance(secret, str) or not _webhook_key(secret):
            raise ConfigError("WEBHOOK_SECRET entries must look like whsec_<base64>")
    window = config["ATTRIBUTION_WINDOW_DAYS"]
    retention = config["CLICK_RETENTION_DAYS"]
    if retention is not None and (not isinstance(retention, int) or retention < window):
        # a click must outlive the window in which it can still earn credit
        raise ConfigError(
            "CLICK_RETENTION_DAYS must be a whole number of days no shorter than "
            "ATTRIBUTION_WINDOW_DAYS (or None to keep clicks)"
        )
    half_life = config["TIME_DECAY_HALF_LIFE_DAYS"]
    if (
        isinstance(half_life, bool)
        or not isinstance(half_life, int | float)
        or not (0 < half_life <= 3650)
    ):
        # zero or negative would divide by zero or give old touches more credit
        raise ConfigError("TIME_DECAY_HALF_LIFE_DAYS must be a number of days above 0")
    config["WEBHOOK_SECRETS"] = list(secrets or [])
    config["STRIPE_WEBHOOK_SECRETS"] = _shop_secrets(
        config,
        "STRIPE_WEBHOOK_SECRET",
        "the endpoint's signing secret from Stripe (whsec_...)",
        prefix="whsec_",
    )
    config["SHOPIFY_WEBHOOK_SECRETS"] = _shop_secrets(
        config, "SHOPIFY_WEBHOOK_SECRET", "the signing key Shopify shows for its webhooks"
    )
    config["DEFAULT_CURRENCY"] = str(config["DEFAULT_CURRENCY"]).upper()
