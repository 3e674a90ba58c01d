"""GET /<code>: the hop in front of every shared post.

It must be fast and must never lose a click, so it does exactly one read
(the link) and one write (the click) and nothing else on the database.
"""

import os
import sqlite3
from functools import lru_cache
from urllib.parse import unquote_plus, urlencode, urlsplit

from flask import Blueprint, Response, current_app, jsonify, render_template, request

from . import clickids, cookie, health, hosts, posts, previews, ratelimit, targeting
from .bots import is_prefetch
from .clicks import classify, record_click
from .clock import utcnow
from .db import get_db, is_ready, storage_failed
from .geo import country_of
from .links import looping_code, normalise_destination

bp = Blueprint("redirect", __name__)

LINK_COLUMNS = ("id", "url", "channel", "campaign", "medium", "content", "term", "disabled",
                "expires_at", *targeting.LINK_FEATURE_COLUMNS)  # fmt: skip
LINK_LOOKUP = f"SELECT {', '.join(LINK_COLUMNS)} FROM links WHERE code = ?"


def _hostname(netloc: str) -> str:
    try:
        return urlsplit(f"//{netloc}").hostname or ""
    except ValueError:  # a Host header such as "[" names no host
        return ""


def installation_names(config, host_header: str) -> tuple[str, ...]:
    """The hosts this installation is named by -- the request's Host,
    BASE_URL's and SERVER_NAME's -- normalised (shortener.hosts). A
    destination on one of them is refused whatever its path."""
    requested = hosts.own_names([_hostname(host_header)])
    return tuple(sorted(requested.union(configured_names(config))))


def configured_names(config) -> tuple[str, ...]:
    """BASE_URL's and SERVER_NAME's hosts: the names whose addresses are ours
    too. Not the request's Host, which any visitor chooses (see
    shortener.hosts.is_this_installation)."""
    base = config["BASE_URL"] or ""
    names = (base.split("://", 1)[-1], config.get("SERVER_NAME") or "")
    return tuple(sorted(hosts.own_names(_hostname(n) for n in names)))


def own_hosts() -> tuple[str, ...]:
    """Hosts a destination may not point at: a link to ourselves would loop."""
    return installation_names(current_app.config, request.host)


def utm_parameters(link: dict, social_channels, post: str | None = None) -> dict[str, str]:
    """The link's UTM tags; a post tag (shortener.posts) is the content
    when the link has none of its own."""
    medium = link["medium"] or ("social" if link["channel"] in social_channels else None)
    values = {
        "utm_source": link["channel"],
        "utm_medium": medium,
        "utm_campaign": link["campaign"],
        "utm_content": link["content"] or post,
        "utm_term": link["term"],
    }
    return {k: v for k, v in values.items() if v}


def _key(pair: str) -> str:
    return unquote_plus(pair.split("=", 1)[0])


# Stands in for the click id in a cached destination (never in a real URL:
# it is not URL-safe base64, and a URL containing it is built uncached).
CLICK_SLOT = "\x00click\x00"
QUOTED_SLOT = urlencode({"": CLICK_SLOT})[1:]


@lru_cache(maxsize=8192)
def _destination_template(url: str, utm: tuple) -> tuple[str, str] | None:
    built = _build_destination(url, dict(utm), CLICK_SLOT)
    if built.count(QUOTED_SLOT) != 1:
        return None
    head, _, tail = built.partition(QUOTED_SLOT)
    return head, tail


def build_destination(url: str, utm: dict[str, str], click_id: str | None) -> str:
    """`_build_destination`, cached per link: only the click id changes from
    one click to the next (it is URL-safe, so it needs no quoting)."""
    if click_id and click_id.isascii() and click_id.replace("-", "").replace("_", "").isalnum():
        template = _destination_template(url, tuple(utm.items()))
        if template:
            return f"{template[0]}{click_id}{template[1]}"
    return _build_destination(url, utm, click_id)


