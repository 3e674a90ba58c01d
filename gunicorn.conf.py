"""Gunicorn settings shared by `make run`, the tests and the benchmarks.

Sync workers: every request finishes its SQLite write before the response
goes out, so an acknowledged click is on disk in the WAL even if the worker
is killed right after.
"""

import multiprocessing

import gunicorn.http.message

# The request line. The visit pixel carries the page's own address and its
# referrer in its query string (tracking parameters and all), and a short
# link's visitor brings whatever an ad platform appended, so real request
# lines run past gunicorn's default of 4094 bytes, which answered 414 and left
# a broken image on the page. Gunicorn refuses any limit above 8190 unless it
# is 0, and 0 is truly unlimited with its Python parser: the whole line is
# buffered before the app can look at it, so one huge line could eat a
# worker's memory. Instead the ceiling is raised (Request reads this constant
# when it is created) to a bound no browser-made pixel URL reaches while a
# worker's buffer stays small -- the same order as the request bodies Flask
# already accepts (MAX_CONTENT_LENGTH). What a real page sends is a smaller
# question the app answers: a pixel query past conversions.pixel's
# MAX_PIXEL_QUERY gets the GIF and stores nothing (tests/test_long_urls.py
# checks both through a real gunicorn, so a gunicorn that stops reading this
# constant fails a test instead of going back to 414s).
LONGEST_REQUEST_LINE = 1024 * 1024
gunicorn.http.message.MAX_REQUEST_LINE = max(
    gunicorn.http.message.MAX_REQUEST_LINE, LONGEST_REQUEST_LINE
)
limit_request_line = LONGEST_REQUEST_LINE

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
    app = worker.wsgi
    if "clicktrail.schema" not in getattr(app, "extensions", {}):
        # another app served under these settings (bench/bare_app.py, the
        # benchmarks' baseline): it has no schema or webhooks of ours
        return
    from conversions.outbound import start_background
    from shortener.db import ensure_schema

    ensure_schema(app)
    start_background(app)
