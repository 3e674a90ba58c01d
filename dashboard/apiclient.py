"""The JSON API, called in-process for the signed-in user.

Report pages show what `GET /api/reports/<name>` answers, rather than
calling the report functions themselves: the figures on a page are then the
API's figures by construction, and a report added to the API (costs, ROI,
control group, ...) appears in the dashboard without code of its own.
"""

from flask import current_app, g
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from shortener.errors import ApiError

from . import integrations

# reports the channel report's own module serves; others are discovered
BUILT_IN_REPORTS = ("channels",)
LABELS = {
    "channels": "Channels",
    "attribution": "Attribution by model",
    "roi": "Cost and return",
    "earned": "Earned pay-per-click value",
    "control": "Control group",
    "growth": "Growth",
    "retention": "Retention",
    "tenure": "Tenure",
    "saves": "Saves",
    "cross-sell": "Cross-sell and upsell",
    "goals": "Goals",
    "journeys": "Journeys",
    "advocates": "Advocates",
    "referrals": "Referral chain",
    "advocate-candidates": "Advocate candidates",
}


class ApiUnavailable(LookupError):
    """No GET route serves that path."""


def fetch(path: str, args: dict | None = None) -> dict:
    """The JSON body of `GET path?args`, as the API would answer it.

    Raises ApiError (the API's own refusal, e.g. a bad parameter) or
    ApiUnavailable when the app serves no such route.
    """
    adapter = current_app.url_map.bind("localhost")
    try:
        endpoint, values = adapter.match(path, method="GET")
    except (HTTPException, RequestRedirect):
        raise ApiUnavailable(path) from None
    user = g.get("user")
    query = {k: v for k, v in (args or {}).items() if v is not None and v != ""}
    with current_app.test_request_context(path, query_string=query):
        g.dashboard_user = user["username"] if user else None
        try:
            response = current_app.make_response(current_app.view_functions[endpoint](**values))
        except ApiError:
            raise
        except HTTPException as e:
            raise ApiError(e.description or e.name, e.code or 500) from None
    body = response.get_json(silent=True)
    if response.status_code >= 400 or not isinstance(body, dict):
        message = body.get("error") if isinstance(body, dict) else None
        raise ApiError(message or f"the API answered {response.status_code}", response.status_code)
    return body


def report_names() -> list[str]:
    """Every report `GET /api/reports/<name>` can give, channels first."""
    names = list(BUILT_IN_REPORTS)
    if not integrations.api_rule("/api/reports/<name>"):
        return names
    try:
        from conversions import analytics_views
    except ImportError:
        return names
    catalogue = getattr(analytics_views, "REPORTS", {})
    return names + [n for n in catalogue if n not in names] + advocacy_names()


def advocacy_names() -> list[str]:
    """The advocate reports (issue 7), when this installation serves them."""
    if not integrations.api_rule("/api/reports/advocates"):
        return []
    from advocates import reports_api

    return list(reports_api.REPORTS)


def description(name: str) -> str:
    if name == "channels":
        return "Clicks, visitors, conversions and revenue per channel."
    try:
        from conversions import analytics_views
    except ImportError:
        return ""
    spec = getattr(analytics_views, "REPORTS", {}).get(name)
    if spec is None and name in advocacy_names():
        from advocates import reports_api

        return reports_api.HELP[name]
    return getattr(spec, "help", "") or ""


def label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())
