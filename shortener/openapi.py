"""GET /api/openapi.json: an OpenAPI 3 description of the JSON API.

It is built from the app's own URL map, so it lists exactly the routes
that exist: the ones described here in detail get their parameters and
body schemas, and any other /api route (added later) still appears with its
path variables and methods. The test suite fuzzes the API from this
document (schemathesis) and checks that no request gets a 5xx.

The document is public: it describes the API, and every operation in it
still needs the API key.
"""

import re

from flask import Blueprint, current_app, jsonify
from werkzeug.routing import IntegerConverter

bp = Blueprint("openapi", __name__)

DOC_PATH = "/api/openapi.json"
DATE = {"type": "string", "format": "date"}
MODELS = ["last_touch", "first_touch", "linear", "position_based", "time_decay"]
TEXT = {"type": "string", "maxLength": 200}
NULLABLE_TEXT = {"type": ["string", "null"], "maxLength": 200}
WEBHOOK_EVENTS = ["click.created", "conversion.created", "link.created"]


def query(name: str, schema: dict, description: str = "") -> dict:
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
    "url": {"type": "string", "maxLength": 2048, "description": "http(s) destination"},
    "channel": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_.-]{0,39}$"},
    "campaign": TEXT,
    "medium": NULLABLE_TEXT,
    "content": NULLABLE_TEXT,
    "term": NULLABLE_TEXT,
    "code": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$"},
    "expires_at": {"type": ["string", "null"], "format": "date-time"},
    "tags": {"type": "array", "maxItems": 20, "items": {"type": "string", "maxLength": 50}},
    "disabled": {"type": "boolean"},
    "title": NULLABLE_TEXT,
    "description": {"type": ["string", "null"], "maxLength": 500},
    "image": {"type": ["string", "null"], "maxLength": 2048, "description": "http(s) URL"},
    "destinations": {
        "type": "array",
        "maxItems": 10,
        "description": "A/B destinations: [] or 2-10 variants, each visitor kept on one",
        "items": {
            "type": "object",
            "properties": {
                "url": {"type": "string", "maxLength": 2048},
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
        f: {"type": ["string", "null"], "maxLength": 2048, "description": d}
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
        "propertyNames": {"pattern": "^[A-Za-z]{2}$"},
        "additionalProperties": {"type": "string", "maxLength": 2048},
    },
}
FEATURES = ("destinations", "ios_url", "android_url", "desktop_url", "expired_url", "max_clicks",
            "country_urls")  # fmt: skip
ADVOCATE_KEY = {"oneOf": [{"type": "integer", "minimum": 1},
                          {"type": "string", "minLength": 1, "maxLength": 40}]}  # fmt: skip
MONEY = {"oneOf": [{"type": "string", "pattern": r"^\d{1,13}(\.\d{1,3})?$"},
                   {"type": "integer", "minimum": 0}]}  # fmt: skip


def body(properties: dict, required=()) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = list(required)
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def pick(*names) -> dict:
    return {n: LINK_FIELDS[n] for n in names}


REWARD_RULE_FIELDS = {
    "campaign": TEXT,
    "beneficiary": {"type": "string", "enum": ["advocate", "friend"]},
    "goal": {"type": "string", "maxLength": 40},
    "amount": MONEY,
    "percent": {"oneOf": [{"type": "string", "pattern": r"^\d{1,3}(\.\d{1,2})?$"},
                          {"type": "number", "exclusiveMinimum": 0, "maximum": 100}]},
    "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
    "valid_from": {"type": ["string", "null"], "format": "date"},
    "valid_to": {"type": ["string", "null"], "format": "date"},
    "holding_days": {"type": "integer", "minimum": 0, "maximum": 3650},
    "cap_count": {"type": ["integer", "null"], "minimum": 1},
    "cap_amount": {"oneOf": [*MONEY["oneOf"], {"type": "null"}]},
    "note": {"type": ["string", "null"], "maxLength": 500},
    "active": {"type": "boolean"},
    "verified_only": {"type": "boolean"},
}  # fmt: skip
REWARD_STATUSES = ["pending", "approved", "paid", "voided", "refused"]
BOOLEAN_TEXT = {"type": "string", "enum": ["true", "false"]}
ID = {"type": "integer", "minimum": 1}
LEDGER_QUERY = [
    query("beneficiary", {"type": "string", "enum": ["advocate", "friend"]}),
    query("advocate_id", ID),
    query("rule_id", ID),
    query("conversion_id", ID),
    query("campaign", TEXT),
    query("currency", {"type": "string", "pattern": "^[A-Z]{3}$"}),
    query("payout_batch", TEXT),
    query("from", DATE, "first conversion day (UTC), inclusive"),
    query("to", DATE, "last conversion day (UTC), inclusive"),
    query("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
    query("offset", {"type": "integer", "minimum": 0}),
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
            query("offset", {"type": "integer", "minimum": 0}),
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
                "name": TEXT,
                "handle": {"type": "string", "pattern": "^[a-z0-9][a-z0-9_-]{1,39}$"},
                "email": {"type": ["string", "null"], "format": "email", "maxLength": 254},
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
            query("offset", {"type": "integer", "minimum": 0}),
            query("active", {"type": "string", "enum": ["true", "false"]}),
        ],
    },
    ("/api/advocates/{key}", "get"): {"summary": "One advocate (id or handle) and their links"},
    ("/api/advocates/{key}", "patch"): {
        "summary": "Change an advocate's name, email, customer id or active flag",
        "requestBody": body(
            {
                "name": TEXT,
                "email": {"type": ["string", "null"], "format": "email", "maxLength": 254},
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
                "url": {"type": "string", "maxLength": 2048, "description": "http(s) URL"},
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
                "url": {"type": "string", "maxLength": 2048},
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
            query("offset", {"type": "integer", "minimum": 0}),
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
    ("/api/goals", "get"): {"summary": "The goal catalogue"},
    ("/api/goals/{name}", "put"): {
        "summary": "Add a goal or change its default value",
        "requestBody": body(
            {
                "value": MONEY,
                "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
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
                "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
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
                "from": DATE,
                "to": DATE,
                "channel": LINK_FIELDS["channel"],
                "campaign": TEXT,
                "kind": {"type": "string", "maxLength": 20},
                "amount": MONEY,
                "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
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
                "from": DATE,
                "to": DATE,
                "channel": LINK_FIELDS["channel"],
                "campaign": NULLABLE_TEXT,
                "kind": {"type": "string", "maxLength": 20},
                "amount": MONEY,
                "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
                "note": {"type": ["string", "null"], "maxLength": 500},
                "advocate": {"oneOf": [*ADVOCATE_KEY["oneOf"], {"type": "null"}]},
            }
        ),
    },  # fmt: skip
    # issue 7: two-way incentives (conversions/rewards_views.py)
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
                    "items": {"type": "integer", "minimum": 1},
                },
                "all_approved": {"type": "boolean"},
                "up_to": {"type": "string", "format": "date-time"},
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
                            "refunded_at": {"type": "string", "format": "date-time"},
                        },
                        "additionalProperties": False,
                    }
                }
            },
        },
    },
}
PATH_VARIABLE = re.compile(r"<(?:[a-zA-Z_]+(?:\([^)]*\))?:)?([a-zA-Z_]+)>")


