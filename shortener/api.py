"""The links API under /api/links; every route needs the admin API key."""

from flask import Blueprint, current_app, jsonify, request

from . import links, previews, signals
from .auth import require_api_key
from .db import get_db, immediate
from .errors import ApiError, or_404
from .journal import catch_up
from .redirect import own_hosts

bp = Blueprint("api", __name__, url_prefix="/api")


def base_url() -> str:
    return current_app.config["BASE_URL"] or request.host_url


def json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ApiError("body must be a JSON object (Content-Type: application/json)")
    return body


def int_arg(name: str, default: int | None = None) -> int | None:
    """A query parameter the operation declares as an integer (its range
    too: `apispec.check_request` has refused any other), or `default`."""
    return request.args.get(name, default, type=int)


def page(default_limit: int | None = 100) -> tuple[int | None, int]:
    """(limit, offset) of a listing whose operation declares both."""
    return int_arg("limit", default_limit), int_arg("offset", 0)


def found(code: str) -> dict:
    return or_404(links.get_link(get_db(), code), f"no link with code '{code}'", "code")


@bp.post("/links")
@require_api_key
def create():
    blocked = current_app.config["BLOCKED_DESTINATION_HOSTS"]
    link = links.create_link(get_db(), json_body(), own_hosts(), blocked)
    return jsonify(links.as_dict(link, base_url())), 201


@bp.get("/links")
@require_api_key
def index():
    """Page with `limit` and `offset` (offset pages, not cursors: `total`
    counts every link the filters match, so a page count can be shown);
    filter by `channel`, `campaign`, `tag` (one exact tag) and `q` (text
    in code, url, campaign or title); `sort=newest` (default) or `clicks`."""
    limit, offset = page()
    sort = request.args.get("sort", "newest")
    filters = {name: request.args.get(name) for name in ("channel", "campaign", "tag", "q")}
    db = catch_up(get_db())
    if sort == "clicks":
        signals.send(signals.click_counts_read, db=db)
    rows = links.list_links(db, limit=limit, offset=offset, sort=sort, **filters)
    return jsonify(
        {
            "links": [links.as_dict(r, base_url()) for r in rows],
            "limit": limit,
            "offset": offset,
            "total": links.count_links(db, **filters),
            "sort": sort,
        }
    )


@bp.get("/links/<code>")
@require_api_key
def show(code):
    link = found(code)
    body = links.as_dict(link, base_url())
    body["unfurls"] = previews.unfurl_counts(catch_up(get_db()), link["id"])
    return jsonify(body)


@bp.patch("/links/<code>")
@require_api_key
def update(code):
    found(code)
    blocked = current_app.config["BLOCKED_DESTINATION_HOSTS"]
    body, db = json_body(), get_db()
    with immediate(db):
        link = links.update_link(db, code, body, own_hosts(), blocked)
    return jsonify(links.as_dict(link, base_url()))


@bp.delete("/links/<code>")
@require_api_key
def disable(code):
    """Links are disabled, never deleted: their clicks and conversions stay
    in every report, and the code is never handed out again."""
    found(code)
    db = get_db()
    with immediate(db):
        link = links.update_link(db, code, {"disabled": True})
    return jsonify(links.as_dict(link, base_url()))
