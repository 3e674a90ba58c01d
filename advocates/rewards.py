"""Two-way incentives: reward rules, the rewards ledger, refunds, payouts.

A conversion belongs to an advocate when its last-touch credit (the last
human click within the attribution window) is on one of the advocate's
personal links (`links.advocate_id`). Each active rule of that link's
campaign and the conversion's goal, valid on the conversion's day, then
assesses it once (`rewards` has one row per rule and conversion):

- a reward: `pending` until its holding period (counted from the
  conversion's time, like a shop's refund window) has passed, then
  `approved` (`approve_due`), then `paid` (`mark_paid`); a refund while
  it is still pending makes it `voided`;
- or a refusal (`refused`, with its reason): the advocate converting
  through their own link (`self_referral`), a pixel conversion under a
  rule that pays on signed webhooks only (`unverified`), a friend the rule already
  rewarded (`already_rewarded`), the advocate's cap reached
  (`cap_reached`), a percentage rule in another currency than the
  conversion's (`currency_mismatch`), an amount of zero (`zero_amount`), a
  deactivated advocate (`advocate_inactive`).

Rules reward once per converted friend: a friend is the same person when
the visitor id or the customer id matches. Amounts are integer minor units;
a percentage of the attributed revenue is rounded DOWN to the minor unit
(`percent_of`), so a reward never exceeds the rule's percentage.
"""

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlite_utils import Database

from conversions.money import MoneyError, check_currency, format_minor, to_minor
from conversions.reports import Period
from shortener import audit
from shortener.clock import from_db, to_db
from shortener.db import immediate

log = logging.getLogger(__name__)

BENEFICIARIES = ("advocate", "friend")
STATUSES = ("pending", "approved", "paid", "voided", "refused")
EARNED = ("pending", "approved", "paid")  # what an advocate has earned so far
REASONS = (  # refusals, in the order they are checked
    "currency_mismatch",
    "unverified",
    "advocate_inactive",
    "self_referral",
    "already_rewarded",
    "zero_amount",
    "cap_reached",
)
MODEL = "last_touch"
DEFAULT_HOLDING_DAYS = 30
MAX_HOLDING_DAYS = 3650
RULE_FIELDS = (
    "campaign",
    "beneficiary",
    "goal",
    "amount",
    "percent",
    "currency",
    "valid_from",
    "valid_to",
    "holding_days",
    "cap_count",
    "cap_amount",
    "note",
    "active",
    "verified_only",
)
PERCENT_TEXT = re.compile(r"[0-9]{1,3}(\.[0-9]{1,20})?")  # no sign, exponent or "_"
PERCENT_SCALE = 100  # percent_bp: hundredths of a percent, 10 % = 1000


class RewardError(ValueError):
    """Refused input; `field` names what is wrong, `status` the HTTP answer."""

    def __init__(self, message: str, field: str | None = None, status: int = 400):
        super().__init__(message)
        self.message = message
        self.field = field
        self.status = status


# -- the maths (pure) --------------------------------------------------------


def percent_of(revenue_minor: int, percent_bp: int) -> int:
    """`percent_bp` hundredths of a percent of an amount, rounded down to
    the minor unit: 12.5 % (1250) of 49.99 (4999) is 624.875 cents -> 624."""
    return revenue_minor * percent_bp // (100 * PERCENT_SCALE)


def reward_amount(rule: dict, attributed_minor: int) -> int:
    if rule["kind"] == "flat":
        return rule["amount_minor"]
    return percent_of(attributed_minor, rule["percent_bp"])


@dataclass(frozen=True)
class Facts:
    """What the ledger knows when a rule assesses a conversion."""

    attributed_minor: int  # revenue the advocate's link is credited with
    currency: str  # the conversion's currency
    verified: bool = True  # by signed webhook, not by pixel
    advocate_active: bool = True
    self_referral: bool = False
    already_rewarded: bool = False  # this friend, this rule, a live reward
    earned_count: int = 0  # live rewards under this rule for this advocate
    earned_minor: int = 0  # their sum, in the rule's currency