def _template(rule) -> str:
    return PATH_VARIABLE.sub(r"{\1}", rule.rule)


def _path_parameters(rule) -> list[dict]:
    parameters = []
    for name, converter in rule._converters.items():
        if isinstance(converter, IntegerConverter):
            schema = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}  # SQLite INTEGER
        else:
            schema = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[^/]+$"}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


RESPONSES = {
    "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}},
    "400": {"$ref": "#/components/responses/Error"},
    "401": {"$ref": "#/components/responses/Error"},
    "404": {"$ref": "#/components/responses/Error"},
}


def document(app) -> dict:
    paths: dict[str, dict] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/") or rule.rule == DOC_PATH:
            continue
        template = _template(rule)
        for method in sorted(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}):
            known = OPERATIONS.get((template, method), {})
            operation = {
                "operationId": f"{rule.endpoint}.{method}",
                "summary": known.get("summary", rule.endpoint),
                "parameters": _path_parameters(rule) + known.get("parameters", []),
                "responses": RESPONSES,
            }
            if "requestBody" in known:
                operation["requestBody"] = known["requestBody"]
            elif method in ("post", "put", "patch"):
                operation["requestBody"] = {
                    "content": {"application/json": {"schema": {"type": "object"}}}
                }
            paths.setdefault(template, {})[method] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "clicktrail",
            "version": "1",
            "description": "Campaign short links, conversions and reports. Every operation "
            'needs `Authorization: Bearer <API key>`; errors are `{"error", "field"}`.',
        },
        "servers": [{"url": "/"}],
        "security": [{"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "responses": {
                "Error": {
                    "description": "refused: the body names what is wrong",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["error"],
                                "properties": {
                                    "error": {"type": "string"},
                                    "field": {"type": "string"},
                                },
                            }
                        }
                    },
                }
            },
        },
    }


@bp.get(DOC_PATH)
def openapi_json():
    return jsonify(document(current_app))
