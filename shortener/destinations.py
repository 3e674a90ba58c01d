"""Where a short link sends its visitor: the destination checked against
this installation's names and blocked hosts, with its UTM tags and the
click id added. Pure functions of their arguments (cached: a link's URL
rarely changes while it is followed again and again); shortener/decide.py
and both renderers of a redirect use them."""

from functools import lru_cache
from urllib.parse import unquote_plus, urlencode, urlsplit

from . import hosts
from .links import looping_code, normalise_destination


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
def destination_template(url: str, utm: tuple) -> tuple[str, str] | None:
    built = _build_destination(url, dict(utm), CLICK_SLOT)
    if built.count(QUOTED_SLOT) != 1:
        return None
    head, _, tail = built.partition(QUOTED_SLOT)
    return head, tail


def build_destination(url: str, utm: dict[str, str], click_id: str | None) -> str:
    """`_build_destination`, cached per link: only the click id changes from
    one click to the next (it is URL-safe, so it needs no quoting)."""
    if click_id and click_id.isascii() and click_id.replace("-", "").replace("_", "").isalnum():
        template = destination_template(url, tuple(utm.items()))
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


@lru_cache(maxsize=8192)
def checked_url(url: str, own: tuple, blocked: tuple) -> str:
    """normalise_destination is pure and a link's URL rarely changes, while
    it is followed again and again: checked once per (url, hosts)."""
    return normalise_destination(url, own, blocked)


@lru_cache(maxsize=8192)
def looping_url_code(url: str, own: tuple, configured: tuple) -> str | None:
    """looping_code, once per (url, hosts): it depends only on them (and on
    this machine's names and addresses, which do not change under us).
    Only the configured names are looked up in DNS, never a Host header."""
    return looping_code(url, own, configured)
