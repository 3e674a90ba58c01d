"""The visitor cookie `ct_vid`: a random visitor id signed with itsdangerous.

Modelled on Flask's own session cookie: a URL-safe timed serializer with a
salt, the newest key signing and older keys (SECRET_KEY_FALLBACKS) still
verifying, so the key can be rotated without forgetting every visitor. A
cookie that fails to verify for any reason simply means "no cookie".
"""

import hmac
import json
import re
import zlib
from base64 import urlsafe_b64encode
from functools import lru_cache

from flask import current_app, request
from itsdangerous import BadData, URLSafeTimedSerializer
from itsdangerous.encoding import base64_decode

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


class DirectSigner:
    """The bytes itsdangerous's serializer writes and reads for a visitor id,
    built directly, for the WSGI fast path (shortener/fastpath.py); anything
    else is left to itsdangerous. tests/test_known_ids.py checks both give
    the same bytes.

    Why not itsdangerous itself there: its layers (a Signer and its key
    derivation per call, JSON, a zlib attempt) let go of the GIL several
    times per cookie, and in a gunicorn worker each time waits behind the
    click journal's thread. Measured in one worker process with that thread
    running (bench/redirect.py's user agents and cookies, 30 % returning
    visitors): itsdangerous's dumps 57 us and loads 52 us against about 3 us
    each here, and a whole fast-path redirect 93 us against 48 us -- and per
    redirect answered under wrk, the workers' CPU 0.45-0.58 ms against
    0.39-0.42 ms (bench/redirect.py, CPU per redirect)."""

    def __init__(self, config):
        signer = serializer(config).make_signer()
        # newest first, as itsdangerous tries them
        self.keys = [signer.derive_key(k) for k in reversed(signer.secret_keys)]

    def sign(self, visitor_id: str, now: int, fresh: bool = False) -> str | None:
        """The signed value of a visitor id; None for one itsdangerous would
        compress or that is no id: its own way then. `fresh`: made by
        new_visitor_id, so it cannot compress (22 random characters of 64
        share no run long enough to pay for zlib's overhead)."""
        payload = f'"{visitor_id}"'.encode()
        if not VISITOR_ID.fullmatch(visitor_id):
            return None
        if not fresh and len(zlib.compress(payload)) < len(payload) - 1:
            return None
        stamp = now.to_bytes((now.bit_length() + 7) // 8 or 1, "big")
        value = _b64(payload) + b"." + _b64(stamp)
        return (value + b"." + _b64(hmac_sha1(self.keys[0], value))).decode("ascii")

    def verify(self, value: str, now: int, max_age: int) -> str | None | bool:
        """The visitor id `value` signs; None when it does not; False for a
        shape only itsdangerous reads (a compressed payload)."""
        match = SIGNED_VALUE.fullmatch(value)
        if match is None or len(value) > 512:
            return False
        try:
            signature = base64_decode(match[3])
            signed = value[: match.end(2)].encode()
            if not any(hmac.compare_digest(hmac_sha1(k, signed), signature) for k in self.keys):
                return None
            age = now - int.from_bytes(base64_decode(match[2]), "big")
            visitor = json.loads(base64_decode(match[1]))
        except (BadData, ValueError):
            return None
        if age > max_age or age < 0:
            return None
        return visitor if isinstance(visitor, str) and VISITOR_ID.fullmatch(visitor) else None


SIGNED_VALUE = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")


@lru_cache(maxsize=8)
def _keyed(key: bytes):
    return hmac.new(key, digestmod="sha1")


def hmac_sha1(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA1 from a copy of an HMAC keyed once per key. `hmac.digest`,
    and `hmac.new` per message, let go of the GIL on every call, and taking
    it back waits behind the click journal's thread: in a worker with that
    thread running, 9.8 us for hmac.digest and 5.6 us for hmac.new against
    2.8 us for this (a short message, SHA-1)."""
    keyed = _keyed(key).copy()
    keyed.update(message)
    return keyed.digest()


def _b64(data: bytes) -> bytes:
    """itsdangerous's base64_encode, without its str/bytes checks."""
    return urlsafe_b64encode(data).rstrip(b"=")


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
