"""How one follow of a short link becomes an answer: the one place to read it.

`decide` is pure: no database, no Flask, no clock, no randomness. It takes
the link row, the request's facts and the site's names, and returns the
Decision that both renderers carry out -- the Flask view
(shortener/redirect.py), and the WSGI fast path in front of it
(shortener/fastpath.py) for the plain clicks it renders itself. Whatever
needs I/O is either a fact gathered before (the cookie's visitor, the click
count of a limited link, a fresh random visitor id) or an instruction in the
Decision (record this click, count this expired follow, look up whether the
destination's path is one of our short links).
"""

from datetime import datetime
from typing import NamedTuple

from . import clickids, targeting
from .clicks import Agent
from .destinations import checked_url, looping_url_code, utm_parameters

REDIRECT = "redirect"  # 302 to the destination with UTM tags (and a click id when recorded)
NOT_FOUND = "not found"  # 404: no such link
DISABLED = "disabled"  # 410: switched off by its owner
LOOP = "loop"  # 508: the visit came back carrying this link's own click id
EXPIRED = "expired"  # past expires_at or max_clicks: 302 to expired_url as it stands, or 410
REFUSED = "refused"  # 410: the destination may not be sent (blocked, or one of our names)
PROTECTED = "protected"  # 200: the password page; nothing recorded, no destination told


class Facts(NamedTuple):
    """What the request says, gathered by the renderer."""

    agent: Agent  # shortener.clicks.classify of the User-Agent
    new_visitor: str  # the id a person without a valid cookie gets
    visitor: str | None = None  # the verified id of the ct_vid cookie
    head: bool = False  # HEAD: a link checker, never a click
    prefetch: bool = False  # a browser fetching speculatively (shortener.bots.is_prefetch)
    opted_out: bool = False  # Sec-GPC, or DNT under RESPECT_DNT
    crawler: str | None = None  # the link-preview platform the agent fetches for
    post: str | None = None  # the post tag of /CODE~POST
    click_ids: tuple[str, ...] = ()  # the ct_click values in the query: a loop brings them back
    clicks_so_far: int | None = None  # human clicks on a link with max_clicks
    # the visitor's country (shortener.geo, "" unknown); None: not looked up, for
    # the fast path, which serves no link with country destinations
    country: str | None = None
    unlocked: bool = False  # the right password came with this request (a protected link)


class Site(NamedTuple):
    """This installation, as far as a redirect is concerned."""

    own: tuple[str, ...]  # names a destination may not point at (shortener.destinations)
    configured: tuple[str, ...]  # BASE_URL's and SERVER_NAME's names
    blocked: tuple[str, ...]  # BLOCKED_DESTINATION_HOSTS
    social_channels: tuple[str, ...] | frozenset
    click_keys: tuple[bytes, ...]  # shortener.clickids keys, newest first


class Click(NamedTuple):
    """The click to record."""

    link_id: int
    visitor_id: str | None
    is_bot: bool
    private: bool  # opted out: stored without user agent or address
    post: str | None = None
    variant: str | None = None  # the A/B destination chosen
    limited: bool = False  # a person's click on a link with max_clicks: counted against it
    target: str | None = None  # the targeted destination: "device:ios", "country:DE"
    country: str | None = None  # as stored; None: click_row looks it up from the address


class Decision(NamedTuple):
    outcome: str
    status: int
    url: str | None = None  # the checked destination, before UTM tags and click id
    utm: tuple[tuple[str, str], ...] = ()
    click: Click | None = None  # None: nothing recorded (HEAD, expired, refused...)
    fresh_visitor: bool = False  # click.visitor_id is new: the cookie is set for the first time
    crawler: str | None = None  # a preview fetch to count, or to answer with the preview page
    count_expired: bool = False  # a person followed an expired link: counted on the link
    looping_code: str | None = None  # the destination's path, if it is a link here: refuse
    reason: str | None = None  # why the destination was refused

    @property
    def cookie_visitor(self) -> str | None:
        """The visitor id the ct_vid cookie is (re)set to."""
        return self.click.visitor_id if self.click else None


def decide(link: dict | None, facts: Facts, now: datetime, site: Site) -> Decision:
    if link is None:
        return Decision(NOT_FOUND, 404)
    if link["disabled"]:
        return Decision(DISABLED, 410)
    if facts.click_ids and _came_round(link["id"], facts.click_ids, site.click_keys):
        return Decision(LOOP, 508)
    if link.get("password_hash") and not facts.unlocked:
        # before expiry and targeting: even where it would lead stays behind the password
        return Decision(PROTECTED, 200)
    is_bot = facts.agent.is_bot or facts.prefetch
    person = not (facts.head or is_bot or facts.opted_out)
    visitor = (facts.visitor or facts.new_visitor) if person else None
    # the country steers the redirect for everyone (a country destination is the
    # page people there can use); like the address it comes from, it is stored
    # only for visitors who did not opt out
    choice = targeting.choose_destination(
        link, facts.agent, visitor, now, facts.clicks_so_far, facts.country or ""
    )
    if choice.outcome == targeting.EXPIRED:
        return _expired(choice.url, site, counted=not (facts.head or is_bot))
    try:
        url = checked_url(choice.url, site.own, site.blocked)
    except ValueError as e:
        return Decision(REFUSED, 410, reason=str(e))
    utm = tuple(utm_parameters(link, site.social_channels, facts.post).items())
    loop = looping_url_code(url, site.own, site.configured)
    if facts.head:
        return Decision(REDIRECT, 302, url, utm, looping_code=loop)
    click = Click(
        link["id"], visitor, is_bot, facts.opted_out, facts.post, choice.variant,
        limited=link.get("max_clicks") is not None and not is_bot,
        target=targeting.recorded_target(choice.target, facts.opted_out),
        country="" if facts.opted_out else facts.country,
    )  # fmt: skip
    fresh = visitor is not None and visitor != facts.visitor
    return Decision(REDIRECT, 302, url, utm, click, fresh, facts.crawler, looping_code=loop)


def _came_round(link_id: int, click_ids: tuple, keys: tuple) -> bool:
    """A click id this link's own redirect made: the visit has come round a
    loop (shortener.clickids)."""
    return any(clickids.made_for(c, link_id, keys) for c in click_ids)


def _expired(target: str | None, site: Site, counted: bool) -> Decision:
    """The expired_url as it stands (no UTM tags, no click id, no cookie:
    not a campaign click), or 410 without one or when it may not be sent."""
    if target is None:
        return Decision(EXPIRED, 410, count_expired=counted)
    try:
        url = checked_url(target, site.own, site.blocked)
    except ValueError:
        return Decision(EXPIRED, 410, count_expired=counted)
    loop = looping_url_code(url, site.own, site.configured)
    return Decision(EXPIRED, 302, url, count_expired=counted, looping_code=loop)


def loops_back(decision: Decision) -> Decision:
    """The decision once the renderer found `decision.looping_code` is one of
    our short links: following it would come straight back here."""
    if decision.outcome == EXPIRED:
        return Decision(EXPIRED, 410, count_expired=decision.count_expired)
    code = decision.looping_code
    reason = f"url points back at this shortener: /{code} is one of its short links"
    return Decision(REFUSED, 410, reason=reason)
