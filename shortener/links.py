"""Short links: validating what a marketer asks for, storing and finding it.

Destinations are checked by shortener.destination_checks, when a link is
written and again at redirect time; the link features (A/B, device and country
destinations, expiry, click limits) by shortener.linkoptions.
"""

import json
import re
import secrets
import sqlite3
from datetime import datetime

from sqlite_utils import Database
from werkzeug.security import generate_password_hash

from . import audit
from .clock import parse_moment, to_db, utcnow
from .destination_checks import check_destination, looping_code, normalise_destination
from .dialect import json_values, like
from .errors import ApiError
from .linkoptions import as_json, feature_columns
from .signals import link_updated, send

CODE_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 7  # 57**7 is about 2e12 codes: not worth guessing
CUSTOM_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{2,63}")
RESERVED_CODES = {
    "api", "t", "static", "healthz", "admin", "login", "logout", "dashboard",
    "favicon.ico", "robots.txt", "app", "assets", "docs",
}  # fmt: skip
CHANNEL = re.compile(r"[a-z0-9][a-z0-9_.-]{0,39}")
# every column that holds a destination (destinations: JSON of {name, url, weight})
DESTINATION_COLUMNS = ("url", "destinations", "ios_url", "android_url", "desktop_url",
                       "expired_url", "country_urls")  # fmt: skip
MAX_TAG_LENGTH = 50
MAX_TAGS = 20
TEXT_CONTROL = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")  # and lone surrogates: not UTF-8
TAG_FIELDS = ("medium", "content", "term")
PREVIEW_FIELDS = ("title", "description", "image")
# link features (A/B, device and country destinations, expired_url, max_clicks):
# shortener.linkoptions
FEATURE_FIELDS = {"destinations", "ios_url", "android_url", "desktop_url", "expired_url",
                  "max_clicks", "country_urls"}  # fmt: skip
CREATE_FIELDS = {"url", "channel", "campaign", "code", "expires_at", "tags", *TAG_FIELDS,
                 *PREVIEW_FIELDS, *FEATURE_FIELDS, "password"}  # fmt: skip
PATCH_FIELDS = {"url", "tags", "disabled", "expires_at", *TAG_FIELDS, *PREVIEW_FIELDS,
                *FEATURE_FIELDS, "password"}  # fmt: skip
# a link's password is never read back: rows say only whether there is one
COLUMNS = (
    "id, code, url, channel, campaign, medium, content, term, tags, "
    "disabled, expires_at, created_at, updated_at, title, description, image, "
    "destinations, ios_url, android_url, desktop_url, expired_url, max_clicks, expired_hits, "
    "imported_clicks, country_urls, password_hash IS NOT NULL AS protected"
)
PASSWORD_LENGTHS = (8, 128)
MAX_TITLE = 200
MAX_DESCRIPTION = 500
SORTS = ("newest", "clicks")


# -- loops ----------------------------------------------------------------


def stored_urls(column: str, value: str) -> list[str]:
    """The destinations a column holds: A/B destinations and country
    destinations are JSON (a list of {url, ...}, an object of code: url)."""
    if column == "destinations":
        return [v["url"] for v in json.loads(value)]
    if column == "country_urls":
        return list(json.loads(value).values())
    return [value]


def refuse_loops(db: Database, columns: dict, own_hosts=(), codes=()) -> None:
    """Refuse a row whose destinations lead back to one of our short links
    (an existing one, or one of `codes`, being written now): every visit
    would go round and round, storing a click each time. A host this
    installation is named by is refused whatever the path
    (normalise_destination); its other names (localhost, loopback and this
    machine's addresses, in any spelling) only with a short link's path, so
    a local test site stays a valid destination."""
    for column in DESTINATION_COLUMNS:
        value = columns.get(column)
        if not value:
            continue
        urls = stored_urls(column, value)
        for url in urls:
            code = looping_code(url, own_hosts)
            if code is not None and (code in codes or get_link(db, code) is not None):
                raise ApiError(
                    f"url points back at this shortener: /{code} is one of its short links",
                    field=column,
                )


