"""Advocates -- people who share a brand's links -- and their personal links.

An advocate has a handle (unique, URL-safe) that a personal link carries as
`utm_content`, so the shop's own analytics can tell advocates apart too.
A personal link copies a source link's destination, channel, campaign and
tags under its own code; there is at most one per (source link, advocate),
which the `links_personal` unique index enforces, so sharing is idempotent
even when two requests race.

A friend who converted through an advocate's personal link can become an
advocate in turn: `referred_by_conversion` (a conversion id) or
`referred_by_visitor` (a visitor id) finds the advocate whose personal link
brought them -- the last human click on a personal link before the
conversion (or, for a visitor, their latest such click) -- and records the
new advocate one generation deeper.
"""

import json
import re
import sqlite3
import unicodedata

from sqlite_utils import Database

from shortener import links
from shortener.clock import to_db, utcnow
from shortener.errors import ApiError

HANDLE = re.compile(r"[a-z0-9][a-z0-9_-]{1,39}")
EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,190}\.[^@\s.]{1,63}")
CREATE_FIELDS = {
    "name",
    "handle",
    "email",
    "customer_id",
    "referred_by_conversion",
    "referred_by_visitor",
    "share",
}
PATCH_FIELDS = {"name", "email", "customer_id", "active"}
COLUMNS = (
    "id, handle, name, email, customer_id, active, parent_advocate_id, depth, "
    "visitor_id, referred_conversion_id, created_at, updated_at"
)
MAX_BULK = 1000


# -- validation -----------------------------------------------------------


def check_handle(value) -> str:
    handle = value.strip().lower() if isinstance(value, str) else None
    if not handle or not HANDLE.fullmatch(handle) or handle.isdigit():
        raise ApiError(
            "handle must be 2-40 lowercase letters, digits, '-' or '_', "
            "starting with a letter or digit, not all digits (those are ids)",
            field="handle",
        )
    return handle


def check_email(value) -> str | None:
    email = links.check_text(value, "email", max_length=254)
    if email is not None and not EMAIL.fullmatch(email):
        raise ApiError("email must look like name@example.com", field="email")
    return email


def slug(name: str) -> str:
    """A handle proposed from a name: 'Zoë O'Brien' -> 'zoe-obrien'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = re.sub(r"['\u2019]", "", ascii_name.lower())
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")[:32].strip("-")
    if text.isdigit():
        return f"advocate-{text}"  # an all-digit handle would read as an id
    return text if len(text) >= 2 else "advocate"


def _unique_handle(db: Database, base: str) -> str:
    taken = {
        r["handle"]
        for r in db.query(
            "SELECT handle FROM advocates WHERE handle = ? OR handle LIKE ?",
            [base, base + "-%"],
        )
    }
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def check_active(value) -> int:
    if not isinstance(value, bool):
        raise ApiError("active must be true or false", field="active")
    return int(value)


# -- the referral tree -----------------------------------------------------


def referrer_of_conversion(db: Database, conversion_id) -> tuple[dict, dict, int]:
    """(conversion, advocate, source link id): the advocate whose personal link had the last
    human click by the conversion's visitor at or before the conversion (the
    conversion's own click id first, when it names a personal link)."""
    if isinstance(conversion_id, bool) or not isinstance(conversion_id, int):
        raise ApiError(
            "referred_by_conversion must be a conversion id", field="referred_by_conversion"
        )
    conversion = None
    if 0 < conversion_id <= 2**63 - 1:  # SQLite's integer range
        conversion = next(
            db.query(
                "SELECT id, visitor_id, customer_id, click_id, occurred_at FROM conversions"
                " WHERE id = ?",
                [conversion_id],
            ),
            None,
        )
    if conversion is None:
        raise ApiError(f"no conversion {conversion_id}", 404, field="referred_by_conversion")
    row = next(
        db.query(
            """SELECT l.advocate_id, l.parent_link_id
                FROM clicks c JOIN links l ON l.id = c.link_id
            WHERE c.click_id = ? AND l.advocate_id IS NOT NULL AND c.is_bot = 0""",
            [conversion["click_id"] or ""],
        ),
        None,
    )
    if row is None and conversion["visitor_id"]:
        row = next(
            db.query(
                """SELECT l.advocate_id, l.parent_link_id
                FROM clicks c JOIN links l ON l.id = c.link_id
                WHERE c.visitor_id = ? AND c.ts <= ? AND c.is_bot = 0
                  AND l.advocate_id IS NOT NULL
                ORDER BY c.ts DESC, c.id DESC LIMIT 1""",
                [conversion["visitor_id"], conversion["occurred_at"]],
            ),
            None,
        )
    if row is None:
        raise ApiError(
            f"conversion {conversion_id} did not come through an advocate's link",
            field="referred_by_conversion",
        )
    return conversion, get_advocate(db, row["advocate_id"]), row["parent_link_id"]


