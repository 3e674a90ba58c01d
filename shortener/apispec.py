"""The JSON API declared once: every operation under /api with its query
parameters and JSON body as JSON Schema (OpenAPI 3.1 schemas are JSON
Schema 2020-12), and what it can answer.

Two things are made from these declarations: the OpenAPI document
(`openapi.py`, served at /api/openapi.json) and the input checks every API
view runs before its own code (`check_request`, called by
`auth.require_api_key` once the caller is known). A parameter or field the
document allows is therefore one the API accepts, and the other way round.
Checks that need the database (an unknown advocate, a code already taken)
and rules JSON Schema cannot say (from not after to, a time not in the
future) stay in the services.
"""

import json
import re
from datetime import datetime
from decimal import Decimal
from functools import cache

from flask import request
from jsonschema import Draft202012Validator, FormatChecker

from .countries import NAMES as COUNTRIES
from .errors import ApiError
from .linkoptions import DEVICE_URL_FIELDS, check_country_urls, check_destinations
from .links import check_image, normalise_destination

DATE = {"type": "string", "format": "date"}
COST_DAY = {**DATE, "pattern": "^[2-9]"}  # a cost row's days are years 2000 to 9999
# Facts of the parts above this one (shortener imports none of them), written
# here and checked equal to theirs by tests/test_openapi.py: cost kinds, the
# goal name form, the currencies the money module knows, the e-mail form.
KINDS = ("labor", "platform", "ads", "other")
GOAL_NAME_PATTERN = "^[a-z0-9][a-z0-9_]{0,39}$"
CURRENCIES = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD BTN
    BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUC CUP CVE CZK DJF DKK DOP DZD EGP
    ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK
    JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK
    MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN
    PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SLL SOS SRD SSP STN SVC SYP SZL THB
    TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES VND VUV WST XAF XCD
    XCG XOF XPF YER ZAR ZMW ZWG ZWL
