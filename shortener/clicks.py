"""The click log: one row per followed link, written before the redirect
is answered, so a click the visitor saw redirected is a click stored."""

import base64
import os
import re
import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from ipaddress import ip_address, ip_network

import ua_parser
from sqlite_utils import Database

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


# The device rules of the `user-agents` package (2.2), applied to the
# families that ua-parser 1.0 finds. `user-agents` goes through ua-parser's
# legacy pure-Python API (about 1 ms per string); ua-parser 1.0 with the
# ua-parser-rs accelerator matches the same regexes in about 0.05 ms, and
# tests/test_clicks.py checks both give the same classifications.
MOBILE_DEVICE_FAMILIES = {
    "iPhone",
    "iPod",
    "Generic Smartphone",
    "Generic Feature Phone",
    "PlayStation Vita",
    "iOS-Device",
}
PC_OS_FAMILIES = {"Windows 95", "Windows 98", "Solaris"}
MOBILE_OS_FAMILIES = {
    "Windows Phone",
    "Windows Phone OS",
    "Symbian OS",
    "Bada",
    "Windows CE",
    "Windows Mobile",
    "Maemo",
}
MOBILE_BROWSER_FAMILIES = {
    "IE Mobile",
    "Opera Mobile",
    "Opera Mini",
    "Chrome Mobile",
    "Chrome Mobile WebView",
    "Chrome Mobile iOS",
}
TABLET_DEVICE_FAMILIES = {
    "iPad",
    "BlackBerry Playbook",
    "Blackberry Playbook",
    "Kindle",
    "Kindle Fire",
    "Kindle Fire HD",
    "Galaxy Tab",
    "Xoom",
    "Dell Streak",
}


def _version_string(part) -> str:
    """The version "12.1.3" from major/minor/patch, as `user-agents` writes it."""
    if part is None:
        return ""
    values = [v for v in (part.major, part.minor, part.patch) if v is not None]
    return ".".join(str(int(v)) if v.isdigit() else v for v in values)


def _device_type(ua: str, browser: str, os: str, os_version: str, device: str) -> str:
    if device == "Spider":
        return "bot"
    tablet = (
        device in TABLET_DEVICE_FAMILIES
        or (os == "Android" and "Mobile Safari" not in ua and browser != "Firefox Mobile")
        or (os == "Windows" and os_version.startswith("RT"))
        or (os == "Firefox OS" and "Mobile" not in browser)
    )
    if tablet:
        return "tablet"
    mobile = (
        device in MOBILE_DEVICE_FAMILIES
        or browser in MOBILE_BROWSER_FAMILIES
        or os in ("Android", "Firefox OS")
        or (os == "BlackBerry OS" and device != "Blackberry Playbook")
        or os in MOBILE_OS_FAMILIES
        or "J2ME" in ua
        or "MIDP" in ua
        or "iPhone;" in ua
        or "Googlebot-Mobile" in ua
        or (device == "Spider" and "Mobile" in browser)
        or ("NokiaBrowser" in ua and "Mobile" in ua)
    )
    if mobile:
        return "mobile"
    pc = (
        "Windows NT" in ua
        or os in PC_OS_FAMILIES
        or (os == "Windows" and os_version == "ME")
        or (os == "Mac OS X" and "Silk" not in ua)
        or ("Maemo" not in ua and ("Chrome OS" in os or ("Linux" in ua and "X11" in ua)))
    )
    return "desktop" if pc else "other"


@lru_cache(maxsize=16384)
def classify(user_agent: str) -> Agent:
    """Device, browser, OS and bot flag for a user-agent string.

    Strings repeat endlessly, so results are cached; a new string costs one
    ua-parser match (compiled regexes in Rust when ua-parser-rs is there).
    """
    parsed = ua_parser.parse(user_agent)
    browser = parsed.user_agent.family if parsed.user_agent else "Other"
    os = parsed.os.family if parsed.os else "Other"
    device = parsed.device.family if parsed.device else "Other"
    kind = _device_type(user_agent, browser, os, _version_string(parsed.os), device)
    bot = kind == "bot" or is_automation(user_agent) or bool(crawler_platform(user_agent))
    return Agent("bot" if bot else kind, browser, os, bot)


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


class _RandomPool:
    """os.urandom read 4 KiB at a time: each read is a system call that
    releases the GIL, and taking it back on the redirect path waits behind
    the click journal's replay thread. Refilled after a fork, so two
    workers never share bytes."""

    def __init__(self) -> None:
        self.pid, self.buffer, self.at = 0, b"", 0
        self.lock = threading.Lock()  # threaded servers: no two ids from the same bytes

    def take(self, n: int) -> bytes:
        with self.lock:
            if self.pid != os.getpid() or self.at + n > len(self.buffer):
                self.pid, self.buffer, self.at = os.getpid(), os.urandom(4096), 0
            self.at += n
            return self.buffer[self.at - n : self.at]


_random = _RandomPool()


def random_bytes(n: int) -> bytes:
    return _random.take(n)


def random_token(nbytes: int) -> str:
    """A URL-safe random id that never starts with "-": exported to CSV, a
    leading "-" would be escaped as a formula and no longer match."""
    while True:
        token = base64.urlsafe_b64encode(_random.take(nbytes)).rstrip(b"=").decode("ascii")
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