@dataclass(frozen=True)
class Decision:
    status: str  # "pending" or "refused"
    amount_minor: int
    currency: str
    reason: str | None = None


def assess(rule: dict, facts: Facts) -> Decision:
    """Reward or refusal, checked in the order of REASONS; a refusal keeps
    the amount the reward would have had (0 when it cannot be worked out)."""
    if rule["kind"] == "percent" and facts.currency != rule["currency"]:
        return Decision("refused", 0, rule["currency"], "currency_mismatch")
    amount = reward_amount(rule, facts.attributed_minor)
    reason = None
    if rule.get("verified_only") and not facts.verified:
        reason = "unverified"
    elif not facts.advocate_active:
        reason = "advocate_inactive"
    elif facts.self_referral:
        reason = "self_referral"
    elif facts.already_rewarded:
        reason = "already_rewarded"
    elif amount == 0:
        reason = "zero_amount"
    elif rule["cap_count"] is not None and facts.earned_count >= rule["cap_count"]:
        reason = "cap_reached"
    elif (
        rule["cap_amount_minor"] is not None
        and facts.earned_minor + amount > rule["cap_amount_minor"]
    ):
        reason = "cap_reached"
    return Decision("refused" if reason else "pending", amount, rule["currency"], reason)


# -- rules -------------------------------------------------------------------


def _day(value, field: str) -> str | None:
    if value is None or value == "":
        return None
    try:
        day = date.fromisoformat(value.strip()) if isinstance(value, str) else None
    except ValueError:
        day = None
    if day is None or not 2000 <= day.year <= 9999:
        raise RewardError(f"{field} must be a date like 2026-03-31", field)
    return day.isoformat()


def _whole(value, field: str, low: int, high: int, optional=True) -> int | None:
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise RewardError(f"{field} must be a whole number from {low} to {high}", field)
    try:
        number = int(value) if isinstance(value, int) else int(value.strip(), 10)
    except ValueError:
        raise RewardError(f"{field} must be a whole number from {low} to {high}", field) from None
    if not low <= number <= high:
        raise RewardError(f"{field} must be a whole number from {low} to {high}", field)
    return number


def parse_percent(value) -> int:
    """A percentage as text or a number ("12.5", 10) -> hundredths of a
    percent (1250); more than two decimals, 0 or over 100 are refused."""
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        raise RewardError('percent must be a number such as "12.5" (0 < percent <= 100)', "percent")
    amount = None
    if isinstance(value, str):
        if PERCENT_TEXT.fullmatch(value.strip()):
            amount = Decimal(value.strip())
    else:
        amount = Decimal(value)
    if amount is None or not amount.is_finite() or not 0 < amount <= 100:
        raise RewardError('percent must be a number such as "12.5" (0 < percent <= 100)', "percent")
    bp = amount * PERCENT_SCALE
    if bp != bp.to_integral_value():
        raise RewardError("percent may have at most two decimal places", "percent")
    return int(bp)


def format_percent(percent_bp: int) -> str:
    """1250 -> "12.5", 1000 -> "10"."""
    text = str(Decimal(percent_bp) / PERCENT_SCALE)
    return text.rstrip("0").rstrip(".") if "." in text else text


def clean_text(value, field: str, max_length=200, required=False) -> str | None:
    if value is not None and not isinstance(value, str):
        raise RewardError(f"{field} must be a string", field)
    value = (value or "").strip()
    if not value:
        if required:
            raise RewardError(f"{field} is required", field)
        return None
    if len(value) > max_length or any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise RewardError(
            f"{field} must be at most {max_length} characters without control characters", field
        )
    return value


def _money(value, currency: str, field: str) -> int:
    try:
        return to_minor(value, currency)
    except MoneyError as e:
        raise RewardError(f"{field}: {e}", field) from None


