"""`flask --app shortener advocates ...` (advocates/cli.py)."""

from conftest import make_link


def test_create_list_show_deactivate(runner, client):
    made = runner.invoke(args=["advocates", "create", "Ada Lovelace", "--email", "ada@example.com"])
    assert made.exit_code == 0, made.output
    assert made.output.split("\t")[:3] == ["1", "ada-lovelace", "Ada Lovelace"]
    runner.invoke(args=["advocates", "create", "Bob"])
    listed = runner.invoke(args=["advocates", "list"])
    assert [line.split("\t")[1] for line in listed.output.splitlines()] == ["ada-lovelace", "bob"]
    source = make_link(client)
    shared = runner.invoke(args=["advocates", "share", source["code"], "ada-lovelace", "2"])
    assert shared.exit_code == 0, shared.output
    lines = shared.output.splitlines()
    assert [line.split("\t")[0] for line in lines] == ["ada-lovelace", "bob"]
    shown = runner.invoke(args=["advocates", "show", "ada-lovelace"])
    assert lines[0].split("\t")[1] in shown.output
    off = runner.invoke(args=["advocates", "deactivate", "bob"])
    assert off.exit_code == 0 and "(deactivated)" in off.output
    active = runner.invoke(args=["advocates", "list", "--active"])
    assert len(active.output.splitlines()) == 1


def test_errors_are_one_line(runner):
    missing = runner.invoke(args=["advocates", "show", "nobody"])
    assert missing.exit_code == 1 and "Traceback" not in missing.output
    assert "no advocate 'nobody'" in missing.output
    bad = runner.invoke(args=["advocates", "create", "Ada", "--email", "nope"])
    assert bad.exit_code == 1 and "email" in bad.output


def test_csv_import_creates_advocates_and_links_once(runner, client, tmp_path, db):
    source = make_link(client)
    runner.invoke(args=["advocates", "create", "Existing", "--handle", "old-friend"])
    path = tmp_path / "ambassadors.csv"
    path.write_text(
        "name,email,customer_id,handle\n"
        "Ada,ada@example.com,c-1,\n"
        ",,,old-friend\n"
        "Bad,not-an-email,,\n"
        ",,,\n"
        "Bob,bob@example.com,,\n"
    )
    first = runner.invoke(args=["advocates", "import", str(path), "--link", source["code"]])
    assert first.exit_code == 1  # two rows refused
    assert "line 4: refused (email)" in first.output
    assert "line 5: refused (name)" in first.output
    assert "3 personal links created, 2 rows refused" in first.output
    handles = [line.split("\t")[0] for line in first.output.splitlines() if "\t" in line]
    assert handles == ["ada", "old-friend", "bob"]
    # importing again reuses advocates (by handle, else email) and links
    second = runner.invoke(args=["advocates", "import", str(path), "--link", source["code"]])
    assert "0 personal links created, 2 rows refused" in second.output
    assert db.execute("SELECT count(*) FROM advocates").fetchone()[0] == 3
    assert db.execute("SELECT count(*) FROM links WHERE advocate_id IS NOT NULL").fetchone()[0] == 3
    header = tmp_path / "bad.csv"
    header.write_text("who,what\nx,y\n")
    refused = runner.invoke(args=["advocates", "import", str(header), "--link", source["code"]])
    assert refused.exit_code == 1 and "first line must name the columns" in refused.output
