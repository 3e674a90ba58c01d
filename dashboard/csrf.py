"""CSRF protection: every state-changing dashboard request carries a token.

The token lives in the signed session cookie and is echoed by each form (a
hidden `csrf_token` field) or by script (`X-CSRF-Token` header). A page on
another site can make the browser send the cookie, but cannot read the
token, so its forged post is refused with 400 before any view runs.
"""

import hmac
import secrets

from flask import abort, request, session

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def token() -> str:
    """This session's token, created on first use (Jinja: `csrf_token()`)."""
    value = session.get("csrf")
    if not isinstance(value, str):
        value = session["csrf"] = secrets.token_urlsafe(32)
    return value


def renew() -> None:
    """A fresh token, e.g. on signing in, so one seen before cannot be reused."""
    session["csrf"] = secrets.token_urlsafe(32)


def check() -> None:
    if request.method in SAFE_METHODS:
        return
    expected = session.get("csrf")
    sent = request.form.get(FIELD) or request.headers.get(HEADER)
    if not isinstance(expected, str) or not sent:
        abort(400, "The form's security token is missing. Reload the page and try again.")
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, "The form's security token has expired. Reload the page and try again.")
