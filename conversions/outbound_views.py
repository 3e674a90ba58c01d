"""/api/webhooks: register, list, change and disable outbound webhook
endpoints, and read each one's delivery log (admin API key required)."""

import threading

import click
from flask import Blueprint, current_app, jsonify, request
from flask.cli import AppGroup

from shortener.api import json_body, page
from shortener.auth import require_api_key
from shortener.clock import utcnow
from shortener.db import get_db, migration_set
from shortener.errors import ApiError, or_404
from shortener.journal import catch_up

from . import outbound

bp = Blueprint("webhooks", __name__, url_prefix="/api")
webhooks_cli = AppGroup("webhooks", help="Deliver outbound webhooks.")


def allow_private() -> bool:
    return bool(current_app.config["WEBHOOK_ALLOW_PRIVATE_TARGETS"])


def found(endpoint_id: int) -> dict:
    return or_404(
        outbound.get_endpoint(get_db(), endpoint_id), f"no webhook endpoint {endpoint_id}"
    )


@bp.post("/webhooks")
@require_api_key
def create():
    """The answer carries the endpoint's `secret`, shown this once: the
    receiver checks signatures with it."""
    db = catch_up(get_db())  # it starts after the clicks already answered, not among them
    endpoint = outbound.create_endpoint(db, json_body(), allow_private(), utcnow())
    return jsonify(endpoint), 201


@bp.get("/webhooks")
@require_api_key
def index():
    return jsonify({"webhooks": outbound.list_endpoints(get_db())})


@bp.get("/webhooks/<int:endpoint_id>")
@require_api_key
def show(endpoint_id):
    return jsonify(outbound.endpoint_json(found(endpoint_id)))


@bp.patch("/webhooks/<int:endpoint_id>")
@require_api_key
def update(endpoint_id):
    found(endpoint_id)
    body = json_body()
    db = catch_up(get_db())  # an event type subscribed to now starts after the clicks answered
    endpoint = outbound.update_endpoint(db, endpoint_id, body, allow_private(), utcnow())
    return jsonify(endpoint)


@bp.delete("/webhooks/<int:endpoint_id>")
@require_api_key
def disable(endpoint_id):
    """Disabled, not deleted: the delivery log stays readable."""
    found(endpoint_id)
    endpoint = outbound.update_endpoint(
        get_db(), endpoint_id, {"disabled": True}, allow_private(), utcnow()
    )
    return jsonify(endpoint)


@bp.get("/webhooks/<int:endpoint_id>/deliveries")
@require_api_key
def deliveries(endpoint_id):
    found(endpoint_id)
    status = request.args.get("status")  # pending, delivered or failed, as declared
    limit, offset = page()
    rows, total = outbound.list_deliveries(get_db(), endpoint_id, status, limit, offset)
    return jsonify({"deliveries": rows, "limit": limit, "offset": offset, "total": total})


@bp.post("/webhooks/deliveries/<int:delivery_id>/retry")
@require_api_key
def retry(delivery_id):
    """Send a failed (or backing-off) delivery again at the next round."""
    return jsonify(outbound.retry_delivery(get_db(), delivery_id, utcnow()))


@webhooks_cli.command("retry")
@click.argument("delivery_id", type=int)
def retry_command(delivery_id):
    """Send delivery DELIVERY_ID again at the deliverer's next round (a
    failed one gets one more attempt; order per endpoint still holds).

    Example: flask --app shortener webhooks retry 42
    """
    try:
        delivery = outbound.retry_delivery(get_db(), delivery_id, utcnow())
    except ApiError as e:
        raise click.ClickException(e.message) from None
    click.echo(f"delivery {delivery['id']} is pending, due {delivery['next_attempt_at']}")


@webhooks_cli.command("deliver")
@click.option(
    "--once", is_flag=True, help="one round (queue new events, send what is due), then exit"
)
@click.option("--poll", default=2.0, show_default=True, type=click.FloatRange(0.1, 3600),
              help="seconds to wait when there is nothing to do")  # fmt: skip
def deliver_command(once, poll):
    """Queue new events for every endpoint and deliver them, retrying with
    backoff; runs until stopped (Ctrl-C) unless --once. Only one deliverer
    runs at a time: this waits while another (e.g. a gunicorn worker's
    thread) holds the lock; with --once it exits instead.

    Example: flask --app shortener webhooks deliver --once
    """
    config = current_app.config
    options = outbound.Options.from_config(config)
    if once:
        fd = outbound.try_lock(config["DATABASE"])
        if fd is None:
            raise click.ClickException("another webhook deliverer is running (lock held)")
        try:
            done = outbound.run_once(catch_up(get_db()), utcnow(), options)
        finally:
            outbound.release(fd)
        click.echo(", ".join(f"{k}: {v}" for k, v in done.items()))
        return
    stop = threading.Event()
    click.echo("delivering webhooks; Ctrl-C to stop", err=True)
    try:
        migrations = migration_set(current_app)
        outbound.loop(config["DATABASE"], options, poll, stop, current_app.logger, migrations)
    except KeyboardInterrupt:
        stop.set()


def init_app(app):
    app.register_blueprint(bp)
    app.cli.add_command(webhooks_cli)