def parse_rule(
    db: Database, fields: dict, default_currency: str, current: dict | None = None
) -> dict:
    """Rule columns from client input (a whole rule, or the fields a PATCH
    changes on `current`); RewardError names the first field at fault."""
    if not isinstance(fields, dict):
        raise RewardError("body must be a JSON object", "body")
    unknown = sorted(set(fields) - set(RULE_FIELDS))
    if unknown:
        raise RewardError(f"unknown field {unknown[0]}; allowed: {', '.join(RULE_FIELDS)}",
                          unknown[0])  # fmt: skip
    merged = dict(public_rule(current)) if current else {}
    if current and ("amount" in fields or "percent" in fields):
        merged.pop("amount", None), merged.pop("percent", None)  # switching kind
    merged.update(fields)
    campaign = clean_text(merged.get("campaign"), "campaign", required=True)
    beneficiary = merged.get("beneficiary")
    if beneficiary not in BENEFICIARIES:
        raise RewardError("beneficiary must be advocate or friend", "beneficiary")
    goal = merged.get("goal") or "purchase"
    if (
        not isinstance(goal, str)
        or next(db.query("SELECT 1 FROM goals WHERE name = ?", [goal]), None) is None
    ):
        raise RewardError("goal must be a goal of the catalogue (GET /api/goals)", "goal")
    try:
        currency = check_currency(merged.get("currency") or default_currency)
    except MoneyError as e:
        raise RewardError(str(e), "currency") from None
    amount, percent = merged.get("amount"), merged.get("percent")
    if (amount is None) == (percent is None):
        raise RewardError("give either amount (flat) or percent (of the attributed revenue)",
                          "amount")  # fmt: skip
    amount_minor = None if amount is None else _money(amount, currency, "amount")
    cap = merged.get("cap_amount")
    cap_amount_minor = None if cap is None else _money(cap, currency, "cap_amount")
    valid_from = _day(merged.get("valid_from"), "valid_from")
    valid_to = _day(merged.get("valid_to"), "valid_to")
    if valid_from and valid_to and valid_to < valid_from:
        raise RewardError("valid_to must not be before valid_from", "valid_to")
    holding = merged.get("holding_days")
    active = merged.get("active", True)
    if not isinstance(active, bool):
        raise RewardError("active must be true or false", "active")
    verified_only = merged.get("verified_only", False)
    if not isinstance(verified_only, bool):
        raise RewardError("verified_only must be true or false", "verified_only")
    return {
        "campaign": campaign,
        "beneficiary": beneficiary,
        "goal": goal,
        "kind": "flat" if amount is not None else "percent",
        "amount_minor": amount_minor,
        "percent_bp": None if percent is None else parse_percent(percent),
        "currency": currency,
        "valid_from": valid_from,
        "valid_to": valid_to,
        "holding_days": DEFAULT_HOLDING_DAYS
        if holding is None
        else _whole(holding, "holding_days", 0, MAX_HOLDING_DAYS),
        "cap_count": _whole(merged.get("cap_count"), "cap_count", 1, 10**9),
        "cap_amount_minor": cap_amount_minor,
        "active": int(active),
        "verified_only": int(verified_only),
        "note": clean_text(merged.get("note"), "note", max_length=500),
    }


