"""The cost ledger: what each channel (or campaign) cost, by kind.

A row covers a range of days; when a report's period cuts it, the row
counts for the days inside the period only, the amount spread evenly over
its days in whole minor units: day i of n gets amount // n, and the first
amount % n days one unit more (largest remainder with earliest-first ties,
the rule `attribution.allocate` uses). So the parts of a row over any
split into periods add up to exactly its amount, and a month's cost plus
the next month's equals the two months' cost to the cent.
"""

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

from sqlite_utils import Database

from shortener import audit
from shortener.clock import to_db
from shortener.db import immediate
from shortener.errors import ApiError
from shortener.links import check_channel, check_text
from shortener.signals import send

from .money import MoneyError, check_currency, format_minor, to_minor
from .reports import Filters, Period
from .signals import advocate_named, advocates_shown

KINDS = ("labor", "platform", "ads", "other")
FIELDS = ("from", "to", "channel", "campaign", "kind", "amount", "currency", "note", "advocate")
REQUIRED = ("from", "to", "channel", "kind", "amount", "currency")
MAX_DAYS = 3660  # ten years: a longer row is a typo in a year
MAX_IMPORT_ROWS = 100_000
ALL_TIME = Period()
NO_FILTERS = Filters()
COLUMNS = [
    "id",
    "from",
    "to",
    "days",
    "channel",
    "campaign",
    "kind",
    "amount",
    "currency",
    "amount_in_period",
    "note",
    "source",
    "created_at",
    "advocate",
]


class CostError(ValueError):
    """A refused cost row; `field` names the input at fault."""

    def __init__(self, message: str, field: str):
        super().__init__(message)
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Cost:
    start: date
    end: date  # inclusive
    channel: str
    campaign: str | None
    kind: str
    amount_minor: int
    currency: str
    note: str | None = None
    advocate_id: int | None = None  # a creator's fee: set against what they brought

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


# -- spreading ---------------------------------------------------------------


def share_between(amount: int, start: date, end: date, lo: date | None, hi: date | None) -> int:
    """The part of `amount`, spread evenly over start..end (inclusive), that
    falls on the days lo..hi (inclusive; None for open ends)."""
    n = (end - start).days + 1
    first = max(start, lo) if lo else start
    last = min(end, hi) if hi else end
    if last < first:
        return 0
    a = (first - start).days  # index of the first day inside, 0-based
    b = (last - start).days
    base, extra = divmod(amount, n)
    # days 0 .. extra-1 carry one unit more
    return base * (b - a + 1) + max(0, min(b + 1, extra) - a)


# -- validation --------------------------------------------------------------


