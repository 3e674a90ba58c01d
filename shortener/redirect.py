"""GET /<code>: the hop in front of every shared post.

It must be fast and must never lose a click, so it does exactly one read
(the link) and one write (the click) and nothing else on the database.
"""

import os
import sqlite3

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request

from . import clickids, cookie, health, posts, previews, protect, ratelimit, targeting
from .bots import is_prefetch
from .clicks import classify, record_click
from .clock import utcnow
from .db import files_of, get_db, is_ready, storage_failed
from .decide import LOOP, NOT_FOUND, PROTECTED, Decision, Facts, Site, decide, loops_back
from .destinations import build_destination, configured_names, installation_names
from .dialect import is_postgres
from .geo import country_of
from .journal import of as journal_of

bp = Blueprint("redirect", __name__)

LINK_COLUMNS = ("id", "url", "channel", "campaign", "medium", "content", "term", "disabled",
                "expires_at", *targeting.LINK_FEATURE_COLUMNS, "password_hash")  # fmt: skip
LINK_LOOKUP = f"SELECT {', '.join(LINK_COLUMNS)} FROM links WHERE code = ?"


def own_hosts() -> tuple[str, ...]:
    """Hosts a destination may not point at: a link to ourselves would loop."""
    return installation_names(current_app.config, request.host)


def client_ip() -> str | None:
    """The visitor's address. Behind our own proxy it is the last address
    in `X-Forwarded-For` -- the one the proxy saw; earlier entries are
    whatever the client chose to send."""
    if current_app.config["TRUST_PROXY_HEADERS"]:
        forwarded = request.headers.get("X-Forwarded-For", "")
        last = forwarded.split(",")[-1].strip()
        if last:
            return last
    return request.remote_addr


def unavailable(status: int):
    response = current_app.make_response(
        (render_template("unavailable.html", status=status), status)
    )
    # a link switched back on must work at once, not after a cache expires
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/healthz")
def healthz():
    """For load balancers and monitors: 200 only when the schema is there
    to serve links and the database and the click journals can be written
    (not a full or read-only file system, no write failing in this worker).
    `unsaved` counts what this worker could not store since it started."""
    database = files_of(current_app)  # a PostgreSQL database's: its journals' folder
    if not is_postgres(current_app.config["DATABASE"]) and not os.path.exists(database):
        return _down("database file missing: run init-db")
    try:
        ready = is_ready(get_db())
    except (sqlite3.Error, OSError):
        current_app.logger.exception("health check: database unreachable")
        return _down("database unreachable")
    if not ready:
        return _down("schema not initialised: run init-db")
    problem = health.problem(database, journal_of(current_app))
    if problem:
        return _down(f"cannot write: {problem}")
    return jsonify({"status": "ok", "database": "ok", "unsaved": _unsaved(database)})


def _unsaved(database: str) -> dict:
    journal = journal_of(current_app)
    held = 0 if journal is None else journal.held_count()
    return {"clicks_held": held, **health.counts(database)}


def _down(reason: str):
    body = {"status": "down", "database": reason}
    body["unsaved"] = _unsaved(files_of(current_app))
    return jsonify(body), 503


def find_link(db, code: str) -> dict | None:
    # the raw connection: sqlite-utils' query() wraps each read in a savepoint
    row = db.conn.execute(LINK_LOOKUP, (code,)).fetchone()
    return None if row is None else dict(zip(LINK_COLUMNS, row, strict=True))


@bp.route("/<code>", methods=["GET", "HEAD"])
def follow(code: str):
    """Gathers the request's facts, asks shortener.decide, renders the answer."""
    now = utcnow()
    code, post = posts.split_path(code)  # /CODE~POST is served as /CODE
    limiter, address = ratelimit.not_found_limiter(), ratelimit.address_key(client_ip())
    wait = limiter.retry_after(address)
    if wait:
        return ratelimit.too_many(wait)
    db = get_db()
    link = find_link(db, code) if len(code) <= 64 else None
    facts = request_facts(db, link, post)
    decision = decide(link, facts, now, site())
    if decision.looping_code and find_link(db, decision.looping_code) is not None:
        decision = loops_back(decision)
    if decision.outcome == NOT_FOUND:
        limiter.miss(address)
    return render(db, code, link, facts, decision, now, request.headers.get("Referer"))


@bp.post("/<code>")
def unlock(code: str):
    """The password form of a protected link, posted back to its short URL:
    the right password redirects (and records the click) as a GET of an
    unprotected link would. Any other link takes no POST (405, as before)."""
    now = utcnow()
    path_code = code
    code, post = posts.split_path(code)
    address = ratelimit.address_key(client_ip())
    wait = ratelimit.not_found_limiter().retry_after(address)
    if wait:
        return ratelimit.too_many(wait)
    db = get_db()
    link = find_link(db, code) if len(code) <= 64 else None
    if link is None or not link["password_hash"]:
        abort(405, valid_methods=["GET", "OPTIONS", "HEAD"])  # as before this view
    guesses, key = ratelimit.password_limiter(), f"{address} {link['id']}"
    wait = guesses.retry_after(key)
    if wait:
        return ratelimit.too_many(wait, "this link's password")
    valid, referrer = protect.posted_referrer(path_code)
    if not valid:
        return protect.page(path_code, 400, protect.EXPIRED_FORM)
    if not protect.is_right(link["password_hash"], request.form.get("password", "")):
        guesses.miss(key)
        protect.count_wrong(db, link["id"], now)
        return protect.page(path_code, 403, protect.WRONG, referrer)
    facts = request_facts(db, link, post)._replace(unlocked=True)
    decision = decide(link, facts, now, site())
    if decision.looping_code and find_link(db, decision.looping_code) is not None:
        decision = loops_back(decision)
    return render(db, code, link, facts, decision, now, referrer)


