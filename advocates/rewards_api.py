"""Reward rules, the rewards ledger, payouts and refunds under /api.

Reading the ledger first approves the rewards whose holding period has
ended (`rewards.approve_due`), so what it shows is never stale even when
nobody runs `flask --app shortener rewards approve`.
"""

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context

from conversions.analytics_views import json_body
from conversions.csvout import csv_lines
from conversions.views import parse_day
from shortener.api import int_arg, page
from shortener.auth import require_api_key
from shortener.clock import parse_moment, utcnow
from shortener.db import get_db
from shortener.errors import ApiError, or_404

from . import rewards

bp = Blueprint("rewards", __name__, url_prefix="/api")
MAX_PAGE = 1000


def refused(e: rewards.RewardError) -> ApiError:
    return ApiError(e.message, e.status, field=e.field)


def found_rule(rule_id: int) -> dict:
    return or_404(rewards.get_rule(get_db(), rule_id), f"no reward rule {rule_id}")


@bp.post("/reward-rules")
@require_api_key
def create_rule():
    db = get_db()
    try:
        columns = rewards.parse_rule(db, json_body(), current_app.config["DEFAULT_CURRENCY"])
    except rewards.RewardError as e:
        raise refused(e) from None
    rule = rewards.create_rule(db, columns, utcnow())
    return jsonify({"rule": rewards.public_rule(rule)}), 201


@bp.get("/reward-rules")
@require_api_key
def list_rules():
    active = {"true": True, "false": False}.get(request.args.get("active"))  # as declared
    rows = rewards.list_rules(get_db(), request.args.get("campaign") or None, active)
    return jsonify({"rules": [rewards.public_rule(r) for r in rows]})


@bp.get("/reward-rules/<int:rule_id>")
@require_api_key
def show_rule(rule_id):
    return jsonify({"rule": rewards.public_rule(found_rule(rule_id))})


@bp.patch("/reward-rules/<int:rule_id>")
@require_api_key
def update_rule(rule_id):
    """Changes apply to conversions assessed from now on."""
    current = found_rule(rule_id)
    db = get_db()
    try:
        columns = rewards.parse_rule(
            db, json_body(), current_app.config["DEFAULT_CURRENCY"], current
        )
    except rewards.RewardError as e:
        raise refused(e) from None
    rule = rewards.update_rule(db, rule_id, columns, utcnow())
    return jsonify({"rule": rewards.public_rule(rule)})


@bp.delete("/reward-rules/<int:rule_id>")
@require_api_key
def deactivate_rule(rule_id):
    """Rules are deactivated, never deleted: the ledger keeps pointing at them."""
    found_rule(rule_id)
    rule = rewards.update_rule(get_db(), rule_id, {"active": 0}, utcnow())
    return jsonify({"rule": rewards.public_rule(rule)})


def ledger_filter(status: str | None = None) -> rewards.LedgerFilter:
    # statuses, beneficiaries and ids are the declared ones (apispec.check_request)
    status = status or request.args.get("status")
    start, end = parse_day("from"), parse_day("to")
    if start and end and start > end:
        raise ApiError("from must not be after to", field="from")
    return rewards.LedgerFilter(
        status=status,
        beneficiary=request.args.get("beneficiary"),
        advocate_id=int_arg("advocate_id"),
        rule_id=int_arg("rule_id"),
        conversion_id=int_arg("conversion_id"),
        campaign=request.args.get("campaign") or None,
        currency=request.args.get("currency") or None,
        payout_batch=request.args.get("payout_batch") or None,
        start=start,
        end=end,
    )


def ledger_response(name: str, f: rewards.LedgerFilter):
    fmt = request.args.get("format", "json")  # json or csv, as declared
    limit, offset = page(default_limit=None)  # no limit: every row (the payout CSV)
    db = get_db()
    rewards.approve_due(db, utcnow())
    if fmt == "csv":
        rows = rewards.ledger_rows(db, f, limit, offset)
        response = Response(
            stream_with_context(csv_lines(rewards.COLUMNS, rows)), mimetype="text/csv"
        )
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    return jsonify(ledger_page(db, f, limit or MAX_PAGE, offset))


def ledger_page(db, f: rewards.LedgerFilter, limit: int, offset: int = 0) -> dict:
    """The JSON body of GET /api/rewards: a page of the ledger with its count
    and totals; the API view and the dashboard's rewards page both call it
    (after rewards.approve_due, as the view does)."""
    return {
        "rewards": list(rewards.ledger_rows(db, f, limit, offset)),
        "limit": limit,
        "offset": offset,
        "total": rewards.count_rows(db, f),
        "totals": rewards.totals(db, f),
    }


@bp.get("/rewards")
@require_api_key
def list_rewards():
    """The ledger, filtered; `format=csv` is the file for a payout run
    (e.g. `status=approved&format=csv`)."""
    return ledger_response("rewards", ledger_filter())


@bp.get("/rewards/refusals")
@require_api_key
def list_refusals():
    """Every conversion a rule refused to reward, with the reason."""
    return ledger_response("reward-refusals", ledger_filter(status="refused"))


def moment_field(body: dict, name: str):
    raw = body.get(name)
    if raw is None:
        return None
    try:
        moment = parse_moment(raw) if isinstance(raw, str) else None
    except (ValueError, OverflowError):
        moment = None
    if moment is None:
        raise ApiError(f"{name} must be a time like 2026-03-31T23:59:59Z", field=name)
    return moment


@bp.post("/rewards/mark-paid")
@require_api_key
def mark_paid():
    # the declaration has refused other fields, a malformed id list, both
    # or neither of ids and all_approved, and up_to without all_approved
    body = json_body()
    ids, up_to = body.get("ids"), moment_field(body, "up_to")
    try:
        done = rewards.mark_paid(get_db(), utcnow(), ids=ids, up_to=up_to)
    except rewards.RewardError as e:
        raise refused(e) from None
    return jsonify(
        {
            "payout_batch": done["payout_batch"],
            "paid": [rewards.public_reward(r) for r in done["paid"]],
            "already_paid": [rewards.public_reward(r) for r in done["already_paid"]],
        }
    )


@bp.post("/conversions/<int:conversion_id>/refund")
@require_api_key
def refund(conversion_id):
    """Idempotent: refunding again answers the first refund."""
    reason = refunded_at = None
    now = utcnow()
    if request.get_data().strip():
        body = json_body()  # reason and refunded_at only, as declared
        try:
            reason = rewards.clean_text(body.get("reason"), "reason", max_length=500)
        except rewards.RewardError as e:
            raise refused(e) from None
        refunded_at = moment_field(body, "refunded_at")
        if refunded_at is not None and refunded_at > now:
            raise ApiError("refunded_at must not be in the future", field="refunded_at")
    try:
        done = rewards.refund(get_db(), conversion_id, now, reason, refunded_at)
    except rewards.RewardError as e:
        raise refused(e) from None
    return jsonify(
        {
            **done,
            "voided": [rewards.public_reward(r) for r in done["voided"]],
            "kept": [rewards.public_reward(r) for r in done["kept"]],
        }
    )


def init_app(app):
    app.register_blueprint(bp)
