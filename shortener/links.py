"""Short links: validating what a marketer asks for, storing and finding it.

Destinations are checked twice: when a link is written and again at
redirect time, so a row put straight into the database cannot turn the
shortener into an open redirect to `javascript:` or a loop.
"""

import json
import re
import secrets
import sqlite3
from urllib.parse import urlsplit

from sqlite_utils import Database

from .clock import parse_moment, to_db, utcnow
from .errors import ApiError

CODE_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 7
CUSTOM_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{2,63}$")
RESERVED_CODES = {
    "api", "t", "static", "healthz", "admin", "login", "logout", "dashboard",
    "favicon.ico", "robots.txt", "app", "assets", "docs",
}  # fmt: skip
CHANNEL = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
MAX_URL_LENGTH = 2048
MAX_TAG_LENGTH = 50
MAX_TAGS = 20
CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")
TAG_FIELDS = ("medium", "content", "term")
COLUMNS = (
    "id, code, url, channel, campaign, medium, content, term, tags, "
    "disabled, expires_at, created_at, updated_at"
)


def _host_matches(host: str, hosts) -> bool:
    return any(host == h or host.endswith("." + h) for h in hosts)


def destination_problem(url, own_hosts=(), blocked_hosts=()) -> str | None:
    """Why `url` may not be a destination, or None when it may."""
    if not isinstance(url, str) or not url:
        return "url is required and must be a string"
    if len(url) > MAX_URL_LENGTH:
        return f"url is longer than {MAX_URL_LENGTH} characters"
    if CONTROL_OR_SPACE.search(url):
        return "url must not contain spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises on a malformed port
    except ValueError:
        return "url is malformed"
    if parts.scheme.lower() not in ("http", "https"):
        return "url must start with http:// or https://"
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        return "url must name a host"
    if parts.username is not None or parts.password is not None:
        return "url must not carry a user name or password"
    if _host_matches(host, [h.lower() for h in own_hosts if h]):
        return "url points back at this shortener"
    if _host_matches(host, [h.lower() for h in blocked_hosts]):
        return "url points at another link shortener"
    return None


def check_destination(url, own_hosts=(), blocked_hosts=(), field="url") -> str:
    problem = destination_problem(url, own_hosts, blocked_hosts)
    if problem:
        raise ApiError(problem, field=field)
    return url


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def check_code(code) -> str:
    if not isinstance(code, str) or not CUSTOM_CODE.match(code):
        raise ApiError(
            "code must be 3-64 letters, digits, '-' or '_', starting with a letter or digit",
            field="code",
        )
    if code.lower() in RESERVED_CODES:
        raise ApiError(f"code '{code}' is reserved", field="code")
    return code


def check_channel(channel) -> str:
    if not isinstance(channel, str) or not CHANNEL.match(channel.strip().lower()):
        raise ApiError(
            "channel is required: lower-case letters, digits, '.', '-', '_' (max 40)",
            field="channel",
        )
    return channel.strip().lower()


def check_text(value, field: str, required=False, max_length=200) -> str | None:
    if value is None or value == "":
        if required:
            raise ApiError(f"{field} is required", field=field)
        return None
    if not isinstance(value, str):
        raise ApiError(f"{field} must be a string", field=field)
    if len(value) > max_length or re.search(r"[\x00-\x1f\x7f]", value):
        raise ApiError(
            f"{field} must be at most {max_length} characters without control characters",
            field=field,
        )
    return value.strip()


def check_tags(tags) -> list[str]:
    if tags is None:
        return []
    if not isinstance(tags, list) or len(tags) > MAX_TAGS:
        raise ApiError(f"tags must be a list of at most {MAX_TAGS} strings", field="tags")
    return sorted({check_text(t, "tags", True, MAX_TAG_LENGTH) for t in tags})


def check_expiry(value) -> str | None:
    if value is None or value == "":
        return None
    try:
        return to_db(parse_moment(value))
    except (TypeError, ValueError):
        raise ApiError("expires_at must be an ISO 8601 date-time", field="expires_at") from None


