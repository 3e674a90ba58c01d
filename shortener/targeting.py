"""Where one follow of a link goes: A/B variants, device and country
targeting, expiry and click limits, decided from the link row the redirect
already read.

`choose_destination` is pure (no Flask, no database, `now` passed in), so
the redirect calls it once and the rules are tested without a server.
Links that use none of these features cost nothing beyond a few dict reads.
"""

import hashlib
import json
import secrets
import time
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from .clock import to_db

CLICK = "click"  # an ordinary click: recorded, counted, redirected with a click id
EXPIRED = "expired"  # past expires_at or max_clicks: to expired_url, or 410; no click
DEVICE_FIELDS = {"ios": "ios_url", "android": "android_url", "desktop": "desktop_url"}
LINK_FEATURE_COLUMNS = (
    "destinations",
    "ios_url",
    "android_url",
    "desktop_url",
    "expired_url",
    "max_clicks",
    "country_urls",
)


class Choice(NamedTuple):
    url: str | None
    variant: str | None  # the A/B destination's name
    outcome: str  # CLICK or EXPIRED
    target: str | None = None  # "device:ios", "country:DE": a targeted destination


@lru_cache(maxsize=4096)
def parse_country_urls(text: str | None) -> dict[str, str]:
    """The stored JSON object {"DE": url}, parsed once per text."""
    return json.loads(text) if text else {}


@lru_cache(maxsize=4096)
def parse_destinations(text: str | None) -> tuple[tuple[str, str, int], ...]:
    """The stored JSON list as ((name, url, weight), ...), parsed once per text."""
    if not text:
        return ()
    return tuple((d["name"], d["url"], int(d["weight"])) for d in json.loads(text))


def bucket(link_id: int, visitor_id: str) -> float:
    """A number in [0, 1) fixed for a (link, visitor): the same visitor lands
    in the same place on every click, in every worker, without storage."""
    digest = hashlib.sha256(f"{link_id}:{visitor_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def pick_variant(variants, position: float) -> tuple[str, str]:
    """(name, url) of the variant whose share of the total weight covers
    `position` (in [0, 1)); shares are laid out in list order."""
    total = sum(weight for _, _, weight in variants)
    point = position * total
    for name, url, weight in variants:
        if point < weight:
            return name, url
        point -= weight
    name, url, _ = variants[-1]
    return name, url


def device_key(agent) -> str | None:
    """Which device destination an agent classification calls for."""
    if agent.os == "iOS":
        return "ios"
    if agent.os == "Android":
        return "android"
    if agent.device == "desktop":
        return "desktop"
    return None


COUNT_TTL_SECONDS = 2.0
_counts: dict[tuple[str, int], list] = {}  # (database, link id) -> [count, read at]


def human_clicks_so_far(db, database: str, link_id: int, clock=time.monotonic) -> int:
    """Human clicks on a link, for `max_clicks`: the maintained aggregates
    (link_day) plus the clicks not yet folded into them (the rowid range
    after the fold watermark). Read only for links with a limit, and at most
    every COUNT_TTL_SECONDS per worker: in between, the worker adds its own
    clicks (`count_click`). Clicks other workers answered since the last
    read are not seen, so a busy link can overshoot its limit by that many."""
    key = (database, link_id)
    cached = _counts.get(key)
    if cached is not None and clock() - cached[1] < COUNT_TTL_SECONDS:
        return cached[0]
    folded = db.conn.execute(
        "SELECT coalesce(sum(human_clicks), 0) FROM link_day WHERE link_id = ?", (link_id,)
    ).fetchone()[0]
    recent = db.conn.execute(
        "SELECT count(*) FROM clicks WHERE id > (SELECT last_id FROM aggregate_state"
        " WHERE name = 'clicks') AND link_id = ? AND is_bot = 0",
        (link_id,),
    ).fetchone()[0]
    _counts[key] = [folded + recent, clock()]
    return folded + recent


def count_click(database: str, link_id: int) -> None:
    """This worker recorded a human click on a limited link."""
    cached = _counts.get((database, link_id))
    if cached is not None:
        cached[0] += 1


def record_expired_hit(db, link_id: int) -> None:
    """An expired link's follow is no campaign click: only counted on the link."""
    outer = db.conn.in_transaction
    db.conn.execute("UPDATE links SET expired_hits = expired_hits + 1 WHERE id = ?", (link_id,))
    if not outer:
        db.conn.commit()


def is_expired(link: dict, now: datetime, clicks_so_far: int | None = None) -> bool:
    if link["expires_at"] and link["expires_at"] <= to_db(now):
        return True
    limit = link.get("max_clicks")
    return limit is not None and clicks_so_far is not None and clicks_so_far >= limit


def recorded_target(target: str | None, opted_out: bool) -> str | None:
    """The targeted destination as the click records it: "country:DE" would
    tell the country of a visitor who opted out of tracking, so theirs
    records none (they are sent there all the same)."""
    if opted_out and target and target.startswith("country:"):
        return None
    return target


def choose_destination(
    link: dict,
    agent,
    visitor_id: str | None,
    now: datetime,
    clicks_so_far: int | None = None,
    country: str = "",
) -> Choice:
    """(url, variant, outcome, target) for one follow of `link` by a
    visitor in `country` (shortener.geo; "" unknown).

    - Past `expires_at`, or with `clicks_so_far` at `max_clicks`: the
      `expired_url` (None: the caller answers 410) and outcome "expired".
    - Crawlers and bots (`agent.is_bot`) get the main url: a link preview
      shows the canonical page and never takes an A/B slot.
    - A device destination (iOS, Android, desktop) set for the visitor's
      device wins over the rest: an app store link is the only page an app
      user can act on, wherever they are.
    - Then a country destination set for the visitor's country: the page
      in their language, shop or currency.
    - With A/B destinations, a visitor is placed by a hash of link and
      visitor id over the weights (stable across clicks and workers); a
      person with no visitor id (opted out of tracking) is placed at random.
    """
    if is_expired(link, now, clicks_so_far):
        return Choice(link.get("expired_url"), None, EXPIRED)
    if agent.is_bot:
        return Choice(link["url"], None, CLICK)
    key = device_key(agent)
    if key and link.get(DEVICE_FIELDS[key]):
        return Choice(link[DEVICE_FIELDS[key]], None, CLICK, f"device:{key}")
    by_country = parse_country_urls(link.get("country_urls"))
    if country and country in by_country:
        return Choice(by_country[country], None, CLICK, f"country:{country}")
    variants = parse_destinations(link.get("destinations"))
    if variants:
        if visitor_id:
            position = bucket(link["id"], visitor_id)
        else:
            position = secrets.randbelow(2**53) / 2**53
        name, url = pick_variant(variants, position)
        return Choice(url, name, CLICK)
    return Choice(link["url"], None, CLICK)
