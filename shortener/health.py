"""Whether this installation can write: for /healthz and the 503 answers.

A full disk or a read-only file system must show -- /healthz answers 503
with the reason, so a load balancer and a monitor see it -- while the
redirect keeps working (its clicks are held in memory, shortener/journal.py),
a webhook or an API write is answered 503 with Retry-After so its sender
retries, and a pixel still gets its GIF, with what it could not store
counted here and logged.

State is per process and per database file, like the journals: the write
failures seen (each cleared by the next write of its kind that succeeds, or
all by a probe from /healthz once the disk takes a write again) and counts
of what could not be stored.
"""

import errno
import fcntl
import logging
import os
import sqlite3
import threading
import time

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30  # what a 503 asks a webhook sender to wait
MIN_FREE_BYTES = 256 * 1024  # less than this free on the database's file system: "disk full"
PROBE_BYTES = 64 * 1024  # a probe write, about what a conversion's commit needs
PROBE_EVERY_SECONDS = 1.0
LOG_EVERY_SECONDS = 10.0  # a failure repeated on every request is logged this often

# primary SQLite result codes that mean the storage, not the request, failed
SQLITE_REASONS = {
    5: "database busy",  # SQLITE_BUSY: the write lock was not free within the busy timeout
    8: "database is read-only",  # SQLITE_READONLY
    10: "disk I/O error",  # SQLITE_IOERR
    11: "database file is corrupt",  # SQLITE_CORRUPT
    13: "disk full",  # SQLITE_FULL
    14: "cannot open the database file",  # SQLITE_CANTOPEN
    26: "database file is not a database",  # SQLITE_NOTADB
}
OS_REASONS = {
    errno.ENOSPC: "disk full",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EIO: "disk I/O error",
    errno.EFBIG: "file too large",
}


def reason_of(error: BaseException) -> str | None:
    """What a storage failure was, in a few words; None for anything else
    (a constraint, a programming error: those stay bugs)."""
    if isinstance(error, sqlite3.Error):
        code = getattr(error, "sqlite_errorcode", None)
        return None if code is None else SQLITE_REASONS.get(code & 0xFF)
    if isinstance(error, OSError):
        return OS_REASONS.get(error.errno)
    return None


class State:
    """One database's write health in this process."""

    def __init__(self):
        # what failed ("database", "click journal") -> why, until a write of it succeeds
        self.failures: dict[str, str] = {}
        self.counts: dict[str, int] = {}
        self.logged: dict[str, float] = {}
        self.probed = 0.0
        self.lock = threading.Lock()


_states: dict[str, State] = {}
_states_lock = threading.Lock()


def state(database: str) -> State:
    found = _states.get(database)
    if found is None:
        with _states_lock:
            found = _states.setdefault(database, State())
    return found


def note(database: str, what: str, error: BaseException) -> str | None:
    """Remember `error` if it is a storage failure; returns its reason."""
    reason = reason_of(error)
    busy = isinstance(error, sqlite3.Error) and (error.sqlite_errorcode & 0xFF) == 5
    if reason is not None and not busy:  # a busy database is slow, not broken
        failed(database, what, reason)
    return reason


def failed(database: str, what: str, reason: str, quiet: bool = False) -> None:
    """A write to `database` (`what`: "database", "click journal") failed;
    logged when it starts failing (`quiet`: the caller says it better)."""
    current = state(database)
    if what not in current.failures and not quiet:
        log.error("%s cannot be written (%s): /healthz answers 503 until it can", what, reason)
    current.failures[what] = reason


def succeeded(database: str, what: str | None = None, quiet: bool = False) -> None:
    """A write of `what` (None: a probe, so anything) went through."""
    current = _states.get(database)
    if current is None or not current.failures:
        return
    for name in [what] if what else list(current.failures):
        reason = current.failures.pop(name, None)
        if reason is not None and not quiet:
            log.warning("%s can be written again (after: %s)", name, reason)


def failure(database: str) -> str | None:
    current = _states.get(database)
    if current is None or not current.failures:
        return None
    return "; ".join(f"{what}: {reason}" for what, reason in current.failures.items())


