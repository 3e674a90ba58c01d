"""What the rewards hook costs conversion intake, and reading the ledger.

Stores N conversions through `record_conversion` (durable commits, as the
webhook does) three ways: with no personal link (the common case: one
indexed read), through one advocate's personal link with two rules (every
conversion assessed twice: a reward or a refusal row each), and the same
with a capped rule (the advocate's earnings summed each time). Then reads
the ledger of 2 x N rows as JSON (first page) and as the payout CSV.

Usage: python bench/rewards.py [--n 3000]
"""

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from common import machine, print_table  # noqa: E402

from advocates import rewards  # noqa: E402
from conversions.csvout import csv_lines  # noqa: E402
from conversions.intake import Conversion, Policy, record_conversion  # noqa: E402
from shortener.app import init_db  # noqa: E402
from shortener.clicks import classify, record_click  # noqa: E402
from shortener.clock import parse_moment  # noqa: E402
from shortener.db import connect  # noqa: E402

UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/124.0 Safari/537.36"
START = parse_moment("2025-03-01T00:00:00Z")
RULES = [
    {"campaign": "spring", "beneficiary": "advocate", "percent": "10", "currency": "EUR"},
    {"campaign": "spring", "beneficiary": "friend", "amount": "5", "currency": "EUR"},
]


def setup(folder: Path, personal: bool, capped: bool):
    path = str(folder / "rewards.db")
    init_db(path)
    db = connect(path)
    db.execute(
        "INSERT INTO links (code, url, channel, campaign, created_at, updated_at)"
        " VALUES ('src', 'https://shop.example/', 'twitter', 'spring', ?, ?)",
        ["2025-01-01T00:00:00.000000Z"] * 2,
    )
    if personal:
        db.execute(
            "INSERT INTO advocates (handle, name, created_at, updated_at)"
            " VALUES ('ada', 'Ada', '2025-01-01', '2025-01-01')"
        )
        db.execute("UPDATE links SET advocate_id = 1")
        for fields in RULES:
            if capped:
                fields = {**fields, "cap_amount": "1000000"}
            rewards.create_rule(db, rewards.parse_rule(db, fields, "EUR"), START)
    db.conn.commit()
    return db


def intake(db, n: int) -> float:
    agent = classify(UA)
    for i in range(n):
        record_click(db, link_id=1, visitor_id=f"v{i}", now=START, agent=agent, is_bot=False,
                     user_agent=UA)  # fmt: skip
    began = time.perf_counter()
    for i in range(n):
        moment = START + timedelta(hours=1)
        c = Conversion(goal="purchase", source="webhook", occurred_at=moment, received_at=moment,
                       value_minor=4990, currency="EUR", order_id=f"o{i}", visitor_id=f"v{i}",
                       webhook_id=f"msg_{i}")  # fmt: skip
        record_conversion(db, c, Policy())
    return (time.perf_counter() - began) / n


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000)
    n = parser.parse_args().n
    rows = []
    for label, personal, capped in (
        ("no personal link", False, False),
        ("personal link, 2 rules", True, False),
        ("personal link, 2 capped rules", True, True),
    ):
        with tempfile.TemporaryDirectory() as folder:
            db = setup(Path(folder), personal, capped)
            # no app: loading shortener.app connected the ledger to intake
            per = intake(db, n)
            stored = db.execute("SELECT count(*) FROM rewards").fetchone()[0]
            rows.append([f"intake, {label}", f"{per * 1000:.2f} ms", f"{stored} ledger rows"])
            if personal and not capped:
                f = rewards.LedgerFilter()
                began = time.perf_counter()
                list(rewards.ledger_rows(db, f, 1000, 0))
                rewards.count_rows(db, f)
                rewards.totals(db, f)
                took = time.perf_counter() - began
                rows.append(["ledger JSON, first 1,000", f"{took:.3f} s", ""])
                began = time.perf_counter()
                size = sum(len(line) for line in csv_lines(rewards.COLUMNS,
                                                           rewards.ledger_rows(db, f)))  # fmt: skip
                rows.append([f"ledger CSV, all {stored}", f"{time.perf_counter() - began:.3f} s",
                             f"{size // 1024} KB"])  # fmt: skip
            db.close()
    print(machine())
    print_table(["what", "time", ""], rows)


if __name__ == "__main__":
    main()