def referrer_of_visitor(db: Database, visitor_id) -> tuple[dict, int]:
    """(advocate, source link id): the advocate whose personal link the
    visitor clicked last."""
    visitor = links.check_text(visitor_id, "referred_by_visitor", required=True, max_length=100)
    row = next(
        db.query(
            """SELECT l.advocate_id, l.parent_link_id
                FROM clicks c JOIN links l ON l.id = c.link_id
            WHERE c.visitor_id = ? AND c.is_bot = 0 AND l.advocate_id IS NOT NULL
            ORDER BY c.ts DESC, c.id DESC LIMIT 1""",
            [visitor],
        ),
        None,
    )
    if row is None:
        raise ApiError("that visitor never clicked an advocate's link", field="referred_by_visitor")
    return get_advocate(db, row["advocate_id"]), row["parent_link_id"]


# -- storage --------------------------------------------------------------


def _check_referral(db: Database, parent: dict, row: dict, field: str) -> None:
    """A friend is invited once, and an advocate is never their own friend."""
    same = (row["visitor_id"] and row["visitor_id"] == parent["visitor_id"]) or (
        row["customer_id"] and row["customer_id"] == parent["customer_id"]
    )
    if same:
        raise ApiError(
            f"that is advocate '{parent['handle']}' converting through their own link, "
            "not a friend",
            field=field,
        )
    existing = next(
        db.query(
            "SELECT handle FROM advocates WHERE parent_advocate_id = ?"
            " AND (visitor_id = ? OR referred_conversion_id = ?)",
            [parent["id"], row["visitor_id"], row["referred_conversion_id"]],
        ),
        None,
    )
    if existing is not None:
        raise ApiError(f"that friend is already advocate '{existing['handle']}'", 409, field=field)


def as_dict(row: dict) -> dict:
    advocate = dict(row)
    advocate["active"] = bool(advocate["active"])
    return advocate