# -- the other fields -----------------------------------------------------


def new_code() -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
        if code.lower() not in RESERVED_CODES:
            return code


def check_code(code) -> str:
    if not isinstance(code, str) or not CUSTOM_CODE.fullmatch(code):
        raise ApiError(
            "code must be 3-64 letters, digits, '-' or '_', starting with a letter or digit",
            field="code",
        )
    if code.lower() in RESERVED_CODES:
        raise ApiError(f"code '{code}' is reserved", field="code")
    return code


def check_channel(channel) -> str:
    value = channel.strip().lower() if isinstance(channel, str) else None
    if not value or not CHANNEL.fullmatch(value):
        raise ApiError(
            "channel is required: letters, digits, '.', '-', '_' (max 40)",
            field="channel",
        )
    return value


def check_text(value, field: str, required=False, max_length=200) -> str | None:
    if value is not None and not isinstance(value, str):
        raise ApiError(f"{field} must be a string", field=field)
    value = (value or "").strip()
    if not value:
        if required:
            raise ApiError(f"{field} is required", field=field)
        return None
    if len(value) > max_length or TEXT_CONTROL.search(value):
        raise ApiError(
            f"{field} must be at most {max_length} characters without control characters",
            field=field,
        )
    return value


def check_tags(tags) -> list[str]:
    if tags is None:
        return []
    if not isinstance(tags, list) or len(tags) > MAX_TAGS:
        raise ApiError(f"tags must be a list of at most {MAX_TAGS} strings", field="tags")
    return sorted({check_text(t, "tags", True, MAX_TAG_LENGTH) for t in tags})


def check_expiry(value, now: datetime | None = None) -> str | None:
    """The expiry as stored, or None for "never". With `now`, the moment
    must still be ahead: a new link that is already dead is a typo."""
    if value is None or value == "":
        return None
    problem = "expires_at must be an ISO 8601 date-time between 2000 and 9999"
    try:
        moment = parse_moment(value)
    except (TypeError, ValueError, OverflowError):
        raise ApiError(problem, field="expires_at") from None
    if not 2000 <= moment.year <= 9999:  # stored text must stay fixed-width
        raise ApiError(problem, field="expires_at")
    if now is not None and moment <= now:
        raise ApiError("expires_at is in the past", field="expires_at")
    return to_db(moment)


def check_image(value) -> str | None:
    """The preview image: an http(s) URL (crawlers fetch it), checked like a
    destination except that it may live on any host."""
    if value is None or value == "":
        return None
    try:
        return normalise_destination(value)
    except ValueError as e:
        raise ApiError(str(e).replace("url", "image", 1), field="image") from None


def preview_checks() -> dict:
    return {
        "title": lambda v: check_text(v, "title", max_length=MAX_TITLE),
        "description": lambda v: check_text(v, "description", max_length=MAX_DESCRIPTION),
        "image": check_image,
    }


def check_password(value) -> str | None:
    """The stored hash of a link's password (werkzeug's scrypt), or None for
    none. Taken exactly as typed: spaces count, nothing is stripped."""
    if value is None:
        return None
    low, high = PASSWORD_LENGTHS
    if not isinstance(value, str) or not low <= len(value) <= high or TEXT_CONTROL.search(value):
        raise ApiError(
            f"password must be {low}-{high} characters without control characters, or null",
            field="password",
        )
    return generate_password_hash(value)


def check_disabled(value) -> int:
    if not isinstance(value, bool):
        raise ApiError("disabled must be true or false", field="disabled")
    return int(value)


def refuse_unknown(fields: dict, allowed: set[str], verb: str) -> None:
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ApiError(
            f"cannot {verb} {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}",
            field=unknown[0],
        )


# -- storage --------------------------------------------------------------


def as_dict(row: dict, base_url: str) -> dict:
    link = dict(row)
    link.pop("id", None)
    link["tags"] = json.loads(link["tags"])
    link["disabled"] = bool(link["disabled"])
    link["protected"] = bool(link["protected"])
    link["short_url"] = f"{base_url.rstrip('/')}/{link['code']}"
    return as_json(link)


