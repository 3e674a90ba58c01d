"""`flask --app shortener links create|list`: works, and refuses bad input
with a one-line error and a non-zero exit, never a traceback."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import app_config
from servers import server_env
from shortener import create_app
from shortener.app import init_db

ROOT = Path(__file__).resolve().parent.parent


def links_in(db) -> list[dict]:
    return list(db.query("SELECT code, url, channel, campaign, tags FROM links ORDER BY id"))


def refused(result, db, message):
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # click's clean exit, not a crash
    assert "Traceback" not in result.output
    assert result.output.startswith("Error: ")
    assert message in result.output
    assert links_in(db) == []


def test_create_prints_the_short_url_and_stores_the_link(runner, db):
    result = runner.invoke(
        args=["links", "create", "https://shop.example.com/sale", "--channel", "Twitter",
              "--campaign", "spring-sale", "--tag", "q3", "--tag", "hero"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    [link] = links_in(db)
    assert result.output == f"http://go.example.test/{link['code']}\n"
    assert (link["url"], link["channel"], link["campaign"]) == (
        "https://shop.example.com/sale",
        "twitter",
        "spring-sale",
    )
    assert json.loads(link["tags"]) == ["hero", "q3"]


def test_create_with_a_custom_code_and_utm_fields(runner, db):
    result = runner.invoke(
        args=["links", "create", "https://shop.example.com/", "--channel", "newsletter",
              "--campaign", "may", "--code", "may-news", "--medium", "email",
              "--content", "header", "--term", "shoes", "--expires-at", "2099-01-01"]
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "http://go.example.test/may-news"
    row = next(db.query("SELECT medium, content, term, expires_at FROM links"))
    assert row == {
        "medium": "email",
        "content": "header",
        "term": "shoes",
        "expires_at": "2099-01-01T00:00:00.000000Z",
    }


@pytest.mark.parametrize(
    "args, message",
    [
        (["javascript:alert(1)", "--channel", "x", "--campaign", "c"], "http:// or https://"),
        (["https://bit.ly/x", "--channel", "x", "--campaign", "c"], "another link shortener"),
        (["https://go.example.test/x", "--channel", "x", "--campaign", "c"], "this shortener"),
        (["https://ok.example/", "--channel", "two words", "--campaign", "c"], "channel"),
        (["https://ok.example/", "--channel", "x", "--campaign", " "], "campaign is required"),
        (["https://ok.example/", "--channel", "x", "--campaign", "c", "--code", "api"], "reserved"),
        (["https://ok.example/", "--channel", "x", "--campaign", "c", "--code", "a"], "code"),
        (["https://ok.example/", "--channel", "x", "--campaign", "c", "--expires-at", "later"],
         "expires_at"),
    ],
)  # fmt: skip
def test_create_refuses_bad_input_cleanly(runner, db, args, message):
    refused(runner.invoke(args=["links", "create", *args]), db, message)


def test_create_refuses_a_taken_code(runner, db):
    args = ["links", "create", "https://ok.example/", "--channel", "x", "--campaign", "c"]
    assert runner.invoke(args=[*args, "--code", "taken"]).exit_code == 0
    result = runner.invoke(args=[*args, "--code", "taken"])
    assert result.exit_code == 1 and "taken" in result.output
    assert "Traceback" not in result.output
    assert len(links_in(db)) == 1


def test_missing_options_are_usage_errors(runner, db):
    result = runner.invoke(args=["links", "create", "https://ok.example/", "--campaign", "c"])
    assert result.exit_code == 2
    assert "--channel" in result.output
    assert links_in(db) == []


def test_create_before_init_db_is_a_clean_error(tmp_path):
    app = create_app(app_config(tmp_path))
    result = app.test_cli_runner().invoke(
        args=["links", "create", "https://ok.example/", "--channel", "x", "--campaign", "c"]
    )
    assert result.exit_code == 1
    assert isinstance(result.exception, SystemExit)
    assert "init-db" in result.output


def create(runner, url, channel, campaign, code):
    args = ["links", "create", url, "--channel", channel, "--campaign", campaign, "--code", code]
    assert runner.invoke(args=args).exit_code == 0


def test_list_prints_newest_first_and_filters(runner):
    create(runner, "https://shop.example.com/a", "twitter", "spring", "first")
    create(runner, "https://shop.example.com/b", "linkedin", "spring", "second")
    runner.invoke(args=["links", "create", "https://shop.example.com/c", "--channel", "x",
                        "--campaign", "fall", "--code", "third"])  # fmt: skip
    lines = runner.invoke(args=["links", "list"]).output.splitlines()
    assert lines == [
        "http://go.example.test/third\tx\tfall\thttps://shop.example.com/c",
        "http://go.example.test/second\tlinkedin\tspring\thttps://shop.example.com/b",
        "http://go.example.test/first\ttwitter\tspring\thttps://shop.example.com/a",
    ]
    only = runner.invoke(args=["links", "list", "--channel", "LinkedIn"]).output
    assert only == "http://go.example.test/second\tlinkedin\tspring\thttps://shop.example.com/b\n"
    paged = runner.invoke(args=["links", "list", "--limit", "1", "--offset", "1"]).output
    assert paged.startswith("http://go.example.test/second\t")
    as_json = runner.invoke(args=["links", "list", "--json", "--campaign", "fall"]).output
    [link] = [json.loads(line) for line in as_json.splitlines()]
    assert (link["code"], link["short_url"]) == ("third", "http://go.example.test/third")


def test_list_marks_disabled_links(runner, db):
    create(runner, "https://shop.example.com/a", "twitter", "spring", "gone")
    db.execute("UPDATE links SET disabled = 1")
    db.conn.commit()
    output = runner.invoke(args=["links", "list"]).output
    assert output.rstrip("\n").endswith("(disabled)")


@pytest.mark.parametrize("limit", ["0", "-5", "many"])
def test_list_refuses_a_bad_limit(runner, limit):
    result = runner.invoke(args=["links", "list", "--limit", limit])
    assert result.exit_code == 2
    assert "--limit" in result.output


def test_the_real_flask_command(tmp_path):
    """The commands as an operator types them, in a fresh process."""
    config = app_config(tmp_path)
    init_db(config["DATABASE"])
    env = server_env(config)
    flask = [sys.executable, "-m", "flask", "--app", "shortener", "links"]

    def run(*args):
        return subprocess.run(
            [*flask, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
        )

    made = run("create", "https://shop.example.com/sale", "--channel", "twitter",
               "--campaign", "spring-sale")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("http://go.example.test/")
    listed = run("list")
    assert listed.returncode == 0
    assert "\ttwitter\tspring-sale\thttps://shop.example.com/sale" in listed.stdout
    bad = run("create", "JaVaScRiPt:alert(1)", "--channel", "twitter", "--campaign", "x")
    assert bad.returncode == 1
    assert bad.stderr.strip() == "Error: url must start with http:// or https://"
    assert "Traceback" not in bad.stderr + bad.stdout
