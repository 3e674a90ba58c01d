"""The click log: one row per followed link, written before the redirect
is answered, so a click the visitor saw redirected is a click stored."""

import re
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from ipaddress import ip_address, ip_network

import ua_parser
from sqlite_utils import Database
from user_agents.parsers import UserAgent, parse_browser, parse_device, parse_operating_system

from . import health
from .bots import crawler_platform, is_automation
from .clock import to_db
from .db import storage_failed
from .geo import country_of

MAX_USER_AGENT = 512
MAX_REFERRER = 1024


@dataclass(frozen=True)
class Agent:
    device: str
    browser: str
    os: str
    is_bot: bool


class _ParsedAgent(UserAgent):
    """`user-agents`' device rules (is_tablet, is_mobile, is_pc, is_bot) over
    ua-parser 1.x's result. `user_agents.parse` goes through ua-parser's
    legacy pure-Python API (about 1 ms per string); ua-parser 1.x with the
    ua-parser-rs accelerator matches the same regexes in about 0.05 ms. This
    sets the attributes UserAgent.__init__ would set from them -- an internal
    of user-agents, which pyproject.toml pins to 2.2.x for that reason; and
    tests/test_clicks.py checks the result equals `user_agents.parse`'s."""

    def __init__(self, user_agent: str):
        parsed = ua_parser.parse(user_agent)
        browser, os, device = parsed.user_agent, parsed.os, parsed.device
        self.ua_string = user_agent
        self.browser = parse_browser(*_family_and_version(browser))
        self.os = parse_operating_system(*_family_and_version(os))
        self.device = (
            parse_device(device.family, device.brand, device.model)
            if device
            else parse_device("Other", None, None)
        )


def _family_and_version(part) -> tuple:
    if part is None:  # what ua-parser's legacy API answers for no match
        return ("Other",)
    return part.family, part.major, part.minor, part.patch


def _device_class(agent: UserAgent) -> str:
    if agent.is_tablet:
        return "tablet"
    if agent.is_mobile:
        return "mobile"
    return "desktop" if agent.is_pc else "other"


@lru_cache(maxsize=16384)
def classify(user_agent: str) -> Agent:
    """Device, browser, OS and bot flag for a user-agent string: `user-agents`'
    classes, and the project's own lists (shortener.bots) for the crawlers
    and scripts it does not know.

    Strings repeat endlessly, so results are cached; a new string costs one
    ua-parser match (compiled regexes in Rust when ua-parser-rs is there).
    """
    parsed = _ParsedAgent(user_agent)
    bot = parsed.is_bot or is_automation(user_agent) or bool(crawler_platform(user_agent))
    device = "bot" if bot else _device_class(parsed)
    return Agent(device, parsed.browser.family, parsed.os.family, bot)


# canonical dotted-quad IPv4, the common case, cut to /24 without ipaddress
_IPV4 = re.compile(
    r"((?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3})(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
)


def truncate_ip(address: str | None) -> str | None:
    """The network a client is in (IPv4 /24, IPv6 /48); never the address."""
    if not address:
        return None
    address = address.strip()
    quad = _IPV4.fullmatch(address)
    if quad:
        return f"{quad[1]}0/24"
    try:
        ip = ip_address(address)
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ip_network(f"{ip}/{prefix}", strict=False))


def random_token(nbytes: int) -> str:
    """A URL-safe random id that never starts with "-": exported to CSV, a
    leading "-" would be escaped as a formula and no longer match."""
    while True:
        token = secrets.token_urlsafe(nbytes)
        if not token.startswith("-"):
            return token


def new_click_id() -> str:
    """A click id of the right shape, random; the redirect's carry their
    link (shortener.clickids)."""
    return random_token(12)


def click_row(
    *,
    link_id: int,
    visitor_id: str | None,
    now: datetime,
    agent: Agent,
    is_bot: bool,
    user_agent: str = "",
    referrer: str | None = None,
    ip: str | None = None,
    click_id: str | None = None,
    source: str | None = None,
    variant: str | None = None,
    post: str | None = None,
    country: str | None = None,
    target: str | None = None,
) -> dict:
    """The clicks row, column by column: the one place a click's columns are
    built, whether it is inserted at once or journalled (shortener/journal.py
    stores whatever columns this returns). `country` is looked up from the
    full `ip` unless the caller already did; only the code and the
    address's network are kept."""
    return {
        "click_id": click_id or new_click_id(),
        "link_id": link_id,
        "visitor_id": visitor_id,
        "ts": to_db(now),
        "referrer": (referrer or None) and referrer[:MAX_REFERRER],
        "ip_prefix": truncate_ip(ip),
        "user_agent": (user_agent or "")[:MAX_USER_AGENT] or None,
        "device": agent.device,
        "browser": agent.browser,
        "os": agent.os,
        "is_bot": int(is_bot),
        "source": source,  # "qr" for a scan of the link's QR code
        "variant": variant,  # the A/B destination the visitor was sent to
        "post": post,  # the post tag of /CODE~POST (shortener.posts)
        "country": country_of(ip) if country is None else country,  # "" when unknown
        "target": target,  # the targeted destination it was sent to: "device:ios", "country:DE"
    }


def record_click(db: Database, *, journal=None, **fields) -> str:
    """Store one click and return its click id: appended to `journal` (a
    shortener.journal.Journal) when given, else committed before returning,
    in one statement on the raw connection with nothing around it."""
    row = click_row(**fields)
    if journal is not None:
        journal.append(row)
        return row["click_id"]
    conn = db.conn
    outer = conn.in_transaction
    try:
        conn.execute(
            f"INSERT INTO clicks ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            tuple(row.values()),
        )
        if not outer:
            conn.commit()
    except sqlite3.Error as e:
        # without a journal there is nowhere to keep it: the redirect still
        # works, and the click is counted and logged as lost (README, Data safety)
        reason = storage_failed(db, e)
        if reason is None or outer:
            raise
        if conn.in_transaction:
            conn.rollback()
        health.count(db.path, "clicks_lost", reason)
    return row["click_id"]
