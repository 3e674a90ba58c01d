"""Importing links: our own CSV, or the export of another shortener (Bitly,
Shlink, YOURLS, Kutt, Rebrandly; read by `import_formats`).

Every row is checked exactly like `POST /api/links`; a row that cannot be
a link is refused with its line and reason, and the others are imported.
A code that already exists is never overwritten (the row is refused), so
importing a file twice adds nothing the second time. The source's own click
count is kept on the link as `imported_clicks`, a figure beside the link's
clicks, never turned into click rows. Rows are inserted in write
transactions of `BATCH` rows.
"""

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime

from sqlite_utils import Database

from .db import immediate
from .errors import ApiError
from .import_formats import OWN_COLUMNS, TAG_SEPARATORS, ImportFileError, Parsed, read_file
from .links import _insert, check_code, get_link, new_code, new_row, refuse_loops

__all__ = ["ImportFileError", "Parsed", "Refused", "Result", "import_rows", "read_file"]

BATCH = 500
MAX_CLICKS = 2**63 - 1  # what SQLite can hold
COUNT = re.compile(r"[0-9]{1,3}(,[0-9]{3})+|[0-9]+")  # 1234 or 1,234


@dataclass
class Refused:
    line: int
    field: str
    message: str


@dataclass
class Result:
    imported: list[str] = field(default_factory=list)  # codes, in file order
    refused: list[Refused] = field(default_factory=list)


def fields_of(row: dict, channel: str | None, campaign: str | None) -> dict:
    """The link fields a row asks for, as the API would receive them."""
    fields = {k: v for k, v in row.items() if k in OWN_COLUMNS and k != "tags"}
    tags = row.get("tags")
    if isinstance(tags, str):
        tags = [t.strip() for t in TAG_SEPARATORS.split(tags) if t.strip()]
    if tags:
        fields["tags"] = tags
    if isinstance(fields.get("country_urls"), str):
        fields["country_urls"] = json_cell(fields["country_urls"])
    fields.setdefault("channel", channel)
    fields.setdefault("campaign", campaign)
    return {k: v for k, v in fields.items() if v is not None and v != ""}


def json_cell(text: str):
    """A cell holding JSON ({"DE": "https://..."}) as its value; text that is
    not JSON stays text, for the field's own check to refuse by name."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def imported_clicks(value) -> int | None:
    """The source's own click count (a whole number, `1,234` as written by
    spreadsheets too), or ApiError."""
    if value is None or value == "":
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        count = value
    elif isinstance(value, str) and COUNT.fullmatch(value.strip()):
        count = int(value.strip().replace(",", ""))
    else:
        count = -1
    if not 0 <= count <= MAX_CLICKS:
        raise ApiError(
            f"the click count must be a whole number, not {value!r}", field="imported_clicks"
        )
    return count


def import_rows(
    db: Database,
    rows: list[tuple[int, dict]],
    *,
    now: datetime,
    channel: str | None = None,
    campaign: str | None = None,
    own_hosts=(),
    blocked_hosts=(),
    dry_run: bool = False,
    progress: Callable[[int], None] = lambda n: None,
    unit: str = "line",
) -> Result:
    """Check every row, then insert the valid ones (unless `dry_run`) in
    batches; `progress(n)` is told after each n rows. A row is where it is
    in the file: a `unit` (line, or link for a JSON list) and its number."""
    result = Result()
    seen: dict[str, int] = {}
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        valid = []
        for line, row in batch:
            refusal = _check(db, row, (unit, line), seen, channel, campaign, own_hosts,
                             blocked_hosts, now)  # fmt: skip
            if isinstance(refusal, Refused):
                result.refused.append(refusal)
            else:
                valid.append((line, refusal))
        if dry_run:
            result.imported += [r.get("code", f"(new, {unit} {line})") for line, r in valid]
        else:
            _insert_batch(db, valid, result)
        progress(len(batch))
    return result


def _check(db, row, where, seen, channel, campaign, own_hosts, blocked_hosts, now):
    """The row to insert (with its custom code, if any), or why not."""
    unit, line = where
    extra = row.pop("_extra", False)
    if extra:
        return Refused(line, "line", extra)
    if "_refused" in row:  # what the source has and a link here cannot carry
        return Refused(line, *row["_refused"])
    fields = fields_of(row, channel, campaign)
    try:
        stored = new_row(fields, own_hosts, blocked_hosts, now)
        code = fields.get("code")
        if code:
            stored["code"] = check_code(code)
        clicks = imported_clicks(row.get("imported_clicks"))
        if clicks is not None:
            stored["imported_clicks"] = clicks
    except ApiError as e:
        return Refused(line, e.field or "line", e.message)
    code = stored.get("code")
    if code:
        if code in seen:
            return Refused(line, "code", f"code '{code}' is already on {unit} {seen[code]}")
        seen[code] = line
        if get_link(db, code) is not None:
            return Refused(line, "code", f"code '{code}' exists already (never overwritten)")
    try:  # the file's codes so far (this row's too) count: a ring can close within a file
        refuse_loops(db, stored, own_hosts, seen)
    except ApiError as e:
        return Refused(line, e.field or "line", e.message)
    return stored


def _insert_batch(db: Database, valid: Iterable[tuple[int, dict]], result: Result) -> None:
    with immediate(db):
        for line, row in valid:
            if row.get("code"):
                if _insert(db, row):
                    result.imported.append(row["code"])
                else:  # taken between the check and now
                    result.refused.append(
                        Refused(line, "code", f"code '{row['code']}' exists already")
                    )
                continue
            for _ in range(10):
                row["code"] = new_code()
                if _insert(db, row):
                    result.imported.append(row["code"])
                    break
            else:
                result.refused.append(Refused(line, "code", "could not allocate a unique code"))
