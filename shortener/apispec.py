"""The JSON API declared once: each operation under /api with its query
parameters and JSON body as JSON Schema (OpenAPI 3.1 schemas are JSON
Schema 2020-12), and what it can answer.

Each part declares its own operations next to its views (this module: the
links and their QR codes; `conversions.apispec`, `advocates.apispec`) and
registers them for an app in its `init_app` (`register`). Two things are
made from an app's registered set (`operations_of`): the OpenAPI document
(`openapi.py`, served at /api/openapi.json) and the input checks every API
view runs before its own code (`check_request`, called by
`auth.require_api_key` once the caller is known). A parameter or field the
document allows is therefore one the API accepts, and the other way round.
Checks that need the database (an unknown advocate, a code already taken)
and rules JSON Schema cannot say (from not after to, a time not in the
future) stay in the services.

The building blocks shared by the parts' declarations (text, URL, date and
money forms, `query`, `body`) live here too.
"""

import json
import re
from datetime import datetime
from decimal import Decimal

from flask import current_app, request
from jsonschema import Draft202012Validator, FormatChecker

from .countries import NAMES as COUNTRIES
from .errors import ApiError
from .linkoptions import DEVICE_URL_FIELDS, check_country_urls, check_destinations
from .links import check_image, normalise_destination

DATE = {"type": "string", "format": "date"}
# Python's whitespace, spelled out: regex engines (the fuzzer's among them)
# disagree on what \s covers beyond ASCII
_WS = r" \t\n\r\f\v\x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_S = f"[{_WS}]"


def any_case(codes) -> str:
    """A pattern for one of these codes (of letters) in any case, with
    spaces around allowed: the services normalise both."""
    choices = "|".join("".join(f"[{c}{c.lower()}]" for c in code) for code in codes)
    return f"^{_S}*({choices}){_S}*$"


def optional_email(form: str) -> dict:
    """An e-mail field of this form (a regular expression written with \\s),
    without control characters; blank means none."""
    plain = form.replace(r"\s", _WS + r"\x00-\x1f\x7f")
    return {"type": ["string", "null"], "maxLength": 254, "pattern": f"^{_S}*(?:{plain})?{_S}*$"}


# the services normalise case and surrounding spaces, so the document allows them
CHANNEL = {"type": "string", "pattern": f"^{_S}*[A-Za-z0-9][A-Za-z0-9_.-]{{0,39}}{_S}*$"}
# an assigned ISO 3166-1 alpha-2 code, any case (stored upper-case)
COUNTRY_PATTERN = any_case(sorted(COUNTRIES))
# ISO 8601 as the services read it (datetime.fromisoformat); no offset means UTC
MOMENT = {"type": "string", "format": "date-time"}
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


def query(name: str, schema: dict, description: str = "") -> dict:
    if schema is TEXT:  # a filter takes any text: at worst it matches nothing
        schema = {"type": "string", "maxLength": 200}
    return {"name": name, "in": "query", "required": False, "schema": schema,
            "description": description}  # fmt: skip


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
    "password": {
        "type": ["string", "null"],
        "minLength": 8,
        "maxLength": 128,
        "writeOnly": True,
        "description": "visitors must give it before the redirect (stored hashed; the link"
        " shows only `protected`); null clears it",
    },
}
FEATURES = ("destinations", "ios_url", "android_url", "desktop_url", "expired_url", "max_clicks",
            "country_urls")  # fmt: skip
ADVOCATE_KEY = {"oneOf": [{"type": "integer", "minimum": 1},
                          {"type": "string", "minLength": 1, "maxLength": 40}]}  # fmt: skip


def body(properties: dict, required=()) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def pick(*names) -> dict:
    return {n: LINK_FIELDS[n] for n in names}


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
                "password",
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
                "password",
            )
        ),
    },  # fmt: skip
    ("/api/links/{code}", "delete"): {"summary": "Disable a link (its data is kept)"},
    ("/api/links/{code}/qr", "get"): {
        "summary": "A QR code of the link's scan URL (short URL + ?qr=1), SVG or PNG",
        "parameters": [
            query("format", {"type": "string", "enum": ["svg", "png"]}),
            query("size", {"type": "integer", "minimum": 64, "maximum": 4096}, "width in pixels"),
        ],
    },
}


def body_schema(operation: dict) -> dict:
    """The JSON Schema of an operation's body, for rules between its fields."""
    return operation["requestBody"]["content"]["application/json"]["schema"]


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


# -- the operations an app serves, registered by each part -----------------------

STATE = "clicktrail.api_operations"


def register(app, operations: dict) -> None:
    """Add a part's declared operations to those of this app (a part's
    `init_app` calls this); the checks and the document read them from
    here."""
    state = app.extensions.setdefault(STATE, {"operations": {}, "validators": {}})
    taken = state["operations"].keys() & operations.keys()
    if taken:
        raise ValueError(f"operations declared twice: {sorted(taken)}")
    for operation in operations.values():
        if "requestBody" in operation:
            _no_control_characters(operation["requestBody"])
    state["operations"].update(operations)


def operations_of(app) -> dict:
    """(path template, method) -> declaration, for every operation this app's
    parts declared."""
    return app.extensions.get(STATE, {"operations": {}})["operations"]


def init_app(app) -> None:
    register(app, OPERATIONS)


PATH_VARIABLE = re.compile(r"<(?:[a-zA-Z_]+(?:\([^)]*\))?:)?([a-zA-Z_]+)>")


def template(rule: str) -> str:
    """`/api/links/<code>` as the document writes it: `/api/links/{code}`."""
    return PATH_VARIABLE.sub(r"{\1}", rule)


# -- checking a request against its declaration ------------------------------------


FORMATS = FormatChecker()  # jsonschema's formats, with date-time as the services read it


@FORMATS.checks("date-time", raises=ValueError)
def _moment(value) -> bool:
    return not isinstance(value, str) or datetime.fromisoformat(value) is not None


def _validator(key: tuple[str, str], where: str, name: str = "") -> Draft202012Validator:
    """The checker of one part of an operation's input, made once per app."""
    validators = current_app.extensions[STATE]["validators"]
    if (key, where, name) not in validators:
        operation = operations_of(current_app)[key]
        if where == "body":
            schema = body_schema(operation)
        else:
            schema = next(p["schema"] for p in operation["parameters"] if p["name"] == name)
        validators[key, where, name] = Draft202012Validator(schema, format_checker=FORMATS)
    return validators[key, where, name]


def check_request(rule: str | None = None) -> None:
    """Refuse (400, naming the field) a query or body the declaration of
    this request's operation does not allow. `rule` is the API route whose
    declaration applies when its view runs under another route (the
    dashboard's downloads); by default, the request's own."""
    if rule is None:
        if request.url_rule is None:
            return
        rule = request.url_rule.rule
    key = (template(rule), request.method.lower())
    operation = operations_of(current_app).get(key)
    if operation is None:
        return
    for parameter in operation.get("parameters", []):
        _check_parameter(key, parameter)
    if "requestBody" in operation:
        _check_body(key, operation["requestBody"])


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
    if error.validator == "enum" and len(value) <= 2:  # the words the views used to say
        return f"{name} must be {' or '.join(map(str, value))}"
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
