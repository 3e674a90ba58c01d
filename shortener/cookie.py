"""The visitor cookie `ct_vid`: a random visitor id signed with itsdangerous.

Modelled on Flask's own session cookie: a URL-safe timed serializer with a
salt, the newest key signing and older keys (SECRET_KEY_FALLBACKS) still
verifying, so the key can be rotated without forgetting every visitor. A
cookie that fails to verify for any reason simply means "no cookie".
"""

import re

from flask import current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer

from .clicks import random_token

COOKIE_NAME = "ct_vid"
SALT = "clicktrail.visitor"
VISITOR_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def serializer(config) -> URLSafeTimedSerializer:
    """SECRET_KEY signs; its fallbacks still verify (itsdangerous tries the
    last of the list first)."""
    keys = [*config["SECRET_KEY_FALLBACKS"], config["SECRET_KEY"]]
    return URLSafeTimedSerializer(keys, salt=SALT)


def _serializer() -> URLSafeTimedSerializer:
    app = current_app
    cached = app.extensions.get("clicktrail.cookie")
    if cached is None:
        cached = app.extensions["clicktrail.cookie"] = serializer(app.config)
    return cached


def sign_visitor(visitor_id: str) -> str:
    return _serializer().dumps(visitor_id)


def max_age() -> int:
    return current_app.config["ATTRIBUTION_WINDOW_DAYS"] * 86400


def new_visitor_id() -> str:
    return random_token(16)


def read_visitor() -> str | None:
    """The verified visitor id from the request's cookie, or None."""
    return verified_visitor(_serializer(), request.cookies.get(COOKIE_NAME), max_age())


def verified_visitor(signer: URLSafeTimedSerializer, value: str | None, max_age: int):
    """The visitor id a cookie value signs, or None: tampered, truncated,
    expired, signed with another key, or not an id."""
    if not value or len(value) > 512:
        return None
    try:
        visitor = signer.loads(value, max_age=max_age)
    except BadData:
        return None
    if not isinstance(visitor, str) or not VISITOR_ID.fullmatch(visitor):
        return None
    return visitor


def is_https() -> bool:
    """Whether the visitor reached us over https; behind our own proxy
    (TRUST_PROXY_HEADERS) the proxy says so in `X-Forwarded-Proto`."""
    if request.is_secure:
        return True
    if not current_app.config["TRUST_PROXY_HEADERS"]:
        return False
    proto = request.headers.get("X-Forwarded-Proto", "").split(",")[-1]
    return proto.strip().lower() == "https"


def set_visitor_cookie(response, visitor_id: str) -> None:
    response.set_cookie(
        COOKIE_NAME,
        sign_visitor(visitor_id),
        max_age=max_age(),
        httponly=True,
        samesite="Lax",
        secure=is_https(),
        domain=current_app.config["COOKIE_DOMAIN"],
        path="/",
    )
