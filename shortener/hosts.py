"""Host names as a browser reads them, and which of them are this installation.

A browser does not connect to a host as it is written. The WHATWG URL
parser folds case, maps international names to ASCII, drops a trailing
dot, and reads `2130706433`, `0x7f000001`, `0177.0.0.1`, `127.1` and
`0x7f.0.0.1` all as the IPv4 address 127.0.0.1 (and `[::ffff:127.0.0.1]`
reaches it too). Comparing hosts as text lets every one of those spellings
past a check, so every "where does this URL go" question here compares
`normalise_host`'s answer instead.
"""

import ipaddress
import re
import socket
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import unquote

DOMAIN = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*")
# one part of an IPv4 address as WHATWG reads it: hex (0x, possibly empty),
# octal (a leading 0) or decimal; int() alone would also take "1_0" or " 1"
IPV4_PART = re.compile(r"0x[0-9a-f]*|[0-9]+")
# names every resolver here (glibc's /etc/hosts on Debian, browsers for
# *.localhost) sends to this machine's loopback
LOCAL_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})
DOT_SEGMENTS = {".", "%2e"}
DOUBLE_DOT_SEGMENTS = {"..", ".%2e", "%2e.", "%2e%2e"}
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def normalise_host(host: str) -> str:
    """The host a browser would connect to, spelled one way: a lower-case
    ASCII name without a trailing dot (IDNA for international names), an
    IPv4 address as a dotted quad, or an IPv6 address compressed, without
    brackets. ValueError when a browser would refuse the URL for its host
    (`1.2.3.4.5`, `256.0.0.1`, `shop.09`, a zone id...)."""
    if not isinstance(host, str) or not host:
        raise ValueError("no host")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
        if ":" not in host:
            raise ValueError(host)
    if ":" in host:
        if "%" in host:  # a zone id (fe80::1%eth0) is not allowed in a URL
            raise ValueError(host)
        return str(ipaddress.IPv6Address(host))
    if not host.isascii():
        host = host.encode("idna").decode("ascii")  # a UnicodeError is a ValueError
    host = host.lower()
    if _ends_in_a_number(host):
        return str(_ipv4(host))
    name = host.removesuffix(".")
    if not DOMAIN.fullmatch(name):
        raise ValueError(host)
    return name


def _ends_in_a_number(host: str) -> bool:
    """WHATWG's "ends in a number": then the host must be an IPv4 address
    (a numeric top-level label cannot be a name)."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    last = parts[-1]
    return bool(last) and (last.isdigit() or bool(IPV4_PART.fullmatch(last)))


def _ipv4(host: str) -> ipaddress.IPv4Address:
    """WHATWG's IPv4 parser: 1 to 4 parts (a trailing dot allowed), each
    decimal, octal or hex; every part but the last one byte, the last the
    bytes that are left."""
    parts = host.split(".")
    if parts[-1] == "" and len(parts) > 1:
        parts.pop()
    if len(parts) > 4 or not all(IPV4_PART.fullmatch(p) for p in parts):
        raise ValueError(host)
    numbers = [_ipv4_number(p) for p in parts]
    if any(n > 255 for n in numbers[:-1]) or numbers[-1] >= 256 ** (5 - len(numbers)):
        raise ValueError(host)
    value = numbers[-1]
    for i, n in enumerate(numbers[:-1]):
        value += n << (8 * (3 - i))
    return ipaddress.IPv4Address(value)


def _ipv4_number(part: str) -> int:
    if part.startswith("0x"):
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part[1:], 8)  # "08" raises: not octal, and not a host
    return int(part)


def address_of(host: str) -> Address | None:
    """The address a normalised host names, IPv4-mapped IPv6 as the IPv4
    address it reaches; None for a name."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def is_local_address(ip: Address) -> bool:
    """Loopback (127.0.0.0/8, ::1) or "any" (0.0.0.0, ::), which a connect()
    on this machine also sends to itself."""
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_unspecified


def is_local_name(host: str) -> bool:
    return host in LOCAL_NAMES or host.endswith(".localhost")


@lru_cache(maxsize=1)
def machine_names() -> frozenset[str]:
    """This machine's own host name (and its first label), as normalised hosts."""
    names = set()
    name = socket.gethostname()
    for candidate in (name, name.split(".")[0]):
        try:
            names.add(normalise_host(candidate))
        except ValueError:
            pass
    return frozenset(names)


@lru_cache(maxsize=256)
def addresses_of(host: str) -> frozenset:
    """What a (normalised) host resolves to here; nothing when it does not.
    Looked up once per process: only asked when a destination is an IP
    address, to tell whether it is one of ours."""
    ip = address_of(host)
    if ip is not None:
        return frozenset({ip})
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return frozenset()
    found = (address_of(info[4][0].split("%", 1)[0]) for info in infos)
    return frozenset(ip for ip in found if ip is not None)


def own_names(hosts: Iterable[str]) -> frozenset[str]:
    """The normalised form of each host given (ports dropped); unusable ones
    (an empty or broken Host header) left out."""
    names = set()
    for host in hosts:
        try:
            names.add(normalise_host(host))
        except (ValueError, TypeError):
            pass
    return frozenset(names)


def is_this_installation(host: str, named: Iterable[str] = (), resolved=None) -> bool:
    """Whether a browser asking for `host` (normalised) on this machine
    reaches this installation: one of the hosts it is `named` by (BASE_URL's,
    the request's), a loopback or "any" address, localhost or this
    machine's name, or an address that this machine's name or one of the
    `resolved` names (default: the `named` ones) resolves to. A name is
    only looked up when `host` is an address; pass as `resolved` only names
    a visitor cannot choose (not a public request's Host), or each new
    one would cost a DNS lookup."""
    named = own_names(named)
    if host in named or is_local_name(host) or host in machine_names():
        return True
    ip = address_of(host)
    if ip is None:
        return False
    if is_local_address(ip):
        return True
    looked_up = named if resolved is None else own_names(resolved)
    return any(ip in addresses_of(name) for name in sorted(looked_up | machine_names()))


def routed_path(path: str) -> str:
    """The path our server routes when a browser follows a URL with this
    path: backslashes read as slashes and dot segments (`.`, `%2e`...)
    resolved as WHATWG does, then percent-decoded as WSGI does, with
    repeated slashes merged (werkzeug redirects `//x` to `/x`)."""
    segments: list[str] = []
    parts = path.replace("\\", "/").split("/")[1:] if path else []
    for i, segment in enumerate(parts):
        last = i == len(parts) - 1
        lowered = segment.lower()
        if lowered in DOUBLE_DOT_SEGMENTS:
            if segments:
                segments.pop()
            if last:
                segments.append("")
        elif lowered in DOT_SEGMENTS:
            if last:
                segments.append("")
        else:
            segments.append(segment)
    routed = unquote("/" + "/".join(segments), errors="replace")
    return re.sub(r"/{2,}", "/", routed)
