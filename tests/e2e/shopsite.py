"""A tiny shop website on 127.0.0.1 for the browser tests.

It stands for the marketer's own site on another domain: its pages load
clicktrail's `ct.js` from the shortener, and the thank-you page reports a
purchase with `clicktrail.convert(...)`, as the install page says to.
"""

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
}


def handler_for(ct_origin: str):
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 -- the http.server interface
            page = PAGES.get(self.path.split("?", 1)[0])
            if page is None:
                self.send_error(404)
                return
            body = page.format(ct=ct_origin).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return Handler


@contextmanager
def shop(ct_origin: str, hostname: str = "shop.localhost"):
    """Yield the shop's origin. Chromium resolves every *.localhost name to
    the loopback address, so the shop is another site than the shortener on
    127.0.0.1 without any resolver set-up."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler_for(ct_origin))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{hostname}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
