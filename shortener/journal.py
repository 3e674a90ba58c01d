"""The click journal: each worker appends its clicks to a file of its own,
and they are replayed into SQLite in batches.

A SQLite write transaction per click took more of a redirect's time than
everything else together, and under load the two workers queued for the
write lock. Here a click is one `os.write` of one complete JSON line to a
file opened with O_APPEND: once the call returns, the line is in the page
cache and survives the process being killed (SIGKILL included), so the
redirect may be answered. Nothing is fsynced: a power cut can lose the
lines the kernel had not yet written back (README, Data safety).

Replay is exactly-once: the byte offset consumed from each file is stored
in `click_journal` in the same transaction as the rows read from it, and
only whole lines (up to the last newline) are consumed. Any process may
replay any file, serialised by SQLite's write lock. The worker replays its
own file every CLICK_JOURNAL_BATCH clicks or CLICK_JOURNAL_MAX_DELAY_MS,
after its response is sent; everything that reads clicks replays all files
first (`catch_up`: conversion intake, reports, exports, the CLI, dashboard
pages; the aggregates' refresh, the webhook deliverer, the bench and soak
checks), so a conversion always finds the click it names.

A writer holds an exclusive flock on its file for as long as it may append
to it; a file whose lock can be taken (its worker died, or moved on to a
new file) is final and is deleted once fully replayed.

A write that fails (disk full, read-only or failing file system) leaves no
partial line behind: the file is cut back to its last whole line, or, if
even that fails, abandoned for a new one, so the next line never lands
after half of another. The click is then held in the worker's memory (at
most HOLD_LIMIT; beyond that it is dropped, counted and logged) and written
first thing once a write succeeds again -- by the next click, the replay
thread (every RETRY_SECONDS) or /healthz -- so the redirect is still
answered. A reader that finds a damaged line anyway (a file written before
this was so) keeps any whole line that starts inside it.
"""

import collections
import errno
import fcntl
import logging
import os
import secrets
import sqlite3
import threading
import time
import weakref

import orjson
from sqlite_utils import Database

from . import dialect, health, previews
from .db import connect, files_of, immediate, storage_failed

log = logging.getLogger(__name__)

SUFFIX = ".jsonl"
UNFURL = "unfurl"  # not a click column: a crawler's platform, counted in `unfurls`
ROTATE_BYTES = 4 * 1024 * 1024  # a worker starts a new file past this size
READ_BYTES = 1024 * 1024  # replayed per transaction, so the write lock is held briefly
# what one row can fail with; anything else (disk full...) rolls the batch back for a retry
ROW_ERRORS = (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError)
HOLD_LIMIT = 10_000  # clicks a worker keeps in memory while its journal cannot be written
RETRY_SECONDS = 1.0  # how often the replay thread retries writing the clicks held


def directory(database: str) -> str:
    return f"{database}-clicks"


def database_path(db: Database) -> str:
    if getattr(db, "engine", None) == "postgresql":
        if db.path is None:
            raise ValueError("a PostgreSQL connection opened without its side files' path")
        return db.path  # the name its side files are kept under (shortener.db.files_of)
    return next(r[2] for r in db.conn.execute("PRAGMA database_list") if r[1] == "main")