def public_rule(row: dict) -> dict:
    """A rule as the API shows it (and as a PATCH starts from)."""
    currency = row["currency"]
    return {
        "id": row["id"],
        "campaign": row["campaign"],
        "beneficiary": row["beneficiary"],
        "goal": row["goal"],
        "kind": row["kind"],
        "amount": None
        if row["amount_minor"] is None
        else format_minor(row["amount_minor"], currency),
        "percent": None if row["percent_bp"] is None else format_percent(row["percent_bp"]),
        "currency": currency,
        "valid_from": row["valid_from"],
        "valid_to": row["valid_to"],
        "holding_days": row["holding_days"],
        "cap_count": row["cap_count"],
        "cap_amount": None
        if row["cap_amount_minor"] is None
        else format_minor(row["cap_amount_minor"], currency),
        "active": bool(row["active"]),
        "verified_only": bool(row["verified_only"]),
        "note": row["note"],
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def get_rule(db: Database, rule_id: int) -> dict | None:
    return next(db.query("SELECT * FROM reward_rules WHERE id = ?", [rule_id]), None)


def create_rule(db: Database, columns: dict, now: datetime, actor: str = "system") -> dict:
    with immediate(db):
        cursor = db.execute(
            "INSERT INTO reward_rules (campaign, beneficiary, goal, kind, amount_minor,"
            " percent_bp, currency, valid_from, valid_to, holding_days, cap_count,"
            " cap_amount_minor, active, verified_only, note, created_at, updated_at)"
            " VALUES (:campaign, :beneficiary, :goal, :kind, :amount_minor, :percent_bp,"
            " :currency, :valid_from, :valid_to, :holding_days, :cap_count,"
            " :cap_amount_minor, :active, :verified_only, :note, :now, :now)",
            {**columns, "now": to_db(now)},
        )
        rule = get_rule(db, cursor.lastrowid)
        found = audit.changes(None, rule, [c for c in columns if c != "id"])
        audit.record(db, actor, "reward_rule.create", "reward_rule", rule["id"], found, now)
    return rule


def update_rule(
    db: Database, rule_id: int, columns: dict, now: datetime, actor: str = "system"
) -> dict:
    """Changes apply to conversions assessed from now on; rewards already
    in the ledger keep the amount they were given."""
    names = [n for n in columns if n != "id"]
    assignments = ", ".join(f"{n} = :{n}" for n in names)  # names from parse_rule only
    with immediate(db):
        before = get_rule(db, rule_id)
        db.execute(
            f"UPDATE reward_rules SET {assignments}, updated_at = :now WHERE id = :id",
            {**columns, "now": to_db(now), "id": rule_id},
        )
        after = get_rule(db, rule_id)
        if before is not None:
            found = audit.changes(before, after, names)
            audit.record(db, actor, "reward_rule.update", "reward_rule", rule_id, found, now)
    return after


def list_rules(db: Database, campaign: str | None = None, active: bool | None = None):
    where, params = ["1 = 1"], []
    if campaign:
        where.append("campaign = ?")
        params.append(campaign)
    if active is not None:
        where.append("active = ?")
        params.append(int(active))
    return list(
        db.query(f"SELECT * FROM reward_rules WHERE {' AND '.join(where)} ORDER BY id", params)
    )


# -- intake hook -------------------------------------------------------------


def on_conversion(db: Database, conversion: dict, replaced: bool = False) -> None:
    """Assess a newly stored conversion under every rule that applies.

    Called by conversion intake inside the conversion's own transaction, so
    the conversion and its rewards are stored together. `replaced`: the
    pixel's row for an order has just become the webhook's (new value,
    customer id, credits), so what was assessed on the pixel's word -- its
    pending rewards and refusals -- is assessed again; rewards already
    approved, paid or voided stay. A failure here must not lose the
    conversion: it is logged, the savepoint undoes any reward half-written,
    and the conversion is stored without rewards.
    """
    if not replaced:
        try:
            applicable = _applicable(db, conversion)
        except Exception:
            log.exception("rewards for conversion %s not assessed", conversion.get("id"))
            return
        if applicable is None:
            return
    db.execute("SAVEPOINT rewards")
    try:
        if replaced:
            db.execute(
                "DELETE FROM rewards WHERE conversion_id = ? AND status IN ('pending', 'refused')",
                [conversion["id"]],
            )
            applicable = _applicable(db, conversion)
        if applicable is not None:
            _assess(db, conversion, *applicable)
    except Exception:
        db.execute("ROLLBACK TO rewards")
        log.exception("rewards for conversion %s not assessed", conversion.get("id"))
    finally:
        db.execute("RELEASE rewards")


def _applicable(db: Database, conversion: dict) -> tuple[dict, list[dict]] | None:
    """The personal link credited with the conversion and the rules that
    apply to it; None (after one cheap query) for the common conversion
    that no advocate brought."""
    # on every conversion's path: a plain read, not query()'s savepoint
    found = db.conn.execute(
        "SELECT l.id, l.campaign, l.advocate_id, cr.revenue_minor"
        " FROM credits cr JOIN links l ON l.id = cr.link_id"
        " WHERE cr.conversion_id = ? AND cr.model = ? AND l.advocate_id IS NOT NULL",
        [conversion["id"], MODEL],
    ).fetchone()
    if found is None:
        return None
    credit = dict(zip(("link_id", "campaign", "advocate_id", "revenue_minor"), found, strict=True))
    day = conversion["occurred_at"][:10]
    rules = list(
        db.query(
            "SELECT * FROM reward_rules WHERE active = 1 AND campaign = ? AND goal = ?"
            " AND (valid_from IS NULL OR valid_from <= ?) AND (valid_to IS NULL OR valid_to >= ?)"
            " ORDER BY id",
            [credit["campaign"], conversion["goal"], day, day],
        )
    )
    return (credit, rules) if rules else None


def _assess(db: Database, conversion: dict, credit: dict, rules: list[dict]) -> None:
    advocate = next(db.query("SELECT * FROM advocates WHERE id = ?", [credit["advocate_id"]]))
    is_self = _is_self_referral(db, advocate, conversion)
    now = from_db(conversion["received_at"])
    # the holding period runs from the sale, as a shop's refund window does
    occurred = from_db(conversion["occurred_at"])
    for rule in rules:
        facts = Facts(
            attributed_minor=credit["revenue_minor"],
            currency=conversion["currency"],
            verified=bool(conversion["verified"]),
            advocate_active=bool(advocate["active"]),
            self_referral=is_self,
            already_rewarded=_friend_rewarded(db, rule["id"], conversion),
            **(_earned_so_far(db, rule["id"], advocate["id"]) if _capped(rule) else {}),
        )
        decision = assess(rule, facts)
        due = occurred + timedelta(days=rule["holding_days"])
        db.execute(
            "INSERT OR IGNORE INTO rewards (rule_id, beneficiary, advocate_id, visitor_id,"
            " customer_id, conversion_id, link_id, occurred_at, amount_minor, currency, status,"
            " reason, due_at, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                rule["id"],
                rule["beneficiary"],
                advocate["id"],
                conversion["visitor_id"],
                conversion["customer_id"],
                conversion["id"],
                credit["link_id"],
                conversion["occurred_at"],
                decision.amount_minor,
                decision.currency,
                decision.status,
                decision.reason,
                to_db(due) if decision.status == "pending" else None,
                to_db(now),
            ],
        )


