"""`flask --app shortener report channels`: the same figures as the API."""

import json
import subprocess
import sys

import pytest
from test_reports import ALL_TIME, ALL_TIME_CSV, APRIL, MARCH, MARCH_CSV, build

from servers import ROOT, server_env


@pytest.fixture
def shop(app, client, db):
    return build(app, client, db)


def test_csv_file(shop, runner, tmp_path):
    path = tmp_path / "channels.csv"
    result = runner.invoke(args=["report", "channels", "--csv", str(path)])
    assert result.exit_code == 0, result.output
    assert path.read_bytes().decode("utf-8") == "\r\n".join(ALL_TIME_CSV) + "\r\n"
    assert f"wrote 6 rows to {path}" in result.output


def test_csv_file_for_march(shop, runner, tmp_path):
    path = tmp_path / "march.csv"
    args = ["report", "channels", "--from", "2024-03-01", "--to", "2024-03-31", "--csv", str(path)]
    assert runner.invoke(args=args).exit_code == 0
    assert path.read_bytes().decode("utf-8") == "\r\n".join(MARCH_CSV) + "\r\n"


def test_csv_to_stdout(shop, runner):
    result = runner.invoke(args=["report", "channels", "--csv", "-"])
    assert result.exit_code == 0
    assert result.stdout.replace("\r\n", "\n") == "\n".join(ALL_TIME_CSV) + "\n"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([], ALL_TIME),
        (["--from", "2024-03-01", "--to", "2024-03-31"], MARCH),
        (["--from", "2024-04-01", "--to", "2024-04-30"], APRIL),
    ],
)
def test_json_lines(shop, runner, args, expected):
    result = runner.invoke(args=["report", "channels", *args])
    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.output.splitlines()] == expected


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--from", "2024-03-02", "--to", "2024-03-01"], 1, "--from must not be after --to"),
        (["--from", "March"], 2, "use a date like"),
        (["--model", "u_shaped"], 2, "u_shaped"),
    ],
)
def test_bad_arguments(runner, args, code, message):
    result = runner.invoke(args=["report", "channels", *args])
    assert result.exit_code == code
    assert message in result.output
    assert "Traceback" not in result.output


def test_an_unwritable_csv_path_is_a_clear_error(runner, tmp_path):
    missing = tmp_path / "no-such-folder" / "channels.csv"
    result = runner.invoke(args=["report", "channels", "--csv", str(missing)])
    assert result.exit_code == 1
    assert f"cannot write {missing}" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_the_real_flask_command(shop, app, tmp_path):
    """As an operator types it, in a fresh process."""
    keys = ("SECRET_KEY", "ADMIN_API_KEY", "WEBHOOK_SECRET", "DATABASE", "BASE_URL")
    env = server_env({k: app.config[k] for k in keys})
    path = tmp_path / "out.csv"
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "shortener", "report", "channels",
         "--csv", str(path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert path.read_bytes() == ("\r\n".join(ALL_TIME_CSV) + "\r\n").encode("utf-8")