""".split()
EMAIL_FORM = r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{1,63}"
# Python's whitespace, spelled out: regex engines (the fuzzer's among them)
# disagree on what \s covers beyond ASCII
_WS = r" \t\n\r\f\v\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_S = f"[{_WS}]"
# the advocates' e-mail form, without control characters; blank means none
EMAIL = {
    "type": ["string", "null"],
    "maxLength": 254,
    "pattern": f"^{_S}*(?:" + EMAIL_FORM.replace(r"\s", _WS + r"\x00-\x1f\x7f") + f")?{_S}*$",
}
# the services normalise case and surrounding spaces, so the document allows them
CHANNEL = {"type": "string", "pattern": f"^{_S}*[A-Za-z0-9][A-Za-z0-9_.-]{{0,39}}{_S}*$"}
CURRENCY_PATTERN = (  # an ISO 4217 code the money module knows, any case
    f"^{_S}*("
    + "|".join("".join(f"[{c}{c.lower()}]" for c in code) for code in CURRENCIES)
    + f"){_S}*$"
)
CURRENCY = {"type": "string", "pattern": CURRENCY_PATTERN}
COUNTRY_PATTERN = (  # an assigned ISO 3166-1 alpha-2 code, any case (stored upper-case)
    f"^{_S}*("
    + "|".join(f"[{a}{a.lower()}][{b}{b.lower()}]" for a, b in sorted(COUNTRIES))
    + f"){_S}*$"
)
# ISO 8601 as datetime.fromisoformat reads it; no offset means UTC
# ISO 8601 as the services read it (datetime.fromisoformat); no offset means UTC
MOMENT = {"type": "string", "format": "date-time"}
MODELS = ["last_touch", "first_touch", "linear", "position_based", "time_decay"]
_PLAIN = r"[^\x00-\x1f\x7f]"  # no control characters (lone surrogates: the services)
NO_CONTROL = f"^{_PLAIN}*$"
TEXT = {"type": "string", "maxLength": 200, "pattern": NO_CONTROL}
# required text: something left once the services strip the spaces
REQUIRED_TEXT = {**TEXT, "pattern": rf"^{_PLAIN}*[^{_WS}\x00-\x1f\x7f]{_PLAIN}*$"}
# an http(s) URL with a host name or address (the services refuse this host and blocked ones)
# printable ASCII or word characters (international names are IDNA- or
# percent-encoded by the services), without spaces or control characters
_URL_CHAR = r"(?:[!-~]|\w)"
# a host: names of word characters and hyphens, or an IPv6 address in
# brackets; a port up to 65535; no user name or password
_H = "[0-9A-Fa-f]{1,4}"
_IPV4 = r"(?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9])(?:\.(?:25[0-5]|(?:2[0-4]|1?[0-9])?[0-9])){3}"
_IPV6 = "|".join([
    f"(?:{_H}:){{7}}{_H}", f"(?:{_H}:){{1,7}}:", f"(?:{_H}:){{1,6}}:{_H}",
    *(f"(?:{_H}:){{1,{n}}}(?::{_H}){{1,{7 - n}}}" for n in range(1, 6)),
    f":(?:(?::{_H}){{1,7}}|:)",
    f"::(?:[Ff]{{4}}(?::0{{1,4}})?:)?{_IPV4}", f"(?:{_H}:){{1,4}}:{_IPV4}",
])  # fmt: skip
_PORT = "(?:[0-9]{1,4}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])"
# a name's last label does not start with a digit: a browser reads a host
# ending in a number as an IPv4 address, in any of the forms below
_NAME = r"(?:\w(?:[\w-]*\w)?\.)*[^\W\d](?:[\w-]*\w)?\.?"
_D = "[0-9０-９]"  # full-width digits are digits to a browser too
_BYTE = (  # one part of a dotted address: up to 255 as hex, octal or decimal
    rf"(?:0[xX][0-9A-Fa-f]{{1,2}}|0[0-3]?[0-7]{{0,2}}|[1-9１-９]{_D}?"
    rf"|[1１]{_D}{_D}|[2２][0-4０-４]{_D}|[2２][5５][0-5０-５]|０)"
)
_WHOLE = "(?:0[xX][0-9A-Fa-f]{1,8}|0[0-7]{0,10}|[1-9][0-9]{0,8}|[1-3][0-9]{9})"  # 32 bits
_NUMBERS = rf"(?:(?:{_BYTE}\.){{1,3}}{_BYTE}|{_WHOLE})\.?"
_HOST = rf"(?:\[(?:{_IPV6})\]|{_NAME}|{_NUMBERS})(?::{_PORT})?"
HTTP_URL = rf"^[Hh][Tt][Tt][Pp][Ss]?://{_HOST}(?:[/?#]{_URL_CHAR}*)?$"
URL = {"type": "string", "maxLength": 2048, "pattern": HTTP_URL}
URL_OR_NONE = {"anyOf": [{"type": "null"}, {"const": ""}, URL]}  # "" or null: none
NULLABLE_TEXT = {"type": ["string", "null"], "maxLength": 200, "pattern": NO_CONTROL}
WEBHOOK_EVENTS = ["click.created", "conversion.created", "link.created"]


def query(name: str, schema: dict, description: str = "") -> dict:
    if schema is TEXT:  # a filter takes any text: at worst it matches nothing
        schema = {"type": "string", "maxLength": 200}
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}  # fmt: skip


REPORT_QUERY = [
    query("from", DATE, "first day (UTC), inclusive; none: from the beginning"),
    query("to", DATE, "last day (UTC), inclusive; none: up to today"),
    query("model", {"type": "string", "enum": MODELS}, "attribution model"),
    query("channel", {"type": "string", "maxLength": 40}),
    query("campaign", TEXT),
    query("goal", {"type": "string", "maxLength": 40}),
    query("format", {"type": "string", "enum": ["json", "csv"]}),
]
LINK_FIELDS = {
    "url": {
        "type": "string",
        "maxLength": 2048,
        "pattern": HTTP_URL,
        "description": "http(s) destination",
    },
    "channel": CHANNEL,
    "campaign": REQUIRED_TEXT,
    "medium": NULLABLE_TEXT,
    "content": NULLABLE_TEXT,
    "term": NULLABLE_TEXT,
    "code": {
        "type": ["string", "null"],
        "pattern": "^(|[A-Za-z0-9][A-Za-z0-9_-]{2,63})$",
        "description": "empty or absent: a random one",
    },
    "expires_at": {
        "anyOf": [{"type": "null"}, {"const": ""}, MOMENT],  # "" or null: never
        "description": "ISO 8601; no offset means UTC",
    },
    "tags": {
        "type": ["array", "null"],
        "maxItems": 20,
        "items": {**REQUIRED_TEXT, "maxLength": 50},
    },
    "disabled": {"type": "boolean"},
    "title": NULLABLE_TEXT,
    "description": {"type": ["string", "null"], "maxLength": 500},
    "image": {**URL_OR_NONE, "description": "http(s) URL"},
    "destinations": {
        "type": ["array", "null"],
        "maxItems": 10,
        "anyOf": [{"maxItems": 0}, {"minItems": 2}],  # none, or a test of two or more
        "description": "A/B destinations: [] or 2-10 variants, each visitor kept on one",
        "items": {
            "type": "object",
            "properties": {
                "url": {"type": "string", "maxLength": 2048, "pattern": HTTP_URL},
                "weight": {"type": "integer", "minimum": 1, "maximum": 10000},
                "name": {
                    "type": "string",
                    "pattern": "^[A-Za-z0-9](?:[A-Za-z0-9_. -]{0,30}[A-Za-z0-9_.-])?$",
                },
            },
            "required": ["url"],
            "additionalProperties": False,
        },
    },
    **{
        f: {**URL_OR_NONE, "description": d}
        for f, d in (
            ("ios_url", "destination for iPhones and iPads"),
            ("android_url", "destination for Android devices"),
            ("desktop_url", "destination for desktop computers"),
            ("expired_url", "where visitors go after expiry or max_clicks (none: 410)"),
        )
    },
    "max_clicks": {"type": ["integer", "null"], "minimum": 1, "maximum": 10**12},
    "country_urls": {
        "type": ["object", "null"],
        "description": "destinations per visitor country (ISO 3166-1 alpha-2 code: URL);"
        " after device destinations, before A/B destinations; {} or null clears",
        "propertyNames": {"pattern": COUNTRY_PATTERN},
        "additionalProperties": URL,
    },
}
FEATURES = ("destinations", "ios_url", "android_url", "desktop_url", "expired_url", "max_clicks",
            "country_urls")  # fmt: skip
ADVOCATE_KEY = {"oneOf": [{"type": "integer", "minimum": 1},
                          {"type": "string", "minLength": 1, "maxLength": 40}]}  # fmt: skip
MONEY = {"anyOf": [{"type": "string", "pattern": r"^\d{1,12}(\.\d{1,3})?$"},
                   {"type": "number", "minimum": 0, "maximum": 10**12},
                   {"type": "integer", "minimum": 0, "maximum": 10**12}]}  # fmt: skip


def body(properties: dict, required=()) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def pick(*names) -> dict:
    return {n: LINK_FIELDS[n] for n in names}


REWARD_RULE_FIELDS = {
    "campaign": REQUIRED_TEXT,
    "beneficiary": {"type": "string", "enum": ["advocate", "friend"]},
    "goal": {"type": "string", "maxLength": 40},
    "amount": MONEY,
    "percent": {"oneOf": [  # more than 0, at most 100, to the hundredth
        {"type": "string",
         "pattern": r"^(100(\.00?)?|0\.(0[1-9]|[1-9][0-9]?)|[1-9][0-9]?(\.[0-9]{1,2})?)$"},
        {"type": "number", "exclusiveMinimum": 0, "maximum": 100},
    ]},
    "currency": CURRENCY,
    "valid_from": {"type": ["string", "null"], "format": "date", "pattern": "^[2-9]"},
    "valid_to": {"type": ["string", "null"], "format": "date", "pattern": "^[2-9]"},
    "holding_days": {"type": "integer", "minimum": 0, "maximum": 3650},
    "cap_count": {"type": ["integer", "null"], "minimum": 1, "maximum": 10**9},
    "cap_amount": {"anyOf": [*MONEY["anyOf"], {"type": "null"}]},
    "note": {"type": ["string", "null"], "maxLength": 500},
    "active": {"type": "boolean"},
    "verified_only": {"type": "boolean"},
}  # fmt: skip
REWARD_STATUSES = ["pending", "approved", "paid", "voided", "refused"]
BOOLEAN_TEXT = {"type": "string", "enum": ["true", "false"]}
ID = {"type": "integer", "minimum": 1, "maximum": 10**18 - 1}  # 18 digits, as the filters read them
LEDGER_QUERY = [
    query("beneficiary", {"type": "string", "enum": ["advocate", "friend"]}),
    query("advocate_id", ID),
    query("rule_id", ID),
    query("conversion_id", ID),
    query("campaign", TEXT),
    query("currency", CURRENCY),
    query("payout_batch", TEXT),
    query("from", DATE, "first conversion day (UTC), inclusive"),
    query("to", DATE, "last conversion day (UTC), inclusive"),
    query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
    query("offset", {"type": "integer", "minimum": 0, "maximum": 10**9}),
    query("format", {"type": "string", "enum": ["json", "csv"]}),
]

# (path template, method) -> what is known beyond the URL map
OPERATIONS = {
    ("/api/links", "post"): {
        "summary": "Create a short link",
        "requestBody": body(
            pick(
                "url",
                "channel",
                "campaign",
                "medium",
                "content",
                "term",
                "code",
                "expires_at",
                "tags",
                "title",
                "description",
                "image",
                *FEATURES,
            ),
            required=("url", "channel", "campaign"),
        ),  # fmt: skip
    },
    ("/api/links", "get"): {
        "summary": "Search and list links, newest first or by clicks",
        "parameters": [
            query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
            query("offset", {"type": "integer", "minimum": 0, "maximum": 10**9}),
            query("channel", {"type": "string", "maxLength": 40}),
            query("campaign", TEXT),
            query("tag", {"type": "string", "maxLength": 50}, "links carrying exactly this tag"),
            query("q", TEXT, "text in the code, url, campaign or title"),
            query("sort", {"type": "string", "enum": ["newest", "clicks"]}),
        ],
    },
    ("/api/links/{code}", "get"): {"summary": "One link"},
    ("/api/links/{code}", "patch"): {
        "summary": "Change a link's destination, tags, expiry or disabled flag",
        "requestBody": body(
            pick(
                "url",
                "medium",
                "content",
                "term",
                "expires_at",
                "tags",
                "disabled",
                "title",
                "description",
                "image",
                *FEATURES,
            )
        ),
    },  # fmt: skip
    ("/api/links/{code}", "delete"): {"summary": "Disable a link (its data is kept)"},
    ("/api/links/{code}/share", "post"): {
        "summary": "An advocate's personal link for this link (idempotent); bulk with advocates",
        "requestBody": body(
            {
                "advocate": ADVOCATE_KEY,
                "advocates": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 1000,
                    "items": ADVOCATE_KEY,
                },
            }
        ),
    },  # fmt: skip
    ("/api/advocates", "post"): {
        "summary": "Create an advocate (optionally referred by a conversion or visitor)",
        "requestBody": body(
            {
                "name": REQUIRED_TEXT,
                "handle": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{1,39}$"},
                "email": EMAIL,
                "customer_id": NULLABLE_TEXT,
                "referred_by_conversion": {"type": "integer", "minimum": 1},
                "referred_by_visitor": {"type": "string", "maxLength": 100},
                "share": {"type": "boolean"},
            },
            required=("name",),
        ),
    },
    ("/api/advocates", "get"): {
        "summary": "List advocates, oldest first",
        "parameters": [
            query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
            query("offset", {"type": "integer", "minimum": 0, "maximum": 10**9}),
            query("active", {"type": "string", "enum": ["true", "false"]}),
        ],
    },
    ("/api/advocates/{key}", "get"): {"summary": "One advocate (id or handle) and their links"},
    ("/api/advocates/{key}", "patch"): {
        "summary": "Change an advocate's name, email, customer id or active flag",
        "requestBody": body(
            {
                "name": REQUIRED_TEXT,
                "email": EMAIL,
                "customer_id": NULLABLE_TEXT,
                "active": {"type": "boolean"},
            }
        ),
    },
    ("/api/advocates/{key}", "delete"): {"summary": "Deactivate an advocate (data is kept)"},
    ("/api/links/{code}/qr", "get"): {
        "summary": "A QR code of the link's scan URL (short URL + ?qr=1), SVG or PNG",
        "parameters": [
            query("format", {"type": "string", "enum": ["svg", "png"]}),
            query("size", {"type": "integer", "minimum": 64, "maximum": 4096}, "width in pixels"),
        ],
    },
    ("/api/links/{code}/ab", "get"): {
        "summary": "The A/B test of a link: per variant visitors, conversions, significance",
        "parameters": [query("format", {"type": "string", "enum": ["json", "csv"]})],
    },
    ("/api/links/{code}/ab/end", "post"): {
        "summary": "End the A/B test keeping one variant as the link's url",
        "requestBody": body(
            {"variant": {"type": "string", "maxLength": 32}}, required=("variant",)
        ),
    },
    ("/api/links/{code}/posts", "get"): {
        "summary": "A link's posts (clicks through /CODE~POST): clicks, visitors, conversions,"
        " revenue per post",
        "parameters": [*REPORT_QUERY[:3], REPORT_QUERY[5], REPORT_QUERY[6]],
    },
    ("/api/reports/channels", "get"): {
        "summary": "Per-channel clicks, visitors, conversions and revenue",
        "parameters": [
            *REPORT_QUERY,
            query(
                "verified",
                {"type": "string", "enum": ["true", "false"]},
                "only webhook (true) or only pixel (false) conversions",
            ),
        ],
    },  # fmt: skip
    ("/api/reports/breakdown", "get"): {
        "summary": "Clicks, visitors, conversions and revenue per country, device, browser, OS,"
        " referrer host, source (link or qr), post tag, link, campaign or channel; conversions"
        " and revenue credited under the model to the clicks that carried the value",
        "parameters": [
            {
                **query(
                    "by",
                    {
                        "enum": [
                            "country",
                            "device",
                            "browser",
                            "os",
                            "referrer",
                            "source",
                            "post",
                            "link",
                            "campaign",
                            "channel",
                        ]
                    },
                    "what to break the clicks down by",
                ),
                "required": True,
            },
            *REPORT_QUERY,
            query("link", {"type": "string", "maxLength": 64}, "one link's breakdown (its code)"),
        ],
    },
    ("/api/exports/clicks", "get"): {
        "summary": "The click log as CSV, streamed",
        "parameters": [*REPORT_QUERY[:2], query("format", {"type": "string", "enum": ["csv"]})],
    },
    ("/api/reports/advocates", "get"): {
        "summary": "Per advocate: reach, new visitors, converted friends, revenue, rewards,"
        " conversion rate against the campaign average (95 % interval)",
        "parameters": REPORT_QUERY,
    },
    ("/api/reports/referrals", "get"): {
        "summary": "Referral chain per campaign and generation: invitations, friends, k",
        "parameters": REPORT_QUERY,
    },
    ("/api/reports/advocate-candidates", "get"): {
        "summary": "Customers ranked by what they are worth as advocates",
        "parameters": [*REPORT_QUERY, query("as_of", DATE)],
    },
    ("/api/reports/unfurls", "get"): {
        "summary": "Preview fetches by link-preview crawlers, per link and platform",
        "parameters": [
            *REPORT_QUERY[:2],
            query("channel", {"type": "string", "maxLength": 40}),
            query("campaign", TEXT),
            query("platform", {"type": "string", "maxLength": 40}),
            query("format", {"type": "string", "enum": ["json", "csv"]}),
        ],
    },
    ("/api/webhooks", "post"): {
        "summary": "Register an outbound webhook endpoint (its secret is shown once)",
        "requestBody": body(
            {
                "url": {"type": "string", "maxLength": 2048, "pattern": HTTP_URL},
                "events": {"type": "array", "minItems": 1, "items": {"enum": WEBHOOK_EVENTS}},
                "description": {"type": ["string", "null"], "maxLength": 200},
            },
            required=("url", "events"),
        ),
    },
    ("/api/webhooks", "get"): {"summary": "Outbound webhook endpoints"},
    ("/api/webhooks/{endpoint_id}", "get"): {"summary": "One outbound webhook endpoint"},
    ("/api/webhooks/{endpoint_id}", "patch"): {
        "summary": "Change an endpoint's URL, events, description or disabled flag",
        "requestBody": body(
            {
                "url": {"type": "string", "maxLength": 2048, "pattern": HTTP_URL},
                "events": {"type": "array", "minItems": 1, "items": {"enum": WEBHOOK_EVENTS}},
                "description": {"type": ["string", "null"], "maxLength": 200},
                "disabled": {"type": "boolean"},
            }
        ),
    },
    ("/api/webhooks/{endpoint_id}", "delete"): {"summary": "Disable an endpoint (its log is kept)"},
    ("/api/webhooks/{endpoint_id}/deliveries", "get"): {
        "summary": "An endpoint's delivery log, newest first",
        "parameters": [
            query("status", {"type": "string", "enum": ["pending", "delivered", "failed"]}),
            query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
            query("offset", {"type": "integer", "minimum": 0, "maximum": 10**9}),
        ],
    },
    ("/api/reports/{name}", "get"): {
        "summary": "An analytics report by name",
        "parameters": [
            *REPORT_QUERY,
            query("by", {"type": "string", "enum": ["channel", "campaign"]}),
            query("period", {"type": "string", "enum": ["day", "week", "month"]}),
            query("as_of", DATE),
        ],
    },
    ("/api/conversions/{conversion_id}/journey", "get"): {
        "summary": "A conversion's journey: every click before it and the credit each got"
    },
    ("/api/costs/{cost_id}", "delete"): {"summary": "Remove a cost row"},
    ("/api/goals", "get"): {"summary": "The goal catalogue"},
    ("/api/goals/{name}", "put"): {
        "summary": "Add a goal or change its default value",
        "requestBody": body(
            {
                "value": MONEY,
                "currency": CURRENCY,
                "description": {"type": "string", "maxLength": 200},
            }
        ),
    },  # fmt: skip
    ("/api/earned-prices", "get"): {
        "summary": "Prices per click for the earned-value report, and the EARNED_CPC defaults"
    },
    ("/api/earned-prices", "post"): {
        "summary": "Set a channel's or a campaign's price per click (replaces its own)",
        "requestBody": body(
            {
                "channel": LINK_FIELDS["channel"],
                "campaign": NULLABLE_TEXT,
                "price": {"type": "string", "pattern": r"^\d{1,7}(\.\d{1,6})?$"},
                "currency": CURRENCY,
            },
            required=("channel", "price"),
        ),
    },
    ("/api/earned-prices/{price_id}", "delete"): {
        "summary": "Remove a stored price per click (the EARNED_CPC default applies again)"
    },
    ("/api/costs", "get"): {"summary": "Costs overlapping a period", "parameters": REPORT_QUERY},
    ("/api/costs", "post"): {
        "summary": "Record what a channel or campaign cost over some days",
        "requestBody": body(
            {
                "from": COST_DAY,
                "to": COST_DAY,
                "channel": LINK_FIELDS["channel"],
                "campaign": NULLABLE_TEXT,
                "kind": {"enum": list(KINDS)},
                "amount": MONEY,
                "currency": CURRENCY,
                "note": {"type": "string", "maxLength": 500},
                "advocate": ADVOCATE_KEY,  # a creator's fee
            },
            required=("from", "to", "channel", "kind", "amount", "currency"),
        ),
    },  # fmt: skip
    ("/api/costs/{cost_id}", "patch"): {
        "summary": "Change a cost row (null clears campaign, note or advocate)",
        "requestBody": body(
            {
                "from": COST_DAY,
                "to": COST_DAY,
                "channel": LINK_FIELDS["channel"],
                "campaign": NULLABLE_TEXT,
                "kind": {"enum": list(KINDS)},
                "amount": MONEY,
                "currency": CURRENCY,
                "note": {"type": ["string", "null"], "maxLength": 500},
                "advocate": {"oneOf": [*ADVOCATE_KEY["oneOf"], {"type": "null"}]},
            }
        ),
    },  # fmt: skip
    ("/api/reward-rules", "post"): {
        "summary": "Add a reward rule to a campaign (for the advocate or the friend)",
        "requestBody": body(REWARD_RULE_FIELDS, required=("campaign", "beneficiary")),
    },
    ("/api/reward-rules", "get"): {
        "summary": "Reward rules",
        "parameters": [query("campaign", TEXT), query("active", BOOLEAN_TEXT)],
    },
    ("/api/reward-rules/{rule_id}", "get"): {"summary": "One reward rule"},
    ("/api/reward-rules/{rule_id}", "patch"): {
        "summary": "Change a reward rule (applies to conversions from now on)",
        "requestBody": body(REWARD_RULE_FIELDS),
    },
    ("/api/reward-rules/{rule_id}", "delete"): {"summary": "Deactivate a reward rule"},
    ("/api/rewards", "get"): {
        "summary": "The rewards ledger (format=csv for a payout run)",
        "parameters": [*LEDGER_QUERY, query("status", {"type": "string", "enum": REWARD_STATUSES})],
    },
    ("/api/rewards/refusals", "get"): {
        "summary": "Conversions a reward rule refused, with the reason",
        "parameters": LEDGER_QUERY,
    },
    ("/api/rewards/mark-paid", "post"): {
        "summary": "Mark a payout batch paid: reward ids, or every approved reward",
        "requestBody": body(
            {
                "ids": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": 10000,
                    "items": {"type": "integer", "minimum": 1, "maximum": 2**63 - 1},
                },
                "all_approved": {"type": "boolean"},
                "up_to": MOMENT,
            }
        ),
    },  # fmt: skip
    ("/api/conversions/{conversion_id}/refund", "post"): {
        "summary": "Mark a conversion refunded; voids its rewards still pending (idempotent)",
        "requestBody": {
            "required": False,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "reason": {"type": "string", "maxLength": 500},
                            "refunded_at": MOMENT,
                        },
                        "additionalProperties": False,
                    }
                }
            },
        },
    },
}


def _body_schema(path: str, method: str) -> dict:
    return OPERATIONS[(path, method)]["requestBody"]["content"]["application/json"]["schema"]


# what one field says about another
_body_schema("/api/links/{code}/share", "post").update(
    minProperties=1,
    maxProperties=1,
    **{
        "x-field": "advocate",
        "x-message": "give either advocate (id or handle) or advocates (a list)",
    },
)
_body_schema("/api/reward-rules", "post").update(
    oneOf=[{"required": ["amount"]}, {"required": ["percent"]}],  # flat, or a share of revenue
    **{
        "x-field": "amount",
        "x-message": "give either amount (flat) or percent (of the attributed revenue)",
    },
)
_body_schema("/api/rewards/mark-paid", "post").update(
    oneOf=[
        {"required": ["ids"], "not": {"required": ["all_approved"]}},
        {"required": ["all_approved"], "properties": {"all_approved": {"const": True}},
         "not": {"required": ["ids"]}},
    ],
    dependentRequired={"up_to": ["all_approved"]},  # a cut-off only for "every approved"
    **{"x-field": "ids", "x-message": 'give either "ids": [...] or "all_approved": true'},
)  # fmt: skip
_body_schema("/api/advocates", "post")["not"] = {
    "required": ["referred_by_conversion", "referred_by_visitor"]
}
_body_schema("/api/advocates", "post").update(
    {
        "x-field": "referred_by_conversion",
        "x-message": "give referred_by_conversion or referred_by_visitor, not both",
    }
)
# path variables narrower than "any text without a slash"
OPERATIONS[("/api/goals/{name}", "put")]["path"] = {
    "name": {"type": "string", "pattern": GOAL_NAME_PATTERN}
}


def _no_control_characters(schema) -> None:
    """Text fields of a body refuse control characters (the services do);
    said once here rather than beside every field."""
    if not isinstance(schema, dict):
        return
    if "maxLength" in schema and "pattern" not in schema and "string" in schema.get("type", ""):
        schema["pattern"] = NO_CONTROL
    for value in schema.values():
        for child in value if isinstance(value, list) else [value]:
            _no_control_characters(child)


for _operation in OPERATIONS.values():
    if "requestBody" in _operation:
        _no_control_characters(_operation["requestBody"])


PATH_VARIABLE = re.compile(r"<(?:[a-zA-Z_]+(?:\([^)]*\))?:)?([a-zA-Z_]+)>")


def template(rule: str) -> str:
    """`/api/links/<code>` as the document writes it: `/api/links/{code}`."""
    return PATH_VARIABLE.sub(r"{\1}", rule)


def declared(rule: str, method: str) -> dict | None:
    return OPERATIONS.get((template(rule), method.lower()))


# -- checking a request against its declaration ------------------------------------


FORMATS = FormatChecker()  # jsonschema's formats, with date-time as the services read it


@FORMATS.checks("date-time", raises=ValueError)
def _moment(value) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value) is not None


@cache
def _validator(key: tuple[str, str], where: str, name: str = "") -> Draft202012Validator:
    operation = OPERATIONS[key]
    if where == "body":
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
    else:
        schema = next(p["schema"] for p in operation["parameters"] if p["name"] == name)
    return Draft202012Validator(schema, format_checker=FORMATS)


def check_request() -> None:
    """Refuse (400, naming the field) a query or body the declaration of
    this request's operation does not allow."""
    if request.url_rule is None:
        return
    key = (template(request.url_rule.rule), request.method.lower())
    if key not in OPERATIONS:
        return
    for parameter in OPERATIONS[key].get("parameters", []):
        _check_parameter(key, parameter)
    if "requestBody" in OPERATIONS[key]:
        _check_body(key, OPERATIONS[key]["requestBody"])