def _is_self_referral(db: Database, advocate: dict, conversion: dict) -> bool:
    """The advocate themselves: their own visitor id, their customer id, or
    a visitor seen on a conversion carrying their customer id."""
    visitor, customer = conversion["visitor_id"], conversion["customer_id"]
    if visitor and visitor == advocate["visitor_id"]:
        return True
    own_customer = advocate["customer_id"]
    if not own_customer:
        return False
    if customer == own_customer:
        return True
    return visitor is not None and bool(
        next(
            db.query(
                "SELECT 1 FROM conversions WHERE customer_id = ? AND visitor_id = ? LIMIT 1",
                [own_customer, visitor],
            ),
            None,
        )
    )


def _friend_rewarded(db: Database, rule_id: int, conversion: dict) -> bool:
    # two index searches; one query with OR would scan the rule's rows
    live = "status IN ('pending', 'approved', 'paid')"
    row = db.conn.execute(
        f"SELECT 1 FROM rewards WHERE rule_id = ? AND visitor_id = ? AND {live}"
        f" UNION ALL SELECT 1 FROM rewards WHERE rule_id = ? AND customer_id = ? AND {live}"
        " LIMIT 1",
        [rule_id, conversion["visitor_id"], rule_id, conversion["customer_id"]],
    ).fetchone()
    return row is not None


def _capped(rule: dict) -> bool:
    return rule["cap_count"] is not None or rule["cap_amount_minor"] is not None


