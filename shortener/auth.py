"""API authentication: a bearer token compared in constant time -- the
admin key, or a key made in the dashboard, found by its SHA-256 (only the
digest is stored, so a copy of the database holds no usable key)."""

import functools
import hashlib
import hmac

from flask import current_app, g, request

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


def require_api_key(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        # g.dashboard_user: the dashboard's downloads call API views for a
        # signed-in user (set only by dashboard/exports.py, never by a header)
        if not (g.get("dashboard_user") or api_key_valid(request.headers.get("Authorization"))):
            raise ApiError(
                "missing or wrong API key (Authorization: Bearer ...)",
                401,
                headers={"WWW-Authenticate": 'Bearer realm="clicktrail"'},
            )
        check_request()  # the input the operation declares, refused before the view runs
        return view(*args, **kwargs)

    return wrapped
