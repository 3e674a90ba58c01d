"""Click ids that tell which link made them.

A click id (the `ct_click` a redirect appends) is 12 bytes in URL-safe
base64, 16 characters, as always: 10 random bytes, then the first 2 bytes
of an HMAC of the link's id and those bytes, keyed from SECRET_KEY. Only
this installation can tell; and a request for link L that arrives carrying
a `ct_click` L's own redirect made can only have come round a loop -- L's
destination leads back to L through a name of ours nothing here could
recognise, such as a DNS alias. The redirect does not send it round again.

It is recognised without the database: a click may still be in a worker's
journal when the loop brings the visitor back, possibly to another worker.
An id from elsewhere matches by chance once in 65,536; the worst that does
is show that one request the "link loops" page.
"""

import hmac
import re
import secrets
from base64 import urlsafe_b64decode, urlsafe_b64encode

from itsdangerous import Signer

from .cookie import hmac_sha1

SALT = "clicktrail.click-id"
RANDOM_BYTES = 10
TAG_BYTES = 2
CLICK_ID = re.compile(r"[A-Za-z0-9_-]{16}")


def keys(config) -> list[bytes]:
    """The HMAC keys, newest first: SECRET_KEY's, then its fallbacks' (a
    worker restarted on a new key still knows its neighbours' ids)."""
    secrets = [config["SECRET_KEY"], *reversed(config["SECRET_KEY_FALLBACKS"])]
    return [Signer(secret, salt=SALT).derive_key() for secret in secrets]


def app_keys(app) -> list[bytes]:
    found = app.extensions.get("clicktrail.click_keys")
    if found is None:
        found = app.extensions["clicktrail.click_keys"] = keys(app.config)
    return found


def _tag(key: bytes, link_id: int, nonce: bytes) -> bytes:
    # cookie.hmac_sha1: plain hmac keyed once, without the GIL waits of hmac.digest
    return hmac_sha1(key, link_id.to_bytes(8, "big", signed=True) + nonce)[:TAG_BYTES]


def new_click_id(link_id: int, key: bytes) -> str:
    """A click id for a click on `link_id`. Never starts with "-": exported
    to CSV, a leading "-" would be escaped as a formula and no longer match."""
    while True:
        token = click_id_from(link_id, key, secrets.token_bytes(RANDOM_BYTES))
        if not token.startswith("-"):
            return token


def click_id_from(link_id: int, key: bytes, nonce: bytes) -> str:
    """The click id for `link_id` made from these random bytes."""
    return urlsafe_b64encode(nonce + _tag(key, link_id, nonce)).decode("ascii")


def made_for(click_id: str, link_id: int, keys: list[bytes]) -> bool:
    """Whether `click_id` is one this installation made for a click on `link_id`."""
    if not isinstance(click_id, str) or not CLICK_ID.fullmatch(click_id):
        return False
    raw = urlsafe_b64decode(click_id)
    nonce, tag = raw[:RANDOM_BYTES], raw[RANDOM_BYTES:]
    return any(hmac.compare_digest(_tag(key, link_id, nonce), tag) for key in keys)
