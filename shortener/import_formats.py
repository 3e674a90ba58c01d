"""Reading link files: clicktrail's own CSV and other shorteners' exports.

Each format is recognised from its header (CSV), its shape (JSON, SQL, a
CSV without a header) and read into rows keyed by our link fields, plus
`imported_clicks` (the source's own click count) where it has one. The
shapes, and where they come from:

- **Bitly**: its CSV link export, `long_url` with `link`/`custom_link`.
- **Shlink**: the web client's "Export" CSV of short URLs (shlink-web-component,
  `ExportShortUrlsBtn`): `createdAt, domain, shortCode, shortUrl, longUrl,
  title, tags, visits`, tags joined with `|`.
- **YOURLS**: the `yourls_url` table (YOURLS' install schema: `keyword, url,
  title, timestamp, ip, clicks`; the `yourls_` prefix is a setting, so any
  table whose name ends in `url` and has `keyword` and `url` columns), as a
  mysqldump/phpMyAdmin SQL dump (`INSERT INTO ... VALUES (...),(...);`, with
  or without a column list) or a CSV export of the table, with a header
  line or (phpMyAdmin's default) without one.
- **Kutt**: the JSON its API answers for `GET /api/v2/links` (Kutt's
  docs/api: `{"limit", "skip", "total", "data": [Link]}`, a Link having
  `address`, `target`, `description`, `visit_count`, `banned`, `password`,
  `expire_in`, ...), or the `data` list alone.
- **Rebrandly**: a CSV whose columns carry its Link object's names
  (developers.rebrandly.com/docs/link-entity: `slashtag, destination, title,
  shortUrl, clicks`, and `tags`). Rebrandly documents that object, not its
  dashboard export's header, so the names are matched without regard to case,
  spaces or underscores ("Destination URL", "Short URL"); the code is the
  slashtag, else the back-half of the short URL.

Domains are not kept: clicktrail serves one code space, so two sources'
links with the same code on two domains meet as one taken code.
"""

import csv
import io
import json
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

OWN_COLUMNS = ("url", "channel", "campaign", "code", "tags", "medium", "content", "term",
               "title", "description", "image", "expires_at", "country_urls")  # fmt: skip
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
SHLINK_COLUMNS = {"shortcode": "code", "longurl": "url", "title": "title", "tags": "tags",
                  "visits": "imported_clicks"}  # fmt: skip
YOURLS_COLUMNS = {"keyword": "code", "url": "url", "title": "title", "clicks": "imported_clicks"}
YOURLS_ORDER = ("keyword", "url", "title", "timestamp", "ip", "clicks")  # its install schema
REBRANDLY_COLUMNS = {"slashtag": "code", "destination": "url", "destinationurl": "url",
                     "title": "title", "clicks": "imported_clicks", "tags": "tags",
                     "shorturl": "short_url", "shortlink": "short_url"}  # fmt: skip
TAG_SEPARATORS = re.compile(r"[,;|]")


class ImportFileError(Exception):
    """The file as a whole cannot be imported (no header, no url column...)."""


@dataclass
class Parsed:
    source: str  # clicktrail, bitly, shlink, yourls, kutt, rebrandly
    label: str  # what the CLI says it recognised
    rows: list[tuple[int, dict]]  # (where, fields)
    unit: str = "line"  # where a row is: a line of the file, or Kutt's nth link


def read_file(text: str) -> Parsed:
    """The links of a file, whatever the format it is in."""
    text = text.removeprefix("\ufeff")  # spreadsheets' UTF-8 byte order mark
    start = text.lstrip()[:1]
    if start in ("{", "["):
        return read_kutt(text)
    if INSERT_LINE.search(text):
        return read_yourls_sql(text)
    return read_csv(text)


# -- CSV -------------------------------------------------------------------------


