"""Social previews: what a link-preview crawler sees, and how often it came.

When a short link is posted, Facebook, X, LinkedIn, Slack... fetch it to
draw a card. A link with a title, description or image gets a small HTML
page with Open Graph and Twitter card tags instead of the redirect, so the
card shows what the marketer wrote. Either way the fetch is counted per
platform in `unfurls` (one upsert, no click row, no cookie): how often a
link was unfurled is reach, not traffic, and must not swell the clicks.

The redirect calls `crawler_response` once; people never get past the
first (cached) user-agent check.
"""

from datetime import date, datetime
from functools import lru_cache
from html import escape

from flask import Response, current_app, request
from sqlite_utils import Database

from .bots import crawler_platform
from .posts import tagged

PREVIEW_LOOKUP = "SELECT code, url, title, description, image FROM links WHERE id = ?"
UPSERT_UNFURL = (
    "INSERT INTO unfurls (link_id, day, platform, count) VALUES (?, ?, ?, 1)"
    " ON CONFLICT (link_id, day, platform) DO UPDATE SET count = count + 1"
)
UNFURL_COLUMNS = ["code", "channel", "campaign", "platform", "unfurls"]


@lru_cache(maxsize=16384)
def platform_of(user_agent: str) -> str | None:
    return crawler_platform(user_agent)


def record_unfurl(db: Database, link_id: int, platform: str, now: datetime) -> None:
    """Count one preview fetch, committed at once (like a click)."""
    conn = db.conn
    outer = conn.in_transaction
    conn.execute(UPSERT_UNFURL, (link_id, now.date().isoformat(), platform))
    if not outer:
        conn.commit()


def count_unfurls(db: Database, counts: dict[tuple[int, str, str], int]) -> None:
    """Add counts per (link id, day, platform), inside the caller's transaction
    (the click journal's replay: the redirect itself writes nothing)."""
    db.conn.executemany(
        "INSERT INTO unfurls (link_id, day, platform, count) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (link_id, day, platform)"
        " DO UPDATE SET count = unfurls.count + excluded.count",  # unfurls.: PostgreSQL asks
        [(*key, n) for key, n in counts.items()],
    )


def page(link: dict, short_url: str) -> str:
    """The preview page; every value is HTML-escaped (quotes too: they sit
    in attributes), so a title cannot inject markup into it."""
    title = link["title"] or link["url"]
    tags = [
        ("property", "og:type", "website"),
        ("property", "og:url", short_url),
        ("property", "og:title", title),
        ("property", "og:description", link["description"]),
        ("property", "og:image", link["image"]),
        ("name", "twitter:card", "summary_large_image" if link["image"] else "summary"),
        ("name", "twitter:title", title),
        ("name", "twitter:description", link["description"]),
        ("name", "twitter:image", link["image"]),
        ("name", "description", link["description"]),
    ]
    metas = "\n".join(
        f'<meta {attr}="{name}" content="{escape(value, quote=True)}">'
        for attr, name, value in tags
        if value
    )
    return (
        '<!doctype html>\n<html><head><meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n{metas}\n</head>\n"
        f'<body><a href="{escape(link["url"], quote=True)}">{escape(title)}</a></body></html>\n'
    )


def short_url(code: str) -> str:
    return f"{(current_app.config['BASE_URL'] or request.host_url).rstrip('/')}/{code}"


def crawler_response(
    db: Database, link_id: int, now: datetime, post: str | None = None
) -> Response | None:
    """For a link-preview crawler: count the fetch and answer with the
    preview page when the link has one (None: redirect as before, which
    records the crawler's flagged bot click). None for everyone else.
    A tagged path (/CODE~POST) gets CODE's page with the tagged URL as its
    og:url: a platform may take og:url as the card's address (Facebook
    fetches and counts the card under it), and the post must survive that."""
    platform = platform_of(request.headers.get("User-Agent", "")[:512])
    if platform is None:
        return None
    row = db.conn.execute(PREVIEW_LOOKUP, (link_id,)).fetchone()
    if row is None:
        return None
    link = dict(zip(("code", "url", "title", "description", "image"), row, strict=True))
    try:
        record_unfurl(db, link_id, platform, now)
    except Exception:  # a lost count must never break a preview
        current_app.logger.exception("could not count an unfurl of link %s", link_id)
    if not (link["title"] or link["description"] or link["image"]):
        return None
    response = Response(page(link, short_url(tagged(link["code"], post))), mimetype="text/html")
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def unfurl_counts(db: Database, link_id: int) -> dict[str, int]:
    """All-time preview fetches of one link per platform, most first."""
    rows = db.query(
        "SELECT platform, sum(count) AS n FROM unfurls WHERE link_id = ?"
        " GROUP BY platform ORDER BY n DESC, platform",
        [link_id],
    )
    return {r["platform"]: r["n"] for r in rows}


def unfurl_rows(
    db: Database,
    start: date | None = None,
    end: date | None = None,
    channel: str | None = None,
    campaign: str | None = None,
    platform: str | None = None,
) -> list[dict]:
    """One row per link and platform with its preview fetches in the days
    start..end (inclusive; None: unbounded), most unfurled first."""
    where, params = [], []
    if start:
        where.append("u.day >= ?")
        params.append(start.isoformat())
    if end:
        where.append("u.day <= ?")
        params.append(end.isoformat())
    if channel:
        where.append("l.channel = ?")
        params.append(channel.strip().lower())
    if campaign:
        where.append("l.campaign = ?")
        params.append(campaign)
    if platform:
        where.append("u.platform = ?")
        params.append(platform.strip().lower())
    sql_where = " WHERE " + " AND ".join(where) if where else ""
    return list(
        db.query(
            "SELECT l.code, l.channel, l.campaign, u.platform, sum(u.count) AS unfurls"
            f" FROM unfurls u JOIN links l ON l.id = u.link_id{sql_where}"
            " GROUP BY u.link_id, u.platform ORDER BY unfurls DESC, l.code, u.platform",
            params,
        )
    )
