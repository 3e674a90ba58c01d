"""Dashboard accounts: users with hashed passwords, and server-side sessions.

Passwords are hashed by werkzeug (scrypt with a random salt). The session
cookie carries a random token and the database keeps only its SHA-256, so
signing out (or disabling a user) ends the session on the server, not just
in the browser that holds the cookie.
"""

import functools
import hashlib
import re
import secrets
from datetime import datetime, timedelta

from sqlite_utils import Database
from werkzeug.security import check_password_hash, generate_password_hash

from shortener import audit
from shortener.clock import to_db

USERNAME = re.compile(r"^[a-z0-9][a-z0-9_.@+-]{0,63}$")
MIN_PASSWORD_LENGTH = 10
MAX_PASSWORD_LENGTH = 1024


class AccountError(ValueError):
    pass


def normalise_username(name) -> str:
    return name.strip().lower() if isinstance(name, str) else ""


def check_username(name) -> str:
    username = normalise_username(name)
    if not USERNAME.match(username):
        raise AccountError(
            "user names are 1-64 lower-case letters, digits and . _ @ + -, "
            "starting with a letter or digit"
        )
    return username


def check_password(password) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"passwords need at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(f"passwords are at most {MAX_PASSWORD_LENGTH} characters")
    return password


def get_user(db: Database, username: str) -> dict | None:
    return next(
        db.query("SELECT * FROM users WHERE username = ?", [normalise_username(username)]), None
    )


def create_user(
    db: Database, username: str, password: str, now: datetime, actor: str = "system"
) -> dict:
    username = check_username(username)
    check_password(password)
    if get_user(db, username) is not None:
        raise AccountError(f"user '{username}' exists already")
    db.execute(
        "INSERT INTO users (username, password_hash, created_at) VALUES (?, ?, ?)",
        [username, generate_password_hash(password), to_db(now)],
    )
    found = {"username": [None, username], "password": audit.SECRET}
    audit.record(db, actor, "user.create", "user", username, found, now)
    return get_user(db, username)


def set_password(db: Database, username: str, password: str, actor: str = "system") -> None:
    check_password(password)
    user = get_user(db, username)
    if user is None:
        raise AccountError(f"no user '{normalise_username(username)}'")
    db.execute(
        "UPDATE users SET password_hash = ? WHERE id = ?",
        [generate_password_hash(password), user["id"]],
    )
    audit.record(db, actor, "user.password", "user", user["username"], {"password": audit.SECRET})
    # a new password ends every session opened with the old one
    db.execute("DELETE FROM user_sessions WHERE user_id = ?", [user["id"]])


def list_users(db: Database) -> list[dict]:
    return list(
        db.query(
            "SELECT id, username, disabled, created_at, last_sign_in_at FROM users ORDER BY id"
        )
    )


@functools.cache
def _decoy_hash() -> str:
    return generate_password_hash(secrets.token_hex(16))


def authenticate(db: Database, username, password) -> dict | None:
    """The user when the password is right, else None.

    An unknown user name costs the same hash as a wrong password, so the
    answer time does not tell which user names exist.
    """
    user = get_user(db, username) if isinstance(username, str) else None
    if not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        password = ""
    if user is None or user["disabled"]:
        check_password_hash(_decoy_hash(), password)
        return None
    return user if check_password_hash(user["password_hash"], password) else None


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(db: Database, user_id: int, now: datetime, lifetime: timedelta) -> str:
    """Open a session; returns the token for the cookie (stored only hashed)."""
    token = secrets.token_urlsafe(32)
    db.execute(
        "INSERT INTO user_sessions (token_hash, user_id, created_at, expires_at)"
        " VALUES (?, ?, ?, ?)",
        [token_digest(token), user_id, to_db(now), to_db(now + lifetime)],
    )
    db.execute("UPDATE users SET last_sign_in_at = ? WHERE id = ?", [to_db(now), user_id])
    # forget this user's expired sessions while we are here
    db.execute(
        "DELETE FROM user_sessions WHERE user_id = ? AND expires_at <= ?", [user_id, to_db(now)]
    )
    return token


def session_user(db: Database, token, now: datetime) -> dict | None:
    if not isinstance(token, str) or not token:
        return None
    return next(
        db.query(
            "SELECT u.id, u.username FROM user_sessions s JOIN users u ON u.id = s.user_id"
            " WHERE s.token_hash = ? AND s.expires_at > ? AND u.disabled = 0",
            [token_digest(token), to_db(now)],
        ),
        None,
    )


def end_session(db: Database, token) -> None:
    if isinstance(token, str) and token:
        db.execute("DELETE FROM user_sessions WHERE token_hash = ?", [token_digest(token)])
