"""The PostgreSQL seam: a `postgresql://` DATABASE selects PostgreSQL, its
connections offer the sqlite3 surface the house uses (`?` parameters,
sqlite3's transactions and error classes), and each app has a pool of its
own, lent to requests and closed with the app."""

import sqlite3
import threading

import psycopg
import pytest

from conftest import app_config
from shortener import create_app
from shortener.app import init_db
from shortener.db import close_pool, connect, get_db, immediate, pool_of, storage_failed
from shortener.dialect import files_path, is_postgres, pg_params, shown
from shortener.pg import PgDatabase


@pytest.mark.parametrize(
    ("database", "postgres"),
    [
        ("postgresql://ct@db.example:5432/clicktrail", True),
        ("postgres://ct@db.example/clicktrail", True),
        ("/var/lib/clicktrail/clicktrail.db", False),
        ("instance/postgresql.db", False),
        ("postgresql.db", False),
    ],
)
def test_a_postgresql_url_selects_postgresql_and_a_path_stays_sqlite(database, postgres):
    assert is_postgres(database) is postgres


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM links WHERE code = ?", "SELECT * FROM links WHERE code = %s"),
        ("SELECT '?' AS q, ? AS p", "SELECT '?' AS q, %s AS p"),
        ("SELECT 'it''s ?', ?", "SELECT 'it''s ?', %s"),
        ('SELECT "odd?name" FROM t WHERE x = ?', 'SELECT "odd?name" FROM t WHERE x = %s'),
        ("SELECT 1 -- why?\nWHERE x = ?", "SELECT 1 -- why?\nWHERE x = %s"),
        ("SELECT 1 /* a ? here */ WHERE x = ?", "SELECT 1 /* a ? here */ WHERE x = %s"),
        ("WHERE url LIKE '%?%' AND x = ?", "WHERE url LIKE '%%?%%' AND x = %s"),
        ("SELECT 10 % ?", "SELECT 10 %% %s"),
    ],
)
def test_question_marks_become_psycopg_parameters_outside_literals_only(sql, expected):
    assert pg_params(sql) == expected


def test_a_password_is_never_shown():
    assert (
        shown("postgresql://ct:s3cret@db:5432/clicktrail")
        == "postgresql://ct:***@db:5432/clicktrail"
    )
    assert shown("postgresql://ct@db/clicktrail") == "postgresql://ct@db/clicktrail"
    assert shown("/srv/ct.db") == "/srv/ct.db"


def test_side_files_of_a_postgresql_database_live_in_the_given_folder(tmp_path):
    one = files_path("postgresql://ct:pw@db:5432/clicktrail", str(tmp_path))
    other = files_path("postgresql://ct@db:5433/clicktrail", str(tmp_path))
    assert one.startswith(str(tmp_path / "postgresql-clicktrail-"))
    assert one != other  # another server's database
    assert "pw" not in one
    assert files_path("/srv/ct.db", str(tmp_path)) == "/srv/ct.db"


@pytest.fixture
def pgdb(pg_url):
    with psycopg.connect(pg_url, autocommit=True) as raw:
        raw.execute("CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT UNIQUE, flag BIGINT)")
    db = connect(pg_url)
    yield db
    db.close()


def count(pg_url) -> int:
    with psycopg.connect(pg_url) as raw:
        return raw.execute("SELECT count(*) FROM t").fetchone()[0]


def test_a_write_on_the_connection_opens_a_transaction_until_commit(pgdb, pg_url):
    pgdb.conn.execute("SELECT 1")
    assert not pgdb.conn.in_transaction  # a read stands alone, as with sqlite3
    pgdb.conn.execute("INSERT INTO t VALUES (?, ?, ?)", (1, "a", 0))
    assert pgdb.conn.in_transaction
    assert count(pg_url) == 0  # not committed yet: another connection sees nothing
    pgdb.conn.commit()
    assert not pgdb.conn.in_transaction
    assert count(pg_url) == 1
    assert pgdb.conn.total_changes == 1


def test_db_execute_commits_a_write_of_its_own_and_query_gives_dicts(pgdb, pg_url):
    pgdb.execute("INSERT INTO t VALUES (?, ?, ?)", [1, "a", True])  # a flag as 1/0
    assert count(pg_url) == 1
    assert list(pgdb.query("SELECT id, name, flag FROM t WHERE name = ?", ["a"])) == [
        {"id": 1, "name": "a", "flag": 1}
    ]
    cursor = pgdb.conn.execute("SELECT id, name FROM t")
    assert [d[0] for d in cursor.description] == ["id", "name"]
    assert cursor.fetchone() == (1, "a")


