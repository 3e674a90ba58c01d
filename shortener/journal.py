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
first (`get_db()` outside the redirect, aggregate refresh, the bench and
soak checks), so a conversion always finds the click it names.

A writer holds an exclusive flock on its file for as long as it may append
to it; a file whose lock can be taken (its worker died, or moved on to a
new file) is final and is deleted once fully replayed.
"""

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

from . import previews
from .db import connect, immediate

log = logging.getLogger(__name__)

SUFFIX = ".jsonl"
UNFURL = "unfurl"  # not a click column: a crawler's platform, counted in `unfurls`
ROTATE_BYTES = 4 * 1024 * 1024  # a worker starts a new file past this size
READ_BYTES = 1024 * 1024  # replayed per transaction, so the write lock is held briefly
# what one row can fail with; anything else (disk full...) rolls the batch back for a retry
ROW_ERRORS = (sqlite3.IntegrityError, sqlite3.InterfaceError, sqlite3.ProgrammingError)


def directory(database: str) -> str:
    return f"{database}-clicks"


def database_path(db: Database) -> str:
    return next(r[2] for r in db.conn.execute("PRAGMA database_list") if r[1] == "main")


class Journal:
    """This process's journal file for one database (one per app)."""

    def __init__(
        self,
        database: str,
        batch: int = 50,
        max_delay: float = 1.0,
        sync: bool = False,
        background: bool = False,
    ):
        self.database = database
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
        self._lock = threading.Lock()
        weakref.finalize(self, _close, self.__dict__)

    def _open(self) -> None:
        """A new file, locked before it gets its final name, so no replayer
        ever sees it unlocked while this process may still append to it."""
        os.makedirs(self.dir, exist_ok=True)
        name = f"{os.getpid()}-{secrets.token_hex(6)}{SUFFIX}"
        temporary = os.path.join(self.dir, f".{name}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.rename(temporary, os.path.join(self.dir, name))
        if self.fd is not None and self.pid == os.getpid():
            os.close(self.fd)  # releases the lock: the old file is final
        self.fd, self.name, self.pid, self.size = fd, name, os.getpid(), 0

    def append(self, row: dict) -> None:
        """One click, as one line. Returns once the line is in the file."""
        line = orjson.dumps(row) + b"\n"
        with self._lock:
            if self.pid != os.getpid():  # first click, or a forked child
                self.fd = None
                self._open()
            view = memoryview(line)
            while view:  # a regular file takes it whole; a short write is only possible
                written = os.write(self.fd, view)
                view = view[written:]
            self.size += len(line)
            self.pending += 1
        if self.background and self._thread_pid != self.pid:
            self._start_thread()

    def _start_thread(self) -> None:
        self._thread_pid = os.getpid()
        thread = threading.Thread(target=self._replay_loop, name="click-journal", daemon=True)
        thread.start()

    def _replay_loop(self) -> None:
        """Replays every CLICK_JOURNAL_MAX_DELAY_MS, or as soon as a batch is
        full; on its own connection (one per thread)."""
        db = connect(self.database)
        pid = os.getpid()
        while self.pid == pid:
            self._wake.wait(self.max_delay)
            self._wake.clear()
            if self.pending:
                try:
                    self.replay_own(db)
                except (sqlite3.Error, OSError):
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
            try:
                self.replay_own(db)
            except (sqlite3.Error, OSError):
                log.exception("click journal replay failed; will retry")

    def replay_own(self, db: Database) -> int:
        """Replay this process's file; start a new one when it has grown
        big (the old one, now final, is deleted by the next sweep)."""
        name = self.name
        if name is None or self.pid != os.getpid():
            return 0
        self.pending = 0
        self.last_replay = time.monotonic()
        stored = replay_file(db, self.dir, name)
        if self.size >= ROTATE_BYTES:
            with self._lock:
                self._open()
        if self.last_replay - self.last_sweep >= 10 * self.max_delay:
            self.last_sweep = self.last_replay
            stored += replay_all(db, self.dir)
        return stored


def init_app(app) -> None:
    config = app.config
    journal = None
    if config["CLICK_JOURNAL"]:
        journal = Journal(
            config["DATABASE"],
            batch=max(1, int(config["CLICK_JOURNAL_BATCH"])),
            max_delay=config["CLICK_JOURNAL_MAX_DELAY_MS"] / 1000,
            sync=app.testing,
            background=True,
        )
    app.extensions["clicktrail.journal"] = journal


def _close(state: dict) -> None:
    if state.get("fd") is not None and state.get("pid") == os.getpid():
        os.close(state["fd"])


_columns_cache: dict[str, frozenset] = {}


def _columns(db: Database, folder: str, fresh: bool = False) -> frozenset:
    cached = None if fresh else _columns_cache.get(folder)
    if cached is None:
        cached = frozenset(r[1] for r in db.conn.execute("PRAGMA table_info(clicks)"))
        _columns_cache[folder] = cached
    return cached


def _insert(db: Database, rows: list[dict], folder: str) -> None:
    """Rows grouped by their keys (a journal may hold lines written before
    and after a column was added). `OR IGNORE` on the unique click id makes
    a line replayed twice (a power cut can roll back an offset the kernel
    had already written the lines for) count once."""
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
            f"INSERT OR IGNORE INTO clicks ({', '.join(keys)})"
            f" VALUES ({', '.join('?' * len(keys))})"
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
        try:
            row = orjson.loads(line)
        except ValueError:
            log.error("click journal: unreadable line dropped: %r", line[:200])
            continue
        if isinstance(row, dict):
            rows.append(row)
    return rows


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