class Journal:
    """This process's journal file for one database (one per app).
    `database` is the path its files are named after (shortener.db.files_of);
    `url` the DATABASE to replay into when that is not the same (PostgreSQL)."""

    def __init__(
        self,
        database: str,
        batch: int = 50,
        max_delay: float = 1.0,
        sync: bool = False,
        background: bool = False,
        hold_limit: int = HOLD_LIMIT,
        url: str | None = None,
    ):
        self.database = database
        self.url = url or database
        self.dir = directory(database)
        self.batch = batch
        # sync (under TESTING): each click is replayed before its response goes out
        self.sync = sync
        # background: a thread of the worker replays, so the worker goes on serving
        # while the replay waits for SQLite's write lock or the disk (checkpoints)
        self.background = background and not sync
        self._wake = threading.Event()
        self._thread_pid: int | None = None
        self.max_delay = max_delay
        self.fd: int | None = None
        self.name: str | None = None
        self.pid: int | None = None
        self.size = 0
        self.pending = 0
        self.last_replay = time.monotonic()
        self.last_sweep = 0.0
        # lines that could not be written, oldest first; `failure` says why
        self.held: collections.deque[bytes] = collections.deque()
        self.hold_limit = hold_limit
        self.failure: str | None = None
        self.dropped = 0
        self._holding: int | None = None  # the folder, share-locked while clicks are held
        self._lock = threading.Lock()
        weakref.finalize(self, _close, self.__dict__)

    def _open(self) -> None:
        """A new file, locked before it gets its final name, so no replayer
        ever sees it unlocked while this process may still append to it."""
        os.makedirs(self.dir, exist_ok=True)
        name = f"{os.getpid()}-{secrets.token_hex(6)}{SUFFIX}"
        temporary = os.path.join(self.dir, f".{name}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            os.rename(temporary, os.path.join(self.dir, name))
        except OSError:
            os.close(fd)
            _unlink(temporary)
            raise
        if self.fd is not None and self.pid == os.getpid():
            os.close(self.fd)  # releases the lock: the old file is final
        self.fd, self.name, self.pid, self.size = fd, name, os.getpid(), 0

    def append(self, row: dict) -> bool:
        """One click, as one line. True once the line is in the file; False
        when it could not be written and is held in memory (or dropped, when
        the memory is full) -- the click is then not stored (yet)."""
        line = orjson.dumps(row) + b"\n"
        with self._lock:
            if self._flush_held():
                written = self._write_or_hold(line)
            else:  # after the clicks held before it, in order
                written = False
                self._hold(line, self.failure)
        if self.background and self._thread_pid != os.getpid():
            self._start_thread()
        return written

    def _write(self, line: bytes) -> None:
        """Append one line whole, or raise OSError leaving the file as it was."""
        if self.fd is None or self.pid != os.getpid():  # first click, a forked child, a new file
            self._open()
        view = memoryview(line)
        try:
            while view:  # a regular file takes it whole; a short write means the disk is full
                written = os.write(self.fd, view)
                if written == 0:
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                view = view[written:]
        except OSError:
            if len(view) < len(line):
                self._cut()
            raise
        self.size += len(line)
        self.pending += 1

    def _cut(self) -> None:
        """Take a partial line back off the end of the file, so the next line
        does not land after it; when that fails too, leave the file (its
        torn tail is never followed by anything) for a new one."""
        try:
            os.ftruncate(self.fd, self.size)
        except OSError:
            log.exception("click journal: could not cut a partial line off %s", self.name)
            os.close(self.fd)  # releases the lock: the file is final
            self.fd = None

    def _write_or_hold(self, line: bytes) -> bool:
        try:
            self._write(line)
        except OSError as e:
            self._hold(line, health.reason_of(e) or str(e))
            return False
        if self.failure is not None:
            self._recovered()
        return True

    def _hold(self, line: bytes, reason: str) -> None:
        if self.failure is None:
            self.failure = reason
            log.error(
                "click journal cannot be written (%s): clicks are held in memory, and"
                " /healthz answers 503, until they are written", reason,
            )  # fmt: skip
            health.failed(self.database, "click journal", reason, quiet=True)
            self._wake.set()  # the replay thread retries every RETRY_SECONDS from now on
        self._announce(True)
        if len(self.held) < self.hold_limit:
            self.held.append(line)
            return
        self.dropped += 1
        health.count(self.database, "clicks_dropped", f"{reason}; {self.hold_limit} held")

    def _flush_held(self) -> bool:
        """Write the clicks held in memory, oldest first; False if they
        cannot be written yet (the rest stay held)."""
        written = 0
        while self.held:
            try:
                self._write(self.held[0])
            except OSError as e:
                self.failure = health.reason_of(e) or str(e)
                self._announce(True)
                return False
            self.held.popleft()
            written += 1
            if not self.held:
                self._recovered(written)
        return True

    def _recovered(self, written: int = 0) -> None:
        log.warning(
            "click journal can be written again (after: %s); %d clicks held in memory"
            " are in it, %d dropped in all",
            self.failure, written, self.dropped,
        )  # fmt: skip
        self.failure = None
        self._announce(False)
        health.succeeded(self.database, "click journal", quiet=True)

    def _announce(self, holding: bool) -> None:
        """While this worker holds clicks in memory, it holds a shared flock
        on the journals' folder (a lock needs no disk space), so every other
        process sees it (`health.clicks_held`): /healthz stays 503 and a
        webhook naming a click it does not find answers 503, not 400, until
        the clicks are in a file. A try that fails is made again next time."""
        if holding and self._holding is None:
            try:
                fd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
            except OSError:
                return  # no folder yet: this process's own state says it
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)  # someone is looking right now
                return
            self._holding = fd
        elif not holding and self._holding is not None:
            os.close(self._holding)
            self._holding = None

    def retry(self) -> bool:
        """Try again to write the clicks held in memory; True when none is left."""
        with self._lock:
            return self._flush_held()

    def held_count(self) -> int:
        return len(self.held)

    def _start_thread(self) -> None:
        self._thread_pid = os.getpid()
        self._thread = threading.Thread(target=self._replay_loop, name="click-journal", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """End the replay thread (it otherwise lives as long as the worker)."""
        self._thread_pid = None
        self._wake.set()
        thread = getattr(self, "_thread", None)
        if thread is not None:
            thread.join(timeout)

    def _replay_loop(self) -> None:
        """Replays every CLICK_JOURNAL_MAX_DELAY_MS, or as soon as a batch is
        full, and retries the clicks held in memory; on its own connection
        (one per thread), opened again after a storage failure (a connection
        opened while the file system was read-only stays read-only)."""
        db = None
        pid = os.getpid()
        while self._thread_pid == pid:
            self._wake.wait(min(self.max_delay, RETRY_SECONDS) if self.held else self.max_delay)
            self._wake.clear()
            if self.held:
                self.retry()
            if self.pending:
                try:
                    if db is None:
                        db = connect(self.url, self.database)
                    self.replay_own(db)
                except (sqlite3.Error, OSError) as e:
                    self._replay_failed(e)
                    if db is not None and health.reason_of(e):
                        db.close()
                        db = None

    def _replay_failed(self, error: Exception) -> None:
        """Logged once per failure, not on every retry (a full disk may hold
        the log too); the lines stay in the file for the next replay."""
        first = "database" not in health.state(self.database).failures
        reason = health.note(self.database, "database", error)
        if reason is None or first:
            log.exception("click journal replay failed; will retry")

    def due(self) -> bool:
        return self.pending > 0 and (
            self.pending >= self.batch or time.monotonic() - self.last_replay >= self.max_delay
        )

    def replay_if_due(self, db: Database) -> None:
        """Called once a response is sent (its close()): a failed replay
        leaves the lines in the file for the next one, and must not turn
        into an error for a visitor who already has the redirect."""
        if self.background:
            if self.pending >= self.batch:
                self._wake.set()
            return
        if self.due():
            self.replay_now(db)

    def replay_now(self, db: Database) -> None:
        """replay_own for a request that has its answer already: a failure
        is remembered and logged, the lines stay for the next replay."""
        try:
            self.replay_own(db)
        except (sqlite3.Error, OSError) as e:
            self._replay_failed(e)

    def replay_own(self, db: Database) -> int:
        """Replay this process's file; start a new one when it has grown
        big (the old one, now final, is deleted by the next sweep)."""
        name = self.name
        if name is None or self.pid != os.getpid():
            return 0
        pending, self.pending = self.pending, 0
        self.last_replay = time.monotonic()
        try:
            stored = replay_file(db, self.dir, name)
        except BaseException:
            self.pending += pending  # still to do: the replay thread tries again
            raise
        if self.size >= ROTATE_BYTES:
            with self._lock:
                try:
                    self._open()
                except OSError as e:  # no room for a new file: the current one goes on
                    log.warning("click journal: could not start a new file (%s)", e)
        if self.last_replay - self.last_sweep >= 10 * self.max_delay:
            self.last_sweep = self.last_replay
            stored += replay_all(db, self.dir)
        return stored


EXTENSION_KEY = "clicktrail.journal"


def init_app(app) -> None:
    config = app.config
    journal = None
    if config["CLICK_JOURNAL"]:
        journal = Journal(
            files_of(app),
            url=config["DATABASE"],
            batch=max(1, int(config["CLICK_JOURNAL_BATCH"])),
            max_delay=config["CLICK_JOURNAL_MAX_DELAY_MS"] / 1000,
            sync=app.testing,
            background=True,
        )
    app.extensions[EXTENSION_KEY] = journal


def of(app) -> "Journal | None":
    """This app's journal (None when CLICK_JOURNAL is off): the one way
    other modules and parts reach it."""
    return app.extensions[EXTENSION_KEY]


def _close(state: dict) -> None:
    """At exit: a last try at the clicks held in memory (those that still
    cannot be written are lost, and logged as such), then close the file."""
    held, fd = state.get("held"), state.get("fd")
    mine = fd is not None and state.get("pid") == os.getpid()
    while held and mine:
        try:
            if os.write(fd, held[0]) < len(held[0]):
                break  # a torn last line of a final file: dropped by the sweep
        except OSError:
            break
        held.popleft()
    if held:
        log.error(
            "click journal: %d clicks held in memory are lost at exit (%s)",
            len(held), state.get("failure"),
        )  # fmt: skip
    if mine:
        os.close(fd)


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass  # gone already, or the file system refuses: nothing more to do


_columns_cache: dict[str, frozenset] = {}


def _columns(db: Database, folder: str, fresh: bool = False) -> frozenset:
    cached = None if fresh else _columns_cache.get(folder)
    if cached is None:
        cached = frozenset(dialect.columns(db, "clicks"))
        _columns_cache[folder] = cached
    return cached


def _insert(db: Database, rows: list[dict], folder: str) -> None:
    """Rows grouped by their keys (a journal may hold lines written before
    and after a column was added). `ON CONFLICT DO NOTHING` on the unique
    click id makes a line replayed twice (a power cut can roll back an
    offset the kernel had already written the lines for) count once."""
    groups: dict[tuple, list[tuple]] = {}
    crawled = []
    for row in rows:
        if UNFURL in row:
            crawled.append(row)
            continue
        groups.setdefault(tuple(row), []).append(tuple(row.values()))
    _insert_crawled(db, crawled, folder)
    for keys, values in groups.items():
        columns = _columns(db, folder)
        if not columns.issuperset(keys):  # a column added since we looked?
            columns = _columns(db, folder, fresh=True)
        if not columns.issuperset(keys):
            log.error("click journal: unknown columns dropped: %s", sorted(set(keys) - columns))
            known = [i for i, k in enumerate(keys) if k in columns]
            keys = tuple(keys[i] for i in known)
            values = [tuple(v[i] for i in known) for v in values]
        sql = (
            f"INSERT INTO clicks ({', '.join(keys)})"
            f" VALUES ({', '.join('?' * len(keys))}) ON CONFLICT DO NOTHING"
        )
        try:
            db.conn.executemany(sql, values)
        except ROW_ERRORS:
            # one bad row must not block the journal forever: store the others
            for value in values:
                try:
                    db.conn.execute(sql, value)
                except ROW_ERRORS:
                    log.exception("click journal: row refused, dropped: %r", value)


def _insert_crawled(db: Database, rows: list[dict], folder: str) -> None:
    """A crawler's click carries the platform whose unfurl it was; the
    count goes up with the click row, in the same transaction, and only if
    the row is new, so a line replayed twice is counted once."""
    counts: dict[tuple, int] = {}
    for row in rows:
        platform = row.pop(UNFURL)
        before = db.conn.total_changes
        _insert(db, [row], folder)
        if db.conn.total_changes > before:
            key = (row["link_id"], str(row["ts"])[:10], platform)
            counts[key] = counts.get(key, 0) + 1
    if counts:
        previews.count_unfurls(db, counts)


def _parse(data: bytes) -> list[dict]:
    rows = []
    for line in data.split(b"\n"):
        if not line.strip(b"\x00 \r\t"):
            continue  # after a power cut a file may end in zeros
        row = _load(line)
        if isinstance(row, dict):
            rows.append(row)
    return rows


def _load(line: bytes):
    """One line's row. A line that does not parse may be a torn write with
    a whole line appended straight after it (the next newline is that
    line's): that line is kept, from the first place inside where an object
    starts and the rest parses. `{"` only ever starts an object: within a
    JSON string a quote is always escaped."""
    try:
        return orjson.loads(line)
    except ValueError:
        pass
    start = line.find(b'{"', 1)
    while start != -1:
        try:
            row = orjson.loads(line[start:])
        except ValueError:
            start = line.find(b'{"', start + 1)
            continue
        log.error("click journal: torn line dropped, the next one kept: %r", line[:start][:200])
        return row
    log.error("click journal: unreadable line dropped: %r", line[:200])
    return None


def replay_file(db: Database, folder: str, name: str) -> int:
    """Replay whole lines past the stored offset, READ_BYTES per transaction.
    Returns the number of lines read."""
    path = os.path.join(folder, name)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return 0
    total = 0
    try:
        while True:
            with immediate(db) as tx:
                row = tx.conn.execute(
                    "SELECT consumed FROM click_journal WHERE file = ?", (name,)
                ).fetchone()
                consumed = row[0] if row else 0
                chunk = os.pread(fd, READ_BYTES, consumed)
                end = chunk.rfind(b"\n") + 1
                if end == 0 and len(chunk) >= READ_BYTES:  # a line longer than a chunk
                    log.error("click journal: over-long line dropped in %s", name)
                    end = len(chunk)
                if end:
                    rows = _parse(chunk[:end])
                    _insert(tx, rows, folder)
                    tx.conn.execute(
                        "INSERT INTO click_journal (file, consumed) VALUES (?, ?)"
                        " ON CONFLICT (file) DO UPDATE SET consumed = excluded.consumed",
                        (name, consumed + end),
                    )
                    total += len(rows)
            _replayed[path] = consumed + end  # committed
            if not end:
                return total
    finally:
        os.close(fd)


def _final(path: str) -> bool:
    """Nobody may append to it any more: its writer's lock is gone."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    os.close(fd)  # the writer is gone for good; our lock need not outlive this check
    return True


# bytes of each file known to be stored, so a reader with nothing new to
# replay needs no query: offsets only grow, and file names are never reused
_replayed: dict[str, int] = {}


def replay_all(db: Database, folder: str | None = None, sweep: bool = True) -> int:
    """Replay every journal file of this database and, with `sweep`, delete
    (with their offsets) the files that are final and fully replayed. Cheap
    when there is nothing new: a directory listing and a stat per file
    (readers pass sweep=False and leave deleting to the workers' sweeps)."""
    folder = folder or directory(database_path(db))
    try:
        entries = [e for e in os.scandir(folder) if e.name.endswith(SUFFIX)]
    except FileNotFoundError:
        return 0
    offsets = None
    total = 0
    for entry in entries:
        final = sweep and _final(entry.path)  # before reading: nothing can be appended after
        try:
            size = entry.stat().st_size
        except FileNotFoundError:
            continue
        if size > _replayed.get(entry.path, -1):
            if offsets is None:
                offsets = dict(db.conn.execute("SELECT file, consumed FROM click_journal"))
            if size > offsets.get(entry.name, 0):
                total += replay_file(db, folder, entry.name)
            else:
                _replayed[entry.path] = offsets.get(entry.name, 0)
        if final:
            _forget(db, entry.path, entry.name)
    return total


def catch_up(db: Database) -> Database:
    """Store the clicks still in the workers' journals, then hand `db` back
    (`catch_up(get_db())`), so what is read next counts every click already
    answered. Getting a connection never does this: the redirect must not
    wait for it, nor must requests that read no clicks. Every reader of
    clicks or of what is made of them calls it first -- before it reads,
    and before it writes anything that depends on the latest click (an
    erasure, a new webhook endpoint's starting point). Final files are left
    to the workers' sweeps. A failure is logged (a full disk once, not on
    every request) and the reader goes on with what is stored: the clicks
    stay in the journal for the next catch-up."""
    path = getattr(db, "path", None) or database_path(db)
    try:
        replay_all(db, directory(path), sweep=False)
    except (sqlite3.Error, OSError) as e:
        first = "database" not in health.state(path).failures
        if storage_failed(db, e) is None or first:
            log.exception("click journal replay failed")
    return db


def _forget(db: Database, path: str, name: str) -> None:
    """Delete a final file once every whole line of it is stored. The file
    goes first (an offset without its file is harmless; a file without its
    offset would be replayed from the start), and only after a commit that
    waits for fsync, so a power cut cannot take back rows whose file is gone."""
    row = db.conn.execute("SELECT consumed FROM click_journal WHERE file = ?", (name,)).fetchone()
    consumed = row[0] if row else 0
    try:
        with open(path, "rb") as f:
            f.seek(consumed)
            rest = f.read()
    except FileNotFoundError:
        rest = None
    if rest is not None:
        if b"\n" in rest:
            return  # written after our read: the next replay stores it
        if rest.strip(b"\x00 \r\t"):
            # a torn last line: its write never returned, so no redirect was answered
            log.warning("click journal: incomplete last line of %s dropped", name)
        with immediate(db, durable=True):
            db.conn.execute("UPDATE click_journal SET consumed = consumed WHERE file = ?", (name,))
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass  # another replayer found it final too, and got there first
    with immediate(db):
        db.conn.execute("DELETE FROM click_journal WHERE file = ?", (name,))
    _replayed.pop(path, None)
