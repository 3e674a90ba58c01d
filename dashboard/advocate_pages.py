"""The Advocates page: who shares the brand's links, and the leaderboard of
who really brings customers, both as the API answers them."""

from flask import abort, flash, redirect, render_template, request, url_for

from advocates import people
from advocates.api import listing as advocate_listing
from shortener.db import get_db, immediate
from shortener.errors import ApiError

from . import integrations, report_catalogue
from .params import MODEL_LABELS, PRESET_LABELS, read_view
from .web import bp, user_actor


def by_return(rows: list[dict]) -> list[dict]:
    """Best ROI first; rows without one (no cost entered) after them, in
    the API's order (converted visitors, then revenue)."""
    return sorted(rows, key=lambda r: (r.get("roi_percent") is None, -(r.get("roi_percent") or 0)))


@bp.route("/advocates", methods=["GET", "POST"])
def advocates_page():
    """GET: the page. POST: add an advocate (`name`, `email`, `customer_id`)
    or give advocates personal links (`code`, `handles`: comma-separated),
    with the API's own validation and wording."""
    if not integrations.api_rule("/api/advocates"):
        abort(404, "Advocates are not part of this installation.")
    error, status = None, 200
    if request.method == "POST":
        try:
            message = _post(request.form)
        except ApiError as e:
            error, status = e.message, 400 if e.status == 404 else e.status
        else:
            flash(message, "success")
            return redirect(url_for("dashboard.advocates_page", **request.args), 303)
    return _page(error), status


def _post(form) -> str:
    db = get_db()
    if form.get("action") == "share":
        keys = [k.strip() for k in form.get("handles", "").split(",") if k.strip()]
        if not keys:
            raise ApiError("name at least one advocate (handles, comma-separated)")
        with immediate(db):
            results = people.share_many(db, form.get("code", "").strip(), keys)
        made = sum(1 for _, _, created in results if created)
        plural = "" if made == 1 else "s"
        return f"{made} personal link{plural} created, {len(results) - made} existed."
    fields = {k: form.get(k, "").strip() for k in ("name", "email", "customer_id")}
    with immediate(db):
        advocate = people.create_advocate(
            db, {k: v for k, v in fields.items() if v} or {"name": ""}, actor=user_actor()
        )
    return f"Advocate '{advocate['handle']}' added."


def _page(error):
    view = read_view()
    campaign = request.args.get("campaign", "").strip()
    args = {**view.api_args(), "campaign": campaign}
    board, problem = report_catalogue.run("advocates", args)
    rows = by_return(board["rows"]) if board else []
    listing = advocate_listing(get_db(), 1000)
    handles = {a["id"]: a["handle"] for a in listing["advocates"]}
    return render_template(
        "dashboard/advocates.html",
        view=view,
        presets=PRESET_LABELS,
        models=MODEL_LABELS,
        campaign=campaign,
        rows=rows,
        columns=report_catalogue.shown_columns("advocates", rows)[0],
        problem=problem,
        error=error,
        form=request.form,
        advocates=listing["advocates"],
        total=listing["total"],
        handles=handles,
        csv_url=url_for(
            "dashboard.export",
            api_path="reports/advocates",
            **{k: v for k, v in args.items() if v},
            format="csv",
        ),
        reports={
            name: url_for("dashboard.report_page", name=name, **view.args())
            for name in ("advocates", "referrals", "advocate-candidates")
            if name in report_catalogue.report_names()
        },
    )
