"""The goal catalogue: what counts as a conversion and what it is worth."""

import re

from sqlite_utils import Database

from shortener import audit

# \A...\Z, not ^...$: "$" would let a trailing newline through
GOAL_NAME = re.compile(r"\A[a-z0-9][a-z0-9_]{0,39}\Z")


def get_goal(db: Database, name: str) -> dict | None:
    return next(db.query("SELECT * FROM goals WHERE name = ?", [name]), None)


def list_goals(db: Database) -> list[dict]:
    return list(db.query("SELECT * FROM goals ORDER BY name"))


AUDITED = ("value_minor", "currency", "description")


def set_goal(
    db: Database, name: str, value_minor: int, currency: str | None, description=None,
    actor: str = "system",
) -> dict:  # fmt: skip
    """Add a goal or change its default value (used when a conversion has
    none); the change goes to the audit log as made by `actor`."""
    before = get_goal(db, name)
    db.execute(
        "INSERT INTO goals (name, value_minor, currency, description)"
        " VALUES (?, ?, ?, coalesce(?, ''))"
        " ON CONFLICT (name) DO UPDATE SET value_minor = excluded.value_minor,"
        " currency = excluded.currency,"
        " description = coalesce(?, goals.description)",
        [name, value_minor, currency, description, description],
    )
    after = get_goal(db, name)
    action = "goal.update" if before else "goal.create"
    audit.record(db, actor, action, "goal", name, audit.changes(before, after, AUDITED))
    return after
