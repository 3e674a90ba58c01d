"""Guards in front of every view against inputs that reach no view's checks.

- Raw non-ASCII bytes in a query string. Browsers percent-encode URLs, but
  anyone can send `GET /t/pixel.gif?goal=\\xff`. Werkzeug decodes the query
  as UTF-8 when a view first reads `request.args`, and a byte that is not
  UTF-8 raised UnicodeDecodeError: a 500 on every endpoint with a query.
  Percent-encoded (`%FF`), the same byte is what werkzeug already handles:
  it stays encoded in the value and the view's own checks refuse it.
- `<int:...>` path variables beyond SQLite's 64-bit integers, which raised
  OverflowError when bound to a query. They can name no row: 404 (raised
  from the converter: werkzeug would turn a refused value into a 405 when
  the path has routes for other methods).
"""

import re

from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

NON_ASCII = re.compile(r"[^\x00-\x7f]")
SQLITE_MAX_INT = 2**63 - 1


def _escape(match: re.Match) -> str:
    return f"%{ord(match.group()):02X}"  # WSGI strings are latin-1: one char, one byte


def ascii_query(wsgi_app):
    def app(environ, start_response):
        query = environ.get("QUERY_STRING", "")
        if not query.isascii():
            environ["QUERY_STRING"] = NON_ASCII.sub(_escape, query)
        return wsgi_app(environ, start_response)

    return app


class SQLiteInteger(IntegerConverter):
    """`<int:...>` that matches only what an SQLite INTEGER can hold."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > SQLITE_MAX_INT:
            raise NotFound()
        return number


def init_app(app):
    """Call before any blueprint is registered (rules bind their converters
    when they are added)."""
    app.url_map.converters["int"] = SQLiteInteger
    app.wsgi_app = ascii_query(app.wsgi_app)
