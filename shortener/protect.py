"""Password-protected links: the page a visitor fills in before the redirect.

A link with a password (its hash, links.password_hash) is answered with a
small form instead of the redirect: nothing is recorded and no cookie set
until the right password comes back, and the page names no destination
(a link-preview crawler gets it too, without Open Graph tags). The form is
posted to the same short URL (shortener/redirect.py `unlock`), which checks
it here and then redirects as a GET would have, recording the click once.

CSRF: visitors have no session, and the page promises no cookie, so the
form carries a token signed with SECRET_KEY (itsdangerous) that names the
link and the time it was served, and keeps the Referer of that first
request (the click is stored with where the visitor came from, not with
the form). A signed token proves the form was ours, recently, for this
link, but is not tied to one browser, so a cross-site post is refused on
the browser's own word too (Sec-Fetch-Site, Origin): another site cannot
make its visitors' browsers guess passwords from their addresses.

Wrong passwords are counted per link and day (`wrong_passwords`) and
limited per address and link (shortener.ratelimit): WRONG_PASSWORD_LIMIT
wrong in a window, then 429 until it ends, for the right password too.
"""

import sqlite3
from urllib.parse import urlsplit

from flask import current_app, render_template, request
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.security import check_password_hash

from .db import storage_failed
from .links import PASSWORD_LENGTHS

TOKEN_SALT = "clicktrail.link-password"
TOKEN_MAX_AGE_SECONDS = 3600  # a form left open longer is refused: reload and try again
MAX_REFERRER = 1024
UPSERT_WRONG = (
    "INSERT INTO wrong_passwords (link_id, day, count) VALUES (?, ?, 1)"
    " ON CONFLICT (link_id, day) DO UPDATE SET count = wrong_passwords.count + 1"
)
WRONG = "Wrong password. Try again."
EXPIRED_FORM = "The form had expired. Enter the password again."


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=TOKEN_SALT)


def new_token(code: str, referrer: str | None) -> str:
    return _serializer().dumps({"c": code, "r": (referrer or "")[:MAX_REFERRER]})


def posted_referrer(code: str) -> tuple[bool, str | None]:
    """(valid, referrer) of the posted form: a token we signed for this link
    within TOKEN_MAX_AGE_SECONDS, sent from our own page."""
    if _cross_site():
        return False, None
    token = request.form.get("csrf_token", "")
    try:
        data = _serializer().loads(token, max_age=TOKEN_MAX_AGE_SECONDS)
    except BadSignature:  # SignatureExpired included
        return False, None
    if not isinstance(data, dict) or data.get("c") != code:
        return False, None
    return True, data.get("r") or None


def _cross_site() -> bool:
    """The browser says the post came from another site's page."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return False  # not a browser that tells: the signed token alone decides
    return origin == "null" or urlsplit(origin).netloc.lower() != request.host.lower()


def is_right(stored_hash: str, typed: str) -> bool:
    """Whether `typed` is the link's password; one longer than any password
    can be is not worth a hash (scrypt costs a tenth of a second)."""
    return len(typed) <= PASSWORD_LENGTHS[1] and check_password_hash(stored_hash, typed)


def page(code: str, status: int = 200, problem: str | None = None, referrer: str | None = None):
    """The password form: no destination, no Open Graph tags, never cached."""
    html = render_template("protected.html", token=new_token(code, referrer), problem=problem)
    response = current_app.make_response((html, status))
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    response.headers["X-Frame-Options"] = "DENY"  # a password field is not to be framed
    return response


def count_wrong(db, link_id: int, now) -> None:
    """One more wrong password for the link today, committed at once."""
    try:
        outer = db.conn.in_transaction
        db.conn.execute(UPSERT_WRONG, (link_id, now.date().isoformat()))
        if not outer:
            db.conn.commit()
    except sqlite3.Error as e:  # a count: the visitor still gets the page again
        reason = storage_failed(db, e)
        if reason is None:
            raise
        current_app.logger.warning("wrong password on link %s not counted: %s", link_id, reason)


def wrong_counts(db, link_id: int) -> int:
    """All-time wrong passwords given for a link."""
    row = db.conn.execute(
        "SELECT coalesce(sum(count), 0) FROM wrong_passwords WHERE link_id = ?", (link_id,)
    ).fetchone()
    return row[0]
