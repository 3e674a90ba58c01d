"""API keys made in the dashboard: named, revocable, shown once.

Only the key's SHA-256 is stored (as `shortener.auth` looks keys up); the
key itself exists in the response that creates it and nowhere else. A key
is random (256 bits), so a fast hash is enough -- there is no password to
guess -- and it keeps every API call to one indexed lookup.
"""

import secrets
from datetime import datetime

from sqlite_utils import Database

from shortener import audit
from shortener.auth import key_digest
from shortener.clock import to_db

KEY_PREFIX = "ctk_"
MAX_NAME = 80


class ApiKeyError(ValueError):
    pass


def check_name(name) -> str:
    name = name.strip() if isinstance(name, str) else ""
    if not name or len(name) > MAX_NAME or not name.isprintable():
        raise ApiKeyError(f"give the key a name of 1 to {MAX_NAME} characters, e.g. 'Zapier'")
    return name


def create_key(
    db: Database, name: str, user_id: int | None, now: datetime, actor: str = "system"
) -> tuple[dict, str]:
    """Store a new key; returns its row and the key, which is not kept (the
    audit log names it and says its hash "(changed)", nothing more)."""
    name = check_name(name)
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    cursor = db.execute(
        "INSERT INTO api_keys (name, prefix, key_hash, created_by, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [name, key[: len(KEY_PREFIX) + 6], key_digest(key), user_id, to_db(now)],
    )
    row = get_key(db, cursor.lastrowid)
    found = audit.changes(None, row, ("name", "prefix", "key_hash"))
    audit.record(db, actor, "key.create", "key", row["id"], found, now)
    return row, key


def get_key(db: Database, key_id: int) -> dict | None:
    return next(db.query("SELECT * FROM api_keys WHERE id = ?", [key_id]), None)


def list_keys(db: Database) -> list[dict]:
    return list(
        db.query(
            "SELECT k.id, k.name, k.prefix, k.created_at, k.revoked_at, u.username AS created_by"
            " FROM api_keys k LEFT JOIN users u ON u.id = k.created_by"
            " ORDER BY k.revoked_at IS NOT NULL, k.id DESC"
        )
    )


def revoke_key(db: Database, key_id: int, now: datetime, actor: str = "system") -> bool:
    """Revoke a key; False when there is no such active key."""
    cursor = db.execute(
        "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
        [to_db(now), key_id],
    )
    if cursor.rowcount != 1:
        return False
    audit.record(db, actor, "key.revoke", "key", key_id, {"revoked_at": [None, to_db(now)]}, now)
    return True
