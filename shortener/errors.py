"""Errors as a client can act on them: JSON naming what is wrong for API
callers, a short page for people who followed a link."""

from flask import jsonify, request
from werkzeug.exceptions import HTTPException


class ApiError(Exception):
    """A refused request; `field` names the input at fault when there is one."""

    def __init__(self, message: str, status: int = 400, field: str | None = None, headers=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.field = field
        self.headers = headers or {}

    def to_json(self) -> dict:
        body = {"error": self.message}
        if self.field:
            body["field"] = self.field
        return body


def wants_json() -> bool:
    return request.path.startswith(("/api/", "/t/", "/healthz"))


def handle_api_error(e: ApiError):
    return jsonify(e.to_json()), e.status, e.headers


def handle_http_error(e: HTTPException):
    if wants_json():
        response = jsonify({"error": e.description or e.name})
        response.status_code = e.code
        for key, value in e.get_headers():
            if key.lower() not in ("content-type", "content-length"):
                response.headers[key] = value
        return response
    return e


def init_app(app):
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(HTTPException, handle_http_error)
