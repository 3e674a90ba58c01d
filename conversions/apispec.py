"""The conversions part's JSON API, declared in the shape `shortener.apispec`
describes: reports, the breakdown, exports, A/B tests, posts, preview
fetches, outbound webhooks, journeys, costs, goals and earned prices.
Registered for an app by this part's `init_app`; the cost kinds, goal
names and currencies are this part's own.
"""

from shortener.apispec import (
    ADVOCATE_KEY,
    DATE,
    HTTP_URL,
    LINK_FIELDS,
    NULLABLE_TEXT,
    TEXT,
    any_case,
    body,
    query,
    register,
)

from . import attribution, outbound
from .costs import KINDS
from .goals import GOAL_NAME
from .money import EXPONENTS

COST_DAY = {**DATE, "pattern": "^[2-9]"}  # a cost row's days are years 2000 to 9999
# an ISO 4217 code the money module knows, any case
CURRENCY = {"type": "string", "pattern": any_case(sorted(EXPONENTS))}
MODELS = list(attribution.MODELS)
WEBHOOK_EVENTS = list(outbound.EVENT_TYPES)
MONEY = {"anyOf": [{"type": "string", "pattern": r"^\d{1,12}(\.\d{1,3})?$"},
                   {"type": "number", "minimum": 0, "maximum": 10**12},
                   {"type": "integer", "minimum": 0, "maximum": 10**12}]}  # fmt: skip
REPORT_QUERY = [
    query("from", DATE, "first day (UTC), inclusive; none: from the beginning"),
    query("to", DATE, "last day (UTC), inclusive; none: up to today"),
    query("model", {"type": "string", "enum": MODELS}, "attribution model"),
    query("channel", {"type": "string", "maxLength": 40}),
    query("campaign", TEXT),
    query("goal", {"type": "string", "maxLength": 40}),
    query("format", {"type": "string", "enum": ["json", "csv"]}),
]

# (path template, method) -> what is known beyond the URL map
OPERATIONS = {
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
    ("/api/webhooks/deliveries/{delivery_id}/retry", "post"): {
        "summary": "Send a failed or backing-off delivery again at the next round"
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
}
# path variables narrower than "any text without a slash": a goal's name
# as goals.GOAL_NAME reads it (\A...\Z there, ^...$ in JSON Schema)
OPERATIONS[("/api/goals/{name}", "put")]["path"] = {
    "name": {"type": "string", "pattern": f"^{GOAL_NAME.pattern[2:-2]}$"}
}


def init_app(app) -> None:
    register(app, OPERATIONS)