INTEGER = re.compile(r"-?[0-9]+")


def _check_parameter(key, parameter: dict) -> None:
    name = parameter["name"]
    raw = request.args.get(name)
    if raw is None:
        if parameter.get("required"):
            raise ApiError(f"{name} is required", field=name)
        return
    integer = parameter["schema"].get("type") == "integer" and INTEGER.fullmatch(raw)
    value = int(raw) if integer else raw
    error = _first(_validator(key, "query", name).iter_errors(value))
    if error is not None:
        raise ApiError(_message(name, error), field=name)


def _check_body(key, declaration: dict) -> None:
    raw = request.get_data(cache=True)
    if not raw.strip() and not declaration.get("required"):
        return
    try:  # numbers as Decimal, as the views read them: 25.1 is not a binary float
        body = json.loads(raw, parse_float=Decimal)
    except (ValueError, RecursionError):
        body = None
    if not isinstance(body, dict):
        return  # each view refuses a body that is no object, in its own words
    error = _first(_validator(key, "body").iter_errors(body))
    if error is not None:
        name = _field(error)
        words = _service_words(name, body.get(name))
        raise ApiError(words or _message(name, error), field=name)


ABOUT_FIELDS = ("additionalProperties", "dependentRequired")


def _first(errors):
    """The error to report: one inside a field first (in the order the
    fields are declared), then an unknown or dependent field, then a rule
    about the body as a whole. A missing field is left to the service, which
    names it in the words its callers (the dashboard among them) show."""
    errors = [e for e in errors if e.validator != "required"]
    return min(errors, default=None, key=lambda e: (
        0 if e.absolute_path else 1 if e.validator in ABOUT_FIELDS else 2))  # fmt: skip


