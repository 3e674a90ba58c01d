# Copy to instance/config.py (or let `make run` generate one) and adjust.
# Environment variables override these: CLICKTRAIL_<KEY>, e.g. CLICKTRAIL_BASE_URL.
SECRET_KEY = "change-me: a long random string"
SECRET_KEY_FALLBACKS = []  # previous keys, still accepted while rotating
ADMIN_API_KEY = "change-me"
WEBHOOK_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # or a list during rotation
# sales straight from the shop (docs/shops.md): the secrets the shops show you
# STRIPE_WEBHOOK_SECRET = "whsec_..."  # Stripe: the /t/stripe endpoint's signing secret
# SHOPIFY_WEBHOOK_SECRET = "..."  # Shopify: "Your webhooks will be signed with ..."
# DATABASE = "/var/lib/clicktrail/clicktrail.db"
BASE_URL = "https://go.example.com"
COOKIE_DOMAIN = ".example.com"
ATTRIBUTION_WINDOW_DAYS = 30
DEFAULT_CURRENCY = "EUR"
# SOCIAL_CHANNELS = ["twitter", "x", "facebook", "linkedin", "instagram", "tiktok"]
TRUST_PROXY_HEADERS = False
