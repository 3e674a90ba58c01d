"""The Flask session cookie as the dashboard needs it.

HttpOnly and SameSite=Lax always; Secure whenever the dashboard is reached
over https -- decided per request, so one configuration serves both a plain
http development server and a TLS deployment (directly, behind a trusted
proxy that sets X-Forwarded-Proto, or with an https BASE_URL).
"""

from datetime import timedelta

from flask import has_request_context, request
from flask.sessions import SecureCookieSessionInterface

COOKIE_NAME = "ct_session"


def over_https(app) -> bool:
    if (app.config.get("BASE_URL") or "").startswith("https://"):
        return True
    if not has_request_context():
        return False
    if request.is_secure:
        return True
    forwarded = request.headers.get("X-Forwarded-Proto", "")
    return bool(app.config.get("TRUST_PROXY_HEADERS")) and forwarded.lower() == "https"


class DashboardSessionInterface(SecureCookieSessionInterface):
    salt = "clicktrail.dashboard-session"

    def open_session(self, app, request):
        # the cookie is only sent to /dashboard; elsewhere (every redirect)
        # skip building a signing serializer for a session never used
        if not request.path.startswith(app.config["SESSION_COOKIE_PATH"]):
            return None
        return super().open_session(app, request)

    def get_cookie_secure(self, app) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or over_https(app)


def configure(app) -> None:
    app.session_interface = DashboardSessionInterface()
    app.config["SESSION_COOKIE_NAME"] = COOKIE_NAME
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    # the cookie goes only to dashboard pages, never with redirects or pixels
    app.config["SESSION_COOKIE_PATH"] = "/dashboard"
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(
        hours=app.config["DASHBOARD_SESSION_HOURS"]
    )
