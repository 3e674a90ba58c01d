"""The cost ledger: list, add, edit (replace), delete and import from CSV.

Validation, storage and the list are `conversions.costs`' own (the
functions behind `/api/costs`), so a cost entered here is the API's cost."""

from flask import abort, flash, redirect, render_template, request, url_for

from advocates import people
from conversions import costs
from shortener.clock import utcnow
from shortener.db import get_db, immediate

from .formats import amount_text
from .params import PRESET_LABELS, read_view
from .web import bp, user_actor

MAX_UPLOAD = 5 * 1024 * 1024


def form_fields(form) -> dict:
    """The form's boxes as the ledger takes them; the amount may be typed
    as the tables write it ("1,000.00")."""
    fields = {f: form.get(f, "").strip() for f in costs.FIELDS}
    fields["amount"] = amount_text(fields["amount"])
    return {k: v for k, v in fields.items() if v != "" or k in costs.REQUIRED}


def suggested(args) -> dict:
    """A new cost's boxes filled from the link that led here ("No cost
    entered" in a report names its channel, campaign or advocate)."""
    return {k: args.get(k, "").strip()[:200] for k in ("channel", "campaign", "advocate")}


def page(view, status=200, error=None, values=None, editing=None, imported=None):
    args = {**view.api_args(), "model": None}
    # the rows GET /api/costs lists, from the ledger's own functions
    listed = [costs.public(r, view.period) for r in costs.overlapping(get_db(), view.period)]
    problem = None
    html = render_template(
        "dashboard/costs.html",
        view=view,
        presets=PRESET_LABELS,
        rows=listed,
        problem=problem,
        error=error,
        values=values or {},
        editing=editing,
        imported=imported,
        kinds=costs.KINDS,
        handles=advocate_handles(),
        csv_url=url_for(
            "dashboard.export",
            api_path="costs",
            **{k: v for k, v in args.items() if v},
            format="csv",
        ),  # fmt: skip
    )
    return html, status


def advocate_handles() -> list[str]:
    """The handles the form's advocate field suggests (the first thousand)."""
    return [a["handle"] for a in people.list_advocates(get_db(), limit=1000)]


def row_values(row: dict) -> dict:
    public = costs.public(row)
    return {k: public[k] or "" for k in costs.FIELDS}


@bp.get("/costs")
def costs_page():
    view = read_view(default_preset="all")
    editing = request.args.get("edit", type=int)
    if editing is not None:
        row = costs.get_cost(get_db(), editing)
        if row is None:
            abort(404, "There is no such cost.")
        return page(view, values=row_values(row), editing=editing)
    return page(view, values=suggested(request.args))


@bp.post("/costs")
def cost_save():
    view = read_view(default_preset="all")
    values = form_fields(request.form)
    replace = request.form.get("replace", type=int)
    db = get_db()
    try:
        cost = costs.parse_cost(values, db)
    except costs.CostError as e:
        return page(view, 400, {"field": e.field, "message": e.message}, values, replace)
    with immediate(db):
        if replace is not None and not costs.delete_cost(db, replace, actor=user_actor()):
            abort(404, "The cost being edited no longer exists.")
        row = costs.add_cost(db, cost, utcnow(), source="dashboard", actor=user_actor())
    flash(f"Cost #{row['id']} saved: {costs.public(row)['amount']} {row['currency']}.", "success")
    return redirect(url_for("dashboard.costs_page", **view.args(model=None)), 303)


@bp.post("/costs/<int:cost_id>/delete")
def cost_delete(cost_id):
    db = get_db()
    with immediate(db):
        if not costs.delete_cost(db, cost_id, actor=user_actor()):
            abort(404, "There is no such cost.")
    flash(f"Cost #{cost_id} deleted.", "success")
    return redirect(url_for("dashboard.costs_page"), 303)


@bp.post("/costs/import")
def cost_import():
    view = read_view(default_preset="all")
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return page(view, 400, {"field": "file", "message": "choose a CSV file to import"})
    data = upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        return page(view, 400, {"field": "file", "message": "the file is larger than 5 MB"})
    try:
        text = data.decode("utf-8")
        result = costs.import_csv(get_db(), text, utcnow(), actor=user_actor())
    except UnicodeDecodeError:
        return page(view, 400, {"field": "file", "message": "the file is not UTF-8 text"})
    except costs.CsvFileError as e:
        return page(view, 400, {"field": "file", "message": str(e)})
    imported = {"added": len(result.added), "refused": result.refused}
    return page(view, 200 if not result.refused else 400, imported=imported)
