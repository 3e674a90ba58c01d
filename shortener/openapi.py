"""GET /api/openapi.json: the OpenAPI 3.1 document of the JSON API,
generated from the operations each part declared for the app (see
`apispec.py`; the same declarations the views' input checks use) and the
app's URL map, so it lists exactly the routes that exist with exactly the
input they accept. The test suite fuzzes the API from this document
(schemathesis, every check).

The document is public: it describes the API, and every operation in it
still needs the API key.
"""

from flask import Blueprint, current_app, jsonify
from werkzeug.routing import IntegerConverter

from .apispec import operations_of, template

bp = Blueprint("openapi", __name__)

DOC_PATH = "/api/openapi.json"
ERROR = {"$ref": "#/components/responses/Error"}
JSON_OK = {"application/json": {"schema": {"type": "object"}}}
CSV = {"text/csv": {"schema": {"type": "string"}}}
IMAGES = {"image/svg+xml": {"schema": {"type": "string"}},
          "image/png": {"schema": {"type": "string", "contentEncoding": "binary"}}}  # fmt: skip
# what any operation can answer besides success: bad input, no key, not
# found (a path's object, or a referenced one such as an advocate), a method
# the path does not serve, a conflict (a code taken, a test already ended),
# and storage that cannot be written right now
REFUSALS = {"400": ERROR, "401": ERROR, "404": ERROR, "405": ERROR, "409": ERROR,
            "503": {"$ref": "#/components/responses/Unavailable"}}  # fmt: skip


def _template(rule) -> str:
    return template(rule.rule)


def _path_parameters(rule, declared: dict) -> list[dict]:
    parameters = []
    for name, converter in rule._converters.items():
        if name in declared:
            schema = declared[name]
        elif isinstance(converter, IntegerConverter):
            schema = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}  # SQLite INTEGER
        else:
            schema = {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[^/]+$"}
        parameters.append({"name": name, "in": "path", "required": True, "schema": schema})
    return parameters


def _formats(operation: dict) -> list[str]:
    for parameter in operation.get("parameters", []):
        if parameter["name"] == "format":
            return parameter["schema"]["enum"]
    return ["json"]


def _success(template_: str, method: str, operation: dict) -> dict:
    formats = _formats(operation)
    if "svg" in formats:
        content = IMAGES
    else:
        content = {**(JSON_OK if "json" in formats else {}), **(CSV if "csv" in formats else {})}
    ok = {"description": "OK", "content": content}
    if method in ("post", "put"):  # 201 when something new was made, 200 when it existed
        return {"200": ok, "201": {"description": "Created", "content": JSON_OK}}
    return {"200": ok}


def operation_of(operations: dict, rule, method: str) -> dict:
    known = operations.get((_template(rule), method), {})
    operation = {
        "operationId": f"{rule.endpoint}.{method}",
        "summary": known.get("summary", rule.endpoint),
        "parameters": _path_parameters(rule, known.get("path", {})) + known.get("parameters", []),
        "responses": {**_success(_template(rule), method, known), **REFUSALS},
    }
    if "requestBody" in known:
        operation["requestBody"] = known["requestBody"]
    return operation


def document(app) -> dict:
    paths: dict[str, dict] = {}
    operations = operations_of(app)
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if not rule.rule.startswith("/api/") or rule.rule == DOC_PATH:
            continue
        for method in sorted(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(_template(rule), {})[method] = operation_of(operations, rule, method)
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
            "responses": {"Error": ERROR_RESPONSE, "Unavailable": UNAVAILABLE_RESPONSE},
        },
    }


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "field": {"type": "string"}},
}
ERROR_RESPONSE = {
    "description": "refused: the body names what is wrong",
    "content": {"application/json": {"schema": ERROR_SCHEMA}},
}
UNAVAILABLE_RESPONSE = {
    "description": "storage cannot be written right now; try again after Retry-After",
    "headers": {"Retry-After": {"schema": {"type": "string"}}},
    "content": {"application/json": {"schema": ERROR_SCHEMA}},
}


@bp.get(DOC_PATH)
def openapi_json():
    return jsonify(document(current_app))