# what could not be stored, as /healthz counts it (per worker, since it started)
KINDS = {
    "clicks_dropped": "clicks dropped (the memory for held clicks was full)",
    "clicks_lost": "clicks lost (CLICK_JOURNAL is off)",
    "pixel_conversions": "pixel conversions not stored",
    "visits": "visit pixels not stored",
    "expired_hits": "expired-link hits not counted",
    "answered_503": "requests answered 503",
}


def count(database: str, kind: str, reason: str) -> int:
    """One more `kind` (a KINDS key) that could not be stored; logged with
    the running count, at most every LOG_EVERY_SECONDS per kind."""
    current = state(database)
    with current.lock:
        total = current.counts[kind] = current.counts.get(kind, 0) + 1
        now = time.monotonic()
        due = now - current.logged.get(kind, -LOG_EVERY_SECONDS) >= LOG_EVERY_SECONDS
        if due:
            current.logged[kind] = now
    if due:
        log.error("%s (%s): %d so far in this worker", KINDS[kind], reason, total)
    return total


def counts(database: str) -> dict[str, int]:
    found = state(database).counts
    return {kind: found.get(kind, 0) for kind in KINDS}


def space_problem(paths) -> str | None:
    """A read-only or full file system under any of `paths` (a statvfs each)."""
    for path in paths:
        try:
            fs = os.statvfs(path)
        except FileNotFoundError:
            continue
        # no path in the reason: /healthz is public
        if fs.f_flag & os.ST_RDONLY:
            return "read-only file system"
        # root may write into the blocks reserved for it
        blocks = fs.f_bfree if os.geteuid() == 0 else fs.f_bavail
        if blocks * fs.f_frsize < MIN_FREE_BYTES:
            return f"disk full ({blocks * fs.f_frsize // 1024} KiB free)"
    return None


def probe(folder: str) -> str | None:
    """Write PROBE_BYTES to an unnamed file in `folder` (nothing is left
    behind, even by a killed process); the reason it failed, or None."""
    try:
        try:
            fd = os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o600)
        except OSError as e:
            if e.errno not in (errno.EOPNOTSUPP, errno.EISDIR, errno.EINVAL):
                raise
            return None  # no unnamed files here: the statvfs check stands alone
        try:
            if os.write(fd, bytes(PROBE_BYTES)) < PROBE_BYTES:  # a short write: full
                return OS_REASONS[errno.ENOSPC]
        finally:
            os.close(fd)
    except OSError as e:
        return reason_of(e) or str(e)
    return None


def clicks_held(journals: str) -> bool:
    """Whether any process holds clicks in memory for these journals: each
    such process holds a shared flock on the folder (shortener/journal.py),
    so an exclusive one cannot be had. (Two processes asking at the very
    same moment see each other's brief exclusive lock as a holder: one
    spurious 503, which a load balancer's next poll and a webhook sender's
    retry get past.)"""
    try:
        fd = os.open(journals, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # releases ours
    return False


def problem(database: str, journal=None) -> str | None:
    """Why `database` or its journal cannot be written now, or None.

    Cheap, for a load balancer's every poll: a statvfs of the database's
    folder (and the journals'), and, only while a failure is remembered, a
    probe write at most every PROBE_EVERY_SECONDS (which clears it) and a
    retry of the clicks this worker holds in memory.
    """
    folder = os.path.dirname(os.path.abspath(database))
    journals = f"{database}-clicks"
    found = space_problem([folder, journals])
    if found:
        return found
    if journal is not None and journal.held_count():
        journal.retry()
        if journal.held_count():
            return f"click journal: {journal.failure or 'cannot be written'}"
    if clicks_held(journals):
        return "click journal: a worker holds clicks in memory it could not write yet"
    current = state(database)
    if not current.failures:
        return None
    now = time.monotonic()
    if now - current.probed >= PROBE_EVERY_SECONDS:
        current.probed = now
        target = journals if os.path.isdir(journals) else folder
        if probe(target) is None and os.access(database, os.W_OK):
            succeeded(database)
    return failure(database)
