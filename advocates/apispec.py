"""The advocates part's JSON API, declared in the shape `shortener.apispec`
describes: advocates and their personal links, the advocate reports,
reward rules, the rewards ledger and refunds. Registered for an app by
this part's `init_app`; the e-mail form is this part's own.
"""

from conversions.apispec import CURRENCY, MONEY, REPORT_QUERY
from shortener.apispec import (
    ADVOCATE_KEY,
    DATE,
    MOMENT,
    NULLABLE_TEXT,
    REQUIRED_TEXT,
    TEXT,
    body,
    body_schema,
    optional_email,
    query,
    register,
)

from .people import EMAIL as EMAIL_FORM

EMAIL = optional_email(EMAIL_FORM.pattern)
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


# what one field says about another
body_schema(OPERATIONS[("/api/links/{code}/share", "post")]).update(
    minProperties=1,
    maxProperties=1,
    **{
        "x-field": "advocate",
        "x-message": "give either advocate (id or handle) or advocates (a list)",
    },
)
body_schema(OPERATIONS[("/api/reward-rules", "post")]).update(
    oneOf=[{"required": ["amount"]}, {"required": ["percent"]}],  # flat, or a share of revenue
    **{
        "x-field": "amount",
        "x-message": "give either amount (flat) or percent (of the attributed revenue)",
    },
)
body_schema(OPERATIONS[("/api/rewards/mark-paid", "post")]).update(
    oneOf=[
        {"required": ["ids"], "not": {"required": ["all_approved"]}},
        {"required": ["all_approved"], "properties": {"all_approved": {"const": True}},
         "not": {"required": ["ids"]}},
    ],
    dependentRequired={"up_to": ["all_approved"]},  # a cut-off only for "every approved"
    **{"x-field": "ids", "x-message": 'give either "ids": [...] or "all_approved": true'},
)  # fmt: skip
body_schema(OPERATIONS[("/api/advocates", "post")])["not"] = {
    "required": ["referred_by_conversion", "referred_by_visitor"]
}
body_schema(OPERATIONS[("/api/advocates", "post")]).update(
    {
        "x-field": "referred_by_conversion",
        "x-message": "give referred_by_conversion or referred_by_visitor, not both",
    }
)
# path variables narrower than "any text without a slash"


def init_app(app) -> None:
    register(app, OPERATIONS)
