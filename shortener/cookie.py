"""The visitor cookie `ct_vid`: a random visitor id signed with itsdangerous.

Modelled on Flask's own session cookie: a URL-safe timed serializer with a
salt, the newest key signing and older keys (SECRET_KEY_FALLBACKS) still
verifying, so the key can be rotated without forgetting every visitor. A
cookie that fails to verify for any reason simply means "no cookie".
"""

import hashlib
import re
import time
import zlib
from base64 import urlsafe_b64encode
from functools import lru_cache

from flask import current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer

from .clicks import random_token

COOKIE_NAME = "ct_vid"
SALT = "clicktrail.visitor"
VISITOR_ID = re.compile(r"[A-Za-z0-9_-]{16,64}")


def _serializer() -> URLSafeTimedSerializer:
    app = current_app
    cached = app.extensions.get("clicktrail.cookie")
    if cached is None:
        keys = [*app.config["SECRET_KEY_FALLBACKS"], app.config["SECRET_KEY"]]
        cached = app.extensions["clicktrail.cookie"] = URLSafeTimedSerializer(keys, salt=SALT)
    return cached


def _signing_key() -> bytes:
    """The HMAC key itsdangerous derives from SECRET_KEY (django-concat, SHA-1)."""
    app = current_app
    key = app.extensions.get("clicktrail.cookie_key")
    if key is None:
        key = app.extensions["clicktrail.cookie_key"] = _serializer().make_signer().derive_key()
    return key


def sign_visitor(visitor_id: str) -> str:
    """The same string `_serializer().dumps(visitor_id)` gives, built directly.

    Every redirect signs a cookie; itsdangerous's layers (JSON, a zlib
    attempt, key derivation) cost more than the rest of the signing, and a
    visitor id needs none of them: its JSON is the id in quotes, and a
    random id does not compress (an id that would goes the long way).
    """
    signed = sign_with_key(visitor_id, _signing_key())
    return _serializer().dumps(visitor_id) if signed is None else signed


def sign_with_key(visitor_id: str, key: bytes, random_id: bool = False) -> str | None:
    """`sign_visitor` with the derived key given; None for an id that needs
    itsdangerous's own way (one that is not an id, or that compresses).
    `random_id`: made by new_visitor_id, so it cannot compress (22 random
    characters of 64 share no run long enough to pay for zlib's overhead)."""
    payload = f'"{visitor_id}"'.encode()
    if not VISITOR_ID.fullmatch(visitor_id):
        return None
    if not random_id and len(zlib.compress(payload)) < len(payload) - 1:
        return None
    stamp = int(time.time())
    value = _b64(payload) + b"." + _b64(stamp.to_bytes((stamp.bit_length() + 7) // 8 or 1, "big"))
    signature = _b64(hmac_sha1(key, value))
    return (value + b"." + signature).decode("ascii")


@lru_cache(maxsize=8)
def _hmac_pads(key: bytes) -> tuple:
    key = hashlib.sha1(key).digest() if len(key) > 64 else key.ljust(64, b"\0")
    return hashlib.sha1(bytes(b ^ 0x36 for b in key)), hashlib.sha1(bytes(b ^ 0x5C for b in key))


def hmac_sha1(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA1 (RFC 2104) from pre-keyed hash states. `hmac.digest`
    always releases the GIL, and taking it back waits behind the click
    journal's replay thread: on the redirect path that wait cost more
    than the hashing."""
    inner, outer = _hmac_pads(key)
    inner, outer = inner.copy(), outer.copy()
    inner.update(message)
    outer.update(inner.digest())
    return outer.digest()


def _b64(data: bytes) -> bytes:
    """itsdangerous's base64_encode, without its str/bytes checks."""
    return urlsafe_b64encode(data).rstrip(b"=")


def max_age() -> int:
    return current_app.config["ATTRIBUTION_WINDOW_DAYS"] * 86400


def new_visitor_id() -> str:
    return random_token(16)


def read_visitor() -> str | None:
    """The verified visitor id from the request's cookie, or None."""
    value = request.cookies.get(COOKIE_NAME)
    if not value or len(value) > 512:
        return None
    try:
        visitor = _serializer().loads(value, max_age=max_age())
    except BadData:  # tampered, truncated, expired, signed with another key
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
