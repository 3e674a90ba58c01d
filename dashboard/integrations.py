"""What the dashboard can show of features other packages provide.

Pages ask here instead of importing optional modules directly, so a page
shows a feature (QR codes, ...) exactly when the app serves its API.
"""

from flask import current_app


def api_rule(rule: str) -> str | None:
    """The endpoint serving GET `rule` (as written in the route), if any."""
    for r in current_app.url_map.iter_rules():
        if r.rule == rule and "GET" in (r.methods or ()):
            return r.endpoint
    return None


def qr_formats() -> list[str]:
    return ["svg", "png"] if api_rule("/api/links/<code>/qr") else []
