"""`make soak`: the soak of tests/test_soak.py, longer, with counts printed.

Three runs against a real gunicorn on 127.0.0.1, each with concurrent
clients doing redirects, signed webhooks and pixels: steady; one worker
killed by SIGKILL half way; the whole server (master and workers) killed
half way and started again. After each, every acknowledged click, webhook
and pixel must be in the database once, with no 5xx, no "database is
locked" in the server log and a clean `PRAGMA integrity_check`.

    make soak                                  # 3 x 60 s
    make soak SOAK_ARGS="--seconds 20 --clients 24 --workers 4"

Exits 1 when any run finds a problem.
"""

import argparse
import base64
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from soak import Gunicorn, kill_workers, make_links, restart, run, verify  # noqa: E402

from shortener.app import init_db  # noqa: E402

SECRET = "whsec_" + base64.b64encode(b"clicktrail-soak-webhook-secret!!").decode()
SCENARIOS = {
    "steady": None,
    "3 workers SIGKILLed, 1 s apart": kill_workers,
    "server crash + restart": restart,
}


def one(name, fault, seconds, clients, workers) -> bool:
    folder = Path(tempfile.mkdtemp(prefix="clicktrail-soak-"))
    config = {
        "SECRET_KEY": "soak-secret-key",
        "ADMIN_API_KEY": "soak-admin-key",
        "WEBHOOK_SECRET": SECRET,
        "DATABASE": str(folder / "soak.db"),
        "BASE_URL": "http://127.0.0.1",
    }
    init_db(config["DATABASE"])
    codes = make_links(config["DATABASE"], 50)
    server = Gunicorn(config, folder / "gunicorn.log", workers=workers)
    started = time.monotonic()
    try:
        server.start()
        tally = run(server, codes, SECRET, seconds, clients, fault)
    finally:
        server.close()
    elapsed = time.monotonic() - started
    check = verify(config["DATABASE"], server.log_path, tally)
    problems = check.problems(tally)
    requests_answered = sum(tally.statuses.values())
    print(f"\n== {name}: {seconds:.0f} s, {clients} clients, {workers} workers "
          f"({requests_answered} answers, {requests_answered / elapsed:.0f}/s)")  # fmt: skip
    print(
        f"   clicks    acknowledged {check.clicks_acknowledged:>7}  stored {check.clicks_stored:>7}"
        f"  missing {check.clicks_missing}  stored without an answer "
        f"{check.clicks_unacknowledged_stored} (of {tally.click_attempts_failed} failed)"
    )
    print(
        f"   webhooks  acknowledged {check.webhooks_acknowledged:>7}  missing "
        f"{check.webhooks_missing}  stored twice {check.webhook_rows_doubled}  re-sent "
        f"{check.webhook_refires} (all answered duplicate: "
        f"{check.webhook_refires_not_duplicate == 0})"
    )
    print(
        f"   pixels    acknowledged {check.pixels_acknowledged:>7}  missing "
        f"{check.pixels_missing}  re-fired {check.pixel_refires}"
    )
    print(
        f"   5xx {check.five_xx}  'database is locked' {check.locked_in_log}  tracebacks "
        f"{check.tracebacks_in_log}  integrity {check.integrity}  link_day clicks "
        f"{check.aggregate_clicks}"
    )
    print(f"   client-side errors (retried): {check.client_errors or 'none'}")
    print(f"   database and log kept in {folder}")
    for problem in problems:
        print(f"   PROBLEM: {problem}")
    return not problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    results = [one(name, fault, args.seconds, args.clients, args.workers)
               for name, fault in SCENARIOS.items()]  # fmt: skip
    print("\nsoak:", "OK" if all(results) else "PROBLEMS FOUND")
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main())
