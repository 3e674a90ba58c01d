"""Validating a link's optional features: A/B destinations, device and
country destinations, expired_url and max_clicks (what shortener.targeting
acts on).

Every destination is checked like the main url, so no option can make the
shortener an open redirect or a loop.
"""

import json
import re

from .countries import is_country
from .destination_checks import check_destination
from .errors import ApiError

DEVICE_URL_FIELDS = ("ios_url", "android_url", "desktop_url")
FEATURE_FIELDS = {"destinations", "expired_url", "max_clicks", "country_urls", *DEVICE_URL_FIELDS}
# 1-32 characters; spaces inside a name ("Hero video"), never at its ends.
# Nothing reads a name but people: it is stored on each click (`variant`)
# and shown in reports, CSVs and outbound webhooks as it is.
VARIANT_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_. -]{0,30}[A-Za-z0-9_.-])?")
MAX_VARIANTS = 10
MAX_WEIGHT = 10_000
MAX_CLICKS = 10**12


def _optional_url(value, field: str, own_hosts, blocked_hosts) -> str | None:
    if value is None or value == "":
        return None
    return check_destination(value, own_hosts, blocked_hosts, field=field)


def check_max_clicks(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CLICKS:
        raise ApiError(
            "max_clicks must be a whole number of at least 1, or null", field="max_clicks"
        )
    return value


def check_destinations(value, own_hosts=(), blocked_hosts=()) -> str | None:
    """The A/B destinations as stored (JSON), or None for none. Names default
    to A, B, C...; weights are whole numbers (a share of their sum)."""
    if value is None or value == []:
        return None
    problem = (
        f"destinations must be a list of 2 to {MAX_VARIANTS} objects"
        " {url, weight, name (optional)}"
    )
    if not isinstance(value, list) or not 2 <= len(value) <= MAX_VARIANTS:
        raise ApiError(problem, field="destinations")
    variants, names = [], set()
    for n, item in enumerate(value):
        if not isinstance(item, dict) or set(item) - {"url", "weight", "name"}:
            raise ApiError(problem, field="destinations")
        url = check_destination(item.get("url"), own_hosts, blocked_hosts, field="destinations")
        weight = item.get("weight", 1)
        if isinstance(weight, bool) or not isinstance(weight, int):
            raise ApiError(
                f"destinations weights must be whole numbers from 1 to {MAX_WEIGHT}",
                field="destinations",
            )
        if not 1 <= weight <= MAX_WEIGHT:
            raise ApiError(
                f"destinations weights must be whole numbers from 1 to {MAX_WEIGHT}",
                field="destinations",
            )
        name = item.get("name", chr(ord("A") + n))
        if not isinstance(name, str) or not VARIANT_NAME.fullmatch(name):
            raise ApiError(
                "destinations names are 1-32 letters, digits, spaces, '.', '-' or '_',"
                " starting with a letter or digit and not ending in a space",
                field="destinations",
            )
        if name in names:
            raise ApiError(f"destinations name '{name}' is used twice", field="destinations")
        names.add(name)
        variants.append({"name": name, "url": url, "weight": weight})
    return json.dumps(variants)


def check_country_urls(value, own_hosts=(), blocked_hosts=()) -> str | None:
    """The country destinations as stored (JSON {"DE": url}, codes in
    order), or None for none: an object of ISO 3166-1 alpha-2 codes (any
    case, stored upper-case) to destinations checked like the main url."""
    if value is None or value == {}:
        return None
    if not isinstance(value, dict):
        raise ApiError(
            'country_urls must be an object of country codes to URLs, e.g. {"DE": "https://..."}',
            field="country_urls",
        )
    urls = {}
    for key, url in value.items():
        code = key.strip().upper() if isinstance(key, str) else ""
        if not is_country(code):
            raise ApiError(
                f"country_urls: {key!r} is not an ISO 3166-1 alpha-2 country code (e.g. DE, US)",
                field="country_urls",
            )
        if code in urls:
            raise ApiError(f"country_urls names {code} twice", field="country_urls")
        urls[code] = check_destination(url, own_hosts, blocked_hosts, field="country_urls")
    return json.dumps(dict(sorted(urls.items())))


def feature_columns(fields: dict, own_hosts=(), blocked_hosts=(), only_given=False) -> dict:
    """Column values for the feature fields in a create (every column) or
    PATCH (`only_given`: just the fields sent) body."""
    checks = {
        "destinations": lambda v: check_destinations(v, own_hosts, blocked_hosts),
        "expired_url": lambda v: _optional_url(v, "expired_url", own_hosts, blocked_hosts),
        "max_clicks": check_max_clicks,
        "country_urls": lambda v: check_country_urls(v, own_hosts, blocked_hosts),
        **{
            f: (lambda v, f=f: _optional_url(v, f, own_hosts, blocked_hosts))
            for f in DEVICE_URL_FIELDS
        },
    }
    names = [f for f in checks if f in fields] if only_given else list(checks)
    return {f: checks[f](fields.get(f)) for f in names}


def as_json(link: dict) -> dict:
    """The feature fields as the API shows them."""
    link["destinations"] = json.loads(link["destinations"]) if link.get("destinations") else []
    link["country_urls"] = json.loads(link["country_urls"]) if link.get("country_urls") else {}
    return link
