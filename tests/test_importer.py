"""`flask --app shortener links import FILE.csv`: our columns or a Bitly
export, a dry run, refused rows with their line and reason, existing codes
never overwritten, batches."""

import json

from conftest import AUTH, make_link

# Written by hand after Bitly's link export: the short link, its custom
# back-half (on a branded domain), the destination, title, date and tags.
BITLY_EXPORT = """\
id,link,custom_link,long_url,title,created,tags
bit.ly/3Kx9AbC,https://bit.ly/3Kx9AbC,,https://shop.example.com/spring?ref=bitly,Spring sale,2025-03-01T10:00:00+0000,"spring, sale"
bit.ly/4Lm2QrS,https://bit.ly/4Lm2QrS,https://go.brand.example/fall,https://shop.example.com/fall,Fall sale,2025-09-01T10:00:00+0000,fall
bit.ly/5Nn3TuV,https://bit.ly/5Nn3TuV,,javascript:alert(1),Bad one,2025-09-02T10:00:00+0000,
"""  # noqa: E501


def write(tmp_path, text, name="links.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def stored(db) -> dict[str, dict]:
    rows = db.query("SELECT code, url, channel, campaign, tags, title FROM links ORDER BY id")
    return {r["code"]: {**r, "tags": json.loads(r["tags"])} for r in rows}


def test_valid_rows_are_imported_and_refused_ones_listed_with_line_and_reason(
    client, runner, db, tmp_path
):
    make_link(client, code="taken", url="https://shop.example.com/original")
    path = write(
        tmp_path,
        "url,channel,campaign,code,tags\n"
        "https://shop.example.com/a,twitter,spring,promo-a,spring;sale\n"  # line 2: ok
        "ftp://shop.example.com/b,twitter,spring,,\n"  # line 3: bad url
        "https://shop.example.com/c,,spring,,\n"  # line 4: no channel
        "https://shop.example.com/d,twitter,spring,taken,\n"  # line 5: code exists
        "https://shop.example.com/e,twitter,spring,promo-a,\n"  # line 6: same code as line 2
        "https://shop.example.com/f,LinkedIn,autumn,,b2b\n",  # line 7: ok, random code
    )
    result = runner.invoke(args=["links", "import", path])
    assert result.exit_code == 1  # some rows were refused
    assert "imported 2 links, refused 4 rows" in result.output
    assert "line 3: refused (url): url must start with http:// or https://" in result.output
    assert "line 4: refused (channel)" in result.output
    assert "line 5: refused (code): code 'taken' exists already" in result.output
    assert "line 6: refused (code): code 'promo-a' is already on line 2" in result.output
    links = stored(db)
    assert links["taken"]["url"] == "https://shop.example.com/original"  # never overwritten
    assert links["promo-a"]["tags"] == ["sale", "spring"]
    [new] = [r for code, r in links.items() if code not in ("taken", "promo-a")]
    assert (new["url"], new["channel"], new["tags"]) == ("https://shop.example.com/f", "linkedin",
                                                          ["b2b"])  # fmt: skip


def test_a_dry_run_reports_and_stores_nothing(client, runner, db, tmp_path):
    path = write(tmp_path, "url,channel,campaign\nhttps://a.example/,x,c\nnope,x,c\n")
    result = runner.invoke(args=["links", "import", path, "--dry-run"])
    assert "would import 1 links, refused 1 rows" in result.output
    assert "line 3: refused (url)" in result.output
    assert stored(db) == {}


def test_a_bitly_export_is_recognised(runner, db, tmp_path):
    path = write(tmp_path, BITLY_EXPORT, "bitly.csv")
    result = runner.invoke(
        args=["links", "import", path, "--channel", "twitter", "--campaign", "from-bitly"]
    )
    assert "recognised a Bitly export" in result.output
    assert "imported 2 links, refused 1 rows" in result.output
    assert "line 4: refused (url)" in result.output
    links = stored(db)
    # the back-half of the short link, or of the custom link when there is one
    assert set(links) == {"3Kx9AbC", "fall"}
    assert links["3Kx9AbC"] == {
        "code": "3Kx9AbC",
        "url": "https://shop.example.com/spring?ref=bitly",
        "channel": "twitter",
        "campaign": "from-bitly",
        "tags": ["sale", "spring"],
        "title": "Spring sale",
    }
    assert links["fall"]["title"] == "Fall sale"
    # again: every code exists now, nothing is overwritten or added
    again = runner.invoke(
        args=["links", "import", path, "--channel", "twitter", "--campaign", "from-bitly"]
    )
    assert "imported 0 links, refused 3 rows" in again.output
    assert len(stored(db)) == 2


def test_a_bitly_export_without_a_channel_is_refused_row_by_row(runner, db, tmp_path):
    result = runner.invoke(args=["links", "import", write(tmp_path, BITLY_EXPORT)])
    assert "imported 0 links, refused 3 rows" in result.output
    assert "line 2: refused (channel): channel is required" in result.output
    assert stored(db) == {}


def test_big_files_go_in_batches(client, runner, db, tmp_path):
    lines = ["url,channel,campaign,code"] + [
        f"https://shop.example.com/{i},email,weekly,bulk-{i}" for i in range(1234)
    ]
    result = runner.invoke(args=["links", "import", write(tmp_path, "\n".join(lines) + "\n")])
    assert result.exit_code == 0, result.output
    assert "imported 1234 links, refused 0 rows" in result.output
    assert db.execute("SELECT count(*) FROM links").fetchone()[0] == 1234
    body = client.get("/api/links?q=bulk-1233", headers=AUTH).get_json()
    assert body["links"][0]["url"] == "https://shop.example.com/1233"


def test_unusable_files_are_one_line_errors(runner, tmp_path):
    for content, message in [
        (b"", "the file is empty"),
        (b"destination,channel\nhttps://a.example/,x\n", "no url column"),
        (b"url,channel,campaign\n\xff\xfe,x,c\n", "not UTF-8"),
    ]:
        path = tmp_path / "bad.csv"
        path.write_bytes(content)
        result = runner.invoke(args=["links", "import", str(path)])
        assert result.exit_code == 1
        assert message in result.output and "Traceback" not in result.output
