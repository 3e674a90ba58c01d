"""The tracking pixels and the site script.

Anyone can load a pixel URL, so pixel conversions are stored as
unverified, and a pixel request always answers with the GIF: a broken
pixel must never show as a broken image on a checkout page. What could not
be stored is logged, not hidden.
"""

import base64
import sqlite3
from urllib.parse import urlsplit

from flask import Blueprint, current_app, make_response, render_template, request

from shortener import cookie, health
from shortener.bots import crawler_platform, is_prefetch
from shortener.clock import to_db, utcnow
from shortener.db import get_db, request_storage_failed
from shortener.errors import ApiError
from shortener.journal import catch_up
from shortener.redirect import opted_out

from .intake import Conversion, UnknownClick, UnknownGoal, record_conversion, visitor_of_click
from .money import MoneyError, check_currency, to_minor
from .policy import current_policy

bp = Blueprint("pixel", __name__, template_folder="templates")

GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
MAX_PARAM = 128
MAX_URL = 1024
# The longest pixel query string read. A real page's visit pixel carries its
# address and referrer (each stored up to MAX_URL), a conversion pixel a few
# short fields; 16 KiB is what the CDNs and load balancers in front of most
# sites pass in a whole URL. Past it the request is not from a page: it gets
# the GIF like any other (never a broken image) and nothing is read or stored.
# gunicorn.conf.py bounds the request line well above this.
MAX_PIXEL_QUERY = 16 * 1024


def gif():
    response = make_response(GIF)
    response.headers["Content-Type"] = "image/gif"
    response.headers["Cache-Control"] = "no-store, max-age=0"
    return response


def param(name: str, max_length: int = MAX_PARAM) -> str | None:
    value = request.args.get(name)
    if not value:
        return None
    if len(value) > max_length or not value.isprintable():
        raise ApiError(f"{name} is too long or has control characters", field=name)
    return value


def pixel_conversion() -> Conversion:
    goal = param("goal")
    if not goal:
        raise ApiError("goal is required", field="goal")
    now = utcnow()
    conversion = Conversion(
        goal=goal,
        source="pixel",
        occurred_at=now,
        received_at=now,
        order_id=param("order_id"),
        click_id=param("click"),
        visitor_id=cookie.read_visitor(),
    )
    try:
        if param("currency"):
            conversion.currency = check_currency(param("currency"))
        if param("value"):
            conversion.currency = conversion.currency or current_app.config["DEFAULT_CURRENCY"]
            conversion.value_minor = to_minor(param("value"), conversion.currency)
    except MoneyError as e:
        raise ApiError(str(e), field="value") from None
    return conversion


def query_too_long() -> bool:
    if len(request.query_string) <= MAX_PIXEL_QUERY:
        return False
    current_app.logger.warning(
        "%s ignored: query string of %d bytes is over %d",
        request.path,
        len(request.query_string),
        MAX_PIXEL_QUERY,
    )
    return True


def from_machine() -> bool:
    """HEAD requests, link-preview crawlers and prefetches are not people
    converting or visiting: they get the GIF and nothing is recorded
    (Googlebot renders pages, thank-you pages included)."""
    user_agent = request.headers.get("User-Agent", "")[:512]
    return (
        request.method == "HEAD"
        or bool(crawler_platform(user_agent))
        or is_prefetch(request.headers)
    )


@bp.get("/t/pixel.gif")
def conversion_pixel():
    if query_too_long() or from_machine():
        return gif()
    try:
        conversion = pixel_conversion()
        try:
            record_conversion(catch_up(get_db()), conversion, current_policy())
        except UnknownClick:
            # a mangled click id: fall back to the cookie's visitor
            conversion.click_id = None
            record_conversion(get_db(), conversion, current_policy())
    except (ApiError, UnknownGoal) as e:
        current_app.logger.info("pixel ignored: %s", e)
    except (sqlite3.Error, OSError) as e:
        not_stored("pixel_conversions", e)
    return gif()


def not_stored(kind: str, error: Exception) -> None:
    """The page still gets its GIF; a failing disk is counted (/healthz) and
    logged, anything else logged in full."""
    reason = request_storage_failed(error)
    if reason is None:
        current_app.logger.error("%s: could not be stored", kind, exc_info=error)
    else:
        health.count(current_app.config["DATABASE"], kind, reason)


@bp.get("/t/visit.gif")
def visit_pixel():
    """A page view on the marketer's site. Visitors known only from these,
    never from a short link, are the control group. A visitor without a
    valid cookie gets one (for the click's visitor when `click` names one)."""
    response = gif()
    if query_too_long() or from_machine() or opted_out():
        # a page view is only worth storing with a visitor id, and a person
        # who asked not to be tracked gets neither a row nor a cookie
        return response
    cookie_visitor = cookie.read_visitor()
    visitor_id = cookie_visitor
    url = (request.args.get("url") or request.referrer or "")[:MAX_URL] or None
    referrer = (request.args.get("ref") or "")[:MAX_URL] or None
    try:
        db = get_db()
        click_id = request.args.get("click")
        if click_id and len(click_id) <= MAX_PARAM:
            try:
                visitor_id = visitor_of_click(catch_up(db), click_id) or visitor_id
            except UnknownClick:
                pass  # a mangled click id tells us nothing
        visitor_id = visitor_id or cookie.new_visitor_id()
        db.execute(
            "INSERT INTO visits (visitor_id, ts, url, referrer) VALUES (?, ?, ?, ?)",
            [visitor_id, to_db(utcnow()), url, referrer],
        )
    except (sqlite3.Error, OSError) as e:
        not_stored("visits", e)
        return response
    if cookie_visitor is None:
        cookie.set_visitor_cookie(response, visitor_id)
    return response


def same_site(origin: str) -> bool:
    """Whether a page's origin shares the visitor cookie: this host, or a
    host under COOKIE_DOMAIN (the same-site deployment)."""
    host = urlsplit(origin).hostname
    if not host:
        return False
    if host == urlsplit("//" + request.host).hostname:
        return True
    domain = (current_app.config["COOKIE_DOMAIN"] or "").lstrip(".").lower()
    return bool(domain) and (host == domain or host.endswith("." + domain))


@bp.get("/t/visitor")
def visitor():
    """The visitor id of the `ct_vid` cookie, which scripts cannot read
    (HttpOnly), for ct.js to put on a Shopify cart. Only pages of this site
    get the CORS grant to read the answer; nothing is recorded, and a
    visitor who opted out of tracking has none."""
    visitor_id = None if opted_out() else cookie.read_visitor()
    response = make_response({"visitor_id": visitor_id})
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "Origin, Cookie"
    origin = request.headers.get("Origin", "")
    if origin and same_site(origin):
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Allow-Credentials"] = "true"
    return response


@bp.get("/t/ct.js")
def site_script():
    body = render_template(
        "ct.js",
        window_days=current_app.config["ATTRIBUTION_WINDOW_DAYS"],
        cookie_domain=current_app.config["COOKIE_DOMAIN"] or "",
    )
    response = make_response(body)
    response.headers["Content-Type"] = "text/javascript; charset=utf-8"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response
