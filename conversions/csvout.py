"""CSV written row by row, safe to open in a spreadsheet.

A cell that starts with = + - @ (or tab, CR, LF) would be run as a formula
by Excel or Sheets; such text cells get a leading apostrophe. Numbers are
left alone, so negative growth stays a number.
"""

import csv
import io
from collections.abc import Iterable, Iterator

DANGEROUS_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def cell(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(DANGEROUS_START):
        return "'" + value
    return value


def csv_lines(columns: list[str], rows: Iterable[dict]) -> Iterator[str]:
    """Yield the header and then one CSV line per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(values) -> str:
        writer.writerow(values)
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(columns)
    for row in rows:
        yield line([cell(row.get(c)) for c in columns])