def _build_destination(url: str, utm: dict[str, str], click_id: str | None) -> str:
    """The destination with the UTM tags it does not already carry and our
    click id. The existing query and fragment are kept byte for byte (a
    stale `ct_click` copied into the destination is the one thing dropped)."""
    head, hash_, fragment = url.partition("#")
    base, question, query = head.partition("?")
    present = {_key(p) for p in query.split("&") if p}
    added = {k: v for k, v in utm.items() if k not in present}
    if click_id:
        if "ct_click" in present:
            query = "&".join(p for p in query.split("&") if p and _key(p) != "ct_click")
        added["ct_click"] = click_id
    if added:
        joiner = "&" if query and not query.endswith("&") else ""
        query += joiner + urlencode(added)
        question = "?"
    return f"{base}{question}{query}{hash_}{fragment}"


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
    database = current_app.config["DATABASE"]
    if not os.path.exists(database):
        return _down("database file missing: run init-db")
    try:
        ready = is_ready(get_db())
    except (sqlite3.Error, OSError):
        current_app.logger.exception("health check: database unreachable")
        return _down("database unreachable")
    if not ready:
        return _down("schema not initialised: run init-db")
    problem = health.problem(database, current_app.extensions["clicktrail.journal"])
    if problem:
        return _down(f"cannot write: {problem}")
    return jsonify({"status": "ok", "database": "ok", "unsaved": _unsaved(database)})


def _unsaved(database: str) -> dict:
    journal = current_app.extensions["clicktrail.journal"]
    held = 0 if journal is None else journal.held_count()
    return {"clicks_held": held, **health.counts(database)}


def _down(reason: str):
    body = {"status": "down", "database": reason}
    body["unsaved"] = _unsaved(current_app.config["DATABASE"])
    return jsonify(body), 503


def find_link(db, code: str) -> dict | None:
    # the raw connection: sqlite-utils' query() wraps each read in a savepoint
    row = db.conn.execute(LINK_LOOKUP, (code,)).fetchone()
    return None if row is None else dict(zip(LINK_COLUMNS, row, strict=True))


@bp.route("/<code>", methods=["GET", "HEAD"])
def follow(code: str):
    now = utcnow()
    code, post = posts.split_path(code)  # /CODE~POST is served as /CODE
    limiter, address = ratelimit.not_found_limiter(), ratelimit.address_key(client_ip())
    wait = limiter.retry_after(address)
    if wait:
        return ratelimit.too_many(wait)
    db = get_db()
    link = find_link(db, code) if len(code) <= 64 else None
    if link is None:
        limiter.miss(address)
        return unavailable(404)
    if link["disabled"]:
        return unavailable(410)
    if came_round(link["id"]):
        current_app.logger.warning(
            "link %s: a visit came back carrying this link's own click id (its destination"
            " leads back here): not redirected again",
            code,
        )
        return unavailable(508)
    config = current_app.config
    user_agent = request.headers.get("User-Agent", "")
    agent = classify(user_agent[:512])
    is_bot = agent.is_bot or is_prefetch(request.headers)
    private = opted_out()
    head = request.method == "HEAD"  # link checkers, not people: not a click
    visitor_id = None
    if not (head or is_bot or private):
        visitor_id = cookie.read_visitor() or cookie.new_visitor_id()
    limited = link["max_clicks"] is not None
    so_far = None
    if limited:
        so_far = targeting.human_clicks_so_far(db, config["DATABASE"], link["id"])
    journal = current_app.extensions["clicktrail.journal"]
    # the country steers the redirect for everyone (a country destination is
    # the page people there can use); like the address it comes from, it is
    # stored only for visitors who did not opt out
    country = country_of(client_ip())
    choice = targeting.choose_destination(link, agent, visitor_id, now, so_far, country)
    if choice.outcome == targeting.EXPIRED:
        return _expired(db, link, choice.url, count=not (head or is_bot))
    try:
        url = checked_destination(db, choice.url)
    except ValueError as e:
        current_app.logger.warning("link %s refused at redirect: %s", code, e)
        return unavailable(410)
    utm = utm_parameters(link, config["SOCIAL_CHANNELS"], post)
    if head:
        return _redirect(build_destination(url, utm, None))
    preview = previews.crawler_response(db, link["id"], now, post)
    if preview is not None:
        return preview
    click_id = record_click(
        db,
        link_id=link["id"],
        visitor_id=visitor_id,
        now=now,
        agent=agent,
        is_bot=is_bot,
        user_agent="" if private else user_agent,
        referrer=request.headers.get("Referer"),
        ip=None if private else client_ip(),
        country="" if private else country,
        source="qr" if b"qr=1" in request.query_string.split(b"&") else None,
        variant=choice.variant,
        target=targeting.recorded_target(choice.target, private),
        post=post,
        journal=journal,
        click_id=clickids.new_click_id(link["id"], clickids.app_keys(current_app)[0]),
    )
    if limited and not is_bot:
        targeting.count_click(config["DATABASE"], link["id"])
    response = _redirect(build_destination(url, utm, click_id))
    if visitor_id:
        cookie.set_visitor_cookie(response, visitor_id)
    if journal is not None:
        if journal.sync:
            journal.replay_now(db)
        else:
            response.call_on_close(lambda: journal.replay_if_due(db))
    return response


