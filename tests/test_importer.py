"""`flask --app shortener links import FILE`: our columns or another
shortener's export (Bitly, Shlink, YOURLS, Kutt, Rebrandly), a dry run,
refused rows with their line and reason, existing codes never overwritten,
the source's click count kept as imported_clicks, batches."""

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


# -- other shorteners' exports -------------------------------------------------
#
# Each file is written by hand in the shape the tool documents (the sources are
# named in shortener/import_formats.py). Their click counts become imported_clicks
# on the link: a figure, never click rows.


def imported(db) -> dict[str, tuple]:
    rows = db.query("SELECT code, url, title, tags, imported_clicks FROM links ORDER BY id")
    return {r["code"]: (r["url"], r["title"], json.loads(r["tags"]), r["imported_clicks"])
            for r in rows}  # fmt: skip


def run_import(runner, path, *extra):
    return runner.invoke(
        args=["links", "import", path, "--channel", "instagram", "--campaign", "moved", *extra]
    )


# Shlink's web client exports `createdAt,domain,shortCode,shortUrl,longUrl,title,tags,visits`
# (tags joined with |) from its short URLs list
SHLINK_EXPORT = """\
createdAt,domain,shortCode,shortUrl,longUrl,title,tags,visits
2025-03-01T10:00:00+00:00,s.example,spring25,https://s.example/spring25,https://shop.example.com/spring?ref=shlink,"Spring sale, 25 % off",spring|sale,1234
2025-03-02T10:00:00+00:00,s.example,taken,https://s.example/taken,https://shop.example.com/other,,,7
2025-03-03T10:00:00+00:00,go.example,spring25,https://go.example/spring25,https://shop.example.com/x,,,0
2025-03-04T10:00:00+00:00,s.example,ab,https://s.example/ab,https://shop.example.com/ab,,,3
2025-03-05T10:00:00+00:00,s.example,Qx7Zk2,https://s.example/Qx7Zk2,https://shop.example.com/q,,,0
"""  # noqa: E501


def test_a_shlink_export_keeps_codes_titles_tags_and_its_visits(client, runner, db, tmp_path):
    make_link(client, code="taken", url="https://shop.example.com/original")
    path = write(tmp_path, SHLINK_EXPORT, "short_urls.csv")
    dry = run_import(runner, path, "--dry-run")
    assert "recognised a Shlink export (CSV of short URLs)" in dry.output
    assert "would import 2 links, refused 3 rows" in dry.output
    assert set(imported(db)) == {"taken"}  # a dry run stores nothing
    result = run_import(runner, path)
    assert result.exit_code == 1
    assert "imported 2 links, refused 3 rows" in result.output
    assert "line 3: refused (code): code 'taken' exists already (never overwritten)" in (
        result.output
    )
    # the same code on another Shlink domain: one code space here
    assert "line 4: refused (code): code 'spring25' is already on line 2" in result.output
    assert "line 5: refused (code): code must be 3-64 letters" in result.output
    links = imported(db)
    assert links["spring25"] == ("https://shop.example.com/spring?ref=shlink",
                                 "Spring sale, 25 % off", ["sale", "spring"], 1234)  # fmt: skip
    assert links["Qx7Zk2"][3] == 0
    assert links["taken"] == ("https://shop.example.com/original", None, [], None)  # untouched
    # imported clicks are a figure on the link, not clicks: no click rows, no report clicks
    assert db.execute("SELECT count(*) FROM clicks").fetchone()[0] == 0
    shown = client.get("/api/links/spring25", headers=AUTH).get_json()
    assert (shown["imported_clicks"], shown["channel"], shown["campaign"]) == (
        1234, "instagram", "moved"
    )  # fmt: skip
    assert client.get("/api/links/taken", headers=AUTH).get_json()["imported_clicks"] is None
    report = client.get("/api/reports/channels", headers=AUTH).get_json()["rows"]
    assert sum(r["clicks"] for r in report) == 0


def test_the_link_page_shows_the_imported_clicks(app, client, runner, tmp_path):
    from dashboard_support import signed_in

    run_import(runner, write(tmp_path, SHLINK_EXPORT, "short_urls.csv"))
    browser_client, _ = signed_in(app)
    page = browser_client.get("/dashboard/links/spring25").get_data(as_text=True)
    assert 'id="link-imported-clicks"' in page and ">1,234</dd>" in page
    made = make_link(client)["code"]
    assert "link-imported-clicks" not in browser_client.get(f"/dashboard/links/{made}").get_data(
        as_text=True
    )