def request_facts(db, link: dict | None, post: str | None) -> Facts:
    user_agent = request.headers.get("User-Agent", "")[:512]
    clicks_so_far = None
    if link is not None and link["max_clicks"] is not None:
        clicks_so_far = targeting.human_clicks_so_far(db, files_of(current_app), link["id"])
    return Facts(
        agent=classify(user_agent),
        new_visitor=cookie.new_visitor_id(),
        visitor=cookie.read_visitor(),
        head=request.method == "HEAD",
        prefetch=is_prefetch(request.headers),
        opted_out=opted_out(),
        crawler=previews.platform_of(user_agent),
        post=post,
        click_ids=tuple(request.args.getlist("ct_click")),
        clicks_so_far=clicks_so_far,
        country=country_of(client_ip()),
    )


def site() -> Site:
    config = current_app.config
    return Site(
        own=own_hosts(),
        configured=configured_names(config),
        blocked=tuple(config["BLOCKED_DESTINATION_HOSTS"]),
        social_channels=config["SOCIAL_CHANNELS"],
        click_keys=tuple(clickids.app_keys(current_app)),
    )


def render(db, code: str, link, facts: Facts, decision: Decision, now, referrer: str | None):
    """The decision as a response. `referrer`: where the visitor came from
    (a protected link's: before its password form)."""
    if decision.outcome == PROTECTED:
        return protect.page(request.view_args["code"], referrer=referrer)
    if decision.outcome == LOOP:
        current_app.logger.warning(
            "link %s: a visit came back carrying this link's own click id (its destination"
            " leads back here): not redirected again",
            code,
        )
    elif decision.reason:
        current_app.logger.warning("link %s refused at redirect: %s", code, decision.reason)
    if decision.count_expired:
        _count_expired(db, link["id"])
    if decision.status != 302:
        return unavailable(decision.status)
    if decision.click is None:  # HEAD, an expired link's expired_url
        return _redirect(build_destination(decision.url, dict(decision.utm), None))
    if decision.crawler:
        preview = previews.crawler_response(db, link["id"], now, facts.post)
        if preview is not None:
            return preview
    return _click_redirect(db, facts, decision, now, referrer)


def _click_redirect(db, facts: Facts, decision: Decision, now, referrer: str | None):
    """Record the click, then answer: a click the visitor saw redirected is
    a click stored."""
    click = decision.click
    journal = journal_of(current_app)
    user_agent = request.headers.get("User-Agent", "")
    click_id = record_click(
        db,
        link_id=click.link_id,
        visitor_id=click.visitor_id,
        now=now,
        agent=facts.agent,
        is_bot=click.is_bot,
        user_agent="" if click.private else user_agent,
        referrer=referrer,
        ip=None if click.private else client_ip(),
        country=click.country,
        source="qr" if b"qr=1" in request.query_string.split(b"&") else None,
        variant=click.variant,
        target=click.target,
        post=click.post,
        journal=journal,
        click_id=clickids.new_click_id(click.link_id, clickids.app_keys(current_app)[0]),
    )
    if click.limited:
        targeting.count_click(files_of(current_app), click.link_id)
    response = _redirect(build_destination(decision.url, dict(decision.utm), click_id))
    if decision.cookie_visitor:
        cookie.set_visitor_cookie(response, decision.cookie_visitor)
    if journal is not None:
        if journal.sync:
            journal.replay_now(db)
        else:
            response.call_on_close(lambda: journal.replay_if_due(db))
    return response


def _count_expired(db, link_id: int) -> None:
    """A person's follow of an expired link is counted only in the link's
    expired_hits: it is no campaign click."""
    try:
        targeting.record_expired_hit(db, link_id)
    except sqlite3.Error as e:  # a counter: the visitor still gets the expired page
        reason = storage_failed(db, e)
        if reason is None:
            raise
        health.count(files_of(current_app), "expired_hits", reason)


def opted_out() -> bool:
    """`Sec-GPC: 1` (and `DNT: 1` when RESPECT_DNT is on): the person asked
    not to be tracked. The click is still counted, with no visitor, cookie,
    address or user agent -- only the link, time, referrer and coarse
    device/browser/OS classes."""
    if request.headers.get("Sec-GPC", "").strip() == "1":
        return True
    return bool(current_app.config["RESPECT_DNT"]) and request.headers.get("DNT", "").strip() == "1"


class RedirectResponse(Response):
    """Sends `Location` exactly as built. Werkzeug would re-quote it on
    every response (a tenth of a redirect's time); ours is already a URI
    from a validated destination, and its query is kept byte for byte."""

    def get_wsgi_headers(self, environ):
        location = self.headers.get("Location")
        if location is None or not location.isascii():
            return super().get_wsgi_headers(environ)
        del self.headers["Location"]
        try:
            headers = super().get_wsgi_headers(environ)
        finally:
            self.headers["Location"] = location
        headers["Location"] = location
        return headers


def _redirect(location: str):
    response = RedirectResponse(status=302)
    response.headers["Location"] = location
    # every follow must reach us to be counted
    response.headers["Cache-Control"] = "no-store"
    return response