def _earned_so_far(db: Database, rule_id: int, advocate_id: int) -> dict:
    row = next(
        db.query(
            "SELECT count(*) AS n, coalesce(sum(amount_minor), 0) AS total FROM rewards"
            " WHERE rule_id = ? AND advocate_id = ? AND status IN ('pending', 'approved', 'paid')",
            [rule_id, advocate_id],
        )
    )
    return {"earned_count": row["n"], "earned_minor": row["total"]}


# -- approval, refunds, payouts ------------------------------------------------


def _approve(db: Database, now: datetime) -> int:
    cursor = db.execute(
        "UPDATE rewards SET status = 'approved', approved_at = due_at"
        " WHERE status = 'pending' AND due_at <= ?",
        [to_db(now)],
    )
    return cursor.rowcount


def approve_due(db: Database, now: datetime) -> int:
    """Approve pending rewards whose holding period has ended by `now`;
    returns how many. Idempotent, and the outcome does not depend on when
    it runs: `approved_at` is the moment the holding period ended."""
    due = next(
        db.query(
            "SELECT 1 FROM rewards WHERE status = 'pending' AND due_at <= ? LIMIT 1", [to_db(now)]
        ),
        None,
    )
    if due is None:
        return 0  # the common case on every read: no write transaction
    with immediate(db):
        return _approve(db, now)


def refund(
    db: Database,
    conversion_id: int,
    now: datetime,
    reason: str | None = None,
    refunded_at: datetime | None = None,
) -> dict:
    """Mark a conversion refunded and void its rewards still pending.

    `refunded_at` (default now, never later) is when the shop refunded it:
    a reward whose holding period ended by then is approved and stays, like
    one already paid; both are listed under `kept` for whoever settles them
    by hand. Asking again changes nothing and answers the first refund,
    with `already_refunded`.
    """
    moment = min(refunded_at or now, now)
    with immediate(db):
        if next(db.query("SELECT 1 FROM conversions WHERE id = ?", [conversion_id]), None) is None:
            raise RewardError(f"no conversion {conversion_id}", "id", status=404)
        existing = refunded(db, conversion_id)
        already = existing is not None
        if not already:
            _approve(db, moment)
            db.execute(
                "INSERT INTO conversion_refunds (conversion_id, refunded_at, reason)"
                " VALUES (?, ?, ?)",
                [conversion_id, to_db(moment), reason],
            )
            db.execute(
                "UPDATE rewards SET status = 'voided', voided_at = ?, reason = 'refunded'"
                " WHERE conversion_id = ? AND status = 'pending'",
                [to_db(moment), conversion_id],
            )
            existing = refunded(db, conversion_id)
        rows = list(
            db.query("SELECT * FROM rewards WHERE conversion_id = ? ORDER BY id", [conversion_id])
        )
    return {
        "conversion_id": conversion_id,
        "refunded_at": existing["refunded_at"],
        "reason": existing["reason"],
        "already_refunded": already,
        "voided": [r for r in rows if r["status"] == "voided"],
        "kept": [r for r in rows if r["status"] in ("approved", "paid")],
    }


def refunded(db: Database, conversion_id: int) -> dict | None:
    return next(
        db.query("SELECT * FROM conversion_refunds WHERE conversion_id = ?", [conversion_id]),
        None,
    )


