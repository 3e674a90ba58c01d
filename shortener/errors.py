"""Errors as a client can act on them: JSON naming what is wrong for API
callers, a short page for people who followed a link."""

import sqlite3

from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from . import health
from .db import files_of, get_db, is_ready, request_storage_failed


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


def or_404(row, message: str, field: str = "id"):
    """`row`, or a 404 saying `message` and naming the `field` whose value
    found nothing (the API's one way of answering "no such thing")."""
    if row is None:
        raise ApiError(message, 404, field=field)
    return row


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


def unavailable(reason: str) -> ServiceUnavailable:
    """503 with Retry-After: trying again later will work (webhook senders
    retry on a 5xx; a retried webhook is stored once)."""
    return ServiceUnavailable(
        f"clicktrail cannot store this right now ({reason}); try again later",
        retry_after=health.RETRY_AFTER_SECONDS,
    )


def handle_storage_error(e: Exception):
    """A failing disk or database (full, read-only, I/O errors, a schema
    never created) answers 503 with the reason instead of 500; any other
    database or OS error is still a bug, and a 500."""
    reason = health.reason_of(e) or _schema_missing(e)
    if reason is None:
        raise e
    request_storage_failed(e)
    health.count(files_of(current_app), "answered_503", reason)
    return handle_http_error(unavailable(reason))


def _schema_missing(e: Exception) -> str | None:
    if not (isinstance(e, sqlite3.OperationalError) and str(e).startswith("no such table")):
        return None
    try:
        ready = is_ready(get_db())
    except sqlite3.Error:
        ready = False
    return None if ready else "database not initialised: run `flask --app shortener init-db`"


def init_app(app):
    app.register_error_handler(ApiError, handle_api_error)
    app.register_error_handler(HTTPException, handle_http_error)
    app.register_error_handler(sqlite3.DatabaseError, handle_storage_error)
    app.register_error_handler(OSError, handle_storage_error)
