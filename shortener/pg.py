"""PostgreSQL connections that look like the SQLite ones the house uses.

The modules talk to `db.conn` (the sqlite3 API: `execute(sql, params)` with
`?` parameters, `executemany`, cursors with `fetchone/fetchall` and
`description`, `commit/rollback`, `in_transaction`, `total_changes`) and to
sqlite-utils' `db.execute/db.query`. `PgConnection` and `PgDatabase` offer
that same small surface over a psycopg connection, so a module's SQL runs
unchanged on both engines when it is SQL both accept.

Transactions behave as with sqlite3: a read outside a transaction stands
alone; a write through `conn.execute` opens one that lasts until `commit()`;
`db.execute` commits a write of its own at once (as sqlite-utils does). A
failed write inside a transaction undoes only itself (a savepoint around
it), as in SQLite, where PostgreSQL would otherwise abort the transaction.

psycopg's errors are raised as the sqlite3 module's classes of the same
meaning (IntegrityError, OperationalError...), chained to the original, so
`except sqlite3.IntegrityError` and `except sqlite3.Error` mean the same on
both engines.
"""

import sqlite3
import weakref

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import TransactionStatus
from psycopg.types.numeric import NumericLoader
from psycopg_pool import ConnectionPool

from .dialect import pg_params, pg_statement

WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE")
POOL_MAX = 16  # a worker's threads (request threads, replay thread) share these
CONNECT_TIMEOUT = 10


class _BoolAsInteger(Dumper):
    """True/False as 1/0: the schema keeps SQLite's INTEGER flags."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj):
        return b"1" if obj else b"0"


class _NumericAsNumber(NumericLoader):
    """sum() of BIGINTs is NUMERIC in PostgreSQL, an integer in SQLite: a
    whole number is read as int (the schema holds no NUMERIC column; money is
    integer minor units), anything else as float, as SQLite would give it."""

    def load(self, data):
        value = super().load(data)
        return int(value) if value == value.to_integral_value() else float(value)


def configure(conn: psycopg.Connection) -> None:
    conn.adapters.register_dumper(bool, _BoolAsInteger)
    conn.adapters.register_loader("numeric", _NumericAsNumber)


# SQLite's result code for a PostgreSQL SQLSTATE (or its class, the first two
# characters), so shortener.health tells a storage failure from a bug alike
SQLITE_CODES = {
    "08": (14, "SQLITE_CANTOPEN"),  # connection exception: the server cannot be reached
    "57P01": (14, "SQLITE_CANTOPEN"),  # the server is shutting down
    "57P02": (14, "SQLITE_CANTOPEN"),
    "57P03": (14, "SQLITE_CANTOPEN"),  # the server is starting
    "53100": (13, "SQLITE_FULL"),  # disk full
    "25006": (8, "SQLITE_READONLY"),  # a read-only server (a standby)
    "40P01": (5, "SQLITE_BUSY"),  # deadlock: try again
    "55P03": (5, "SQLITE_BUSY"),  # lock not available
    "23": (19, "SQLITE_CONSTRAINT"),  # integrity constraint violation
}
NO_CONNECTION = (14, "SQLITE_CANTOPEN")  # no SQLSTATE: the connection itself failed


def _sqlite_error(error: psycopg.Error) -> sqlite3.Error:
    """The sqlite3 class of the same meaning, carrying PostgreSQL's message
    and the SQLite result code of the same meaning (sqlite_errorcode)."""
    if isinstance(error, psycopg.IntegrityError):
        kind = sqlite3.IntegrityError
    elif isinstance(error, psycopg.InterfaceError):
        kind = sqlite3.InterfaceError
    elif isinstance(error, psycopg.DataError):
        kind = sqlite3.DataError
    else:
        kind = sqlite3.OperationalError
    mapped = kind(str(error).strip())
    state = error.sqlstate
    if state is None:
        code = NO_CONNECTION if isinstance(error, psycopg.OperationalError) else (1, "SQLITE_ERROR")
    else:
        code = SQLITE_CODES.get(state) or SQLITE_CODES.get(state[:2]) or (1, "SQLITE_ERROR")
    mapped.sqlite_errorcode, mapped.sqlite_errorname = code
    return mapped


def open_connection(url: str) -> psycopg.Connection:
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
    except psycopg.Error as e:
        raise _sqlite_error(e) from e
    configure(conn)
    return conn


def open_pool(url: str) -> ConnectionPool:
    """One app's pool: its connections are handed to requests (shortener.db)."""
    return ConnectionPool(
        url, min_size=1, max_size=POOL_MAX, open=True, name="clicktrail",
        kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
        configure=configure, timeout=CONNECT_TIMEOUT,
    )  # fmt: skip


