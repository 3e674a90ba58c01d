"""`GET /<code>` for a plain click, answered without Flask.

Flask's request context, routing, response object and cookie layers cost
about as much as a whole bare-Flask redirect, on the one request that must
be fast. This WSGI middleware sits in front of the app and answers the
common case itself: a GET of `/CODE` (or `/CODE~POST` with a valid post
tag, shortener.posts) with no query string for a known, enabled, unexpired
link with no per-link features, from a visitor who did not opt out, no
prefetch and no 429 block in force (a link-preview crawler too, when the
link has no preview page: its unfurl is counted at replay). Everything
else -- 404/410/429, HEAD, invalid post tags, crawlers of links with a preview,
links with features this module does not know, a destination on one of
this machine's names (it may lead back to a short link) and any query
string (so every hop that comes round a loop carrying a `ct_click`) --
falls through to the Flask view (shortener/redirect.py), which remains the
reference: the tests check both answer byte for byte the same.

Both gather the request's facts and render the one decision of
shortener/decide.py. What falls through is listed in two places: before
deciding, what this module cannot gather (`code_path`, `gather`); after,
the decisions it does not render (`renders`).

Links are cached per worker and re-read once the `link_version` row
(bumped by triggers on any change to links) has moved, checked at most
every LINK_CACHE_SECONDS: a link disabled or edited is followed in its old
form for at most that long by a worker that had it cached.
"""

import re
import sqlite3
import threading
import time
from typing import NamedTuple

from werkzeug.http import dump_cookie

from . import clickids, cookie, posts, previews, ratelimit
from .clicks import classify, click_row, record_click
from .clock import utcnow
from .db import connect, ensure_schema, files_of
from .decide import REDIRECT, Facts, Site, decide
from .destinations import configured_names, destination_template, installation_names
from .journal import UNFURL
from .journal import of as journal_of

# /CODE or /CODE~POST with a valid post tag (shortener.posts); anything else after
# a tilde is the view's to ignore
CODE_PATH = re.compile(rf"/([A-Za-z0-9_-]{{1,64}})(?:~({posts.POST_TAG.pattern}))?")
# the columns this module reads; any other column that is set on a link is a
# feature it does not know (A/B destinations, device targets...): Flask's way
KNOWN_COLUMNS = {
    "id", "code", "url", "channel", "campaign", "medium", "content", "term", "tags",
    "disabled", "expires_at", "created_at", "updated_at",
    "title", "description", "image",  # social previews: only crawlers see them
    "expired_hits",  # a counter, not an option
    "imported_clicks",  # the count of the shortener it came from: a figure, not an option
    "advocate_id", "parent_link_id",  # personal links: who shares it, not how it redirects
}  # fmt: skip
# headers after which the Flask view decides (opt-outs, prefetches)
FLASK_HEADERS = ("HTTP_SEC_GPC", "HTTP_SEC_PURPOSE", "HTTP_PURPOSE", "HTTP_X_PURPOSE", "HTTP_X_MOZ")
COOKIE_VALUE = re.compile(r"[A-Za-z0-9_.-]*")  # what itsdangerous writes, read alike by all
COOKIE_SLOT = "cookie-value-slot"  # stands in for the signed value: needs no quoting


class Plan:
    """A link row this module renders, and whether it has a preview page."""

    __slots__ = ("row", "preview")

    def __init__(self, row: dict):
        self.row = row
        # a crawler gets the preview page (the Flask view's); without one, the redirect
        self.preview = any(row.get(k) for k in ("title", "description", "image"))


