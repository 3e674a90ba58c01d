"""The shortener's migrations: links, clicks, the click journal.

Plain functions; the composition root (shortener/app.py `migrations()`)
assembles every part's migrations into one set in the order they landed. A
migration's name is its identity in databases already migrated, so none is
renamed; a new migration is appended to that landing order.
"""


def _run(db, script):
    # executescript() would COMMIT the migration's transaction half-way
    for statement in script.split(";\n"):
        if statement.strip():
            db.execute(statement)


def m001_core(db):
    _run(
        db,
        """
        CREATE TABLE links (
            id INTEGER PRIMARY KEY,
            code TEXT NOT NULL UNIQUE,
            url TEXT NOT NULL,
            channel TEXT NOT NULL,
            campaign TEXT NOT NULL,
            medium TEXT,
            content TEXT,
            term TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            disabled INTEGER NOT NULL DEFAULT 0,
            expires_at TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX links_channel_campaign ON links (channel, campaign);

        CREATE TABLE clicks (
            -- AUTOINCREMENT: ids are never reused, so aggregates can follow them
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            click_id TEXT NOT NULL UNIQUE,
            link_id INTEGER NOT NULL REFERENCES links (id),
            visitor_id TEXT,
            ts TEXT NOT NULL,
            referrer TEXT,
            ip_prefix TEXT,
            user_agent TEXT,
            device TEXT,
            browser TEXT,
            os TEXT,
            is_bot INTEGER NOT NULL
        );
        -- attribution reads a visitor's human clicks before a conversion
        CREATE INDEX clicks_visitor_ts ON clicks (visitor_id, ts)
            WHERE visitor_id IS NOT NULL;
        CREATE INDEX clicks_ts ON clicks (ts);

        CREATE TABLE visits (
            id INTEGER PRIMARY KEY,
            visitor_id TEXT NOT NULL,
            ts TEXT NOT NULL,
            url TEXT,
            referrer TEXT
        );
        CREATE INDEX visits_visitor ON visits (visitor_id);

        CREATE TABLE goals (
            name TEXT PRIMARY KEY,
            value_minor INTEGER NOT NULL DEFAULT 0,
            currency TEXT,
            description TEXT NOT NULL DEFAULT ''
        );

        CREATE TABLE conversions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            goal TEXT NOT NULL REFERENCES goals (name),
            value_minor INTEGER NOT NULL,
            currency TEXT NOT NULL,
            order_id TEXT,
            webhook_id TEXT UNIQUE,
            click_id TEXT,
            visitor_id TEXT,
            customer_id TEXT,
            source TEXT NOT NULL CHECK (source IN ('pixel', 'webhook')),
            verified INTEGER NOT NULL,
            occurred_at TEXT NOT NULL,
            received_at TEXT NOT NULL
        );
        CREATE UNIQUE INDEX conversions_goal_order ON conversions (goal, order_id);
        CREATE INDEX conversions_visitor ON conversions (visitor_id, occurred_at);
        CREATE INDEX conversions_customer ON conversions (customer_id);

        -- one row per conversion x model x credited click; weights are parts
        -- per million and revenue is in minor units, both summing exactly
        CREATE TABLE credits (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            conversion_id INTEGER NOT NULL REFERENCES conversions (id),
            model TEXT NOT NULL,
            click_row INTEGER REFERENCES clicks (id),
            link_id INTEGER REFERENCES links (id),
            weight_ppm INTEGER NOT NULL,
            revenue_minor INTEGER NOT NULL
        );
        CREATE INDEX credits_conversion ON credits (conversion_id);
        CREATE INDEX credits_click ON credits (click_row);
        """,
    )
    goals = [
        ("lead", "Lead form submitted"),
        ("signup", "Account created"),
        ("demo_request", "Demo requested"),
        ("download", "Asset downloaded"),
        ("phone_call", "Phone call"),
        ("rfp", "Request for proposal"),
        ("purchase", "Purchase; carries its revenue"),
        ("save", "Customer kept from cancelling"),
        ("upsell", "Additional purchase by a customer"),
        ("cancel", "Subscription cancelled"),
    ]
    db["goals"].insert_all(
        [{"name": n, "value_minor": 0, "currency": None, "description": d} for n, d in goals]
    )


def m011_click_journal(db):
    _run(
        db,
        """
        -- how far each worker's click journal has been replayed into clicks:
        -- written in the same transaction as the rows, so each line counts once
        CREATE TABLE click_journal (
            file TEXT PRIMARY KEY,
            consumed INTEGER NOT NULL
        );

        -- bumped by any change to links: a worker's cached links are checked
        -- against it instead of reading the link on every redirect
        CREATE TABLE link_version (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            version INTEGER NOT NULL
        );
        INSERT INTO link_version VALUES (1, 0);
        CREATE TRIGGER link_version_insert AFTER INSERT ON links
            BEGIN UPDATE link_version SET version = version + 1; END;
        CREATE TRIGGER link_version_update AFTER UPDATE ON links
            BEGIN UPDATE link_version SET version = version + 1; END;
        CREATE TRIGGER link_version_delete AFTER DELETE ON links
            BEGIN UPDATE link_version SET version = version + 1; END
        """,
    )


def m018_imported_clicks(db):
    # a link imported from another shortener keeps the click count that
    # shortener had: a figure on the link, never click rows (no times,
    # visitors or devices are known for them)
    db.execute("ALTER TABLE links ADD COLUMN imported_clicks INTEGER")


def m018_click_posts(db):
    # one link shared in many posts: /CODE~POST records the post on its click
    db.execute("ALTER TABLE clicks ADD COLUMN post TEXT")
    # a link's posts report reads that link's tagged clicks, never the whole
    # log; partial, so an untagged click (the common case) costs no index write
    db.execute("CREATE INDEX clicks_link_post ON clicks (link_id, ts) WHERE post IS NOT NULL")


def m015_click_country(db):
    # The country a click came from (ISO 3166-1 alpha-2, looked up from the
    # full address at click time; shortener/geo.py). "" is unknown, and
    # clicks stored before this column read as "" too: the address they
    # came from was never kept, so they cannot be looked up afterwards.
    db.execute("ALTER TABLE clicks ADD COLUMN country TEXT NOT NULL DEFAULT ''")


def m015_geo_targeting(db):
    # Country destinations beside the device ones: JSON {"DE": url}, NULL
    # for none (so the WSGI fast path, which serves only links whose
    # options are all NULL, leaves these links to the Flask view). A click
    # says which targeted destination it was sent to ("device:ios",
    # "country:DE"); NULL for the main url or an A/B variant (`variant`).
    db.execute("ALTER TABLE links ADD COLUMN country_urls TEXT")
    db.execute("ALTER TABLE clicks ADD COLUMN target TEXT")


def m019_link_passwords(db):
    # A password a visitor must give before the redirect: its hash
    # (werkzeug.security, scrypt), NULL for none. Being a column the WSGI fast
    # path does not know, a protected link is always the Flask view's.
    db.execute("ALTER TABLE links ADD COLUMN password_hash TEXT")
    # wrong passwords per link and day: a count, like unfurls, kept off the
    # links row so a guess does not bump link_version (every worker's cache)
    _run(
        db,
        """
        CREATE TABLE wrong_passwords (
            link_id INTEGER NOT NULL REFERENCES links (id),
            day TEXT NOT NULL,
            count INTEGER NOT NULL,
            PRIMARY KEY (link_id, day)
        ) WITHOUT ROWID
        """,
    )
