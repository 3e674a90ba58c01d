"""Downloads: the dashboard hands out exactly what the API gives.

`/dashboard/export/<path>` runs the GET view of `/api/<path>` with the same
query string, for the signed-in user (the dashboard's sign-in stands in for
the API key: it calls the view's `without_key`), so a table's CSV download is the
API's CSV byte for byte (and a report added to the API is downloadable
here with no code of its own).
"""

from flask import abort, current_app, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from shortener.apispec import check_request

from .web import bp


@bp.get("/export/<path:api_path>")
def export(api_path):
    adapter = current_app.create_url_adapter(request)
    try:
        rule, values = adapter.match(f"/api/{api_path}", method="GET", return_rule=True)
    except (HTTPException, RequestRedirect):
        abort(404, "There is no such download.")
    view = current_app.view_functions[rule.endpoint]
    # the API route's declaration, which its view relies on, holds for its download too
    check_request(rule.rule)
    return getattr(view, "without_key", view)(**values)
