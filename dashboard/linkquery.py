"""Finding links for the links page: search, filters and the filter choices."""

import json

from sqlite_utils import Database

from shortener.links import COLUMNS

STATUSES = ("all", "active", "disabled")


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def search_links(
    db: Database,
    q: str | None = None,
    channel: str | None = None,
    campaign: str | None = None,
    tag: str | None = None,
    status: str = "all",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict], int]:
    """A page of links, newest first, and how many match in all."""
    where, params = [], []
    if q:
        where.append(
            "(code LIKE ? ESCAPE '\\' OR url LIKE ? ESCAPE '\\' OR campaign LIKE ? ESCAPE '\\'"
            " OR channel LIKE ? ESCAPE '\\')"
        )
        params += [_like(q)] * 4
    if channel:
        where.append("channel = ?")
        params.append(channel.lower())
    if campaign:
        where.append("campaign = ?")
        params.append(campaign)
    if tag:
        where.append("EXISTS (SELECT 1 FROM json_each(links.tags) WHERE value = ?)")
        params.append(tag)
    if status == "active":
        where.append("disabled = 0")
    elif status == "disabled":
        where.append("disabled = 1")
    sql_where = " WHERE " + " AND ".join(where) if where else ""
    total = next(db.query(f"SELECT count(*) AS n FROM links{sql_where}", params))["n"]
    rows = list(
        db.query(
            f"SELECT {COLUMNS} FROM links{sql_where} ORDER BY id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
    )
    for row in rows:
        row["tags"] = json.loads(row["tags"])
    return rows, total


def choices(db: Database) -> dict[str, list[str]]:
    """Channels, campaigns and tags in use, for the filter menus."""
    return {
        "channels": [
            r["channel"] for r in db.query("SELECT DISTINCT channel FROM links ORDER BY channel")
        ],
        "campaigns": [
            r["campaign"] for r in db.query("SELECT DISTINCT campaign FROM links ORDER BY campaign")
        ],
        "tags": [
            r["value"]
            for r in db.query(
                "SELECT DISTINCT j.value FROM links, json_each(links.tags) j ORDER BY j.value"
            )
        ],
    }
