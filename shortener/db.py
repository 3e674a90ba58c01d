"""Database connections: SQLite, or PostgreSQL when DATABASE is a
`postgresql://` URL (shortener.dialect says which; shortener.pg gives a
PostgreSQL connection SQLite's surface).

SQLite: opening a connection and setting its pragmas costs more than a whole
redirect, so each thread keeps its own open connection in the app's
extensions (never a module-level global: every app, and so every test,
has its own). PostgreSQL: the app's psycopg_pool ConnectionPool lends a
connection to each request. `get_db()` hands it to the request; `close_db()`
makes sure no transaction outlives the request (and gives a PostgreSQL
connection back to the pool).
"""

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
import weakref

import click
from flask import current_app, g
from flask.cli import with_appcontext
from sqlite_utils import Database, Migrations

from . import dialect, health, pg

BUSY_TIMEOUT_MS = 10_000
SCHEMA_RETRY_SECONDS = 5.0


def connect(path: str, files: str | None = None) -> Database:
    """Open the database with the settings every connection must have.
    A PostgreSQL URL gets a connection of its own (not the pool's), its side
    files named after `files` (see `files_of`)."""
    if dialect.is_postgres(path):
        return pg.connect(path, files)
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    mode = conn.execute("PRAGMA journal_mode = wal").fetchone()[0]
    # NORMAL in WAL mode: a commit survives a crashed process, not a power cut;
    # durable transactions (conversions) sync the WAL themselves (see `immediate`).
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    db = Database(conn, execute_plugins=False)
    db.path = path
    # set after a storage failure: the pooled connection is opened afresh (one
    # opened while the file system was read-only would stay read-only)
    db.stale = False
    db.wal_path = f"{path}-wal" if mode == "wal" else None
    db.write_lock = _open_write_lock(path)
    if db.write_lock is not None:
        weakref.finalize(db, os.close, db.write_lock)
    return db


