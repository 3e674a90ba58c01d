"""The conversions page: the latest conversions with goal, value, source
and the journey of clicks that led to each."""

from flask import render_template, request

from conversions import goals, overview
from conversions.reports import Filters
from shortener.db import get_db
from shortener.journal import catch_up

from .link_pages import page_number
from .params import MODEL_LABELS, PRESET_LABELS, read_view
from .web import bp

PAGE_SIZE = 50


@bp.get("/conversions")
def conversions_page():
    view = read_view(default_preset="all")
    goal = request.args.get("goal", "").strip() or None
    page = page_number()
    db = catch_up(get_db())
    rows = overview.conversion_list(
        db, view.period, Filters(goal=goal), limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return render_template(
        "dashboard/conversions.html",
        view=view,
        presets=PRESET_LABELS,
        models=MODEL_LABELS,
        rows=rows,
        journeys=overview.journeys(db, [r["id"] for r in rows], view.model),
        goal=goal,
        goals=[g["name"] for g in goals.list_goals(db)],
        page=page,
        more=more,
    )