# YOURLS keeps its links in `yourls_url` (keyword, url, title, timestamp, ip, clicks).
# mysqldump: CREATE TABLE, then one INSERT with every row, MySQL escapes (\' \\ \n)
YOURLS_MYSQLDUMP = r"""-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)
--
-- Table structure for table `yourls_url`
--

DROP TABLE IF EXISTS `yourls_url`;
CREATE TABLE `yourls_url` (
  `keyword` varchar(100) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  `url` text CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  `title` text COLLATE utf8mb4_unicode_ci,
  `timestamp` timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `ip` varchar(41) COLLATE utf8mb4_unicode_ci NOT NULL,
  `clicks` int unsigned NOT NULL,
  PRIMARY KEY (`keyword`),
  KEY `yourls_url_idx_timestamp` (`timestamp`),
  KEY `yourls_url_idx_ip` (`ip`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

LOCK TABLES `yourls_url` WRITE;
/*!40000 ALTER TABLE `yourls_url` DISABLE KEYS */;
INSERT INTO `yourls_url` VALUES ('ozh','https://ozh.org/','Ozh\'s blog, \\o/','2025-03-01 10:00:00','127.0.0.1',42),('sale-ig','https://shop.example.com/sale?a=1&b=2','Sale (50% off)','2025-03-02 10:00:00','10.0.0.1',7),('x','https://shop.example.com/x',NULL,'2025-03-03 10:00:00','10.0.0.1',0);
/*!40000 ALTER TABLE `yourls_url` ENABLE KEYS */;
UNLOCK TABLES;

DROP TABLE IF EXISTS `yourls_log`;
CREATE TABLE `yourls_log` (
  `click_id` int NOT NULL AUTO_INCREMENT,
  `click_time` datetime NOT NULL,
  `shorturl` varchar(100) NOT NULL,
  PRIMARY KEY (`click_id`)
) ENGINE=InnoDB;
INSERT INTO `yourls_log` VALUES (1,'2025-03-01 10:00:00','ozh');
INSERT INTO `yourls_options` VALUES (1,'version','1.9.2');
"""  # noqa: E501
# phpMyAdmin: a column list, one row per line, quotes doubled; another table prefix
YOURLS_PHPMYADMIN = """\
-- phpMyAdmin SQL Dump
INSERT INTO `short_url` (`keyword`, `url`, `title`, `timestamp`, `ip`, `clicks`) VALUES
('launch', 'https://shop.example.com/launch', 'Grand ''launch''', '2025-03-01 10:00:00', '10.0.0.1', 1500),
('launch', 'https://shop.example.com/again', 'Twice', '2025-03-02 10:00:00', '10.0.0.1', 2),
('bad1', 'ftp://shop.example.com/file', 'Not a web page', '2025-03-03 10:00:00', '10.0.0.1', 9);
"""  # noqa: E501


def test_a_yourls_sql_dump(runner, db, tmp_path):
    result = run_import(runner, write(tmp_path, YOURLS_MYSQLDUMP, "yourls.sql"))
    assert "recognised a YOURLS export (SQL dump of yourls_url)" in result.output
    assert "imported 2 links, refused 1 rows" in result.output
    # the whole INSERT is on line 21: every row of it says so
    assert "line 21: refused (code): code must be 3-64 letters" in result.output
    assert imported(db) == {
        "ozh": ("https://ozh.org/", "Ozh's blog, \\o/", [], 42),
        "sale-ig": ("https://shop.example.com/sale?a=1&b=2", "Sale (50% off)", [], 7),
    }  # yourls_log and yourls_options are not links


def test_a_yourls_phpmyadmin_dump_with_a_column_list(runner, db, tmp_path):
    result = run_import(runner, write(tmp_path, YOURLS_PHPMYADMIN, "short_url.sql"))
    assert "imported 1 links, refused 2 rows" in result.output
    assert "line 4: refused (code): code 'launch' is already on line 3" in result.output
    assert "line 5: refused (url): url must start with http:// or https://" in result.output
    assert imported(db) == {
        "launch": ("https://shop.example.com/launch", "Grand 'launch'", [], 1500)
    }


def test_a_yourls_csv_export_with_or_without_a_header(runner, db, tmp_path):
    rows = (
        '"ozh","https://ozh.org/","Ozh","2025-03-01 10:00:00","127.0.0.1","42"\n'
        '"yourls","https://yourls.org/","YOURLS","2025-03-01 10:00:00","127.0.0.1","1,250"\n'
    )
    bare = run_import(runner, write(tmp_path, rows, "yourls_url.csv"), "--dry-run")
    assert "recognised a YOURLS export (CSV of yourls_url, no header)" in bare.output
    assert "would import 2 links, refused 0 rows" in bare.output
    header = '"keyword","url","title","timestamp","ip","clicks"\n'
    result = run_import(runner, write(tmp_path, header + rows, "yourls_url.csv"))
    assert "recognised a YOURLS export (CSV of yourls_url)" in result.output
    assert imported(db) == {
        "ozh": ("https://ozh.org/", "Ozh", [], 42),
        "yourls": ("https://yourls.org/", "YOURLS", [], 1250),  # a spreadsheet's 1,250
    }