def _normal(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", (name or "").strip().lower())


def _squash(name: str) -> str:
    """'Destination URL', 'short_url', 'shortUrl' -> 'destinationurl', 'shorturl'."""
    return re.sub(r"[^a-z0-9]", "", (name or "").lower())


def is_bitly(header: list[str]) -> bool:
    names = {_normal(h) for h in header}
    return "long_url" in names and bool(names & {"link", "bitlink", "custom_link"})


def _kind_of(header: list[str]) -> str:
    squashed = {_squash(h) for h in header}
    if is_bitly(header):
        return "bitly"
    if {"shortcode", "longurl"} <= squashed:
        return "shlink"
    if {"keyword", "url"} <= squashed:
        return "yourls"
    if "slashtag" in squashed or (
        squashed & {"destination", "destinationurl"} and squashed & {"shorturl", "shortlink"}
    ):
        return "rebrandly"
    if _yourls_shape(header):
        return "yourls-bare"
    return "clicktrail"


def _yourls_shape(cells: list[str]) -> bool:
    """A YOURLS table exported without a header: six cells, the second a
    URL and the last a count."""
    return (
        len(cells) == len(YOURLS_ORDER)
        and cells[1].strip().lower().startswith(("http://", "https://"))
        and cells[5].strip().isdigit()
    )


def read_csv(text: str) -> Parsed:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if not header or not any(h.strip() for h in header):
        raise ImportFileError("the file is empty: expected a header line such as "
                              "url,channel,campaign,code,tags")  # fmt: skip
    kind = _kind_of(header)
    names = _names(kind, header)
    if "url" not in names:
        raise ImportFileError("no url column (or long_url, in a Bitly export)")
    rows = []
    if kind == "yourls-bare":  # the first line is a link, not a header
        rows.append((reader.line_num, _row(names, header)))
    for cells in reader:
        if any(c.strip() for c in cells):
            rows.append((reader.line_num, _row(names, cells)))
    if kind == "bitly":
        rows = [(line, _bitly_code(row)) for line, row in rows]
    if kind == "rebrandly":
        rows = [(line, _rebrandly_code(row)) for line, row in rows]
    if kind == "shlink":
        rows = [(line, _tags_split(row, "|")) for line, row in rows]
    source = kind.removesuffix("-bare")
    return Parsed(source, LABELS[kind], rows)


LABELS = {
    "clicktrail": "clicktrail's own columns",
    "bitly": "a Bitly export",
    "shlink": "a Shlink export (CSV of short URLs)",
    "yourls": "a YOURLS export (CSV of yourls_url)",
    "yourls-bare": "a YOURLS export (CSV of yourls_url, no header)",
    "rebrandly": "a Rebrandly export (CSV)",
}


def _names(kind: str, header: list[str]) -> list[str]:
    """Our field name for each column ('' for a column we do not read)."""
    if kind == "bitly":
        return [BITLY_COLUMNS.get(_normal(h), "") for h in header]
    if kind == "shlink":
        return [SHLINK_COLUMNS.get(_squash(h), "") for h in header]
    if kind == "yourls":
        return [YOURLS_COLUMNS.get(_squash(h), "") for h in header]
    if kind == "yourls-bare":
        return [YOURLS_COLUMNS.get(name, "") for name in YOURLS_ORDER]
    if kind == "rebrandly":
        return [REBRANDLY_COLUMNS.get(_squash(h), "") for h in header]
    return [n if n in OWN_COLUMNS else "" for n in (_normal(h) for h in header)]


def _row(names: list[str], cells: list[str]) -> dict:
    row: dict = {"_extra": len(cells) > len(names) and "more cells than header columns"}
    for name, cell in zip(names, cells, strict=False):
        if name and cell.strip() and not row.get(name):
            row[name] = cell.strip()
    return row


def back_half(link: str) -> str:
    """`https://bit.ly/3xYz` or `go.brand.com/spring` -> the code part."""
    path = urlsplit(link if "//" in link else f"//{link}").path
    return path.strip("/").split("/")[-1] if path.strip("/") else ""


def _bitly_code(row: dict) -> dict:
    """The back-half of the custom link, else of the bit.ly link."""
    link = row.pop("code", None) or row.pop("bitlink", None)
    row.pop("bitlink", None)
    if link:
        row["code"] = back_half(link)
    return row


def _rebrandly_code(row: dict) -> dict:
    """The slashtag, else the back-half of the short URL."""
    short_url = row.pop("short_url", None)
    if not row.get("code") and short_url:
        row["code"] = back_half(short_url)
    return row


def _tags_split(row: dict, separator: str) -> dict:
    if row.get("tags"):
        row["tags"] = [t.strip() for t in row["tags"].split(separator) if t.strip()]
    return row


# -- YOURLS' SQL dump ------------------------------------------------------------

INSERT = re.compile(
    r"INSERT\s+(?:IGNORE\s+)?INTO\s+[`\"]?(\w+)[`\"]?\s*(?:\(([^)]*)\))?\s*VALUES\s*", re.I
)
INSERT_LINE = re.compile(r"^INSERT\s+(?:IGNORE\s+)?INTO\s", re.I | re.M)  # an SQL dump
CREATE = re.compile(r"CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[`\"]?(\w+)[`\"]?\s*\(", re.I)
COLUMN_LINE = re.compile(r"\s*[`\"](\w+)[`\"]\s")
# one value of a tuple: a quoted string (backslash escapes, doubled quotes) or a
# bare word; possessive, so an unclosed quote fails at once instead of backtracking
QUOTED = r"'((?:[^'\\]++|\\.|'')*+)'|\"((?:[^\"\\]++|\\.|\"\")*+)\""
VALUE = re.compile(rf"\s*(?:{QUOTED}|([^,()\s'\"][^,()\s]*))\s*", re.S)
ESCAPES = {"0": "\0", "b": "\b", "n": "\n", "r": "\r", "t": "\t", "Z": "\x1a"}


def _unescape(text: str, quote: str) -> str:
    """MySQL's string escapes (\\' \\n \\\\ ...; \\% and \\_ keep their backslash)."""

    def one(m):
        if m.group(0) == quote * 2:
            return quote
        c = m.group(1)
        return "\\" + c if c in "%_" else ESCAPES.get(c, c)

    return re.sub(r"\\(.)|" + re.escape(quote * 2), one, text, flags=re.S)


def _create_columns(text: str) -> dict[str, list[str]]:
    """{table: its column names} from the dump's CREATE TABLE statements
    (one column per line, as mysqldump and phpMyAdmin write them)."""
    tables = {}
    for m in CREATE.finditer(text):
        columns = []
        for line in _lines_after(text, m.end()):
            if line.lstrip().startswith(")"):
                break
            column = COLUMN_LINE.match(line)
            if column:
                columns.append(column.group(1).lower())
        tables[m.group(1).lower()] = columns
    return tables


def _lines_after(text: str, pos: int):
    """The lines after the one holding pos, one at a time (a dump can be large)."""
    start = text.find("\n", pos) + 1
    while 0 < start < len(text):
        end = text.find("\n", start)
        yield text[start : end if end >= 0 else len(text)]
        start = end + 1 if end >= 0 else len(text)


def read_yourls_sql(text: str) -> Parsed:
    created = _create_columns(text)
    rows, found = [], False
    for m in INSERT.finditer(text):
        table = m.group(1).lower()
        if not table.endswith("url"):
            continue  # yourls_log, yourls_options: not links
        if m.group(2):
            columns = [c.strip().strip('`"').lower() for c in m.group(2).split(",")]
        else:
            columns = created.get(table) or list(YOURLS_ORDER)
        if not {"keyword", "url"} <= set(columns):
            continue
        found = True
        names = [YOURLS_COLUMNS.get(c, "") for c in columns]
        for line, values in _tuples(text, m.end()):
            row = _row(names, [v or "" for v in values])
            if len(values) != len(columns):
                row["_extra"] = f"{len(values)} values for {len(columns)} columns"
            rows.append((line, row))
    if not found:
        raise ImportFileError(
            "an SQL file must be a dump of YOURLS' yourls_url table: INSERT INTO ... VALUES"
            " with keyword and url columns"
        )
    return Parsed("yourls", "a YOURLS export (SQL dump of yourls_url)", rows)


def _tuples(text: str, pos: int):
    """(line, [values]) of each `(...)` of an INSERT's VALUES, from pos to
    its `;`; NULL is None."""
    line, counted = 1 + text.count("\n", 0, pos), pos
    while True:
        pos = _skip_space(text, pos)
        if text.startswith("(", pos):
            line += text.count("\n", counted, pos)
            counted = pos
            values, pos = _values(text, pos + 1, line)
            yield line, values
            pos = _skip_space(text, pos)
            if text.startswith(",", pos):
                pos += 1
                continue
        if pos >= len(text) or text.startswith(";", pos):
            return
        raise ImportFileError(f"line {line}: the SQL dump has no ( or ; where one belongs")


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos].isspace():
        pos += 1
    return pos


