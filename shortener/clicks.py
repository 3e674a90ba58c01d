"""The click log: one row per followed link, written before the redirect
is answered, so a click the visitor saw redirected is a click stored."""

import ipaddress
import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import user_agents
from sqlite_utils import Database

from .bots import crawler_platform, is_automation
from .clock import to_db

MAX_USER_AGENT = 512
MAX_REFERRER = 1024


@dataclass(frozen=True)
class Agent:
    device: str
    browser: str
    os: str
    is_bot: bool


@lru_cache(maxsize=16384)
def classify(user_agent: str) -> Agent:
    """Device, browser, OS and bot flag for a user-agent string.

    Parsing costs about a millisecond per string -- more than the rest of a
    redirect -- while the strings repeat endlessly, so results are cached.
    """
    parsed = user_agents.parse(user_agent)
    bot = parsed.is_bot or is_automation(user_agent) or bool(crawler_platform(user_agent))
    if bot:
        device = "bot"
    elif parsed.is_tablet:
        device = "tablet"
    elif parsed.is_mobile:
        device = "mobile"
    elif parsed.is_pc:
        device = "desktop"
    else:
        device = "other"
    return Agent(device, parsed.browser.family, parsed.os.family, bot)


def truncate_ip(address: str | None) -> str | None:
    """The network a client is in (IPv4 /24, IPv6 /48); never the address."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def new_click_id() -> str:
    return secrets.token_urlsafe(12)


def record_click(
    db: Database,
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
) -> str:
    """Store one click and return its click id."""
    click_id = click_id or new_click_id()
    db.execute(
        "INSERT INTO clicks (click_id, link_id, visitor_id, ts, referrer, ip_prefix,"
        " user_agent, device, browser, os, is_bot) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [
            click_id,
            link_id,
            visitor_id,
            to_db(now),
            (referrer or None) and referrer[:MAX_REFERRER],
            truncate_ip(ip),
            (user_agent or "")[:MAX_USER_AGENT] or None,
            agent.device,
            agent.browser,
            agent.os,
            int(is_bot),
        ],
    )
    return click_id