# Kutt's API: GET /api/v2/links answers {"limit", "skip", "total", "data": [Link]}
KUTT_LINKS = {
    "limit": 10,
    "skip": 0,
    "total": 5,
    "data": [
        {"id": "5f0b7e0e-6c2a-4c43-9d65-1d2ad1b7f2a1", "address": "launch", "banned": False,
         "created_at": "2025-03-01T10:00:00.000Z", "updated_at": "2025-03-01T10:00:00.000Z",
         "password": False, "description": "Launch post", "expire_in": None,
         "target": "https://shop.example.com/launch", "visit_count": 318, "domain": None,
         "link": "https://kutt.example/launch"},
        {"id": "8a3c1b6e-0f55-4f7e-a1d3-2b9c5e7d4f10", "address": "vip", "banned": False,
         "password": True, "description": None, "target": "https://shop.example.com/vip",
         "visit_count": 12, "link": "https://kutt.example/vip"},
        {"id": "c2d4e6f8-1a3b-4c5d-8e9f-0a1b2c3d4e5f", "address": "spam", "banned": True,
         "password": False, "target": "https://spam.example/", "visit_count": 0,
         "link": "https://kutt.example/spam"},
        {"id": "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6", "address": "loop", "banned": False,
         "password": False, "target": "https://bit.ly/3abc", "visit_count": 4,
         "link": "https://kutt.example/loop"},
        {"id": "e1f2a3b4-c5d6-4e7f-9a0b-c1d2e3f4a5b6", "address": "odd", "banned": False,
         "password": False, "target": "https://shop.example.com/odd", "visit_count": -3,
         "link": "https://kutt.example/odd"},
    ],
}  # fmt: skip


def test_a_kutt_link_list(runner, db, tmp_path):
    path = write(tmp_path, json.dumps(KUTT_LINKS, indent=2), "kutt.json")
    result = run_import(runner, path)
    assert "recognised a Kutt export (JSON of its links)" in result.output
    assert "imported 1 links, refused 4 rows" in result.output
    # refused rather than made public or sent round in a loop
    assert "link 2: refused (password): the link has a password in Kutt" in result.output
    assert "link 3: refused (banned): the link is banned in Kutt" in result.output
    assert "link 4: refused (url): url points at another link shortener" in result.output
    assert "link 5: refused (imported_clicks): the click count must be a whole number" in (
        result.output
    )
    assert imported(db) == {"launch": ("https://shop.example.com/launch", "Launch post", [], 318)}
    # the data list alone reads the same
    again = run_import(runner, write(tmp_path, json.dumps(KUTT_LINKS["data"]), "data.json"))
    assert "link 1: refused (code): code 'launch' exists already" in again.output


# Rebrandly: the columns of its Link object (developers.rebrandly.com/docs/link-entity)
REBRANDLY_EXPORT = """\
id,title,slashtag,destination,shortUrl,domain,createdAt,updatedAt,clicks,lastClickAt,favourite,tags
ffs24cc5b6ee4a5gh7897b06ac2d16d4,Spring lookbook,lookbook,https://shop.example.com/lookbook,rebrand.ly/lookbook,rebrand.ly,2025-03-01T10:54:12.000Z,2025-03-01T10:54:12.000Z,42,2025-03-20T10:55:13.000Z,false,"press, spring"
22ff9c5c9c9441229d29524c63c9ff22,Dropbox - myvid.mp4,myvid,https://www.dropbox.com/s/abc/myvid.mp4,rebrand.ly/myvid,rebrand.ly,2025-03-06T18:06:49.000Z,2025-03-06T18:06:49.000Z,0,,false,
"""  # noqa: E501


def test_a_rebrandly_export(runner, db, tmp_path):
    result = run_import(runner, write(tmp_path, REBRANDLY_EXPORT, "rebrandly.csv"))
    assert "recognised a Rebrandly export (CSV)" in result.output
    assert result.exit_code == 0, result.output
    assert imported(db) == {
        "lookbook": ("https://shop.example.com/lookbook", "Spring lookbook", ["press", "spring"],
                     42),
        "myvid": ("https://www.dropbox.com/s/abc/myvid.mp4", "Dropbox - myvid.mp4", [], 0),
    }  # fmt: skip


def test_a_rebrandly_export_with_spelled_out_headers(runner, db, tmp_path):
    # no slashtag column: the code is the short URL's back-half
    text = (
        "Title,Destination URL,Short URL,Clicks,Tags\n"
        "Summer,https://shop.example.com/summer,https://go.brand.example/summer-24,1024,summer\n"
    )
    result = run_import(runner, write(tmp_path, text, "links.csv"))
    assert "recognised a Rebrandly export (CSV)" in result.output
    assert imported(db) == {
        "summer-24": ("https://shop.example.com/summer", "Summer", ["summer"], 1024)
    }


def test_unreadable_exports_are_one_line_errors(runner, db, tmp_path):
    for name, content, message in [
        ("x.json", '{"links": []}', "a JSON file must be Kutt's list of links"),
        ("x.json", "{not json", "the file is not valid JSON"),
        ("x.sql", "INSERT INTO `yourls_log` VALUES (1,'a');", "dump of YOURLS' yourls_url"),
        ("x.sql", "INSERT INTO `yourls_url` VALUES ('ozh','https://ozh.org/'", "not closed by )"),
        ("x.sql", "INSERT INTO `yourls_url` VALUES ('ozh','https://ozh.org/", "cannot be read"),
    ]:
        result = runner.invoke(args=["links", "import", write(tmp_path, content, name)])
        assert result.exit_code == 1
        assert message in result.output and "Traceback" not in result.output
    assert imported(db) == {}
