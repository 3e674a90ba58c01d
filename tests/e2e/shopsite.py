"""A tiny shop website on 127.0.0.1 for the browser tests.

It stands for the marketer's own site on another domain: its pages load
clicktrail's `ct.js` from the shortener, and the thank-you page reports a
purchase with `clicktrail.convert(...)`, as the install page says to. A
product page tags a Shopify cart and a pricing page Stripe Payment Links,
with the install page's lines.
"""

import json
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGES = {
    "/landing.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Spring sale — Example Shop</title>
<script src="{ct}/t/ct.js"></script></head>
<body><h1>Spring sale</h1><p>Everything 20 % off.</p>
<a id="buy" href="/thanks.html">Buy now</a></body></html>""",
    "/thanks.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Thank you — Example Shop</title>
<script src="{ct}/t/ct.js"></script></head>
<body><h1>Thank you for your order</h1>
<script>
  clicktrail.convert('purchase', {{value: 49.90, currency: 'USD', order_id: 'E2E-1'}});
</script></body></html>""",
    # a Shopify storefront page: the theme's line puts the ids on the cart
    "/product.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Linen shirt — Example Shop</title>
<script src="{ct}/t/ct.js"></script>
<script>window.cartTagged = clicktrail.shopifyCart();</script></head>
<body><h1>Linen shirt</h1><button id="add">Add to cart</button></body></html>""",
    # a page selling through Stripe Payment Links and a Buy Button
    "/pricing.html": """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Pricing — Example Shop</title>
<script src="{ct}/t/ct.js"></script>
<script>clicktrail.stripeLinks();</script></head>
<body><h1>Pricing</h1>
<a id="monthly" href="https://buy.stripe.com/test_eVa5kT0aB3xY?prefilled_email=a%40b.example">Monthly</a>
<a id="yearly" href="https://buy.stripe.com/test_3cs8yB9Xw">Yearly</a>
<a id="docs" href="https://docs.stripe.com/payment-links">How we take payments</a>
<stripe-buy-button id="button" buy-button-id="buy_btn_1Q"
  publishable-key="pk_test_1"></stripe-buy-button>
</body></html>""",
}


def handler_for(ct_origin: str, posted: list | None = None):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 -- the http.server interface
            page = PAGES.get(self.path.split("?", 1)[0])
            if page is None:
                self.send_error(404)
                return
            self.answer(page.format(ct=ct_origin).encode(), "text/html; charset=utf-8")

        def do_POST(self):  # noqa: N802
            # Shopify's Ajax cart API: POST /cart/update.js {"attributes": {...}}
            if self.path != "/cart/update.js" or posted is None:
                self.send_error(404)
                return
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            posted.append(body)
            cart = {"token": "c1-test", "attributes": body.get("attributes", {}), "items": []}
            self.answer(json.dumps(cart).encode(), "application/json")

        def answer(self, body: bytes, content_type: str):
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


@contextmanager
def shop(ct_origin: str, hostname: str = "shop.localhost", posted: list | None = None):
    """Yield the shop's origin. Chromium resolves every *.localhost name to
    the loopback address, so the shop is another site than the shortener on
    127.0.0.1 without any resolver set-up. `posted` collects the bodies of
    Shopify cart updates (POST /cart/update.js)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(ct_origin, posted))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{hostname}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
