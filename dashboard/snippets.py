"""Copy-paste snippets for the install page, with this installation's own
origin and webhook secret filled in. Kept as plain functions so a test can
run the webhook snippet exactly as a marketer would paste it."""

PIXEL = (
    "<!-- on the thank-you page; the same site as the shortener (COOKIE_DOMAIN) -->\n"
    '<img src="{origin}/t/pixel.gif?goal=purchase&amp;value=49.90&amp;currency={currency}'
    '&amp;order_id=ORDER-ID"\n     alt="" width="1" height="1">'
)

SCRIPT = """<!-- on every page of the site, in <head> -->
<script src="{origin}/t/ct.js"></script>

<!-- on the thank-you page, after the line above -->
<script>
  clicktrail.convert('purchase', {{value: 49.90, currency: '{currency}', order_id: 'ORDER-ID'}});
</script>"""

WEBHOOK = """# Python 3, standard library only: report a confirmed conversion, signed
# with the Standard Webhooks scheme. CT_CLICK is the `ct_click` value the
# visitor's landing URL carried (keep it with the order).
import base64, hashlib, hmac, json, time, urllib.request, uuid

CLICKTRAIL = "{origin}"
SECRET = "{secret}"


def send_conversion(payload):
    body = json.dumps(payload).encode()
    msg_id, timestamp = "msg_" + uuid.uuid4().hex, str(int(time.time()))
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    digest = hmac.new(key, f"{{msg_id}}.{{timestamp}}.".encode() + body, hashlib.sha256).digest()
    request = urllib.request.Request(
        CLICKTRAIL + "/t/webhook", data=body, method="POST",
        headers={{"webhook-id": msg_id, "webhook-timestamp": timestamp,
                 "webhook-signature": "v1," + base64.b64encode(digest).decode(),
                 "Content-Type": "application/json"}})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


print(send_conversion({{"goal": "purchase", "value": "49.90", "currency": "{currency}",
                       "order_id": "ORDER-ID", "click_id": CT_CLICK}}))"""


SHOPIFY_THEME = """<!-- Shopify: Online Store > Themes > Edit code > theme.liquid, in <head> -->
<script src="{origin}/t/ct.js"></script>
<script>clicktrail.shopifyCart();</script>"""

STRIPE_LINKS = """<!-- on pages with Stripe Payment Links or Buy Buttons -->
<script src="{origin}/t/ct.js"></script>
<script>clicktrail.stripeLinks();</script>"""

# what each shop should send, as its settings name it
SHOPS = {
    "stripe": {
        "name": "Stripe",
        "path": "/t/stripe",
        "setting": "STRIPE_WEBHOOK_SECRET",
        "events": [
            ("checkout.session.completed", "a paid Checkout or Payment Link: a purchase"),
            ("checkout.session.async_payment_succeeded", "a bank payment that cleared later"),
            ("invoice.paid", "subscription invoices: the first a purchase, later ones renewals"),
            ("charge.refunded", "refunds, whole or in part"),
            (
                "invoice_payment.paid",
                "API versions from 2025-03-31: finds a subscription payment's refunds",
            ),
        ],
    },
    "shopify": {
        "name": "Shopify",
        "path": "/t/shopify",
        "setting": "SHOPIFY_WEBHOOK_SECRET",
        "events": [
            ("Order payment (orders/paid)", "a paid order: a purchase"),
            ("Order creation (orders/create)", "only if you capture payments later"),
            ("Refund create (refunds/create)", "refunds, whole or in part"),
        ],
    },
}


def pixel(origin: str, currency: str) -> str:
    return PIXEL.format(origin=origin, currency=currency)


def script(origin: str, currency: str) -> str:
    return SCRIPT.format(origin=origin, currency=currency)


def webhook(origin: str, secret: str, currency: str) -> str:
    return WEBHOOK.format(origin=origin, secret=secret, currency=currency)


def shopify_theme(origin: str) -> str:
    return SHOPIFY_THEME.format(origin=origin)


def stripe_links(origin: str) -> str:
    return STRIPE_LINKS.format(origin=origin)