def new_row(fields, own_hosts=(), blocked_hosts=(), now: datetime | None = None) -> dict:
    """A validated links row, without its code."""
    if not isinstance(fields, dict):
        raise ApiError("body must be a JSON object")
    refuse_unknown(fields, CREATE_FIELDS, "set")
    now = now or utcnow()
    return {
        "url": check_destination(fields.get("url"), own_hosts, blocked_hosts),
        "channel": check_channel(fields.get("channel")),
        "campaign": check_text(fields.get("campaign"), "campaign", required=True),
        **{f: check_text(fields.get(f), f) for f in TAG_FIELDS},
        "tags": json.dumps(check_tags(fields.get("tags"))),
        "expires_at": check_expiry(fields.get("expires_at"), now),
        **{f: check(fields.get(f)) for f, check in preview_checks().items()},
        **_features(fields, own_hosts, blocked_hosts, only_given=False),
        "password_hash": check_password(fields.get("password")),
        "created_at": to_db(now),
        "updated_at": to_db(now),
    }


def create_link(
    db: Database, fields, own_hosts=(), blocked_hosts=(), now=None, actor: str = "system"
) -> dict:
    """Validate and store a link; returns the stored row. Nothing is stored
    when any field is refused. `actor`: who is creating it, for the audit log."""
    row = new_row(fields, own_hosts, blocked_hosts, now)
    custom = fields.get("code")
    code = check_code(custom) if custom is not None and custom != "" else None
    refuse_loops(db, row, own_hosts, [code] if code else [])
    if code:
        row["code"] = code
        if not _insert(db, row):
            raise ApiError(f"code '{custom}' is taken", status=409, field="code")
        return _created(db, row, actor)
    for _ in range(10):
        row["code"] = new_code()
        if _insert(db, row):
            return _created(db, row, actor)
    raise ApiError("could not allocate a unique code, try again", status=503)


def _created(db: Database, row: dict, actor: str) -> dict:
    readable = _readable(row)
    # a new link's empty fields (no tags, no medium) are not changes worth a line
    skipped = ("created_at", "updated_at", "code")
    fields = [c for c, v in readable.items() if c not in skipped and v not in (None, "", [])]
    found = audit.changes(None, readable, fields)
    audit.record(db, actor, "link.create", "link", row["code"], found)
    return get_link(db, row["code"])


# columns stored as JSON text, shown in the audit log as the values they hold
JSON_COLUMNS = ("tags", "destinations", "country_urls")


def _readable(row: dict) -> dict:
    return {k: json.loads(v) if k in JSON_COLUMNS and v else v for k, v in row.items()}


