"""The dashboard blueprint: who may see a page, and headers every page gets.

Every request under /dashboard passes `guard` first: a state-changing
request without the session's CSRF token is refused (400) before anything
else runs, and a signed-out visitor is sent to the sign-in page with the
page they wanted remembered. The page modules add their routes to `bp`.
"""

import re
from urllib.parse import urlsplit

from flask import Blueprint, current_app, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import HTTPException

from shortener.clock import utcnow
from shortener.db import get_db

from . import accounts, csrf

bp = Blueprint(
    "dashboard",
    __name__,
    url_prefix="/dashboard",
    template_folder="templates",
    static_folder="static",
)

PUBLIC_ENDPOINTS = {"dashboard.sign_in", "dashboard.static"}
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "object-src 'none'"
)
# C0, DEL and C1: urlsplit silently drops tabs and newlines, and werkzeug
# refuses a Location header carrying one (a 500), so such a `next` is ignored
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def safe_next(target) -> str | None:
    """`next` only ever leads to a dashboard page on this host."""
    if not isinstance(target, str) or not target.startswith(("/dashboard/", "/dashboard?")):
        return None
    if CONTROL.search(target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target or "/.." in parts.path:
        return None
    return target


def wanted_page() -> str:
    query = request.query_string.decode("utf-8", "replace")
    return request.path + (f"?{query}" if query else "")


def current_user() -> dict | None:
    if "user" not in g:
        g.user = accounts.session_user(get_db(), session.get("sid"), utcnow())
    return g.user


def user_actor() -> str:
    """The signed-in user, as the audit log names who made a change."""
    return f"user:{current_user()['username']}"


@bp.before_request
def guard():
    csrf.check()
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if current_user() is None:
        session.pop("sid", None)
        target = wanted_page() if request.method == "GET" else None
        return redirect(url_for("dashboard.sign_in", next=target), 303)
    return None


@bp.after_request
def page_headers(response):
    if request.endpoint != "dashboard.static":
        response.headers["Cache-Control"] = "no-store"
        response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.errorhandler(HTTPException)
def error_page(e: HTTPException):
    signed_in = request.endpoint not in PUBLIC_ENDPOINTS and current_user() is not None
    response = current_app.make_response(
        (render_template("dashboard/error.html", error=e, signed_in=signed_in), e.code)
    )
    for key, value in e.get_headers():
        if key.lower() not in ("content-type", "content-length"):
            response.headers[key] = value
    return response


@bp.app_template_global("csrf_token")
def csrf_token() -> str:
    return csrf.token()
