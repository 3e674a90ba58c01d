"""API authentication: a bearer token compared in constant time -- the
admin key, or a key made in the dashboard, found by its SHA-256 (only the
digest is stored, so a copy of the database holds no usable key)."""

import functools
import hashlib
import hmac

from flask import current_app, request

from .apispec import check_request
from .db import get_db
from .errors import ApiError


def key_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def stored_key_valid(token: str) -> bool:
    row = next(
        get_db().query(
            "SELECT 1 FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL",
            [key_digest(token)],
        ),
        None,
    )
    return row is not None


def api_key_valid(header: str | None) -> bool:
    expected = current_app.config["ADMIN_API_KEY"]
    scheme, _, token = (header or "").strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return False
    if expected and hmac.compare_digest(token.encode(), str(expected).encode()):
        return True
    return stored_key_valid(token)


def api_actor() -> str:
    """Who is calling, as the audit log names it: `key:admin` for the admin
    key, `key:NAME` for a key made in the dashboard (the caller was checked
    by `require_api_key`)."""
    _, _, token = (request.headers.get("Authorization") or "").strip().partition(" ")
    token = token.strip()
    expected = current_app.config["ADMIN_API_KEY"]
    if expected and hmac.compare_digest(token.encode(), str(expected).encode()):
        return "key:admin"
    row = next(get_db().query("SELECT name FROM api_keys WHERE key_hash = ?", [key_digest(token)]),
               None)  # fmt: skip
    return f"key:{row['name']}" if row else "key:unknown"


def require_api_key(view):
    """The view behind the API key check. `wrapped.without_key` is the same
    view for callers that have authenticated someone another way (the
    dashboard's downloads, for its signed-in user): they call it directly,
    so this module needs to know nothing about them."""

    @functools.wraps(view)
    def checked(*args, **kwargs):
        check_request()  # the input the operation declares, refused before the view runs
        return view(*args, **kwargs)

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not api_key_valid(request.headers.get("Authorization")):
            raise ApiError(
                "missing or wrong API key (Authorization: Bearer ...)",
                401,
                headers={"WWW-Authenticate": 'Bearer realm="clicktrail"'},
            )
        return checked(*args, **kwargs)

    wrapped.without_key = checked
    return wrapped