def as_dict(row: dict, base_url: str) -> dict:
    link = dict(row)
    link.pop("id", None)
    link["tags"] = json.loads(link["tags"])
    link["disabled"] = bool(link["disabled"])
    link["short_url"] = f"{base_url.rstrip('/')}/{link['code']}"
    return link


def create_link(db: Database, fields: dict, own_hosts=(), blocked_hosts=()) -> dict:
    """Validate and store a link; returns the stored row."""
    if not isinstance(fields, dict):
        raise ApiError("body must be a JSON object")
    now = to_db(utcnow())
    row = {
        "url": check_destination(fields.get("url"), own_hosts, blocked_hosts),
        "channel": check_channel(fields.get("channel")),
        "campaign": check_text(fields.get("campaign"), "campaign", required=True),
        **{f: check_text(fields.get(f), f) for f in TAG_FIELDS},
        "tags": json.dumps(check_tags(fields.get("tags"))),
        "expires_at": check_expiry(fields.get("expires_at")),
        "created_at": now,
        "updated_at": now,
    }
    custom = fields.get("code")
    if custom is not None:
        row["code"] = check_code(custom)
        if get_link(db, row["code"]) is not None:
            raise ApiError(f"code '{custom}' is taken", status=409, field="code")
        return _insert(db, row)
    for _ in range(10):
        row["code"] = new_code()
        try:
            return _insert(db, row)
        except sqlite3.IntegrityError:
            continue  # a collision: 57^7 codes make this all but impossible
    raise ApiError("could not allocate a unique code, try again", status=503)


def _insert(db: Database, row: dict) -> dict:
    try:
        db.execute(
            f"INSERT INTO links ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
    except sqlite3.IntegrityError:
        if row.get("code") and get_link(db, row["code"]):
            raise
        raise ApiError("link could not be stored") from None
    return get_link(db, row["code"])


def get_link(db: Database, code: str) -> dict | None:
    rows = db.query(f"SELECT {COLUMNS} FROM links WHERE code = ?", [code])
    return next(rows, None)


def list_links(db: Database, limit=100, offset=0, channel=None, campaign=None) -> list:
    where, params = [], []
    if channel:
        where.append("channel = ?")
        params.append(channel.lower())
    if campaign:
        where.append("campaign = ?")
        params.append(campaign)
    sql = f"SELECT {COLUMNS} FROM links"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += " ORDER BY id DESC LIMIT ? OFFSET ?"
    return list(db.query(sql, [*params, limit, offset]))


def update_link(db: Database, code: str, fields: dict, own_hosts=(), blocked_hosts=()):
    """Change what a marketer may change after sharing: destination, tags,
    disabled flag and expiry. Channel and campaign stay fixed, because past
    clicks were counted under them."""
    if not isinstance(fields, dict):
        raise ApiError("body must be a JSON object")
    allowed = {"url", "tags", "disabled", "expires_at", *TAG_FIELDS}
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ApiError(
            f"cannot change {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}",
            field=unknown[0],
        )
    changes = {}
    if "url" in fields:
        changes["url"] = check_destination(fields["url"], own_hosts, blocked_hosts)
    if "tags" in fields:
        changes["tags"] = json.dumps(check_tags(fields["tags"]))
    if "disabled" in fields:
        if not isinstance(fields["disabled"], bool):
            raise ApiError("disabled must be true or false", field="disabled")
        changes["disabled"] = int(fields["disabled"])
    if "expires_at" in fields:
        changes["expires_at"] = check_expiry(fields["expires_at"])
    for f in TAG_FIELDS:
        if f in fields:
            changes[f] = check_text(fields[f], f)
    changes["updated_at"] = to_db(utcnow())
    assignments = ", ".join(f"{column} = ?" for column in changes)
    db.execute(f"UPDATE links SET {assignments} WHERE code = ?", [*changes.values(), code])
    return get_link(db, code)
