"""The dashboard's migrations: accounts. Assembled with the other parts' in
landing order by shortener/app.py `migrations()`; names are identities in
installed databases and never change.
"""

from shortener.schema import _run


def m003_dashboard_accounts(db):
    _run(
        db,
        """
        -- people who sign in to the dashboard; passwords as werkzeug hashes
        CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            disabled INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            last_sign_in_at TEXT
        );

        -- a signed-in browser; the cookie carries a random token, the table
        -- its SHA-256, so signing out ends the session on the server too
        CREATE TABLE user_sessions (
            token_hash TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users (id),
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL
        );
        CREATE INDEX user_sessions_user ON user_sessions (user_id);

        -- failed sign-ins, counted per user name and per network to slow
        -- password guessing (shared by every worker, unlike memory)
        CREATE TABLE sign_in_failures (
            id INTEGER PRIMARY KEY,
            username TEXT NOT NULL,
            network TEXT,
            ts TEXT NOT NULL
        );
        CREATE INDEX sign_in_failures_username ON sign_in_failures (username, ts);
        CREATE INDEX sign_in_failures_network ON sign_in_failures (network, ts);

        -- API keys made in the dashboard: only a SHA-256 of the key is kept,
        -- the key itself is shown once
        CREATE TABLE api_keys (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL,
            prefix TEXT NOT NULL,
            key_hash TEXT NOT NULL UNIQUE,
            created_by INTEGER REFERENCES users (id),
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        """,
    )
