"""Set-up pages: goals, API keys, and the install page with its snippets."""

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for

from conversions import goals, shops
from conversions.money import MoneyError, check_currency, format_minor, to_minor
from shortener.api import base_url
from shortener.clock import utcnow
from shortener.db import get_db
from shortener.journal import catch_up

from . import apikeys, snippets
from .formats import amount_text
from .web import bp, user_actor

RECENT_HITS = 10
RECENT_SHOP_EVENTS = 15


def goal_rows(db) -> list[dict]:
    default = current_app.config["DEFAULT_CURRENCY"]
    rows = []
    for goal in goals.list_goals(db):
        currency = goal["currency"] or default
        rows.append(
            {**goal, "currency": currency, "value": format_minor(goal["value_minor"], currency)}
        )
    return rows


@bp.route("/goals", methods=["GET", "POST"])
def goals_page():
    db = get_db()
    error, status = None, 200
    if request.method == "POST":
        name = request.form.get("name", "").strip().lower()
        description = request.form.get("description", "").strip()
        try:
            if not goals.GOAL_NAME.match(name):
                raise MoneyError("goal names are lower-case letters, digits and _ (max 40)")
            if len(description) > 200:
                raise MoneyError("descriptions are at most 200 characters")
            currency = check_currency(
                request.form.get("currency") or current_app.config["DEFAULT_CURRENCY"]
            )
            value_minor = to_minor(amount_text(request.form.get("value", "")) or "0", currency)
        except MoneyError as e:
            error, status = {"name": name, "message": str(e)}, 400
        else:
            goals.set_goal(db, name, value_minor, currency, description, actor=user_actor())
            flash(f"Goal '{name}' saved.", "success")
            return redirect(url_for("dashboard.goals_page"), 303)
    page = render_template(
        "dashboard/goals.html", goals=goal_rows(db), error=error, form=request.form
    )
    return page, status


@bp.get("/keys")
def keys_page():
    return render_template("dashboard/keys.html", keys=apikeys.list_keys(get_db()), new_key=None)


@bp.post("/keys")
def key_create():
    db = get_db()
    try:
        row, key = apikeys.create_key(
            db, request.form.get("name"), g.user["id"], utcnow(), actor=user_actor()
        )
    except apikeys.ApiKeyError as e:
        page = render_template(
            "dashboard/keys.html", keys=apikeys.list_keys(db), new_key=None, error=str(e)
        )
        return page, 400
    # the key is in this response only; it is never stored or shown again
    page = render_template(
        "dashboard/keys.html", keys=apikeys.list_keys(db), new_key={"row": row, "key": key}
    )
    return page, 201


@bp.post("/keys/<int:key_id>/revoke")
def key_revoke(key_id):
    db = get_db()
    key = apikeys.get_key(db, key_id)
    if key is None:
        abort(404, "There is no such API key.")
    if apikeys.revoke_key(db, key_id, utcnow(), actor=user_actor()):
        flash(f"Key '{key['name']}' revoked: requests using it now get 401.", "success")
    return redirect(url_for("dashboard.keys_page"), 303)


def recent_hits(db) -> dict[str, list[dict]]:
    return {
        "clicks": list(
            db.query(
                "SELECT k.ts, l.code, l.channel, k.is_bot, k.device, k.browser FROM clicks k"
                " JOIN links l ON l.id = k.link_id ORDER BY k.id DESC LIMIT ?",
                [RECENT_HITS],
            )
        ),
        "visits": list(
            db.query("SELECT ts, url, referrer FROM visits ORDER BY id DESC LIMIT ?", [RECENT_HITS])
        ),
        "conversions": list(
            db.query(
                "SELECT received_at, goal, value_minor, currency, source, order_id"
                " FROM conversions ORDER BY id DESC LIMIT ?",
                [RECENT_HITS],
            )
        ),
    }


@bp.get("/install")
def install_page():
    secrets = current_app.config.get("WEBHOOK_SECRETS") or []
    origin = base_url().rstrip("/")
    currency = current_app.config["DEFAULT_CURRENCY"]
    db = catch_up(get_db())  # the latest clicks are the installer's proof
    return render_template(
        "dashboard/install.html",
        snippets={
            "script": snippets.script(origin, currency),
            "pixel": snippets.pixel(origin, currency),
            # signed with the first configured secret
            "webhook": snippets.webhook(origin, secrets[0], currency) if secrets else None,
            "stripe": snippets.stripe_links(origin),
            "shopify": snippets.shopify_theme(origin),
        },
        hits=recent_hits(db),
        shops=shop_settings(db, origin),
    )


def shop_settings(db, origin: str) -> list[dict]:
    """For each shop: its endpoint, the events to send, whether its secret
    is configured, and the events it sent last with what became of them."""
    config = current_app.config
    return [
        {
            **about,
            "key": key,
            "url": origin + about["path"],
            "configured": bool(config[about["setting"] + "S"]),
            "events_received": shops.recent_events(db, key, RECENT_SHOP_EVENTS),
        }
        for key, about in snippets.SHOPS.items()
    ]
