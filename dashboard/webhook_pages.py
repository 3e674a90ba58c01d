"""Outbound webhooks in the dashboard: each endpoint's deliveries that need
a person (failed, or waiting out a back-off), with a button to send one
again. Registering and changing endpoints stays in the API."""

from flask import abort, flash, redirect, render_template, url_for

from conversions import outbound
from shortener.clock import utcnow
from shortener.db import get_db
from shortener.errors import ApiError

from .web import bp

SHOWN_PER_ENDPOINT = 50


def stuck_deliveries(db, endpoint_id: int) -> list[dict]:
    """Failed deliveries and pending ones that failed at least once, oldest
    first (the order they will go in)."""
    return list(
        db.query(
            f"SELECT {outbound.DELIVERY_COLUMNS} FROM webhook_deliveries"
            " WHERE endpoint_id = ? AND (status = 'failed' OR (status = 'pending'"
            " AND attempts > 0)) ORDER BY id LIMIT ?",
            [endpoint_id, SHOWN_PER_ENDPOINT],
        )
    )


@bp.get("/webhooks")
def webhooks_page():
    db = get_db()
    endpoints = [
        {**endpoint, "stuck": stuck_deliveries(db, endpoint["id"])}
        for endpoint in outbound.list_endpoints(db)
    ]
    return render_template("dashboard/webhooks.html", endpoints=endpoints)


@bp.post("/webhooks/deliveries/<int:delivery_id>/retry")
def webhook_retry(delivery_id):
    try:
        delivery = outbound.retry_delivery(get_db(), delivery_id, utcnow())
    except ApiError as e:
        if e.status == 404:
            abort(404, "There is no such webhook delivery.")
        flash(f"Delivery {delivery_id} was not retried: {e.message}.", "error")
    else:
        flash(f"Delivery {delivery['id']} goes again at the deliverer's next round.", "success")
    return redirect(url_for("dashboard.webhooks_page"), 303)
