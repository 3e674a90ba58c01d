"""dashboard.accounts: users with hashed passwords and server-side sessions."""

from datetime import timedelta

import pytest

from dashboard import accounts
from dashboard_support import at
from shortener.db import connect


@pytest.fixture
def db(app):
    database = connect(app.config["DATABASE"])
    yield database
    database.close()


NOW = at("2026-03-01T12:00:00")


def test_passwords_are_stored_as_salted_scrypt_hashes(db):
    accounts.create_user(db, "Ann@Example.com", "correct horse battery", NOW)
    accounts.create_user(db, "bob", "correct horse battery", NOW)
    rows = list(db.query("SELECT username, password_hash FROM users ORDER BY id"))
    assert [r["username"] for r in rows] == ["ann@example.com", "bob"]  # names in lower case
    hashes = [r["password_hash"] for r in rows]
    assert all(h.startswith("scrypt:") for h in hashes)
    assert "correct horse battery" not in "".join(hashes)
    assert hashes[0] != hashes[1]  # salted: the same password hashes differently


@pytest.mark.parametrize(
    ("username", "password", "problem"),
    [
        ("", "long enough password", "user names"),
        ("has space", "long enough password", "user names"),
        ("x" * 65, "long enough password", "user names"),
        ("ann", "short", "at least 10"),
        ("ann", "p" * 1025, "at most 1024"),
    ],
)
def test_bad_names_and_passwords_are_refused(db, username, password, problem):
    with pytest.raises(accounts.AccountError, match=problem):
        accounts.create_user(db, username, password, NOW)
    assert next(db.query("SELECT count(*) AS n FROM users"))["n"] == 0


def test_a_user_name_is_taken_once(db):
    accounts.create_user(db, "ann", "long enough password", NOW)
    with pytest.raises(accounts.AccountError, match="exists"):
        accounts.create_user(db, "ANN", "another long password", NOW)


def test_authenticate(db):
    accounts.create_user(db, "ann", "long enough password", NOW)
    assert accounts.authenticate(db, "ann", "long enough password")["username"] == "ann"
    assert accounts.authenticate(db, " Ann ", "long enough password") is not None
    assert accounts.authenticate(db, "ann", "long enough passwor") is None
    assert accounts.authenticate(db, "nobody", "long enough password") is None
    assert accounts.authenticate(db, "ann", None) is None
    db.execute("UPDATE users SET disabled = 1")
    assert accounts.authenticate(db, "ann", "long enough password") is None


def test_sessions_are_stored_hashed_expire_and_end(db):
    user = accounts.create_user(db, "ann", "long enough password", NOW)
    token = accounts.start_session(db, user["id"], NOW, timedelta(hours=12))
    stored = next(db.query("SELECT * FROM user_sessions"))
    assert stored["token_hash"] == accounts.token_digest(token) != token
    assert stored["expires_at"] == "2026-03-02T00:00:00.000000Z"  # 12:00 + 12 h
    assert accounts.session_user(db, token, NOW)["username"] == "ann"
    assert accounts.session_user(db, token, at("2026-03-01T23:59:59")) is not None
    assert accounts.session_user(db, token, at("2026-03-02T00:00:00")) is None  # expired
    assert accounts.session_user(db, "forged", NOW) is None
    assert accounts.session_user(db, None, NOW) is None
    accounts.end_session(db, token)
    assert accounts.session_user(db, token, NOW) is None


def test_a_new_password_ends_every_session(db):
    user = accounts.create_user(db, "ann", "long enough password", NOW)
    token = accounts.start_session(db, user["id"], NOW, timedelta(hours=1))
    accounts.set_password(db, "ann", "a brand new password")
    assert accounts.session_user(db, token, NOW) is None
    assert accounts.authenticate(db, "ann", "a brand new password") is not None
    with pytest.raises(accounts.AccountError, match="no user"):
        accounts.set_password(db, "nobody", "a brand new password")