def _field(error) -> str:
    """The top-level field at fault: the one the error sits in, the one
    missing, or the one not allowed."""
    if error.absolute_path:
        return str(error.absolute_path[0])
    if error.validator == "required":
        return next(f for f in error.validator_value if f not in error.instance)
    if error.validator == "additionalProperties":
        allowed = error.schema.get("properties", {})
        return sorted(f for f in error.instance if f not in allowed)[0]
    if error.validator == "dependentRequired":
        return next(f for f in error.validator_value if f in error.instance)
    return error.schema.get("x-field", "body")


# fields whose service check needs no database: a refusal is worded by it
# (callers such as the dashboard read those words)
SERVICE_WORDS = {
    "destinations": check_destinations,
    "country_urls": check_country_urls,
    "image": check_image,
    **dict.fromkeys(("url", *DEVICE_URL_FIELDS, "expired_url"), normalise_destination),
}


def _service_words(name: str, value) -> str | None:
    check = SERVICE_WORDS.get(name)
    try:
        if check is not None and value not in (None, ""):
            check(value)
    except ApiError as e:
        return e.message
    except ValueError as e:
        return str(e)
    return None


def _message(name: str, error) -> str:
    schema, value = error.schema, error.validator_value
    if error.validator == "required":
        return f"{name} is required"
    if error.validator == "dependentRequired":
        return f"{name} needs {', '.join(error.validator_value[name])}"
    if not error.absolute_path and "x-message" in schema:  # a rule about the whole body
        return schema["x-message"]
    if error.validator == "additionalProperties":
        allowed = ", ".join(sorted(schema.get("properties", {})))
        return f"unknown field {name}; allowed: {allowed}"
    if error.validator == "enum":
        return f"{name} must be one of {', '.join(map(str, value))}"
    if error.validator in ("minimum", "maximum") and "minimum" in schema and "maximum" in schema:
        return f"{name} must be between {schema['minimum']} and {schema['maximum']}"
    if error.validator == "type" and value == "integer":
        return f"{name} must be a whole number"
    if error.validator == "format" and value == "date":
        return f"{name} must be a date like 2026-03-31"
    if error.validator == "pattern":
        form = f" ({value})" if len(value) <= 80 else ""
        return f"{name} does not have the expected form{form}"
    if error.validator == "maxLength":
        return f"{name} must be at most {value} characters"
    return f"{name}: {error.message}"
