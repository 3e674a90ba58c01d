"""GET /<code>: the hop in front of every shared post.

It must be fast and must never lose a click, so it does exactly one read
(the link) and one write (the click) and nothing else on the database.
"""

import sqlite3
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, current_app, jsonify, render_template, request

from . import cookie
from .bots import is_prefetch
from .clicks import classify, record_click
from .clock import to_db, utcnow
from .db import get_db, is_ready
from .links import destination_problem

bp = Blueprint("redirect", __name__)

LINK_LOOKUP = (
    "SELECT id, url, channel, campaign, medium, content, term, disabled, expires_at"
    " FROM links WHERE code = ?"
)


def own_hosts() -> list[str]:
    hosts = [request.host.split(":")[0]]
    base = current_app.config["BASE_URL"]
    if base:
        hosts.append(urlsplit(base).hostname or "")
    return hosts


def utm_parameters(link: dict, social_channels) -> dict[str, str]:
    medium = link["medium"] or ("social" if link["channel"] in social_channels else None)
    values = {
        "utm_source": link["channel"],
        "utm_medium": medium,
        "utm_campaign": link["campaign"],
        "utm_content": link["content"],
        "utm_term": link["term"],
    }
    return {k: v for k, v in values.items() if v}


def build_destination(url: str, utm: dict[str, str], click_id: str | None) -> str:
    """The destination with UTM tags the site does not already set, and the
    click id; existing query parameters are left byte for byte."""
    parts = urlsplit(url)
    present = {k for k, _ in parse_qsl(parts.query, keep_blank_values=True)}
    added = {k: v for k, v in utm.items() if k not in present}
    query = parts.query
    if click_id:
        if "ct_click" in present:
            kept = parse_qsl(query, keep_blank_values=True)
            query = urlencode([(k, v) for k, v in kept if k != "ct_click"])
        added["ct_click"] = click_id
    if added:
        query = f"{query}&{urlencode(added)}" if query else urlencode(added)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def client_ip() -> str | None:
    if current_app.config["TRUST_PROXY_HEADERS"]:
        forwarded = request.headers.get("X-Forwarded-For", "")
        first = forwarded.split(",")[0].strip()
        if first:
            return first
    return request.remote_addr


def unavailable(status: int):
    return render_template("unavailable.html", status=status), status


@bp.get("/healthz")
def healthz():
    try:
        ready = is_ready(get_db())
    except (sqlite3.Error, OSError) as e:
        return jsonify({"status": "down", "database": str(e)}), 503
    if not ready:
        return jsonify({"status": "down", "database": "schema not initialised"}), 503
    return jsonify({"status": "ok", "database": "ok"})


@bp.route("/<code>", methods=["GET", "HEAD"])
def follow(code: str):
    if len(code) > 64:
        return unavailable(404)
    db = get_db()
    link = next(db.query(LINK_LOOKUP, [code]), None)
    if link is None:
        return unavailable(404)
    now = utcnow()
    if link["disabled"] or (link["expires_at"] and link["expires_at"] <= to_db(now)):
        return unavailable(410)
    config = current_app.config
    if destination_problem(link["url"], own_hosts(), config["BLOCKED_DESTINATION_HOSTS"]):
        current_app.logger.warning("link %s has an unsafe destination; refused", code)
        return unavailable(410)
    utm = utm_parameters(link, config["SOCIAL_CHANNELS"])
    if request.method == "HEAD":
        return _redirect(build_destination(link["url"], utm, None))

    user_agent = request.headers.get("User-Agent", "")
    agent = classify(user_agent[:512])
    is_bot = agent.is_bot or is_prefetch(request.headers)
    visitor_id = None if is_bot else (cookie.read_visitor() or cookie.new_visitor_id())
    click_id = record_click(
        db,
        link_id=link["id"],
        visitor_id=visitor_id,
        now=now,
        agent=agent,
        is_bot=is_bot,
        user_agent=user_agent,
        referrer=request.headers.get("Referer"),
        ip=client_ip(),
    )
    response = _redirect(build_destination(link["url"], utm, click_id))
    if visitor_id:
        cookie.set_visitor_cookie(response, visitor_id)
    return response


def _redirect(location: str):
    response = current_app.response_class(status=302)
    response.headers["Location"] = location
    # every follow must reach us to be counted
    response.headers["Cache-Control"] = "no-store"
    return response
