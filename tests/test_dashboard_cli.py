"""`flask --app shortener users ...`."""

from dashboard import accounts
from shortener.db import connect


def test_create_asks_for_the_password_twice(app, runner):
    result = runner.invoke(
        args=["users", "create", "Ann@Example.com"],
        input="a long enough password\na long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert "Created user ann@example.com" in result.output
    assert "a long enough password" not in result.output  # never echoed
    db = connect(app.config["DATABASE"])
    try:
        assert accounts.authenticate(db, "ann@example.com", "a long enough password")
    finally:
        db.close()


def test_errors_are_messages_not_tracebacks(runner):
    short = runner.invoke(args=["users", "create", "ann", "--password", "short"])
    assert short.exit_code == 1
    assert "Error: passwords need at least 10 characters" in short.output
    assert "Traceback" not in short.output
    runner.invoke(args=["users", "create", "ann", "--password", "a long enough password"])
    twice = runner.invoke(args=["users", "create", "ANN", "--password", "a long enough password"])
    assert twice.exit_code == 1 and "Error: user 'ann' exists already" in twice.output
    bad = runner.invoke(args=["users", "create", "a b", "--password", "a long enough password"])
    assert bad.exit_code == 1 and "Error: user names are" in bad.output
    mismatch = runner.invoke(
        args=["users", "create", "bob"], input="one password!!\nanother one!!\n"
    )
    assert mismatch.exit_code != 0 and "Traceback" not in mismatch.output


def test_a_database_without_the_schema_is_a_clear_error(tmp_path):
    from conftest import app_config
    from shortener import create_app

    app = create_app(app_config(tmp_path, DATABASE=str(tmp_path / "empty.db")))
    result = app.test_cli_runner().invoke(
        args=["users", "create", "ann", "--password", "a long enough password"]
    )
    assert result.exit_code == 1
    assert "run `flask --app shortener init-db` first" in result.output


def test_list_and_password(runner):
    runner.invoke(args=["users", "create", "ann", "--password", "a long enough password"])
    listed = runner.invoke(args=["users", "list"])
    assert listed.exit_code == 0 and listed.output.startswith("ann\tcreated ")
    assert "never signed in" in listed.output
    changed = runner.invoke(args=["users", "password", "ann", "--password", "another password!"])
    assert changed.exit_code == 0 and "Password changed for ann" in changed.output
    missing = runner.invoke(args=["users", "password", "bob", "--password", "another password!"])
    assert missing.exit_code == 1 and "Error: no user 'bob'" in missing.output