def test_errors_are_sqlite3_errors_and_a_failed_write_undoes_only_itself(pgdb, pg_url):
    conn = pgdb.conn
    conn.execute("INSERT INTO t VALUES (?, ?, ?)", (1, "a", 0))
    with pytest.raises(sqlite3.IntegrityError, match="unique"):
        conn.execute("INSERT INTO t VALUES (?, ?, ?)", (2, "a", 0))
    conn.executemany("INSERT INTO t VALUES (?, ?, ?)", [(3, "c", 0), (4, "d", 1)])
    conn.commit()  # as in SQLite, the transaction went on past the refused row
    assert count(pg_url) == 3
    with pytest.raises(sqlite3.OperationalError):
        conn.execute("SELECT no_such_column FROM t")
    with pytest.raises(sqlite3.IntegrityError):
        pgdb.execute("INSERT INTO t VALUES (?, ?, ?)", (5, "a", 0))
    assert not conn.in_transaction  # a refused write of its own leaves nothing open


def test_immediate_commits_or_rolls_back_and_writers_take_turns(pgdb, pg_url):
    with immediate(pgdb):
        pgdb.conn.execute("INSERT INTO t VALUES (?, ?, ?)", (1, "a", 0))
    with pytest.raises(RuntimeError), immediate(pgdb):
        pgdb.conn.execute("INSERT INTO t VALUES (?, ?, ?)", (2, "b", 0))
        raise RuntimeError("undo")
    assert count(pg_url) == 1
    # a second writer waits for the first one's commit (SQLite's write lock)
    other = connect(pg_url)
    order = []
    try:
        with immediate(pgdb):
            thread = threading.Thread(target=lambda: _write(other, order))
            thread.start()
            thread.join(0.5)
            order.append("first")
        thread.join(10)
    finally:
        other.close()
    assert order == ["first", "second"]


def _write(db, order):
    with immediate(db):
        order.append("second")


@pytest.fixture
def pg_app(pg_url, tmp_path):
    init_db(pg_url)
    app = create_app(app_config(tmp_path, DATABASE=pg_url, CLICK_JOURNAL_DIR=str(tmp_path)))
    yield app
    close_pool(app)


def test_requests_borrow_the_apps_pool_and_give_the_connection_back(pg_app):
    with pg_app.app_context():
        db = get_db()
        assert isinstance(db, PgDatabase)
        assert get_db() is db  # one connection for the whole request
        db.conn.execute("INSERT INTO goals (name) VALUES (?)", ("left_open",))
        pool = pool_of(pg_app)
        lent = pool.get_stats()["pool_available"]
    # given back (the pool may also have opened another meanwhile, up to its minimum)
    assert pool.get_stats()["pool_available"] >= lent + 1
    assert db.conn.raw.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with pg_app.app_context():
        names = [r["name"] for r in get_db().query("SELECT name FROM goals")]
    assert "left_open" not in names


def test_each_app_has_its_own_pool_and_closing_it_ends_its_threads(pg_url, tmp_path):
    init_db(pg_url)
    apps = [create_app(app_config(tmp_path, DATABASE=pg_url)) for _ in range(2)]
    before = set(threading.enumerate())
    try:
        pools = [pool_of(app) for app in apps]
        assert pools[0] is not pools[1]
        assert pool_of(apps[0]) is pools[0]
    finally:
        for app in apps:
            close_pool(app)
    assert all(p.closed for p in pools)
    for thread in set(threading.enumerate()) - before:
        thread.join(5)
    assert not [t for t in set(threading.enumerate()) - before if t.is_alive()]


def test_an_unreachable_server_is_a_storage_failure_and_a_constraint_is_not(pgdb):
    from pgserver import free_port

    from shortener import health

    with pytest.raises(sqlite3.OperationalError) as unreachable:
        connect(f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    assert health.reason_of(unreachable.value) == "cannot open the database file"
    pgdb.execute("INSERT INTO t VALUES (?, ?, ?)", (1, "a", 0))
    with pytest.raises(sqlite3.IntegrityError) as refused:
        pgdb.execute("INSERT INTO t VALUES (?, ?, ?)", (1, "b", 0))
    assert health.reason_of(refused.value) is None  # a bug or bad input, not the storage


def test_a_remembered_failure_is_cleared_by_the_next_write_that_succeeds(pg_url, tmp_path):
    from shortener import health

    files = str(tmp_path / "side")
    with psycopg.connect(pg_url, autocommit=True) as raw:
        raw.execute("CREATE TABLE t (id BIGINT PRIMARY KEY)")
    db = connect(pg_url, files)
    try:
        down = sqlite3.OperationalError("the server went away")
        down.sqlite_errorcode = 14
        assert storage_failed(db, down) == "cannot open the database file"
        assert health.failure(files)
        with immediate(db):
            db.conn.execute("INSERT INTO t VALUES (?)", (1,))
        assert not health.failure(files)
    finally:
        db.close()