class LinkCache:
    def __init__(self, seconds: float, clock=time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self.plans: dict[str, Plan | None] = {}
        self.version = None
        self.checked = float("-inf")

    def get(self, db, code: str) -> Plan | None:
        """The link's plan, or None when the Flask view must answer."""
        now = self.clock()
        if now - self.checked >= self.seconds:
            version = db.conn.execute("SELECT version FROM link_version").fetchone()[0]
            if version != self.version:
                self.plans.clear()
                self.version = version
            self.checked = now
        try:
            return self.plans[code]
        except KeyError:
            pass
        cursor = db.conn.execute("SELECT * FROM links WHERE code = ?", (code,))
        values = cursor.fetchone()
        if values is None:
            return None  # not cached: guessed codes must not fill memory
        row = dict(zip((d[0] for d in cursor.description), values, strict=True))
        plain = not row["disabled"] and all(
            v is None for k, v in row.items() if k not in KNOWN_COLUMNS
        )
        plan = Plan(row) if plain else None
        if len(self.plans) >= 65536:
            self.plans.clear()
        self.plans[code] = plan
        return plan


class Body:
    """The empty body; its close() (after the response is sent) replays
    the journal when a batch is due, off the visitor's wait."""

    __slots__ = ("journal", "db")

    def __init__(self, journal, db):
        self.journal, self.db = journal, db

    def __iter__(self):
        return iter(())

    def close(self):
        if self.journal is not None:
            self.journal.replay_if_due(self.db)


class Gathered(NamedTuple):
    db: object
    plan: Plan
    facts: Facts
    ip: str | None
    user_agent: str


def renders(decision, plan: Plan) -> bool:
    """Whether this module renders `decision`. The view renders the rest:
    every answer but a recorded 302 (404, 410, 508, expired, refused, HEAD),
    a destination whose path may be one of our short links (it looks it up),
    and a crawler's fetch of a link with a preview page."""
    if decision.outcome != REDIRECT or decision.click is None or decision.looping_code:
        return False
    return not (decision.crawler and plan.preview)


class FastRedirect:
    def __init__(self, app, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app
        config = app.config
        self.config = config
        # a connection of its own per thread, not get_db()'s: a read left open by a
        # view on that one (a suspended generator) would pin an old snapshot, and the
        # link_version check with it
        self.pool = threading.local()
        self.journal = journal_of(app)
        # under TESTING every redirect checks the version: tests edit links behind our back
        seconds = 0.0 if app.testing else float(config["LINK_CACHE_SECONDS"])
        self.cache = LinkCache(seconds)
        self.sites: dict[str, Site] = {}
        self.max_age = config["ATTRIBUTION_WINDOW_DAYS"] * 86400
        self.cookie_parts: tuple | None = None
        self.serializer = cookie.serializer(config)
        self.signer = cookie.DirectSigner(config)
        self._routes: frozenset | None = None
        self.schema_ready = False

    def routes(self) -> frozenset:
        """Paths of the app's own fixed routes (/healthz...): never a code."""
        if self._routes is None:
            self._routes = frozenset(
                r.rule for r in self.app.url_map.iter_rules() if "<" not in r.rule
            )
        return self._routes

    # -- per-app values, computed once ----------------------------------------------

    def site(self, host: str) -> Site:
        """This installation as seen under the request's Host."""
        site = self.sites.get(host)
        if site is None:
            if len(self.sites) > 1024:
                self.sites.clear()
            config = self.config
            site = self.sites[host] = Site(
                own=installation_names(config, host),
                configured=configured_names(config),
                blocked=tuple(config["BLOCKED_DESTINATION_HOSTS"]),
                social_channels=config["SOCIAL_CHANNELS"],
                click_keys=tuple(clickids.app_keys(self.app)),
            )
        return site

    def click_key(self) -> bytes:
        return clickids.app_keys(self.app)[0]

    def set_cookie(self, value: str, secure: bool) -> str:
        """What werkzeug's dump_cookie writes, rebuilt once a second (Expires)."""
        second = int(time.time())
        parts = self.cookie_parts
        if parts is None or parts[0] != second or parts[1] != secure:
            text = dump_cookie(
                cookie.COOKIE_NAME, COOKIE_SLOT, max_age=self.max_age, httponly=True,
                samesite="Lax", secure=secure, domain=self.config["COOKIE_DOMAIN"], path="/",
            )  # fmt: skip
            head, _, tail = text.partition(COOKIE_SLOT)
            parts = self.cookie_parts = (second, secure, head, tail)
        return f"{parts[2]}{value}{parts[3]}"

    # -- the request ---------------------------------------------------------------------

    def visitor(self, environ) -> str | None | bool:
        """The verified visitor id of the `ct_vid` cookie; None when there is
        none or it does not verify; False when only the Flask view can tell."""
        header = environ.get("HTTP_COOKIE")
        if not header or "ct_vid" not in header:
            return None
        if '"' in header or "\\" in header:
            return False  # quoted values: werkzeug's cookie parser unquotes them
        value = None
        for part in header.split(";"):
            name, _, text = part.partition("=")
            if name.strip() == cookie.COOKIE_NAME:
                value = text.strip()
                break
        if value is None or not COOKIE_VALUE.fullmatch(value):
            return False  # odd shapes: as werkzeug reads them
        visitor = self.signer.verify(value, int(time.time()), self.max_age)
        if visitor is False:  # a compressed payload: itsdangerous reads it
            return cookie.verified_visitor(self.serializer, value, self.max_age)
        return visitor

    def __call__(self, environ, start_response):
        if not self.schema_ready:  # this process's first request: the schema first
            self.schema_ready = ensure_schema(self.app)
        answer = self.plain_click(environ, start_response)
        return self.wsgi_app(environ, start_response) if answer is None else answer

    def plain_click(self, environ, start_response):
        """The answer to a plain click, or None: the Flask view answers."""
        match = self.code_path(environ)
        if match is None:
            return None
        gathered = self.gather(environ, match)
        if gathered is None:
            return None
        now = utcnow()
        decision = decide(gathered.plan.row, gathered.facts, now, self.site(environ["HTTP_HOST"]))
        if not renders(decision, gathered.plan):
            return None
        template = destination_template(decision.url, decision.utm)
        if template is None or not (template[0] + template[1]).isascii():
            return None  # werkzeug quotes such a Location: the view's
        click_id = self.record(environ, gathered, decision, now)
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Cache-Control", "no-store"),
        ]
        visitor = decision.cookie_visitor
        if visitor:
            signed = self.sign(visitor, decision.fresh_visitor)
            headers.append(("Set-Cookie", self.set_cookie(signed, self.https(environ))))
        headers.append(("Content-Length", "0"))
        headers.append(("Location", f"{template[0]}{click_id}{template[1]}"))
        start_response("302 FOUND", headers)
        journal = self.journal
        return Body(None if journal is None or journal.sync else journal, gathered.db)

    def code_path(self, environ):
        """The /CODE[~POST] match of a request this module may answer, or None."""
        if environ.get("REQUEST_METHOD") != "GET" or environ.get("QUERY_STRING"):
            return None
        path = environ.get("PATH_INFO", "")
        match = CODE_PATH.fullmatch(path)
        if match is None or path in self.routes() or any(h in environ for h in FLASK_HEADERS):
            return None
        if self.config["RESPECT_DNT"] and "HTTP_DNT" in environ:
            return None
        return match if "HTTP_HOST" in environ else None  # no Host: werkzeug's own fallback

    def gather(self, environ, match) -> "Gathered | None":
        """The facts of a plain click, or None when only the view can tell."""
        user_agent = environ.get("HTTP_USER_AGENT", "")
        agent = classify(user_agent[:512])
        ip = self.client_ip(environ)
        limiter = self.app.extensions.get("clicktrail.not_found")
        if limiter is not None and limiter.active():
            if limiter.retry_after(ratelimit.address_key(ip)):
                return None  # blocked: 429 there
        try:
            db = getattr(self.pool, "db", None)
            if db is None:
                db = self.pool.db = connect(self.config["DATABASE"], files_of(self.app))
            plan = self.cache.get(db, match[1])
        except sqlite3.Error:  # the database cannot be read: the view answers with the reason
            return None
        visitor = None if agent.is_bot else self.visitor(environ)
        if plan is None or visitor is False:
            return None
        facts = Facts(
            agent=agent,
            # a bot or a returning visitor keeps no new id: not worth the random bytes
            new_visitor="" if agent.is_bot or visitor else cookie.new_visitor_id(),
            visitor=visitor,
            crawler=previews.platform_of(user_agent[:512]) if agent.is_bot else None,
            post=match[2],
        )
        return Gathered(db, plan, facts, ip, user_agent)

    def client_ip(self, environ) -> str | None:
        ip = environ.get("REMOTE_ADDR")
        if self.config["TRUST_PROXY_HEADERS"]:
            last = environ.get("HTTP_X_FORWARDED_FOR", "").split(",")[-1].strip()
            ip = last or ip
        return ip

    def record(self, environ, gathered: "Gathered", decision, now) -> str:
        """Store the click (in the journal when there is one); its click id."""
        click, db, journal = decision.click, gathered.db, self.journal
        fields = dict(
            link_id=click.link_id, visitor_id=click.visitor_id, now=now,
            agent=gathered.facts.agent, is_bot=click.is_bot, user_agent=gathered.user_agent,
            referrer=environ.get("HTTP_REFERER"), ip=gathered.ip, post=click.post,
            target=click.target, country=click.country,
            click_id=clickids.new_click_id(click.link_id, self.click_key()),
        )  # fmt: skip
        if journal is None:
            if decision.crawler:  # as previews.crawler_response does
                self.count_unfurl(db, click.link_id, decision.crawler, now)
            return record_click(db, **fields)
        row = click_row(**fields)
        if decision.crawler:  # counted when the row is replayed: no write here
            row[UNFURL] = decision.crawler
        journal.append(row)  # written, or held in memory if the disk refuses it
        if journal.sync:
            journal.replay_now(db)
        return row["click_id"]

    def count_unfurl(self, db, link_id: int, platform: str, now) -> None:
        try:
            previews.record_unfurl(db, link_id, platform, now)
        except Exception:  # a lost count must never break a redirect
            self.app.logger.exception("could not count an unfurl of link %s", link_id)

    def sign(self, visitor: str, fresh: bool = False) -> str:
        signed = self.signer.sign(visitor, int(time.time()), fresh)
        return self.serializer.dumps(visitor) if signed is None else signed

    def https(self, environ) -> bool:
        if environ.get("wsgi.url_scheme") == "https":
            return True
        if not self.config["TRUST_PROXY_HEADERS"]:
            return False
        proto = environ.get("HTTP_X_FORWARDED_PROTO", "").split(",")[-1]
        return proto.strip().lower() == "https"


def init_app(app):
    app.wsgi_app = FastRedirect(app, app.wsgi_app)
    # ua-parser compiles its regexes on first use (0.1-0.2 s): at start-up, not
    # in a visitor's redirect
    classify("")
