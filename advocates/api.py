"""The advocates API: /api/advocates and /api/links/<code>/share (admin API key)."""

from flask import Blueprint, jsonify, request

from shortener.api import base_url, json_body, page
from shortener.auth import require_api_key
from shortener.db import get_db, immediate
from shortener.errors import ApiError, or_404
from shortener.journal import catch_up
from shortener.links import as_dict as link_dict

from . import people

bp = Blueprint("advocates_api", __name__, url_prefix="/api")


def found(key: str) -> dict:
    return or_404(people.get_advocate(get_db(), key), f"no advocate {key!r}", "advocate")


def with_links(advocate: dict) -> dict:
    body = people.as_dict(advocate)
    body["links"] = [
        link_dict(r, base_url()) for r in people.advocate_links(get_db(), advocate["id"])
    ]
    return body


def bool_arg(name: str) -> bool | None:
    """A query parameter declared as "true" or "false", or None if absent."""
    return {"true": True, "false": False}.get(request.args.get(name))


@bp.post("/advocates")
@require_api_key
def create():
    """`referred_by_conversion` (a conversion id) or `referred_by_visitor`
    records a friend who came through another advocate's personal link as
    that advocate's child in the referral tree."""
    body = json_body()
    db = catch_up(get_db())  # a referral is found among the friend's clicks
    with immediate(db):
        advocate = people.create_advocate(db, body)
    return jsonify(with_links(advocate)), 201


@bp.get("/advocates")
@require_api_key
def index():
    limit, offset = page()
    active = bool_arg("active")
    return jsonify(listing(get_db(), limit, offset, active))


def listing(db, limit: int, offset: int = 0, active: bool | None = None) -> dict:
    """The JSON body of GET /api/advocates; the API view and the dashboard's
    advocates page both call it."""
    rows = people.list_advocates(db, limit=limit, offset=offset, active=active)
    return {
        "advocates": [people.as_dict(r) for r in rows],
        "limit": limit,
        "offset": offset,
        "total": people.count_advocates(db, active),
    }


@bp.get("/advocates/<key>")
@require_api_key
def show(key):
    return jsonify(with_links(found(key)))


@bp.patch("/advocates/<key>")
@require_api_key
def update(key):
    body = json_body()
    db = get_db()
    with immediate(db):
        advocate = people.update_advocate(db, found(key)["id"], body)
    return jsonify(with_links(advocate))


@bp.delete("/advocates/<key>")
@require_api_key
def deactivate(key):
    """Advocates are deactivated, never deleted: their links keep working
    and their figures stay in every report; they get no new personal links."""
    db = get_db()
    with immediate(db):
        advocate = people.update_advocate(db, found(key)["id"], {"active": False})
    return jsonify(with_links(advocate))


@bp.post("/links/<code>/share")
@require_api_key
def share(code):
    """`{"advocate": id or handle}` answers one personal link (201 when new,
    200 when it already existed); `{"advocates": [...]}` answers
    `{"links": [...]}` for many at once, all or nothing."""
    body = json_body()
    if len(body) != 1 or set(body) - {"advocate", "advocates"}:
        raise ApiError(
            "give either advocate (id or handle) or advocates (a list)", field="advocate"
        )
    bulk = "advocates" in body
    keys = body["advocates"] if bulk else [body["advocate"]]
    if bulk and (not isinstance(keys, list) or not 1 <= len(keys) <= people.MAX_BULK):
        raise ApiError(
            f"advocates must be a list of 1 to {people.MAX_BULK} ids or handles",
            field="advocates",
        )
    db = get_db()
    with immediate(db):
        results = people.share_many(db, code, keys)
    items = [
        {"advocate": a["handle"], "created": created, **link_dict(link, base_url())}
        for a, link, created in results
    ]
    if bulk:
        status = 201 if any(i["created"] for i in items) else 200
        return jsonify({"links": items}), status
    return jsonify(items[0]), 201 if items[0]["created"] else 200


def init_app(app):
    app.register_blueprint(bp)
