"""`flask report NAME` prints what the API answers; `flask costs import`
adds good rows and names the refused ones; errors never show a traceback."""

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from shop_fixture import EARNED_CPC, build_shop

from conftest import app_config
from servers import server_env
from shortener import create_app
from shortener.app import init_db
from shortener.db import connect

ROOT = Path(__file__).resolve().parent.parent
PERIOD = ["--from", "2025-03-01", "--to", "2025-04-30"]


@pytest.fixture(scope="module")
def shop(tmp_path_factory):
    return build_shop(tmp_path_factory.mktemp("shop"))


@pytest.fixture
def runner(shop):
    return shop.app.test_cli_runner()


CASES = [
    ("attribution", ["--by", "campaign", "--model", "linear"],
     {"by": "campaign", "model": "linear"}),
    ("journeys", ["--channel", "email"], {"channel": "email"}),
    ("goals", [], {}),
    ("roi", ["--by", "campaign"], {"by": "campaign"}),
    ("earned", [], {}),
    ("saves", [], {}),
    ("growth", ["--period", "week", "--channel", "twitter"],
     {"period": "week", "channel": "twitter"}),
    ("control", ["--goal", "purchase"], {"goal": "purchase"}),
    ("retention", ["--as-of", "2025-05-14"], {"as_of": "2025-05-14"}),
    ("tenure", ["--as-of", "2025-05-14"], {"as_of": "2025-05-14"}),
    ("cross-sell", ["--as-of", "2025-05-14"], {"as_of": "2025-05-14"}),
]  # fmt: skip


@pytest.mark.parametrize("name, args, params", CASES)
def test_every_report_command_prints_the_api_rows(shop, runner, name, args, params):
    result = runner.invoke(args=["report", name, *PERIOD, *args])
    assert result.exit_code == 0, result.output
    printed = [json.loads(line) for line in result.output.splitlines()]
    assert printed == shop.rows(name, **{"from": "2025-03-01", "to": "2025-04-30"}, **params)


def test_report_to_a_csv_file(shop, runner, tmp_path):
    target = tmp_path / "growth.csv"
    result = runner.invoke(args=["report", "growth", "--period", "month", *PERIOD,
                                 "--csv", str(target)])  # fmt: skip
    assert result.exit_code == 0
    with open(target, newline="", encoding="utf-8") as f:
        table = list(csv.reader(f))
    api = shop.get("/api/reports/growth", format="csv", period="month",
                   **{"from": "2025-03-01", "to": "2025-04-30"})  # fmt: skip
    assert table == list(csv.reader(api.get_data(as_text=True).splitlines()))
    assert len(table) == 1 + 14  # header + 7 channel/currency pairs x 2 months


def test_report_command_refusals_are_clean(runner):
    result = runner.invoke(args=["report", "retention", "--to", "2025-04-30",
                                 "--as-of", "2025-04-01"])  # fmt: skip
    assert result.exit_code == 1
    assert "as_of: as_of must not be before to" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    bad_date = runner.invoke(args=["report", "roi", "--from", "March"])
    assert bad_date.exit_code == 2 and "date like" in bad_date.output
    swapped = runner.invoke(args=["report", "roi", "--from", "2025-05-01", "--to", "2025-04-01"])
    assert swapped.exit_code == 1 and "--from must not be after --to" in swapped.output


def test_every_report_command_has_an_example(runner):
    for name, _, _ in CASES:
        result = runner.invoke(args=["report", name, "--help"])
        assert result.exit_code == 0
        assert "Example: flask --app shortener report " + name in result.output


def test_costs_import_and_list(tmp_path):
    config = app_config(tmp_path)
    init_db(config["DATABASE"])
    runner = create_app(config).test_cli_runner()
    good = tmp_path / "costs.csv"
    good.write_text(
        "from,to,channel,campaign,kind,amount,currency\n"
        "2025-03-01,2025-03-31,twitter,,labor,310.00,EUR\n"
        "2025-03-16,2025-04-15,linkedin,spring,platform,93.00,USD\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["costs", "import", str(good)])
    assert result.exit_code == 0, result.output
    assert "added 2 cost rows, refused 0" in result.output
    again = runner.invoke(args=["costs", "import", str(good)])
    assert again.exit_code == 1
    assert "line 2: refused (line): same as cost #1 already in the ledger" in again.output
    assert "added 0 cost rows, refused 2" in again.output
    # 04-01..04-15 of the linkedin row: 15 days x 3.00
    listed = runner.invoke(args=["costs", "list", "--from", "2025-04-01"])
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [(r["channel"], r["amount"], r["amount_in_period"]) for r in rows] == [
        ("linkedin", "93.00", "45.00")
    ]
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(
        "from,to,channel,kind,amount,currency\n"
        "2025-05-01,2025-05-31,email,other,31.00,EUR\n"
        "2025-05-01,2025-05-31,email,other,31,pounds\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["costs", "import", str(mixed)])
    assert result.exit_code == 1
    assert "line 3: refused (currency): currency must be a three-letter ISO 4217 code" in (
        result.output
    )
    assert "added 1 cost rows, refused 1" in result.output
    db = connect(config["DATABASE"])
    assert db.execute("SELECT count(*) FROM costs").fetchone()[0] == 3
    for text, message in [
        ("", "the file is empty"),
        ("from,to,channel,amount,currency\n", "the header has no 'kind' column"),
        ("from,to,channel,kind,amount,currency,price\n", "unknown column 'price'"),
    ]:
        broken = tmp_path / "broken.csv"
        broken.write_text(text, encoding="utf-8")
        result = runner.invoke(args=["costs", "import", str(broken)])
        assert result.exit_code == 1 and message in result.output
        assert "Traceback" not in result.output
    assert db.execute("SELECT count(*) FROM costs").fetchone()[0] == 3
    db.close()


def test_the_real_flask_commands(shop, tmp_path):
    """As an operator types them, in a fresh process (the price list as JSON)."""
    config = {
        k: v
        for k, v in shop.app.config.items()
        if k in ("SECRET_KEY", "ADMIN_API_KEY", "WEBHOOK_SECRET", "DATABASE", "BASE_URL")
    }
    env = server_env(config)
    env["CLICKTRAIL_EARNED_CPC"] = json.dumps(EARNED_CPC)
    env["CLICKTRAIL_EARNED_CPC_CURRENCY"] = "EUR"
    flask = [sys.executable, "-m", "flask", "--app", "shortener"]

    def run(*args):
        return subprocess.run(
            [*flask, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )

    earned = run("report", "earned", *PERIOD)
    assert earned.returncode == 0, earned.stderr
    assert [json.loads(line) for line in earned.stdout.splitlines()] == shop.rows(
        "earned", **{"from": "2025-03-01", "to": "2025-04-30"}
    )
    missing = run("costs", "import", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    env["CLICKTRAIL_EARNED_CPC"] = '{"twitter": "cheap"}'
    refused = run("report", "earned")
    assert refused.returncode != 0
    assert "EARNED_CPC['twitter'] must be a decimal string" in refused.stderr