def _day(value, field: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        day = value
    else:
        try:
            day = date.fromisoformat(value.strip()) if isinstance(value, str) else None
        except ValueError:
            day = None
    if day is None or not 2000 <= day.year <= 9999:
        raise CostError(f"{field} must be a date like 2026-03-31", field)
    return day


def _advocate_id(db: Database | None, key) -> int:
    """The id of the advocate a cost row names (id or handle)."""
    if isinstance(key, bool) or not isinstance(key, int | str):
        raise CostError("advocate must be an advocate id or handle", "advocate")
    found = _find_advocate(db, key) if db is not None else None
    if found is None:
        raise CostError(f"no advocate {key!r}", "advocate")
    return found


def _find_advocate(db: Database, key: int | str) -> int | None:
    """An advocate's id by id (an int or all-digit text) or by handle, as the
    advocates part answers it: costs sit below that part, so they ask with a
    signal rather than reading its table."""
    return _answer(send(advocate_named, db=db, key=key))


def _answer(answers: list):
    """The one receiver's answer to a question this part asks the part above."""
    ((_, answer),) = answers
    return answer


def parse_cost(fields: dict, db: Database | None = None) -> Cost:
    """A cost row from client input (JSON body or CSV line), or CostError
    naming the first field at fault. An `advocate` (id or handle) is looked
    up in `db`."""
    if not isinstance(fields, dict):
        raise CostError("a cost must be an object with from, to, channel, kind, amount, "
                        "currency", "body")  # fmt: skip
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise CostError(f"unknown field {unknown[0]}; allowed: {', '.join(FIELDS)}", unknown[0])
    for name in REQUIRED:
        if fields.get(name) in (None, ""):
            raise CostError(f"{name} is required", name)
    start = _day(fields["from"], "from")
    end = _day(fields["to"], "to")
    if end < start:
        raise CostError("to must not be before from", "to")
    if (end - start).days + 1 > MAX_DAYS:
        raise CostError(f"a cost row may cover at most {MAX_DAYS} days", "to")
    try:
        channel = check_channel(fields["channel"])
        campaign = check_text(fields.get("campaign"), "campaign")
        note = check_text(fields.get("note"), "note", max_length=500)
    except ApiError as e:
        raise CostError(e.message, e.field) from None
    kind = fields["kind"]
    kind = kind.strip().lower() if isinstance(kind, str) else None
    if kind not in KINDS:
        raise CostError(f"kind must be one of {', '.join(KINDS)}", "kind")
    try:
        currency = check_currency(fields["currency"])
    except MoneyError as e:
        raise CostError(str(e), "currency") from None
    amount = fields["amount"]
    if isinstance(amount, float):
        # a binary float cannot say 0.1 exactly: ask for the digits instead
        raise CostError('amount must be a decimal string such as "120.50" or an integer',
                        "amount")  # fmt: skip
    try:
        amount_minor = to_minor(amount, currency)
    except MoneyError as e:
        raise CostError(str(e).replace("value", "amount", 1), "amount") from None
    advocate = fields.get("advocate")
    advocate_id = None if advocate in (None, "") else _advocate_id(db, advocate)
    return Cost(start, end, channel, campaign, kind, amount_minor, currency, note, advocate_id)


# -- storage -----------------------------------------------------------------


# the columns a cost's audit entries compare
AUDITED = ("start_day", "end_day", "channel", "campaign", "kind", "amount_minor", "currency",
           "note", "advocate_id")  # fmt: skip


def _stored(db: Database, cost_id: int) -> dict | None:
    return next(db.query("SELECT * FROM costs WHERE id = ?", [cost_id]), None)


def add_cost(
    db: Database, cost: Cost, now: datetime, source: str = "api", actor: str = "system"
) -> dict:
    """Store a cost row; `actor` (who adds it) goes to the audit log with it."""
    cursor = db.execute(
        "INSERT INTO costs (start_day, end_day, channel, campaign, kind, amount_minor,"
        " currency, note, advocate_id, source, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        [*_values(cost), source, to_db(now)],
    )
    found = audit.changes(None, _stored(db, cursor.lastrowid), AUDITED)
    audit.record(db, actor, "cost.create", "cost", cursor.lastrowid, found, now)
    return get_cost(db, cursor.lastrowid)


def _values(cost: Cost) -> list:
    return [cost.start.isoformat(), cost.end.isoformat(), cost.channel, cost.campaign,
            cost.kind, cost.amount_minor, cost.currency, cost.note, cost.advocate_id]  # fmt: skip


def update_cost(db: Database, cost_id: int, cost: Cost, actor: str = "system") -> dict | None:
    """Replace a stored row's fields (its id, source and creation time stay)."""
    before = _stored(db, cost_id)
    db.execute(
        "UPDATE costs SET start_day = ?, end_day = ?, channel = ?, campaign = ?, kind = ?,"
        " amount_minor = ?, currency = ?, note = ?, advocate_id = ? WHERE id = ?",
        [*_values(cost), cost_id],
    )
    if before is not None:
        found = audit.changes(before, _stored(db, cost_id), AUDITED)
        audit.record(db, actor, "cost.update", "cost", cost_id, found)
    return get_cost(db, cost_id)


SELECT = "SELECT c.* FROM costs c"


def _with_handles(db: Database, rows: Iterable[dict]) -> list[dict]:
    """Each row with the handle of the advocate it names under `advocate`
    (None for none): the API shows handles, which the advocates part keeps."""
    rows = list(rows)
    ids = {r["advocate_id"] for r in rows if r["advocate_id"] is not None}
    handles = _answer(send(advocates_shown, db=db, ids=ids)) if ids else {}
    for row in rows:
        row["advocate"] = handles.get(row["advocate_id"])
    return rows


def get_cost(db: Database, cost_id: int) -> dict | None:
    return next(iter(_with_handles(db, db.query(f"{SELECT} WHERE c.id = ?", [cost_id]))), None)


def delete_cost(db: Database, cost_id: int, actor: str = "system") -> bool:
    before = _stored(db, cost_id)
    if before is None:
        return False
    db.execute("DELETE FROM costs WHERE id = ?", [cost_id])
    audit.record(db, actor, "cost.delete", "cost", cost_id, audit.changes(before, {}, AUDITED))
    return True


def find_same(db: Database, cost: Cost) -> dict | None:
    """A stored row identical to `cost` (same days, channel, campaign, kind,
    amount, currency, note and advocate): importing a file twice must not
    double a cost."""
    return next(
        db.query(
            "SELECT * FROM costs WHERE start_day = ? AND end_day = ? AND channel = ?"
            " AND campaign IS ? AND kind = ? AND amount_minor = ? AND currency = ?"
            " AND note IS ? AND advocate_id IS ? ORDER BY id LIMIT 1",
            _values(cost),
        ),
        None,
    )


def overlapping(
    db: Database, period: Period, filters: Filters = NO_FILTERS, advocates_only: bool = False
) -> Iterable[dict]:
    """Stored rows with at least one day in the period, matching the
    channel and campaign filters (a campaign filter leaves out rows that
    name no campaign: they cannot be split between campaigns); with
    `advocates_only`, the rows that name an advocate."""
    where, params = [], []
    if period.start:
        where.append("c.end_day >= ?")
        params.append(period.start.isoformat())
    if period.end:
        where.append("c.start_day <= ?")
        params.append(period.end.isoformat())
    if filters.channel:
        where.append("c.channel = ?")
        params.append(filters.channel.strip().lower())
    if filters.campaign:
        where.append("c.campaign = ?")
        params.append(filters.campaign)
    if advocates_only:
        where.append("c.advocate_id IS NOT NULL")
    sql = " AND ".join(where) or "TRUE"
    return _with_handles(db, db.query(f"{SELECT} WHERE {sql} ORDER BY c.start_day, c.id", params))


def in_period(row: dict, period: Period) -> int:
    """A stored row's amount on the period's days."""
    return share_between(
        row["amount_minor"],
        date.fromisoformat(row["start_day"]),
        date.fromisoformat(row["end_day"]),
        period.start,
        period.end,
    )


def public(row: dict, period: Period = ALL_TIME) -> dict:
    """A stored row as the API shows it."""
    start, end = date.fromisoformat(row["start_day"]), date.fromisoformat(row["end_day"])
    return {
        "id": row["id"],
        "from": row["start_day"],
        "to": row["end_day"],
        "days": (end - start).days + 1,
        "channel": row["channel"],
        "campaign": row["campaign"],
        "kind": row["kind"],
        "amount": format_minor(row["amount_minor"], row["currency"]),
        "currency": row["currency"],
        "amount_in_period": format_minor(in_period(row, period), row["currency"]),
        "note": row["note"],
        "source": row["source"],
        "created_at": row["created_at"],
        "advocate": row["advocate"],
    }


def cost_totals(
    db: Database, period: Period, filters: Filters, by: str = "channel"
) -> dict[tuple, dict[str, int]]:
    """{(key, currency): {kind: minor units in the period}}; the key is the
    channel, or (channel, campaign) with campaign None for rows that name no
    campaign."""
    totals = defaultdict(lambda: dict.fromkeys(KINDS, 0))
    for row in overlapping(db, period, filters):
        key = row["channel"] if by == "channel" else (row["channel"], row["campaign"])
        totals[(key, row["currency"])][row["kind"]] += in_period(row, period)
    return dict(totals)


def cost_by_bucket(
    db: Database, period: Period, filters: Filters, buckets: list[tuple[date, date]]
) -> dict[tuple[str, str, int], int]:
    """{(channel, currency, bucket index): minor units} for buckets given as
    (first day, last day) inside the period."""
    out = defaultdict(int)
    for row in overlapping(db, period, filters):
        start, end = date.fromisoformat(row["start_day"]), date.fromisoformat(row["end_day"])
        for i, (lo, hi) in enumerate(buckets):
            if lo <= end and hi >= start:
                share = share_between(row["amount_minor"], start, end, lo, hi)
                out[(row["channel"], row["currency"], i)] += share
    return dict(out)


def advocate_totals(
    db: Database, period: Period, filters: Filters
) -> dict[tuple[int, str], dict[str, int]]:
    """{(advocate id, currency): {kind: minor units in the period}} of the
    rows that name an advocate: each creator's fees."""
    totals = defaultdict(lambda: dict.fromkeys(KINDS, 0))
    for row in overlapping(db, period, filters, advocates_only=True):
        totals[(row["advocate_id"], row["currency"])][row["kind"]] += in_period(row, period)
    return dict(totals)


# -- CSV import --------------------------------------------------------------


@dataclass
class Refused:
    line: int
    field: str
    message: str


@dataclass
class ImportResult:
    added: list[dict]
    refused: list[Refused]


class CsvFileError(ValueError):
    """The file as a whole cannot be read (no header, unknown columns)."""


def read_csv(text: str) -> tuple[list[str], list[tuple[int, dict]]]:
    """(header, [(line number, fields)]); blank lines are skipped."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = None
    rows = []
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        if header is None:
            header = [h.strip().lower() for h in values]
            unknown = [h for h in header if h not in FIELDS]
            if unknown:
                raise CsvFileError(
                    f"unknown column {unknown[0]!r}; the header must name columns from: "
                    + ", ".join(FIELDS)
                )
            missing = [h for h in REQUIRED if h not in header]
            if missing:
                raise CsvFileError(f"the header has no {missing[0]!r} column")
            continue
        if len(rows) >= MAX_IMPORT_ROWS:
            raise CsvFileError(f"at most {MAX_IMPORT_ROWS} rows per file")
        fields = {h: (values[i] if i < len(values) else "") for i, h in enumerate(header)}
        if len(values) > len(header):
            fields["_extra"] = values[len(header) :]
        rows.append((reader.line_num, fields))
    if header is None:
        raise CsvFileError("the file is empty: expected a header line " + ",".join(FIELDS))
    return header, rows


def import_csv(
    db: Database, text: str, now: datetime, allow_duplicates: bool = False, actor: str = "system"
) -> ImportResult:
    """Add every valid row of a CSV file; refuse the others with the line
    and the field at fault. A row identical to one already in the ledger is
    refused too (unless `allow_duplicates`), so importing the same file
    twice adds nothing the second time. All accepted rows are added in one
    transaction."""
    _, rows = read_csv(text)
    result = ImportResult([], [])
    with immediate(db):
        stored_before = {r["id"] for r in db.query("SELECT id FROM costs")}
        for line, fields in rows:
            if "_extra" in fields:
                result.refused.append(Refused(line, "line", "more cells than header columns"))
                continue
            fields = {k: v.strip() for k, v in fields.items()}
            try:
                cost = parse_cost(fields, db)
            except CostError as e:
                result.refused.append(Refused(line, e.field, e.message))
                continue
            same = find_same(db, cost)
            if same and same["id"] in stored_before and not allow_duplicates:
                result.refused.append(
                    Refused(line, "line", f"same as cost #{same['id']} already in the ledger")
                )
                continue
            result.added.append(add_cost(db, cost, now, source="import", actor=actor))
    return result
