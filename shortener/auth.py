"""API authentication: a bearer token compared in constant time."""

import functools
import hmac

from flask import current_app, request

from .errors import ApiError


def api_key_valid(header: str | None) -> bool:
    expected = current_app.config["ADMIN_API_KEY"]
    if not expected or not header or not header.startswith("Bearer "):
        return False
    return hmac.compare_digest(header[7:].strip().encode(), expected.encode())


def require_api_key(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not api_key_valid(request.headers.get("Authorization")):
            raise ApiError("missing or wrong API key (Authorization: Bearer ...)", 401)
        return view(*args, **kwargs)

    return wrapped
