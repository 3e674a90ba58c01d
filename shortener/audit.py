"""The audit log: who changed what, and when.

The lowest part owns the table because every part above writes to it (costs
and goals from conversions, and so on). A row is written by the service that
makes the change, on the same connection and in the same transaction, so a
change that is rolled back leaves no entry and an entry never lacks its
change. Who is acting is passed down by the caller: `key:NAME` for an API
key, `user:NAME` for a dashboard user, `cli` for the command line.
"""

import csv
import io
import json
from datetime import datetime, timedelta

from sqlite_utils import Database

from .clock import to_db, utcnow
from .db import immediate

# fields whose values are never written, only that they changed
SECRET = "(changed)"
SECRET_FIELDS = {"password", "password_hash", "key_hash"}
CSV_COLUMNS = ["id", "at", "actor", "action", "object_type", "object_key", "changes"]
# a cell starting with one of these would be run as a formula by a spreadsheet
DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def changes(before: dict | None, after: dict, fields=None) -> dict:
    """{field: [before, after]} for the fields whose value differs (all of
    `after`'s when `fields` is None); `before` None: a new object."""
    before = before or {}
    found = {}
    for field in after if fields is None else fields:
        old, new = before.get(field), after.get(field)
        if field in SECRET_FIELDS:
            if new is not None or old is not None:
                found["password" if field == "password_hash" else field] = SECRET
        elif old != new:
            found[field] = [old, new]
    return found


def record(db: Database, actor: str, action: str, object_type: str, object_key, found: dict,
           now: datetime | None = None) -> None:  # fmt: skip
    """Write one entry on `db`, inside the caller's transaction. Nothing is
    written for a change that changed nothing."""
    if not found:
        return
    db.execute(
        "INSERT INTO audit (at, actor, action, object_type, object_key, changes)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [to_db(now or utcnow()), actor, action, object_type, str(object_key),
         json.dumps(found, default=str)],
    )  # fmt: skip


def _filters(object_type=None, key=None, actor=None, start=None, end=None) -> tuple[str, list]:
    where, params = [], []
    for column, value in (("object_type", object_type), ("object_key", key), ("actor", actor)):
        if value:
            where.append(f"{column} = ?")
            params.append(value)
    if start is not None:
        where.append("at >= ?")
        params.append(to_db(start))
    if end is not None:
        where.append("at < ?")
        params.append(to_db(end))
    return (" WHERE " + " AND ".join(where) if where else ""), params


def entries(db: Database, limit=100, offset=0, **filters) -> list[dict]:
    """A page of entries, newest first (`limit` None: all of them, for the
    CSV); `changes` decoded."""
    where, params = _filters(**filters)
    if limit is None:
        rows = db.query(f"SELECT * FROM audit{where} ORDER BY id DESC", params)
    else:
        rows = db.query(
            f"SELECT * FROM audit{where} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
    return [{**r, "changes": json.loads(r["changes"])} for r in rows]


def count(db: Database, **filters) -> int:
    where, params = _filters(**filters)
    return next(db.query(f"SELECT count(*) AS n FROM audit{where}", params))["n"]


def prune(db: Database, days: int, now: datetime) -> int:
    """Delete entries older than `days` days before `now`; how many went."""
    cutoff = to_db(now - timedelta(days=days))
    with immediate(db):
        return db.execute("DELETE FROM audit WHERE at < ?", [cutoff]).rowcount


def _cell(value) -> str:
    if isinstance(value, str) and value.startswith(DANGEROUS_START):
        return "'" + value
    return value


def as_csv(rows: list[dict]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in rows:
        row = {**row, "changes": json.dumps(row["changes"])}
        writer.writerow([_cell(row[c]) for c in CSV_COLUMNS])
    return buffer.getvalue()


def _shown(value) -> str:
    if value is None or value == "" or value == []:
        return "(none)"
    return value if isinstance(value, str) else json.dumps(value)


def in_words(entry: dict, who: bool = True) -> list[str]:
    """An entry as sentences: "url changed from A to B by key:zapier at T"
    (without "by ... at ..." where the page shows both beside it)."""
    tail = f" by {entry['actor']} at {entry['at']}" if who else ""
    said = []
    for field, change in entry["changes"].items():
        if change == SECRET:
            said.append(f"{field} changed{tail}")
        else:
            said.append(f"{field} changed from {_shown(change[0])} to {_shown(change[1])}{tail}")
    return said
