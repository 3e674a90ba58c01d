"""What a click is broken down by: its country, device, browser, OS,
referrer host, source and post tag, as the values the breakdown aggregates keep.

Pure functions of a click's stored columns, shared by the aggregates (which
fold them), erasure (which takes them back out) and the tests (which
compute them from the raw log).
"""

from urllib.parse import urlsplit

DIMENSIONS = ("country", "device", "browser", "os", "referrer", "source", "post")
NO_REFERRER = ""  # no Referer header (typed, an app, a strict referrer policy) or no host in it


def referrer_host(referrer: str | None) -> str:
    """The host a click's Referer names ("t.co"), lower-case and without
    its port; NO_REFERRER when there is none."""
    if not referrer:
        return NO_REFERRER
    try:
        host = urlsplit(referrer.strip()).hostname
    except ValueError:  # e.g. an unbalanced "[" in a made-up header
        return NO_REFERRER
    return host or NO_REFERRER


def values_of(click) -> list[tuple[str, str]]:
    """(dimension, value) for each dimension, of a row holding the clicks
    columns country, device, browser, os, referrer, source and post."""
    return [
        ("country", click["country"] or ""),  # ISO 3166-1 alpha-2; "" unknown
        ("device", click["device"] or ""),
        ("browser", click["browser"] or ""),
        ("os", click["os"] or ""),
        ("referrer", referrer_host(click["referrer"])),
        ("source", "qr" if click["source"] == "qr" else "link"),
        ("post", click["post"] or ""),  # the tag of /CODE~POST; "" untagged
    ]
