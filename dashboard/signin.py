"""Signing in and out of the dashboard."""

from datetime import timedelta

from flask import current_app, g, redirect, render_template, request, session, url_for

from shortener.clicks import truncate_ip
from shortener.clock import utcnow
from shortener.db import get_db, immediate

from . import accounts, csrf, throttle
from .web import bp, current_user, safe_next


def limit() -> throttle.Limit:
    config = current_app.config
    return throttle.Limit(config["SIGN_IN_MAX_FAILURES"], config["SIGN_IN_WINDOW_SECONDS"])


def client_network() -> str | None:
    address = request.remote_addr
    if current_app.config["TRUST_PROXY_HEADERS"]:
        # the last entry is the one our proxy saw; earlier ones the client wrote
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        address = forwarded or address
    return truncate_ip(address)


def form(error=None, status=200, username=""):
    page = render_template(
        "dashboard/sign_in.html",
        error=error,
        username=username,
        next=safe_next(request.values.get("next")) or "",
    )
    return page, status


@bp.route("/login", methods=["GET", "POST"])
def sign_in():
    if request.method == "GET":
        if current_user() is not None:
            return redirect(safe_next(request.args.get("next")) or url_for("dashboard.overview"))
        return form()
    username = accounts.normalise_username(request.form.get("username"))[:64]
    password = request.form.get("password", "")
    if not username or not password:
        return form("Enter your user name and password.", 400, username)
    db, now, network = get_db(), utcnow(), client_network()
    wait = throttle.blocked(db, username, network, now, limit())
    if wait:
        page, _ = form(
            f"Too many failed sign-ins. Try again in {max(1, wait // 60)} minutes.", 429, username
        )
        return page, 429, {"Retry-After": str(wait)}
    user = accounts.authenticate(db, username, password)
    if user is None:
        with immediate(db):
            throttle.record_failure(db, username, network, now, limit())
        return form("Wrong user name or password.", 401, username)
    lifetime = timedelta(hours=current_app.config["DASHBOARD_SESSION_HOURS"])
    with immediate(db):
        throttle.clear_failures(db, username)
        token = accounts.start_session(db, user["id"], now, lifetime)
    target = safe_next(request.form.get("next")) or url_for("dashboard.overview")
    # a new session: nothing from before signing in (a planted CSRF token,
    # a fixed session) carries over
    session.clear()
    session.permanent = True
    session["sid"] = token
    csrf.renew()
    return redirect(target, 303)


@bp.post("/logout")
def sign_out():
    db = get_db()
    with immediate(db):
        accounts.end_session(db, session.get("sid"))
    session.clear()
    g.pop("user", None)
    return redirect(url_for("dashboard.sign_in", signed_out=1), 303)
