"""The rewards page: the rules, with forms to create and change them (the
same `advocates.rewards` functions as `POST` and `PATCH /api/reward-rules`,
so a rule made here obeys the API's rules), the ledger as `GET /api/rewards`
answers it, filtered by status, with the payout-run CSV, and one button to
mark everything approved as paid (`advocates.rewards.mark_paid`)."""

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from advocates import rewards
from advocates.rewards_api import ledger_page
from conversions.goals import list_goals
from shortener import links
from shortener.clock import utcnow
from shortener.db import get_db

from .formats import amount_text
from .web import bp, user_actor

PAGE_SIZE = 200
RULE_BOXES = ("campaign", "beneficiary", "goal", "currency", "valid_from", "valid_to",
              "holding_days", "cap_count", "cap_amount", "note")  # fmt: skip
KINDS = {"flat": "A fixed amount", "percent": "A percentage of the attributed revenue"}


def rule_fields(form, editing: bool) -> dict:
    """The rule form as `rewards.parse_rule` takes a JSON body: an empty box
    is no value (null), the reward is `amount` or `percent` by the kind
    chosen, and amounts may be typed as the tables write them."""
    fields = {k: form.get(k, "").strip() or None for k in RULE_BOXES}
    if fields["cap_amount"]:
        fields["cap_amount"] = amount_text(fields["cap_amount"])
    value = form.get("value", "").strip()
    if form.get("kind") == "percent":
        fields["percent"] = value or None
    else:
        fields["amount"] = amount_text(value) if value else None
    fields["verified_only"] = form.get("verified_only") == "on"
    if editing:
        fields["active"] = form.get("active") == "on"
    elif fields["holding_days"] is None:
        del fields["holding_days"]  # the rules' default
    return fields


def form_of(rule: dict) -> dict:
    """A stored rule as the form's boxes show it."""
    public = rewards.public_rule(rule)
    values = {k: "" if public[k] is None else str(public[k]) for k in RULE_BOXES}
    values["kind"] = public["kind"]
    values["value"] = public["amount"] if public["kind"] == "flat" else public["percent"]
    values["verified_only"] = public["verified_only"]
    values["active"] = public["active"]
    return values


def page(status: int = 200, error=None, values=None, editing=None):
    db = get_db()
    state = request.args.get("status") or None
    if state is not None and state not in rewards.STATUSES:
        abort(400, "There is no such reward status.")
    rewards.approve_due(db, utcnow())  # as GET /api/rewards does before it reads
    ledger = ledger_page(db, rewards.LedgerFilter(status=state), PAGE_SIZE)
    html = render_template(
        "dashboard/rewards.html",
        status=state,
        statuses=rewards.STATUSES,
        ledger=ledger,
        rules=[rewards.public_rule(r) for r in rewards.list_rules(db)],
        goals=[g["name"] for g in list_goals(db)],
        campaigns=links.filter_choices(db)["campaigns"],
        kinds=KINDS,
        error=error,
        values=values
        or {
            "beneficiary": "advocate",
            "goal": "purchase",
            "kind": "flat",
            "holding_days": str(rewards.DEFAULT_HOLDING_DAYS),
            "active": True,
        },
        editing=editing,
        csv_url=url_for(
            "dashboard.export",
            api_path="rewards",
            **({"status": state} if state else {}),
            format="csv",
        ),  # fmt: skip
    )
    return html, status


@bp.get("/rewards")
def rewards_page():
    editing = request.args.get("edit", type=int)
    if editing is None:
        return page()
    rule = rewards.get_rule(get_db(), editing)
    if rule is None:
        abort(404, "There is no such reward rule.")
    return page(values=form_of(rule), editing=editing)


@bp.post("/rewards/rules")
def reward_rule_save():
    """Create a rule, or change one (`rule_id`): changes apply to the
    conversions assessed from now on, as with the API's PATCH."""
    db = get_db()
    rule_id = request.form.get("rule_id", type=int)
    current = rewards.get_rule(db, rule_id) if rule_id is not None else None
    if rule_id is not None and current is None:
        abort(404, "The reward rule being changed no longer exists.")
    values = {**request.form, "verified_only": request.form.get("verified_only") == "on",
              "active": request.form.get("active") == "on"}  # fmt: skip
    try:
        columns = rewards.parse_rule(
            db,
            rule_fields(request.form, current is not None),
            current_app.config["DEFAULT_CURRENCY"],
            current,
        )
    except rewards.RewardError as e:
        return page(400, {"field": e.field, "message": e.message}, values, rule_id)
    if current is None:
        rule = rewards.create_rule(db, columns, utcnow(), actor=user_actor())
        flash(f"Reward rule #{rule['id']} created for campaign {rule['campaign']}.", "success")
    else:
        rule = rewards.update_rule(db, rule_id, columns, utcnow(), actor=user_actor())
        flash(f"Reward rule #{rule['id']} saved.", "success")
    return redirect(url_for("dashboard.rewards_page"), 303)


@bp.post("/rewards/mark-paid")
def rewards_mark_paid():
    done = rewards.mark_paid(get_db(), utcnow())
    if done["paid"]:
        flash(f"{len(done['paid'])} approved reward(s) marked paid in batch"
              f" {done['payout_batch']}.", "success")  # fmt: skip
    else:
        flash("No approved rewards to mark paid.", "info")
    return redirect(url_for("dashboard.rewards_page", status="paid"), 303)