def _expired(db, link: dict, target: str | None, count: bool):
    """Past its expiry or click limit: the expired_url as it stands (no UTM
    tags, no click id, no cookie: not a campaign click) or 410; a person's
    follow is counted only in the link's expired_hits."""
    if count:
        try:
            targeting.record_expired_hit(db, link["id"])
        except sqlite3.Error as e:  # a counter: the visitor still gets the expired page
            reason = storage_failed(db, e)
            if reason is None:
                raise
            health.count(current_app.config["DATABASE"], "expired_hits", reason)
    if target is None:
        return unavailable(410)
    try:
        url = checked_destination(db, target)
    except ValueError:
        return unavailable(410)
    return _redirect(url)


def came_round(link_id: int) -> bool:
    """The request carries a `ct_click` this link's own redirect made: it
    has come round a loop (shortener.clickids)."""
    values = request.args.getlist("ct_click")
    if not values:
        return False
    keys = clickids.app_keys(current_app)
    return any(clickids.made_for(v, link_id, keys) for v in values)


def checked_destination(db, target: str) -> str:
    """The destination to send, or ValueError: one refused when written
    (stored before a check existed, or put straight into the database), or
    one leading back to one of our short links."""
    own = own_hosts()
    url = _checked_destination(target, own, tuple(current_app.config["BLOCKED_DESTINATION_HOSTS"]))
    code = _looping_code(url, own, configured_names(current_app.config))
    if code is not None and find_link(db, code) is not None:
        raise ValueError(f"url points back at this shortener: /{code} is one of its short links")
    return url


def opted_out() -> bool:
    """`Sec-GPC: 1` (and `DNT: 1` when RESPECT_DNT is on): the person asked
    not to be tracked. The click is still counted, with no visitor, cookie,
    address or user agent -- only the link, time, referrer and coarse
    device/browser/OS classes."""
    if request.headers.get("Sec-GPC", "").strip() == "1":
        return True
    return bool(current_app.config["RESPECT_DNT"]) and request.headers.get("DNT", "").strip() == "1"


@lru_cache(maxsize=8192)
def _checked_destination(url: str, own: tuple, blocked: tuple) -> str:
    """normalise_destination is pure and a link's URL rarely changes, while
    it is followed again and again: checked once per (url, hosts)."""
    return normalise_destination(url, own, blocked)


@lru_cache(maxsize=8192)
def _looping_code(url: str, own: tuple, configured: tuple) -> str | None:
    """looping_code, once per (url, hosts): it depends only on them (and on
    this machine's names and addresses, which do not change under us).
    Only the configured names are looked up in DNS, never a Host header."""
    return looping_code(url, own, configured)


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