def mark_paid(
    db: Database, now: datetime, ids: list[int] | None = None, up_to: datetime | None = None
) -> dict:
    """Mark a payout batch paid: the rewards `ids`, or every reward approved
    by `up_to` (default now). All or nothing: an id that is unknown or not
    approved refuses the whole batch; ids already paid are left as they
    were, so sending the same batch twice pays nothing twice."""
    with immediate(db):
        _approve(db, now)
        if ids is not None:
            rows = _by_ids(db, ids)
            missing = sorted(set(ids) - {r["id"] for r in rows})
            if missing:
                raise RewardError(f"no reward {missing[0]}", "ids", status=404)
            wrong = [r for r in rows if r["status"] not in ("approved", "paid")]
            if wrong:
                raise RewardError(
                    f"reward {wrong[0]['id']} is {wrong[0]['status']}, not approved", "ids", 409
                )
            payable = [r["id"] for r in rows if r["status"] == "approved"]
            already = [r["id"] for r in rows if r["status"] == "paid"]
        else:
            already = []
            limit = to_db(min(up_to or now, now))
            payable = [
                r["id"]
                for r in db.query(
                    "SELECT id FROM rewards WHERE status = 'approved' AND approved_at <= ?"
                    " ORDER BY id",
                    [limit],
                )
            ]
        batch = f"payout-{now.strftime('%Y%m%dT%H%M%SZ')}-{payable[0]}" if payable else None
        for chunk in _chunks(payable):
            marks = ",".join("?" * len(chunk))
            db.execute(
                "UPDATE rewards SET status = 'paid', paid_at = ?, payout_batch = ?"
                f" WHERE id IN ({marks})",
                [to_db(now), batch, *chunk],
            )
        paid = _by_ids(db, payable)
        already_paid = _by_ids(db, already)
    return {"payout_batch": batch, "paid": paid, "already_paid": already_paid}


def _chunks(ids: list[int], size: int = 500) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start : start + size]


def _by_ids(db: Database, ids: list[int]) -> list[dict]:
    rows = []
    for chunk in _chunks(sorted(set(ids))):
        marks = ",".join("?" * len(chunk))
        rows += list(db.query(f"SELECT * FROM rewards WHERE id IN ({marks}) ORDER BY id", chunk))
    return rows


# -- reading the ledger --------------------------------------------------------

COLUMNS = [
    "id",
    "status",
    "reason",
    "beneficiary",
    "amount",
    "currency",
    "advocate_id",
    "advocate_handle",
    "advocate_name",
    "advocate_email",
    "friend_visitor_id",
    "friend_customer_id",
    "rule_id",
    "campaign",
    "goal",
    "conversion_id",
    "order_id",
    "occurred_at",
    "created_at",
    "due_at",
    "approved_at",
    "paid_at",
    "voided_at",
    "payout_batch",
]


@dataclass(frozen=True)
class LedgerFilter:
    status: str | None = None
    beneficiary: str | None = None
    advocate_id: int | None = None
    rule_id: int | None = None
    conversion_id: int | None = None
    campaign: str | None = None
    currency: str | None = None
    payout_batch: str | None = None
    start: date | None = None  # the conversion's day, inclusive
    end: date | None = None


def _ledger_where(f: LedgerFilter) -> tuple[str, list]:
    where, params = ["1 = 1"], []
    for column, value in (
        ("r.status", f.status),
        ("r.beneficiary", f.beneficiary),
        ("r.advocate_id", f.advocate_id),
        ("r.rule_id", f.rule_id),
        ("r.conversion_id", f.conversion_id),
        ("rr.campaign", f.campaign),
        ("r.currency", f.currency),
        ("r.payout_batch", f.payout_batch),
    ):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    days, day_params = Period(f.start, f.end).moments("r.occurred_at")
    return " AND ".join([*where, days]), params + day_params


def ledger_rows(db: Database, f: LedgerFilter, limit: int | None = None, offset: int = 0):
    """Ledger rows, oldest first, as the API and the CSV show them."""
    where, params = _ledger_where(f)
    page = ""
    if limit is not None:
        page = " LIMIT ? OFFSET ?"
        params = [*params, limit, offset]
    rows = db.query(
        "SELECT r.*, rr.campaign, rr.goal, a.handle AS advocate_handle, a.name AS advocate_name,"
        " a.email AS advocate_email, c.order_id FROM rewards r"
        " JOIN reward_rules rr ON rr.id = r.rule_id"
        " LEFT JOIN advocates a ON a.id = r.advocate_id"
        " LEFT JOIN conversions c ON c.id = r.conversion_id"
        f" WHERE {where} ORDER BY r.id{page}",
        params,
    )
    for row in rows:
        yield public_reward(row)


