"""A click's country, from the client's full address, at click time.

The lookup table ships inside the `iptocc` package (its data: the five
Regional Internet Registries' delegated-extended statistics, i.e. the
country each address block is registered to); nothing is downloaded at run
time, and updating the data means upgrading the package. A lookup is a
binary search in Rust (a few microseconds from Python), so it runs on the
redirect path without a cache -- and no address is kept in memory for one.

The country is the only thing taken from the full address: the click
stores it and the address's network (`clicks.truncate_ip`), never the
address itself.
"""

import re
from ipaddress import IPv6Address

from iptocc import country_code

UNKNOWN = ""  # no address, a private or reserved one, or one no registry lists
_CODE = re.compile(r"[A-Z]{2}")


def country_of(address: str | None) -> str:
    """The ISO 3166-1 alpha-2 code of the country `address` is registered
    in, e.g. "DE"; UNKNOWN ("") when there is none to give."""
    if not address:
        return UNKNOWN
    address = address.strip()
    if address.startswith("::ffff:"):  # an IPv4 client on a dual-stack socket
        try:
            mapped = IPv6Address(address).ipv4_mapped
        except ValueError:
            return UNKNOWN
        address = str(mapped) if mapped else address
    code = country_code(address)
    # the registries' files hold a few non-country codes (e.g. "ZZ", "EU"
    # for blocks assigned to Europe as a whole): only real two-letter
    # codes are kept, as given
    if not code or not _CODE.fullmatch(code) or code in ("ZZ", "EU", "AP"):
        return UNKNOWN
    return code
