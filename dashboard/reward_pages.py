"""The rewards page (issue 7): the ledger as `GET /api/rewards` answers it,
filtered by status, with the payout-run CSV, the rules, and one button to
mark everything approved as paid (`conversions.rewards.mark_paid`)."""

from flask import abort, flash, redirect, render_template, request, url_for

from conversions import rewards
from shortener.clock import utcnow
from shortener.db import get_db

from . import apiclient
from .web import bp

PAGE_SIZE = 200


@bp.get("/rewards")
def rewards_page():
    status = request.args.get("status") or None
    if status is not None and status not in rewards.STATUSES:
        abort(400, "There is no such reward status.")
    args = {"status": status, "limit": PAGE_SIZE}
    ledger = apiclient.fetch("/api/rewards", args)
    return render_template(
        "dashboard/rewards.html",
        status=status,
        statuses=rewards.STATUSES,
        ledger=ledger,
        rules=apiclient.fetch("/api/reward-rules")["rules"],
        csv_url=url_for(
            "dashboard.export",
            api_path="rewards",
            **({"status": status} if status else {}),
            format="csv",
        ),  # fmt: skip
    )


@bp.post("/rewards/mark-paid")
def rewards_mark_paid():
    done = rewards.mark_paid(get_db(), utcnow())
    if done["paid"]:
        flash(f"{len(done['paid'])} approved reward(s) marked paid in batch"
              f" {done['payout_batch']}.", "success")  # fmt: skip
    else:
        flash("No approved rewards to mark paid.", "info")
    return redirect(url_for("dashboard.rewards_page", status="paid"), 303)