def count_rows(db: Database, f: LedgerFilter) -> int:
    where, params = _ledger_where(f)
    return next(
        db.query(
            "SELECT count(*) AS n FROM rewards r JOIN reward_rules rr ON rr.id = r.rule_id"
            f" WHERE {where}",
            params,
        )
    )["n"]


def totals(db: Database, f: LedgerFilter) -> list[dict]:
    """Sum and count per status and currency (money never summed across
    currencies)."""
    where, params = _ledger_where(f)
    return [
        {
            "status": r["status"],
            "currency": r["currency"],
            "count": r["n"],
            "amount": format_minor(r["total"], r["currency"]),
        }
        for r in db.query(
            "SELECT r.status, r.currency, count(*) AS n, sum(r.amount_minor) AS total"
            " FROM rewards r JOIN reward_rules rr ON rr.id = r.rule_id"
            f" WHERE {where} GROUP BY r.status, r.currency ORDER BY r.status, r.currency",
            params,
        )
    ]


def public_reward(row: dict) -> dict:
    return {
        "id": row["id"],
        "status": row["status"],
        "reason": row["reason"],
        "beneficiary": row["beneficiary"],
        "amount": format_minor(row["amount_minor"], row["currency"]),
        "currency": row["currency"],
        "advocate_id": row["advocate_id"],
        "advocate_handle": row.get("advocate_handle"),
        "advocate_name": row.get("advocate_name"),
        "advocate_email": row.get("advocate_email"),
        "friend_visitor_id": row["visitor_id"],
        "friend_customer_id": row["customer_id"],
        "rule_id": row["rule_id"],
        "campaign": row.get("campaign"),
        "goal": row.get("goal"),
        "conversion_id": row["conversion_id"],
        "order_id": row.get("order_id"),
        "occurred_at": row["occurred_at"],
        "created_at": row["created_at"],
        "due_at": row["due_at"],
        "approved_at": row["approved_at"],
        "paid_at": row["paid_at"],
        "voided_at": row["voided_at"],
        "payout_batch": row["payout_batch"],
    }


def rewards_earned(
    db: Database,
    advocate_ids: Iterable[int] | None = None,
    start: date | None = None,
    end: date | None = None,
    campaign: str | None = None,
) -> dict[int, dict[str, int]]:
    """What each advocate has earned as the advocate (not their friends'
    rewards): pending, approved and paid rewards -- not voided or refused --
    for conversions on the days start..end (inclusive), in minor units per
    currency: `{advocate_id: {"EUR": 1500}}`. Advocates with nothing earned
    are absent. For the advocates report's "rewards earned" column."""
    where = ["r.beneficiary = 'advocate'", "r.status IN ('pending', 'approved', 'paid')"]
    days, params = Period(start, end).moments("r.occurred_at")
    where.append(days)
    if campaign:
        where.append("rr.campaign = ?")
        params.append(campaign)
    if advocate_ids is not None:
        where.append("r.advocate_id IN (SELECT value FROM json_each(?))")
        params.append("[" + ",".join(str(int(a)) for a in advocate_ids) + "]")
    earned: dict[int, dict[str, int]] = defaultdict(dict)
    for row in db.query(
        "SELECT r.advocate_id, r.currency, sum(r.amount_minor) AS total FROM rewards r"
        " JOIN reward_rules rr ON rr.id = r.rule_id"
        f" WHERE {' AND '.join(where)} GROUP BY r.advocate_id, r.currency"
        " ORDER BY r.advocate_id, r.currency",
        params,
    ):
        earned[row["advocate_id"]][row["currency"]] = row["total"]
    return dict(earned)


def format_earned(by_currency: dict[str, int]) -> str:
    """`{"EUR": 1500, "USD": 250}` -> "15.00 EUR; 2.50 USD" (one cell)."""
    return "; ".join(f"{format_minor(v, c)} {c}" for c, v in sorted(by_currency.items()))
