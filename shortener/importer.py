"""Importing links from a CSV file: our own columns, or a Bitly export.

Every row is checked exactly like `POST /api/links`; a row that cannot be
a link is refused with its line and reason, and the others are imported.
A code that already exists is never overwritten (the row is refused), so
importing a file twice adds nothing the second time. Rows are inserted in
write transactions of `BATCH` rows.
"""

import csv
import io
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from sqlite_utils import Database

from .db import immediate
from .errors import ApiError
from .links import _insert, check_code, get_link, new_code, new_row, refuse_loops

BATCH = 500
OWN_COLUMNS = ("url", "channel", "campaign", "code", "tags", "medium", "content", "term",
               "title", "description", "image", "expires_at")  # fmt: skip
# a Bitly export names the destination long_url and the short link link
BITLY_COLUMNS = {
    "long_url": "url",
    "title": "title",
    "tags": "tags",
    "custom_link": "code",
    "custom_bitlinks": "code",
    "link": "bitlink",
    "bitlink": "bitlink",
}
TAG_SEPARATORS = re.compile(r"[,;|]")


class ImportFileError(Exception):
    """The file as a whole cannot be imported (no header, no url column...)."""


@dataclass
class Refused:
    line: int
    field: str
    message: str


@dataclass
class Result:
    imported: list[str] = field(default_factory=list)  # codes, in file order
    refused: list[Refused] = field(default_factory=list)
    bitly: bool = False


def _normal(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", (name or "").strip().lower())


def is_bitly(header: list[str]) -> bool:
    names = {_normal(h) for h in header}
    return "long_url" in names and bool(names & {"link", "bitlink", "custom_link"})


def read_rows(text: str) -> tuple[list[str], list[tuple[int, dict]], bool]:
    """(header, [(line, row)], is_bitly) with rows keyed by our field names."""
    text = text.removeprefix("\ufeff")  # spreadsheets' UTF-8 byte order mark
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise ImportFileError("the file is empty: expected a header line such as "
                              "url,channel,campaign,code,tags")  # fmt: skip
    bitly = is_bitly(header)
    names = [_normal(h) for h in header]
    if bitly:
        names = [BITLY_COLUMNS.get(n, "") for n in names]
    else:
        names = [n if n in OWN_COLUMNS else "" for n in names]
    if "url" not in names:
        raise ImportFileError("no url column (or long_url, in a Bitly export)")
    rows = []
    for cells in reader:
        if not any(c.strip() for c in cells):
            continue
        row: dict = {"_extra": len(cells) > len(names)}
        for name, cell in zip(names, cells, strict=False):
            if name and cell.strip() and not row.get(name):
                row[name] = cell.strip()
        rows.append((reader.line_num, row))
    return header, rows, bitly


def back_half(link: str) -> str:
    """`https://bit.ly/3xYz` or `go.brand.com/spring` -> the code part."""
    path = urlsplit(link if "//" in link else f"//{link}").path
    return path.strip("/").split("/")[-1] if path.strip("/") else ""


def fields_of(row: dict, channel: str | None, campaign: str | None, bitly: bool) -> dict:
    """The link fields a row asks for, as the API would receive them."""
    fields = {k: v for k, v in row.items() if k in OWN_COLUMNS and k != "tags"}
    if bitly and "code" in fields:
        fields["code"] = back_half(fields["code"])
    elif bitly and row.get("bitlink"):
        fields["code"] = back_half(row["bitlink"])
    if row.get("tags"):
        fields["tags"] = [t.strip() for t in TAG_SEPARATORS.split(row["tags"]) if t.strip()]
    fields.setdefault("channel", channel)
    fields.setdefault("campaign", campaign)
    return {k: v for k, v in fields.items() if v is not None and v != ""}


def import_rows(
    db: Database,
    rows: list[tuple[int, dict]],
    *,
    bitly: bool,
    now: datetime,
    channel: str | None = None,
    campaign: str | None = None,
    own_hosts=(),
    blocked_hosts=(),
    dry_run: bool = False,
    progress: Callable[[int], None] = lambda n: None,
) -> Result:
    """Check every row, then insert the valid ones (unless `dry_run`) in
    batches; `progress(n)` is told after each n rows."""
    result = Result(bitly=bitly)
    seen: dict[str, int] = {}
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        valid = []
        for line, row in batch:
            refusal = _check(db, row, line, seen, channel, campaign, bitly, own_hosts,
                             blocked_hosts, now)  # fmt: skip
            if isinstance(refusal, Refused):
                result.refused.append(refusal)
            else:
                valid.append((line, refusal))
        if dry_run:
            result.imported += [r.get("code", f"(new, line {line})") for line, r in valid]
        else:
            _insert_batch(db, valid, result)
        progress(len(batch))
    return result


def _check(db, row, line, seen, channel, campaign, bitly, own_hosts, blocked_hosts, now):
    """The row to insert (with its custom code, if any), or why not."""
    if row.pop("_extra", False):
        return Refused(line, "line", "more cells than header columns")
    fields = fields_of(row, channel, campaign, bitly)
    try:
        stored = new_row(fields, own_hosts, blocked_hosts, now)
        code = fields.get("code")
        if code:
            stored["code"] = check_code(code)
    except ApiError as e:
        return Refused(line, e.field or "line", e.message)
    code = stored.get("code")
    if code:
        if code in seen:
            return Refused(line, "code", f"code '{code}' is already on line {seen[code]}")
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
