"""The audit log page: who changed what and when, newest first, with the
API's filters (object type and key, actor) and paging."""

from flask import render_template, request

from shortener import audit
from shortener.db import get_db

from .link_pages import page_number
from .web import bp

PAGE_SIZE = 50


@bp.get("/audit")
def audit_page():
    filters = {k: request.args.get(k, "").strip()[:300] or None
               for k in ("object_type", "key", "actor")}  # fmt: skip
    page, db = page_number(), get_db()
    rows = audit.entries(db, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, **filters)
    total = audit.count(db, **filters)
    return render_template(
        "dashboard/audit.html",
        rows=[{**r, "words": audit.in_words(r, who=False)} for r in rows],
        filters=filters,
        given={k: v for k, v in filters.items() if v},
        page=page,
        pages=max(1, -(-total // PAGE_SIZE)),
        total=total,
    )