def _insert(db: Database, row: dict) -> bool:
    """Insert the row; False when its code is taken (codes are never reused:
    deleted links are only disabled)."""
    try:
        db.execute(
            f"INSERT INTO links ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
    except sqlite3.IntegrityError:
        return False
    return True


def get_link(db: Database, code: str) -> dict | None:
    rows = db.query(f"SELECT {COLUMNS} FROM links WHERE code = ?", [code])
    return next(rows, None)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


STATUSES = ("all", "active", "disabled")


def _filters(db, channel=None, campaign=None, tag=None, q=None, status="all") -> tuple[str, list]:
    """WHERE clause for the link list. A tag matches one element of the
    tags array exactly (json_each), never a substring of the JSON text; `q`
    is a case-insensitive substring of code, url, campaign or title;
    `status` (the dashboard's filter) keeps active or disabled links."""
    where, params = [], []
    if status in ("active", "disabled"):
        where.append("disabled = ?")
        params.append(int(status == "disabled"))
    if channel:
        where.append("channel = ?")
        params.append(channel.strip().lower())
    if campaign:
        where.append("campaign = ?")
        params.append(campaign)
    if tag:
        where.append(
            f"EXISTS (SELECT 1 FROM {json_values(db, 'links.tags', 't')} WHERE t.value = ?)"
        )
        params.append(tag.strip())
    if q:
        match = f"{like(db)} ? ESCAPE '\\'"
        where.append(f"(code {match} OR url {match} OR campaign {match} OR title {match})")
        params += [_like(q.strip())] * 4
    return (" WHERE " + " AND ".join(where) if where else ""), params


def list_links(
    db: Database, limit=100, offset=0, channel=None, campaign=None, tag=None, q=None,
    sort="newest", status="all",
) -> list:  # fmt: skip
    """A page of links (the API's listing and the dashboard's links page).
    `sort="clicks"` orders by all-time human clicks as kept in the link_day
    aggregate (ties: newest first), never by counting the click log."""
    where, params = _filters(db, channel, campaign, tag, q, status)
    if sort == "clicks":
        sql = (
            f"SELECT {COLUMNS} FROM links{where} ORDER BY (SELECT coalesce(sum(human_clicks), 0)"
            " FROM link_day WHERE link_day.link_id = links.id) DESC, id DESC LIMIT ? OFFSET ?"
        )
    else:
        sql = f"SELECT {COLUMNS} FROM links{where} ORDER BY id DESC LIMIT ? OFFSET ?"
    return list(db.query(sql, [*params, limit, offset]))


def count_links(db: Database, channel=None, campaign=None, tag=None, q=None, status="all") -> int:
    where, params = _filters(db, channel, campaign, tag, q, status)
    return next(db.query(f"SELECT count(*) AS n FROM links{where}", params))["n"]


def filter_choices(db: Database) -> dict[str, list[str]]:
    """Channels, campaigns and tags in use, for the dashboard's filter menus."""
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
                f"SELECT DISTINCT j.value FROM links, {json_values(db, 'links.tags', 'j')}"
                " ORDER BY j.value"
            )
        ],
    }


def changes_for(fields, own_hosts=(), blocked_hosts=()) -> dict:
    """The validated column changes a PATCH body asks for."""
    if not isinstance(fields, dict):
        raise ApiError("body must be a JSON object")
    refuse_unknown(fields, PATCH_FIELDS, "change")
    checks = {
        "url": lambda v: check_destination(v, own_hosts, blocked_hosts),
        "tags": lambda v: json.dumps(check_tags(v)),
        "disabled": check_disabled,
        "expires_at": check_expiry,
        **{f: (lambda v, f=f: check_text(v, f)) for f in TAG_FIELDS},
        **preview_checks(),
    }
    changes = {name: checks[name](value) for name, value in fields.items() if name in checks}
    if "password" in fields:  # null clears it
        changes["password_hash"] = check_password(fields["password"])
    return {**changes, **_features(fields, own_hosts, blocked_hosts, only_given=True)}


def _features(fields, own_hosts, blocked_hosts, only_given: bool) -> dict:
    return feature_columns(fields, own_hosts, blocked_hosts, only_given)


def update_link(
    db: Database, code: str, fields, own_hosts=(), blocked_hosts=(), actor: str = "system",
    action: str = "link.update",
):  # fmt: skip
    """Change what a marketer may change after sharing: destination, tags,
    disabled flag, expiry and the utm_medium/content/term values. Channel,
    campaign and code stay fixed, because past clicks were counted under them.
    The changed fields' before and after values go to the audit log as
    `action` by `actor`, in the caller's transaction."""
    changes = changes_for(fields, own_hosts, blocked_hosts)
    refuse_loops(db, changes, own_hosts, [code])
    before = next(db.query("SELECT * FROM links WHERE code = ?", [code]), None)
    changes["updated_at"] = to_db(utcnow())
    assignments = ", ".join(f"{column} = ?" for column in changes)
    db.execute(f"UPDATE links SET {assignments} WHERE code = ?", [*changes.values(), code])
    if before is not None:
        columns = [c for c in changes if c != "updated_at"]
        found = audit.changes(_readable(before), _readable(changes), columns)
        audit.record(db, actor, action, "link", code, found)
    send(link_updated, db=db, code=code, changed=fields)  # links shared from it follow
    return get_link(db, code)