def create_advocate(db: Database, fields, now=None) -> dict:
    """Validate and store an advocate; nothing is stored when a field is
    refused. Call inside a write transaction (`immediate`)."""
    if not isinstance(fields, dict):
        raise ApiError("body must be a JSON object")
    links.refuse_unknown(fields, CREATE_FIELDS, "set")
    now = now or utcnow()
    row = {
        "name": links.check_text(fields.get("name"), "name", required=True),
        "email": check_email(fields.get("email")),
        "customer_id": links.check_text(fields.get("customer_id"), "customer_id"),
        "parent_advocate_id": None,
        "depth": 0,
        "visitor_id": None,
        "referred_conversion_id": None,
    }
    if "referred_by_conversion" in fields and "referred_by_visitor" in fields:
        raise ApiError(
            "give referred_by_conversion or referred_by_visitor, not both",
            field="referred_by_visitor",
        )
    share_too = fields.get("share", True)
    if not isinstance(share_too, bool):
        raise ApiError("share must be true or false", field="share")
    parent = source_id = None
    by_conversion = "referred_by_conversion" in fields
    field = "referred_by_conversion" if by_conversion else "referred_by_visitor"
    if fields.get("referred_by_conversion") is not None:
        conversion, parent, source_id = referrer_of_conversion(db, fields["referred_by_conversion"])
        row["visitor_id"] = conversion["visitor_id"]
        row["referred_conversion_id"] = conversion["id"]
        row["customer_id"] = row["customer_id"] or conversion["customer_id"]
    elif fields.get("referred_by_visitor") is not None:
        parent, source_id = referrer_of_visitor(db, fields["referred_by_visitor"])
        row["visitor_id"] = fields["referred_by_visitor"].strip()
    if parent is not None:
        _check_referral(db, parent, row, field)
        row["parent_advocate_id"] = parent["id"]
        row["depth"] = parent["depth"] + 1
    if fields.get("handle") not in (None, ""):
        row["handle"] = check_handle(fields["handle"])
        if get_advocate(db, row["handle"]) is not None:
            raise ApiError(f"handle '{row['handle']}' is taken", 409, field="handle")
    else:
        row["handle"] = _unique_handle(db, slug(row["name"]))
    row["active"] = 1
    row["created_at"] = row["updated_at"] = to_db(now)
    db.execute(
        f"INSERT INTO advocates ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
        list(row.values()),
    )
    advocate = get_advocate(db, row["handle"])
    if parent is not None and share_too:
        # invited to share: their own link for the campaign link that brought them
        source = source_link_by_id(db, source_id)
        if source is not None and not source["disabled"]:
            share(db, source, advocate, now)
    return advocate


def get_advocate(db: Database, key) -> dict | None:
    """By id (an int or all-digit text) or by handle."""
    if isinstance(key, bool) or key is None:
        return None
    if isinstance(key, int) or (isinstance(key, str) and key.isascii() and key.isdigit()):
        sql, value = "id = ?", int(key)
        if not 0 <= value <= 2**63 - 1:  # what SQLite can hold; ids are positive
            return None
    elif isinstance(key, str):
        sql, value = "handle = ?", key.strip().lower()
    else:
        return None
    return next(db.query(f"SELECT {COLUMNS} FROM advocates WHERE {sql}", [value]), None)


def handles(db: Database, ids) -> dict[int, str]:
    """{id: handle} of the advocates with these ids."""
    rows = db.execute(
        "SELECT id, handle FROM advocates WHERE id IN (SELECT value FROM json_each(?))",
        [_json_list(ids)],
    )
    return dict(rows.fetchall())


def find_advocate(db: Database, key, field="advocate") -> dict:
    advocate = get_advocate(db, key)
    if advocate is None:
        if not isinstance(key, (int, str)) or isinstance(key, bool):
            raise ApiError(f"{field} must be an advocate id or handle", field=field)
        raise ApiError(f"no advocate {key!r}", 404, field=field)
    return advocate


