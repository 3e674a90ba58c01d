"""Standard Webhooks signatures (https://www.standardwebhooks.com).

`webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, keyed
with the base64-decoded part of a `whsec_...` secret. Several signatures may
be listed and several secrets configured, so a secret can be rotated.
"""

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable

SECRET_PREFIX = "whsec_"
MESSAGE_ID = re.compile(r"^[\x21-\x7e]{1,128}$")


class SignatureError(Exception):
    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.message = message
        self.status = status


def secret_key(secret: str) -> bytes:
    """The HMAC key: the base64-decoded part after `whsec_` (padding optional,
    as the Standard Webhooks libraries accept it)."""
    encoded = secret.removeprefix(SECRET_PREFIX).strip()
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("webhook secret is not valid base64 after whsec_") from None
    if not key:
        raise ValueError("webhook secret is empty")
    return key


def signer(secret: str) -> Callable[[str, int | str, bytes], str]:
    """`sign` for many messages under one secret: the key is decoded and the
    HMAC keyed once, then copied per message."""
    keyed = hmac.new(secret_key(secret), digestmod=hashlib.sha256)

    def sign_one(msg_id: str, timestamp: int | str, body: bytes) -> str:
        mac = keyed.copy()
        mac.update(f"{msg_id}.{timestamp}.".encode())
        mac.update(body)
        return "v1," + base64.b64encode(mac.digest()).decode()

    return sign_one


def sign(secret: str, msg_id: str, timestamp: int | str, body: bytes) -> str:
    return signer(secret)(msg_id, timestamp, body)


def verify(
    secrets: list[str],
    headers,
    body: bytes,
    now: int,
    tolerance: int = 300,
) -> str:
    """Check a request's signature; returns its webhook-id.

    Raises SignatureError: 401 for a missing or wrong signature, 400 for a
    missing id or a timestamp too far from `now` (a replay or a bad clock).
    """
    msg_id = headers.get("webhook-id") or ""
    timestamp = headers.get("webhook-timestamp") or ""
    signatures = headers.get("webhook-signature") or ""
    if not secrets:
        raise SignatureError("webhooks are not configured (WEBHOOK_SECRET)", 401)
    if not signatures.strip():
        raise SignatureError("missing webhook-signature header", 401)
    if not MESSAGE_ID.match(msg_id):
        raise SignatureError("missing or malformed webhook-id header", 400)
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise SignatureError("webhook-timestamp must be Unix seconds", 400)
    if abs(now - int(timestamp)) > tolerance:
        raise SignatureError(
            f"webhook-timestamp is more than {tolerance} s from the server's clock", 400
        )
    expected = [sign(s, msg_id, timestamp, body).encode() for s in secrets]
    for candidate in signatures.split():
        version, _, value = candidate.partition(",")
        if version != "v1" or not value:
            continue
        for wanted in expected:
            if hmac.compare_digest(("v1," + value).encode(), wanted):
                return msg_id
    raise SignatureError("webhook signature does not match", 401)
