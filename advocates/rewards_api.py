"""Reward rules, the rewards ledger, payouts and refunds under /api.

Reading the ledger first approves the rewards whose holding period has
ended (`rewards.approve_due`), so what it shows is never stale even when
nobody runs `flask --app shortener rewards approve`.
"""

import re

from flask import Blueprint, Response, current_app, jsonify, request, stream_with_context

from conversions.analytics_views import json_body
from conversions.csvout import csv_lines
from conversions.views import parse_day
from shortener.auth import require_api_key
from shortener.clock import parse_moment, utcnow
from shortener.db import get_db
from shortener.errors import ApiError

from . import rewards

bp = Blueprint("rewards", __name__, url_prefix="/api")
MAX_PAGE = 1000
DIGITS = re.compile(r"[0-9]{1,18}")  # str.isdigit() also takes "²", which int() refuses


def refused(e: rewards.RewardError) -> ApiError:
    return ApiError(e.message, e.status, field=e.field)


def found_rule(rule_id: int) -> dict:
    rule = rewards.get_rule(get_db(), rule_id)
    if rule is None:
        raise ApiError(f"no reward rule {rule_id}", 404, field="id")
    return rule


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
    active = {"true": True, "false": False, None: None}.get(request.args.get("active") or None, "?")
    if active == "?":
        raise ApiError("active must be true or false", field="active")
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


def _int_arg(name: str) -> int | None:
    raw = request.args.get(name)
    if raw in (None, ""):
        return None
    if not DIGITS.fullmatch(raw):
        raise ApiError(f"{name} must be a whole number", field=name)
    return int(raw)


def ledger_filter(status: str | None = None) -> rewards.LedgerFilter:
    if status is None:
        status = request.args.get("status") or None
        if status is not None and status not in rewards.STATUSES:
            raise ApiError(f"status must be one of {', '.join(rewards.STATUSES)}", field="status")
    beneficiary = request.args.get("beneficiary") or None
    if beneficiary is not None and beneficiary not in rewards.BENEFICIARIES:
        raise ApiError("beneficiary must be advocate or friend", field="beneficiary")
    start, end = parse_day("from"), parse_day("to")
    if start and end and start > end:
        raise ApiError("from must not be after to", field="from")
    return rewards.LedgerFilter(
        status=status,
        beneficiary=beneficiary,
        advocate_id=_int_arg("advocate_id"),
        rule_id=_int_arg("rule_id"),
        conversion_id=_int_arg("conversion_id"),
        campaign=request.args.get("campaign") or None,
        currency=request.args.get("currency") or None,
        payout_batch=request.args.get("payout_batch") or None,
        start=start,
        end=end,
    )


def ledger_response(name: str, f: rewards.LedgerFilter):
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "csv"):
        raise ApiError("format must be json or csv", field="format")
    limit = _int_arg("limit")
    offset = _int_arg("offset") or 0
    if limit is not None and not 1 <= limit <= MAX_PAGE:
        raise ApiError(f"limit must be between 1 and {MAX_PAGE}", field="limit")
    db = get_db()
    rewards.approve_due(db, utcnow())
    if fmt == "csv":
        rows = rewards.ledger_rows(db, f, limit, offset)
        response = Response(
            stream_with_context(csv_lines(rewards.COLUMNS, rows)), mimetype="text/csv"
        )
        response.headers["Content-Disposition"] = f'attachment; filename="{name}.csv"'
        return response
    limit = limit or MAX_PAGE
    return jsonify(
        {
            "rewards": list(rewards.ledger_rows(db, f, limit, offset)),
            "limit": limit,
            "offset": offset,
            "total": rewards.count_rows(db, f),
            "totals": rewards.totals(db, f),
        }
    )


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
    body = json_body()
    unknown = sorted(set(body) - {"ids", "all_approved", "up_to"})
    if unknown:
        raise ApiError(f"unknown field {unknown[0]}; allowed: ids, all_approved, up_to",
                       field=unknown[0])  # fmt: skip
    ids, everything = body.get("ids"), body.get("all_approved")
    if everything not in (None, True, False):
        raise ApiError("all_approved must be true or false", field="all_approved")
    if (ids is None) == (not everything):
        raise ApiError('give either "ids": [...] or "all_approved": true', field="ids")
    if ids is not None and (
        not isinstance(ids, list)
        or not ids
        or len(ids) > 10_000
        or not all(isinstance(i, int) and not isinstance(i, bool) and 0 < i < 2**63 for i in ids)
    ):
        raise ApiError("ids must be a list of 1 to 10000 reward ids", field="ids")
    up_to = moment_field(body, "up_to")
    if up_to is not None and ids is not None:
        raise ApiError("up_to goes with all_approved, not with ids", field="up_to")
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
        body = json_body()
        unknown = sorted(set(body) - {"reason", "refunded_at"})
        if unknown:
            raise ApiError(f"unknown field {unknown[0]}; allowed: reason, refunded_at",
                           field=unknown[0])  # fmt: skip
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