def list_advocates(db: Database, limit=100, offset=0, active=None, parent=None) -> list:
    where, params = [], []
    if active is not None:
        where.append("active = ?")
        params.append(int(active))
    if parent is not None:
        where.append("parent_advocate_id = ?")
        params.append(parent)
    clause = " WHERE " + " AND ".join(where) if where else ""
    return list(
        db.query(
            f"SELECT {COLUMNS} FROM advocates{clause} ORDER BY id LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
    )


def count_advocates(db: Database, active=None) -> int:
    if active is None:
        return next(db.query("SELECT count(*) AS n FROM advocates"))["n"]
    return next(db.query("SELECT count(*) AS n FROM advocates WHERE active = ?", [int(active)]))[
        "n"
    ]


def update_advocate(db: Database, advocate_id: int, fields, now=None) -> dict:
    """Name, email, customer id and the active flag may change; the handle
    and the place in the referral tree stay, because links and reports use them."""
    if not isinstance(fields, dict):
        raise ApiError("body must be a JSON object")
    links.refuse_unknown(fields, PATCH_FIELDS, "change")
    checks = {
        "name": lambda v: links.check_text(v, "name", required=True),
        "email": check_email,
        "customer_id": lambda v: links.check_text(v, "customer_id"),
        "active": check_active,
    }
    changes = {name: checks[name](value) for name, value in fields.items()}
    changes["updated_at"] = to_db(now or utcnow())
    assignments = ", ".join(f"{column} = ?" for column in changes)
    db.execute(f"UPDATE advocates SET {assignments} WHERE id = ?", [*changes.values(), advocate_id])
    return get_advocate(db, advocate_id)


# -- personal links ---------------------------------------------------------


def source_link(db: Database, code: str) -> dict | None:
    """The link to share; sharing someone's personal link shares its source."""
    row = next(
        db.query(
            f"SELECT {links.COLUMNS}, advocate_id, parent_link_id FROM links WHERE code = ?",
            [code],
        ),
        None,
    )
    if row is not None and row["parent_link_id"] is not None:
        row = next(
            db.query(
                f"SELECT {links.COLUMNS}, advocate_id, parent_link_id FROM links WHERE id = ?",
                [row["parent_link_id"]],
            )
        )
    return row


def source_link_by_id(db: Database, link_id: int) -> dict | None:
    return next(
        db.query(
            f"SELECT {links.COLUMNS}, advocate_id, parent_link_id FROM links WHERE id = ?",
            [link_id],
        ),
        None,
    )


def personal_link(db: Database, source: dict, advocate: dict) -> dict | None:
    return next(
        db.query(
            f"SELECT {links.COLUMNS} FROM links WHERE parent_link_id = ? AND advocate_id = ?",
            [source["id"], advocate["id"]],
        ),
        None,
    )


def share(db: Database, source: dict, advocate: dict, now=None) -> tuple[dict, bool]:
    """(personal link, created): the advocate's own link for the source's
    destination and campaign, made on first request and returned as it is
    after. Call inside a write transaction."""
    existing = personal_link(db, source, advocate)
    if existing is not None:
        return existing, False
    if not advocate["active"]:
        raise ApiError(f"advocate '{advocate['handle']}' is deactivated", 409, field="advocate")
    if source["disabled"]:
        raise ApiError(f"link '{source['code']}' is disabled", 409, field="code")
    now = now or utcnow()
    row = {
        "url": source["url"],
        "channel": source["channel"],
        "campaign": source["campaign"],
        "medium": source["medium"],
        "content": source["content"] or advocate["handle"],
        "term": source["term"],
        "tags": source["tags"],
        "expires_at": source["expires_at"],
        **{f: source[f] for f in links.PREVIEW_FIELDS},  # the same social preview
        # and the same device, country and after-expiry destinations; not its A/B test
        # (a test is one link's) nor its click cap (a cap per copy multiplies it)
        **{f: source[f] for f in DEVICE_FIELDS},
        # and its password: a personal link must not be the way round it
        "password_hash": _password_hash(db, source["id"]),
        "created_at": to_db(now),
        "updated_at": to_db(now),
        "advocate_id": advocate["id"],
        "parent_link_id": source["id"],
    }
    for _ in range(10):
        row["code"] = links.new_code()
        try:
            db.execute(
                f"INSERT INTO links ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                list(row.values()),
            )
        except sqlite3.IntegrityError:
            existing = personal_link(db, source, advocate)
            if existing is not None:
                return existing, False
            continue  # the code was taken
        return links.get_link(db, row["code"]), True
    raise ApiError("could not allocate a unique code, try again", status=503)


def share_many(db: Database, code: str, keys: list, now=None) -> list[tuple[dict, dict, bool]]:
    """[(advocate, personal link, created)] for each advocate id or handle;
    every advocate is checked before anything is stored."""
    source = source_link(db, code)
    if source is None:
        raise ApiError(f"no link with code '{code}'", 404, field="code")
    advocates = [find_advocate(db, key) for key in keys]
    results = []
    for advocate in advocates:
        link, created = share(db, source, advocate, now)
        results.append((advocate, link, created))
    return results


def forget(db: Database, visitor_ids, customer_id, conversion_ids) -> int:
    """Erasure (conversions/privacy.py): the erased person's conversions stop
    being anyone's referral, and an advocate who is that person -- by their
    visitor or customer id -- is anonymised: name, email, ids gone, handle
    (which personal links carry as utm_content) replaced by `erased-<id>`,
    deactivated. Their links and their place in the referral tree stay, so
    the reports of the people they brought do not change. Call inside the
    erasure's transaction, before the conversions are deleted. Returns how
    many advocates were anonymised."""
    visitors = _json_list(visitor_ids)
    db.execute(
        "UPDATE advocates SET referred_conversion_id = NULL"
        " WHERE referred_conversion_id IN (SELECT value FROM json_each(?))",
        [_json_list(conversion_ids)],
    )
    people = list(
        db.query(
            "SELECT id, handle FROM advocates WHERE visitor_id IN (SELECT value FROM json_each(?))"
            " OR (customer_id IS NOT NULL AND customer_id = ?)",
            [visitors, customer_id],
        )
    )
    now = to_db(utcnow())
    for person in people:
        handle = f"erased-{person['id']}"
        db.execute(
            "UPDATE advocates SET handle = ?, name = ?, email = NULL, customer_id = NULL,"
            " visitor_id = NULL, active = 0, updated_at = ? WHERE id = ?",
            [handle, "(erased)", now, person["id"]],
        )
        db.execute(
            "UPDATE links SET content = ?, updated_at = ? WHERE advocate_id = ? AND content = ?",
            [handle, now, person["id"], person["handle"]],
        )
    return len(people)


def _json_list(values) -> str:
    return json.dumps(sorted({v for v in values if v is not None}))


DEVICE_FIELDS = ("ios_url", "android_url", "desktop_url", "country_urls", "expired_url")
FOLLOWED = (
    "url", "medium", "term", "tags", "expires_at", "disabled", *links.PREVIEW_FIELDS,
    *DEVICE_FIELDS,
)  # fmt: skip


def _password_hash(db: Database, link_id: int) -> str | None:
    row = db.conn.execute("SELECT password_hash FROM links WHERE id = ?", (link_id,)).fetchone()
    return row[0]


def follow_source(db: Database, code: str, changed) -> int:
    """Give the personal links of a source link the changes just made to it
    (destination, utm_medium/term, tags, expiry, disabled, social preview,
    device, country and after-expiry destinations, password -- the fields in `changed`), so
    "the same destination and campaign" stays true after the marketer fixes
    a URL or ends a campaign. utm_content stays personal.
    Returns how many personal links changed."""
    fields = [f for f in FOLLOWED if f in set(changed)]
    if "password" in changed:  # the field is the password, the column its hash
        fields.append("password_hash")
    source = next(
        db.query("SELECT * FROM links WHERE code = ? AND parent_link_id IS NULL", [code]), None
    )
    if not fields or source is None:
        return 0
    assignments = ", ".join(f"{f} = ?" for f in fields)
    cursor = db.execute(
        f"UPDATE links SET {assignments}, updated_at = ? WHERE parent_link_id = ?",
        [*(source[f] for f in fields), source["updated_at"], source["id"]],
    )
    return cursor.rowcount


def advocate_links(db: Database, advocate_id: int) -> list[dict]:
    return list(
        db.query(
            f"SELECT {links.COLUMNS} FROM links WHERE advocate_id = ? ORDER BY id",
            [advocate_id],
        )
    )