def _values(text: str, pos: int, line: int) -> tuple[list, int]:
    values = []
    while True:
        m = VALUE.match(text, pos)
        if m is None:
            raise ImportFileError(f"line {line}: a value of the SQL dump cannot be read")
        single, double, bare = m.groups()
        if single is not None:
            values.append(_unescape(single, "'"))
        elif double is not None:
            values.append(_unescape(double, '"'))
        else:
            values.append(None if bare.upper() == "NULL" else bare)
        pos = m.end()
        if text.startswith(",", pos):
            pos += 1
        elif text.startswith(")", pos):
            return values, pos + 1
        else:
            raise ImportFileError(f"line {line}: the SQL dump's values are not closed by )")


# -- Kutt's JSON -----------------------------------------------------------------


def read_kutt(text: str) -> Parsed:
    try:
        data = json.loads(text)
    except ValueError:
        raise ImportFileError("the file is not valid JSON") from None
    links = data.get("data") if isinstance(data, dict) else data
    if not isinstance(links, list) or not all(
        isinstance(link, dict) and "target" in link for link in links
    ):
        raise ImportFileError(
            'a JSON file must be Kutt\'s list of links: {"data": [{"address": ..., '
            '"target": ..., ...}]}'
        )
    rows = [(n, _kutt_row(link)) for n, link in enumerate(links, 1)]
    return Parsed("kutt", "a Kutt export (JSON of its links)", rows, unit="link")


def _kutt_row(link: dict) -> dict:
    row = {
        "url": link.get("target"),
        "code": link.get("address"),
        "title": link.get("description"),
        "expires_at": link.get("expire_in"),
        "imported_clicks": link.get("visit_count"),
    }
    row = {k: v for k, v in row.items() if v is not None and v != ""}
    # what clicktrail cannot carry over is refused rather than made public
    if link.get("banned"):
        row["_refused"] = ("banned", "the link is banned in Kutt")
    elif link.get("password"):
        row["_refused"] = ("password", "the link has a password in Kutt; links here have none")
    return row
