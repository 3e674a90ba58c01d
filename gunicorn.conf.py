"""Gunicorn settings shared by `make run`, the tests and the benchmarks.

Sync workers: every request finishes its SQLite write before the response
goes out, so an acknowledged click is on disk in the WAL even if the worker
is killed right after.
"""

import multiprocessing

workers = max(2, multiprocessing.cpu_count())
worker_class = "sync"
timeout = 30
graceful_timeout = 10
accesslog = None
errorlog = "-"
loglevel = "warning"


def post_worker_init(worker):
    """Every worker brings the database's schema up to date before it
    serves (MIGRATE_ON_START; under a lock, so workers starting together
    apply each migration once), then starts the outbound webhook deliverer
    thread; a file lock lets one deliver and the others wait to take over
    if it exits (WEBHOOK_DELIVERY_THREAD = False turns it off, e.g. to run
    `flask --app shortener webhooks deliver` as its own process)."""
    from conversions.outbound import start_background
    from shortener.db import ensure_schema

    ensure_schema(worker.wsgi)
    start_background(worker.wsgi)