def _open_write_lock(path: str) -> int | None:
    try:
        return os.open(f"{path}-writelock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None


@contextlib.contextmanager
def write_lock(db: Database):
    """Queue for SQLite's write lock across processes.

    A writer that finds the lock taken sleeps in SQLite's busy handler for
    1, 2, 5, 10... ms, far longer than a conversion holds it (under 1 ms),
    so two busy workers spend most of their time asleep. A POSIX lock on a
    side file wakes the next writer the moment the lock is free. SQLite's own
    locking still guarantees correctness; this only orders the waiting (and
    is per process, so connections in one process never wait on each other
    here).
    """
    fd = getattr(db, "write_lock", None)
    if fd is None:
        yield
        return
    fcntl.lockf(fd, fcntl.LOCK_EX)
    try:
        yield
    finally:
        fcntl.lockf(fd, fcntl.LOCK_UN)


def files_of(app) -> str:
    """The path the database's side files (click journals, counters) are
    named after: the SQLite file itself, or for a PostgreSQL database one in
    CLICK_JOURNAL_DIR (else the instance folder)."""
    folder = app.config.get("CLICK_JOURNAL_DIR") or app.instance_path
    return dialect.files_path(app.config["DATABASE"], folder)


def get_db() -> Database:
    """This thread's connection, and nothing more: a reader that needs
    every click answered so far catches up the click log itself
    (`shortener.journal.catch_up`), so the redirect and the requests that
    never read clicks do not wait for it."""
    if "db" not in g and dialect.is_postgres(current_app.config["DATABASE"]):
        app = current_app._get_current_object()  # the pool lives as long as the app
        g.db = pg.from_pool(pool_of(app), files_of(app))
    if "db" not in g:
        pool = current_app.extensions["clicktrail.db"]
        db = getattr(pool, "db", None)
        if db is not None and db.stale:
            db.close()
            db = None
        if db is None:
            db = pool.db = connect(current_app.config["DATABASE"])
        g.db = db
    return g.db


def close_db(exc=None):
    db = g.pop("db", None)
    if isinstance(db, pg.PgDatabase):
        db.close()  # rolled back and given back to the pool
    elif db is not None and db.conn.in_transaction:
        db.conn.rollback()


POOL_KEY = "clicktrail.pg_pool"


def pool_of(app):
    """The app's PostgreSQL pool, opened on first use in this process (a
    forked worker opens its own: the parent's pool threads are not in it)."""
    holder = app.extensions[POOL_KEY]
    with holder["lock"]:
        if holder["pool"] is None or holder["pid"] != os.getpid():
            holder["pool"] = pg.open_pool(app.config["DATABASE"])
            holder["pid"] = os.getpid()
            weakref.finalize(app, holder["pool"].close)  # at exit at the latest
        return holder["pool"]


def close_pool(app) -> None:
    """Close the app's PostgreSQL pool now (its threads end); a later
    request opens a new one."""
    holder = app.extensions.get(POOL_KEY)
    if holder is None:
        return
    with holder["lock"]:
        pool, holder["pool"] = holder["pool"], None
        if pool is not None and holder["pid"] == os.getpid():
            pool.close()


@contextlib.contextmanager
def immediate(db: Database, durable: bool = False):
    """A write transaction that takes the write lock before its first read.

    A deferred transaction that reads and then writes can fail with
    "database is locked" when another writer got in between; BEGIN IMMEDIATE
    waits (up to the busy timeout) instead.

    `durable`: for records that must survive a power cut, this returns only
    once the commit is on disk. synchronous=FULL would fsync the WAL inside
    the commit, while holding SQLite's single write lock, so every writer
    would queue behind each other's disk flush. Instead the commit is made
    as NORMAL (written to the WAL, not flushed) and the WAL file is flushed
    right after the lock is released: the caller still waits for its own
    commit to reach the disk before answering, but the other workers write
    meanwhile, and concurrent flushes of one file share the disk's work. A
    WAL that is reused after a checkpoint has already been copied into the
    database file and synced, so a flush never misses an earlier commit.
    """
    if getattr(db, "engine", None) == "postgresql":
        with _pg_immediate(db):
            yield db
        return
    wal = getattr(db, "wal_path", None)
    full = durable and wal is None  # not in WAL mode: let SQLite sync
    changes = db.conn.total_changes
    try:
        if full:
            db.conn.execute("PRAGMA synchronous = FULL")
        try:
            with write_lock(db):
                db.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield db
                    db.conn.commit()
                finally:
                    if db.conn.in_transaction:  # an error, or a commit that failed
                        db.conn.rollback()
        finally:
            if full:
                db.conn.execute("PRAGMA synchronous = NORMAL")
        if durable and wal is not None:
            sync_file(wal)
    except (sqlite3.Error, OSError) as e:
        storage_failed(db, e)
        raise
    if db.conn.total_changes != changes:  # it wrote something: the disk takes writes
        stored(db)


# the key of the advisory lock every write transaction takes on PostgreSQL
WRITE_LOCK_KEY = 0x636C6B74  # "clkt"


@contextlib.contextmanager
def _pg_immediate(db):
    """PostgreSQL's `immediate`: a transaction that first takes one
    transaction-level advisory lock, so writers take turns as with SQLite's
    write lock (the house's read-then-write transactions rely on it). A
    commit is durable already (synchronous_commit), and there is no side file."""
    conn = db.conn
    changes = conn.total_changes
    try:
        conn.execute("BEGIN")
        try:
            conn.execute("SELECT pg_advisory_xact_lock(?)", (WRITE_LOCK_KEY,))
            yield db
            conn.commit()
        finally:
            if conn.in_transaction:
                conn.rollback()
    except sqlite3.Error as e:  # shortener.pg raises psycopg's errors as sqlite3's
        storage_failed(db, e)
        raise
    if conn.total_changes != changes:  # it wrote something: the server takes writes
        stored(db)


def storage_failed(db: Database, error: BaseException) -> str | None:
    """Remember a failed write for /healthz and have the connection opened
    afresh; returns the failure's reason (None: not the storage's fault)."""
    path = getattr(db, "path", None)
    reason = health.reason_of(error) if path is None else health.note(path, "database", error)
    if reason is not None:
        db.stale = True
    return reason


def request_storage_failed(error: BaseException) -> str | None:
    """storage_failed for the request's connection, if it got one."""
    db = g.get("db")
    if db is not None:
        return storage_failed(db, error)
    return health.note(files_of(current_app), "database", error)


def stored(db: Database) -> None:
    path = getattr(db, "path", None)
    if path is not None:
        health.succeeded(path, "database")


def sync_file(path: str) -> None:
    """fdatasync a file (the WAL) by name."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)


def init_db(path: str, migrations: Migrations) -> list[str]:
    """Apply the pending migrations of the set (the composition root's,
    shortener/app.py `migrations()`); returns the names of those applied.

    Under an exclusive lock on a file beside the database, so servers'
    workers starting together (and `init-db` run meanwhile) apply each
    migration once: the others wait, then find nothing pending. The lock is
    taken before the first connection too: opening a new file switches it to
    WAL, which a second process doing the same at that moment can find
    locked. A database that is up to date is only read. PostgreSQL:
    shortener.pgschema."""
    if dialect.is_postgres(path):
        from . import pgschema

        return pgschema.init_db(path, migrations)
    with migration_lock(path):
        db = connect(path)
        try:
            pending = [m.name for m in migrations.pending(db)]
            if pending:
                migrations.apply(db)
            return pending
        finally:
            db.close()


@contextlib.contextmanager
def migration_lock(path: str):
    try:
        fd = os.open(f"{path}-migrate.lock", os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:  # a folder that refuses the lock file refuses a migration too
        yield
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def ensure_schema(app) -> bool:
    """Migrate the database when a server starts (MIGRATE_ON_START), so a
    new DATABASE serves at once without `flask init-db`: before a gunicorn
    worker serves (gunicorn.conf.py), and before the first request a process
    serves under any other server (shortener/fastpath.py, the outermost
    layer). CLI commands never do: `flask init-db` does it explicitly.

    Done once per process; a failure (a read-only or full disk, a folder
    that does not exist) is logged in one line and tried again by a later
    request, at most every SCHEMA_RETRY_SECONDS, while requests answer 503
    with the reason. True once the schema is known to be up to date."""
    state = app.extensions["clicktrail.schema"]
    if state["ready"] or not app.config["MIGRATE_ON_START"]:
        return True
    with state["lock"]:
        now = time.monotonic()
        if state["ready"] or now - state["tried"] < SCHEMA_RETRY_SECONDS:
            return state["ready"]
        state["tried"] = now
        database = app.config["DATABASE"]
        try:
            applied = init_db(database, migration_set(app))
        except (sqlite3.Error, OSError) as e:
            app.logger.error(
                "cannot migrate the database at %s (%s): run `flask --app shortener init-db`",
                dialect.shown(database), e,
            )  # fmt: skip
            return False
        if applied:
            app.logger.warning(
                "database at %s migrated: %s", dialect.shown(database), ", ".join(applied)
            )
        state["ready"] = True
        return True


def is_ready(db: Database, migrations: Migrations | None = None) -> bool:
    """True when no migration is pending; the set is the current app's
    unless given."""
    if migrations is None:
        migrations = migration_set(current_app)
    if getattr(db, "engine", None) == "postgresql":
        from . import pgschema

        return not pgschema.pending(db, migrations)
    return not migrations.pending(db)


def migration_set(app) -> Migrations:
    """The whole house's migrations, as the composition root gave them."""
    return app.extensions["clicktrail.schema"]["migrations"]


@click.command("init-db")
@with_appcontext  # `flask` pushes one anyway; test runners and scripts do not
def init_db_command():
    """Create the database or bring its schema up to date.

    Safe to run any number of times.

    Example: flask --app shortener init-db
    """
    try:
        applied = init_db(current_app.config["DATABASE"], migration_set(current_app))
    except sqlite3.Error as e:
        raise click.ClickException(f"cannot initialise the database: {e}") from e
    where = dialect.shown(current_app.config["DATABASE"])
    if applied:
        click.echo(f"Database ready at {where} (applied: {', '.join(applied)})")
    else:
        click.echo(f"Database at {where} is up to date")


def init_app(app, migrations: Migrations):
    """`migrations` is the whole house's set, given by the composition root:
    this module cannot know the parts above it."""
    app.extensions["clicktrail.db"] = threading.local()
    app.extensions[POOL_KEY] = {"pool": None, "pid": None, "lock": threading.Lock()}
    app.extensions["clicktrail.schema"] = {"ready": False, "tried": float("-inf"),
                                           "lock": threading.Lock(),
                                           "migrations": migrations}  # fmt: skip
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