def _first_word(sql: str) -> str:
    return sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""


class PgConnection:
    """The sqlite3.Connection surface the house uses, over psycopg."""

    def __init__(self, raw: psycopg.Connection):
        self.raw = raw
        self.total_changes = 0

    @property
    def in_transaction(self) -> bool:
        return self.raw.info.transaction_status != TransactionStatus.IDLE

    def execute(self, sql: str, params=None):
        return self._run(sql, params, many=False)

    def executemany(self, sql: str, seq):
        return self._run(sql, list(seq), many=True)

    def _run(self, sql: str, params, many: bool):
        sql = pg_statement(sql)
        if params is not None:
            sql = pg_params(sql)
            params = list(params) if not many else [tuple(p) for p in params]
        write = _first_word(sql) in WRITES
        opened = write and not self.in_transaction
        guarded = write and not opened
        cursor = self.raw.cursor()
        try:
            if opened:  # sqlite3 opens a transaction before a write
                cursor.execute("BEGIN")
            elif guarded:
                cursor.execute("SAVEPOINT clicktrail_statement")
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
            if guarded:
                self.raw.execute("RELEASE SAVEPOINT clicktrail_statement")
        except psycopg.Error as e:
            self._undo(opened, guarded)
            raise _sqlite_error(e) from e
        if write and cursor.rowcount > 0:
            self.total_changes += cursor.rowcount
        return cursor

    def _undo(self, opened: bool, guarded: bool) -> None:
        if self.raw.info.transaction_status == TransactionStatus.UNKNOWN:
            return  # the connection is gone: nothing to undo on it
        if opened:
            self.raw.execute("ROLLBACK")
        elif guarded:
            self.raw.execute("ROLLBACK TO SAVEPOINT clicktrail_statement")
            self.raw.execute("RELEASE SAVEPOINT clicktrail_statement")

    def commit(self) -> None:
        self._end("COMMIT")

    def rollback(self) -> None:
        self._end("ROLLBACK")

    def _end(self, statement: str) -> None:
        """End the open transaction, if any, as sqlite3 does (a no-op without one)."""
        if self.in_transaction:
            try:
                self.raw.execute(statement)
            except psycopg.Error as e:
                raise _sqlite_error(e) from e


class PgDatabase:
    """The sqlite-utils Database surface the house uses (`conn`, `execute`,
    `query`, `close`), plus what shortener.db keeps on a connection: `path`
    (the name its side files are kept under), `stale`."""

    engine = "postgresql"
    wal_path = None  # SQLite's: PostgreSQL syncs its own log
    write_lock = None

    def __init__(self, raw: psycopg.Connection, path: str, pool: ConnectionPool | None = None):
        self.conn = PgConnection(raw)
        self.path = path
        self.stale = False
        self._pool = pool
        if pool is None:
            weakref.finalize(self, raw.close)

    def execute(self, sql: str, params=None):
        """As sqlite-utils: a write outside a transaction is committed at once."""
        if self.conn.in_transaction or _first_word(sql) not in WRITES:
            return self.conn.execute(sql, params)
        cursor = self.conn.execute(sql, params)
        self.conn.commit()
        return cursor

    def query(self, sql: str, params=None):
        cursor = self.execute(sql, params)
        if cursor.description is None:
            raise ValueError("query() can only be used with SQL that returns rows")
        keys = [c.name for c in cursor.description]
        return (dict(zip(keys, row, strict=True)) for row in cursor.fetchall())

    def close(self) -> None:
        """Back to the pool (rolled back first), or closed when it has none."""
        raw = self.conn.raw
        if self._pool is None:
            raw.close()
            return
        if raw.closed:
            self._pool.putconn(raw)
            return
        if self.conn.in_transaction:
            try:
                self.conn.rollback()
            except sqlite3.Error:
                pass  # a broken connection: the pool discards it
        self._pool.putconn(raw)


def connect(url: str, path: str) -> PgDatabase:
    """A connection of its own (scripts, tests, threads outside requests)."""
    return PgDatabase(open_connection(url), path)


def from_pool(pool: ConnectionPool, path: str) -> PgDatabase:
    try:
        raw = pool.getconn()
    except psycopg.Error as e:  # the pool's timeout included: no connection could be made
        raise _sqlite_error(e) from e
    return PgDatabase(raw, path, pool)
