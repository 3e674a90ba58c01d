"""API authentication: a bearer token compared in constant time."""

import functools
import hmac

from flask import current_app, request

from .errors import ApiError


def api_key_valid(header: str | None) -> bool:
    expected = current_app.config["ADMIN_API_KEY"]
    scheme, _, token = (header or "").strip().partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(token.strip().encode(), str(expected).encode())


def require_api_key(view):
    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not api_key_valid(request.headers.get("Authorization")):
            raise ApiError(
                "missing or wrong API key (Authorization: Bearer ...)",
                401,
                headers={"WWW-Authenticate": 'Bearer realm="clicktrail"'},
            )
        return view(*args, **kwargs)

    return wrapped
