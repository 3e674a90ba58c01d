"""Where a short link may send its visitors: the checks every destination
passes when a link is written (the links API, the link features in
shortener.linkoptions, imports) and again at redirect time, so a row put
straight into the database cannot turn the shortener into an open redirect
to `javascript:` or a loop. Pure functions of the URL and the host names
given: nothing here reads the database."""

import re
import unicodedata
from urllib.parse import quote, urlsplit

from . import hosts
from .errors import ApiError
from .posts import split_path

MAX_URL_LENGTH = 2048
SHORT_LINK_PATH = re.compile(r"/([^/]+)/?")  # as GET /<code> routes it
ASCII_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _bad_character(url: str) -> bool:
    """Spaces, control characters, and (beyond ASCII) any invisible or
    separator character that could disguise where a link goes."""
    if ASCII_CONTROL_OR_SPACE.search(url):
        return True
    if url.isascii():
        return False
    return any(unicodedata.category(ch)[0] in "CZ" for ch in url if ord(ch) > 0x7F)


def _blocked(host: str, blocked_hosts) -> bool:
    """The host is one of the blocked shorteners, or a subdomain of one."""
    for name in blocked_hosts:
        name = (name or "").rstrip(".").lower()
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def normalise_destination(url, own_hosts=(), blocked_hosts=()) -> str:
    """The destination as it will be sent in `Location`, or ValueError with
    the reason it may not be one. International characters are percent- or
    IDNA-encoded; every ASCII byte is kept exactly as given."""
    if not isinstance(url, str) or not url:
        raise ValueError("url is required and must be a string")
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"url is longer than {MAX_URL_LENGTH} characters")
    if _bad_character(url):
        raise ValueError("url must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises on a malformed port
    except ValueError:
        raise ValueError("url is malformed") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError("url must start with http:// or https://")
    if parts.username is not None or parts.password is not None:
        raise ValueError("url must not carry a user name or password")
    try:
        host = hosts.normalise_host(parts.hostname or "")
    except ValueError:  # UnicodeError included
        raise ValueError("url must name a valid host") from None
    if host in hosts.own_names(own_hosts):
        raise ValueError("url points back at this shortener")
    if _blocked(host, blocked_hosts):
        raise ValueError("url points at another link shortener")
    return url if url.isascii() else _as_uri(url, parts, host)


def _as_uri(url: str, parts, host: str) -> str:
    """Percent-encode an IRI's non-ASCII characters (UTF-8) and put its host
    in IDNA form, so the `Location` header is plain ASCII."""
    netloc = parts.netloc
    if not netloc.isascii():
        netloc = host if parts.port is None else f"{host}:{parts.port}"
    rest = url.split("//", 1)[1][len(parts.netloc) :]
    uri = f"{parts.scheme}://{netloc}" + NON_ASCII.sub(lambda m: quote(m.group(), safe=""), rest)
    if len(uri) > MAX_URL_LENGTH:
        raise ValueError(f"url is longer than {MAX_URL_LENGTH} characters once encoded")
    return uri


def looping_code(url: str, own_hosts=(), resolved=None) -> str | None:
    """The short code a (normalised) destination would lead back to: its
    host is this installation (shortener.hosts.is_this_installation, with
    `own_hosts` and `resolved`) and its path, as our server routes it, is a
    single segment; None otherwise. Any port counts: behind a proxy we
    cannot know every port that reaches us."""
    parts = urlsplit(url)
    try:
        host = hosts.normalise_host(parts.hostname or "")
    except ValueError:
        return None
    if not hosts.is_this_installation(host, own_hosts, resolved):
        return None
    match = SHORT_LINK_PATH.fullmatch(hosts.routed_path(parts.path))
    if match is None:
        return None
    code, _ = split_path(match[1])  # /CODE~POST is served as /CODE, whatever the tag
    return code if 1 <= len(code) <= 64 else None


def check_destination(url, own_hosts=(), blocked_hosts=(), field="url") -> str:
    try:
        return normalise_destination(url, own_hosts, blocked_hosts)
    except ValueError as e:
        raise ApiError(str(e), field=field) from None
