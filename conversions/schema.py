"""The conversions part's migrations: aggregates, conversions, costs, goals,
shops, outbound deliveries, previews. Assembled with the other parts' in
landing order by shortener/app.py `migrations()`; names are identities in
installed databases and never change.
"""

from shortener.schema import _run


def m002_aggregates(db):
    _run(
        db,
        """
        -- visitors get a dense integer so distinct counts can be kept as
        -- mergeable bitmaps (roaring) per day instead of scanning clicks
        CREATE TABLE visitors (
            num INTEGER PRIMARY KEY,
            visitor_id TEXT NOT NULL UNIQUE
        );

        CREATE TABLE link_day (
            day TEXT NOT NULL,
            link_id INTEGER NOT NULL REFERENCES links (id),
            clicks INTEGER NOT NULL DEFAULT 0,
            human_clicks INTEGER NOT NULL DEFAULT 0,
            visitors BLOB,
            PRIMARY KEY (day, link_id)
        );

        -- link_id 0 stands for (direct): conversions with no credited click
        CREATE TABLE credit_day (
            day TEXT NOT NULL,
            link_id INTEGER NOT NULL,
            model TEXT NOT NULL,
            goal TEXT NOT NULL,
            currency TEXT NOT NULL,
            verified INTEGER NOT NULL,
            conversions_ppm INTEGER NOT NULL DEFAULT 0,
            revenue_minor INTEGER NOT NULL DEFAULT 0,
            converters BLOB,
            PRIMARY KEY (day, link_id, model, goal, currency, verified)
        );
        CREATE INDEX credit_day_model ON credit_day (model, day);

        CREATE TABLE aggregate_state (
            name TEXT PRIMARY KEY,
            last_id INTEGER NOT NULL
        );
        INSERT INTO aggregate_state VALUES ('clicks', 0), ('credits', 0);
        """,
    )


def m004_cost_ledger(db):
    _run(
        db,
        """
        -- what marketing cost, per channel (and optionally campaign) and
        -- kind; reports spread a row's amount evenly over its days
        CREATE TABLE costs (
            id INTEGER PRIMARY KEY,
            start_day TEXT NOT NULL,
            end_day TEXT NOT NULL,
            channel TEXT NOT NULL,
            campaign TEXT,
            kind TEXT NOT NULL CHECK (kind IN ('labor', 'platform', 'ads', 'other')),
            amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
            currency TEXT NOT NULL,
            note TEXT,
            source TEXT NOT NULL,
            created_at TEXT NOT NULL,
            CHECK (start_day <= end_day)
        );
        CREATE INDEX costs_days ON costs (end_day, start_day);
        CREATE INDEX costs_channel ON costs (channel, campaign);

        -- customer-level reports (retention, tenure, control group) read
        -- conversions and page visits by time
        CREATE INDEX conversions_occurred ON conversions (occurred_at);
        CREATE INDEX visits_ts ON visits (ts, visitor_id);
        """,
    )


def m005_channel_rollups(db):
    # Reports over all of a channel's links read these instead of summing
    # link_day/credit_day row by row: their size depends on days x channels,
    # not on how many links and clicks there were. Triggers mark each
    # (day, channel) whose link-level rows change -- by refresh, erasure or
    # rebuild alike -- and aggregates.roll_up() recomputes just those.
    statements = [
        """CREATE TABLE channel_day (
            day TEXT NOT NULL,
            channel TEXT NOT NULL,
            clicks INTEGER NOT NULL,
            human_clicks INTEGER NOT NULL,
            visitors BLOB,
            PRIMARY KEY (day, channel)
        )""",
        """CREATE TABLE channel_credit_day (
            day TEXT NOT NULL,
            channel TEXT NOT NULL,
            model TEXT NOT NULL,
            goal TEXT NOT NULL,
            currency TEXT NOT NULL,
            verified INTEGER NOT NULL,
            conversions_ppm INTEGER NOT NULL,
            revenue_minor INTEGER NOT NULL,
            converters BLOB,
            PRIMARY KEY (model, day, channel, goal, currency, verified)
        )""",
        "CREATE INDEX channel_credit_day_day ON channel_credit_day (day, channel)",
        """CREATE TABLE rollup_dirty (
            kind TEXT NOT NULL,
            day TEXT NOT NULL,
            channel TEXT NOT NULL,
            PRIMARY KEY (kind, day, channel)
        ) WITHOUT ROWID""",
    ]
    link_channel = "(SELECT channel FROM links WHERE id = {row}.link_id)"
    credit_channel = f"coalesce({link_channel}, '(direct)')"  # link_id 0: (direct)
    for table, kind, channel in (
        ("link_day", "clicks", link_channel),
        ("credit_day", "credits", credit_channel),
    ):
        # not INSERT OR IGNORE: an outer upsert's conflict policy would override it
        mark = (
            "INSERT INTO rollup_dirty (kind, day, channel)"
            " SELECT '{kind}', {row}.day, {channel} WHERE {channel} IS NOT NULL"
            " AND NOT EXISTS (SELECT 1 FROM rollup_dirty WHERE kind = '{kind}'"
            " AND day = {row}.day AND channel = {channel});"
        )
        new = mark.format(kind=kind, row="NEW", channel=channel.format(row="NEW"))
        old = mark.format(kind=kind, row="OLD", channel=channel.format(row="OLD"))
        statements += [
            f"CREATE TRIGGER {table}_rollup_insert AFTER INSERT ON {table} BEGIN {new} END",
            f"CREATE TRIGGER {table}_rollup_update AFTER UPDATE ON {table} BEGIN {new} {old} END",
            f"CREATE TRIGGER {table}_rollup_delete AFTER DELETE ON {table} BEGIN {old} END",
        ]
    for statement in statements:
        db.execute(statement)
    # link-level rows already there are rolled up on the next refresh
    db.execute(
        "INSERT OR IGNORE INTO rollup_dirty SELECT DISTINCT 'clicks', d.day, l.channel"
        " FROM link_day d JOIN links l ON l.id = d.link_id"
    )
    db.execute(
        "INSERT OR IGNORE INTO rollup_dirty SELECT DISTINCT 'credits', c.day,"
        " coalesce(l.channel, '(direct)') FROM credit_day c LEFT JOIN links l ON l.id = c.link_id"
    )


def m006_channel_months(db):
    # Whole months of the channel rollups, so an all-time or year report
    # reads a dozen rows per channel; aggregates.roll_up keeps them equal to
    # the sum of their days.
    for statement in [
        """CREATE TABLE channel_month (
            month TEXT NOT NULL,
            channel TEXT NOT NULL,
            clicks INTEGER NOT NULL,
            human_clicks INTEGER NOT NULL,
            visitors BLOB,
            PRIMARY KEY (month, channel)
        )""",
        """CREATE TABLE channel_credit_month (
            month TEXT NOT NULL,
            channel TEXT NOT NULL,
            model TEXT NOT NULL,
            goal TEXT NOT NULL,
            currency TEXT NOT NULL,
            verified INTEGER NOT NULL,
            conversions_ppm INTEGER NOT NULL,
            revenue_minor INTEGER NOT NULL,
            converters BLOB,
            PRIMARY KEY (model, month, channel, goal, currency, verified)
        )""",
        "CREATE INDEX channel_credit_month_month ON channel_credit_month (month, channel)",
        # the days already rolled up are rolled into months on the next refresh
        "INSERT OR IGNORE INTO rollup_dirty SELECT 'clicks', day, channel FROM channel_day",
        "INSERT OR IGNORE INTO rollup_dirty SELECT DISTINCT 'credits', day, channel"
        " FROM channel_credit_day",
    ]:
        db.execute(statement)


# Here, though it adds to `links` too: its preview columns and webhook tables
# serve conversions' unfurls and outbound deliveries.
def m008_previews_webhooks(db):
    _run(
        db,
        """
        -- social previews: what link-preview crawlers are shown (Open Graph)
        ALTER TABLE links ADD COLUMN title TEXT;
        ALTER TABLE links ADD COLUMN description TEXT;
        ALTER TABLE links ADD COLUMN image TEXT;

        -- preview fetches by crawlers, per link, day and platform: a reach
        -- signal of its own, never a click
        CREATE TABLE unfurls (
            link_id INTEGER NOT NULL REFERENCES links (id),
            day TEXT NOT NULL,
            platform TEXT NOT NULL,
            count INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (link_id, day, platform)
        ) WITHOUT ROWID;
        CREATE INDEX unfurls_day ON unfurls (day);

        -- sorting links by clicks sums a link's days
        CREATE INDEX link_day_link ON link_day (link_id, day);

        -- outbound webhooks: each endpoint reads the event logs (clicks by
        -- id, conversions by id, links by id) from its own cursors, so the
        -- redirect writes nothing for them and a restart resumes
        CREATE TABLE webhook_endpoints (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            url TEXT NOT NULL,
            events TEXT NOT NULL,
            secret TEXT NOT NULL,
            description TEXT,
            disabled INTEGER NOT NULL DEFAULT 0,
            click_cursor INTEGER NOT NULL DEFAULT 0,
            conversion_cursor INTEGER NOT NULL DEFAULT 0,
            link_cursor INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );

        -- one row per event and endpoint: the persistent queue and the log
        CREATE TABLE webhook_deliveries (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints (id),
            event_type TEXT NOT NULL,
            webhook_id TEXT NOT NULL,
            payload TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
            attempts INTEGER NOT NULL DEFAULT 0,
            next_attempt_at TEXT,
            last_status INTEGER,
            last_error TEXT,
            created_at TEXT NOT NULL,
            delivered_at TEXT,
            UNIQUE (endpoint_id, webhook_id)
        );
        CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, id)
            WHERE status = 'pending';
        """,
    )


# Here: it reshapes the click aggregates and conversion rollups that
# conversions reads and writes, even where it touches the clicks' tables.
def m012_intake_speed(db):
    # Distinct visitors and converters counted once per rollup row, and
    # all-time rows per channel: an all-time report (and a growth bucket that
    # is one day or one whole month) reads stored counts instead of
    # deserialising and merging visitor bitmaps, whose size grows with the
    # number of visitors. channel_credit_total also holds rows for all goals
    # (goal '*') and both sources (verified -1), because converters cannot be
    # added up across goals or sources -- a visitor may be in several.
    for statement in [
        "ALTER TABLE channel_day ADD COLUMN visitor_count INTEGER",
        "ALTER TABLE channel_month ADD COLUMN visitor_count INTEGER",
        """CREATE TABLE channel_total (
            channel TEXT PRIMARY KEY,
            clicks INTEGER NOT NULL,
            human_clicks INTEGER NOT NULL,
            visitor_count INTEGER NOT NULL
        )""",
        """CREATE TABLE channel_credit_total (
            model TEXT NOT NULL,
            channel TEXT NOT NULL,
            goal TEXT NOT NULL,
            currency TEXT NOT NULL,
            verified INTEGER NOT NULL,
            conversions_ppm INTEGER NOT NULL,
            revenue_minor INTEGER NOT NULL,
            converter_count INTEGER NOT NULL,
            PRIMARY KEY (model, goal, verified, channel, currency)
        )""",
        # every rollup row is recomputed (with its count) on the next refresh
        "INSERT OR IGNORE INTO rollup_dirty SELECT 'clicks', day, channel FROM channel_day",
        "INSERT OR IGNORE INTO rollup_dirty SELECT DISTINCT 'credits', day, channel"
        " FROM channel_credit_day",
    ]:
        db.execute(statement)


def m012_intake_speed_2(db):
    # m012 appended visitor_count after the visitors bitmap, and SQLite reads
    # a row's columns in order: reading the count walked the bitmap's
    # overflow pages anyway. The day and month rollups are made again with
    # their counts before the bitmaps, and rolled up again on the next refresh.
    for table, key in (("channel_day", "day"), ("channel_month", "month")):
        db.execute(f"DROP TABLE {table}")
        db.execute(
            f"""CREATE TABLE {table} (
                {key} TEXT NOT NULL,
                channel TEXT NOT NULL,
                clicks INTEGER NOT NULL,
                human_clicks INTEGER NOT NULL,
                visitor_count INTEGER NOT NULL,
                visitors BLOB,
                PRIMARY KEY ({key}, channel)
            )"""
        )
    db.execute(
        "INSERT OR IGNORE INTO rollup_dirty SELECT DISTINCT 'clicks', d.day, l.channel"
        " FROM link_day d JOIN links l ON l.id = d.link_id"
    )


# Here, though it adds link and click columns: it also extends conversions'
# `link_day` and `aggregate_state` (unique clicks, QR scans), which the
# shortener's part may not know.
def m007_link_features(db):
    # Per-link options read with the link on every redirect (one row, no
    # extra query); clicks say where they came from (a QR scan) and which
    # A/B variant they were sent to; the click aggregates gain unique clicks
    # (one per visitor, link and clock hour) and QR scans.
    statements = [
        "ALTER TABLE links ADD COLUMN destinations TEXT",  # JSON [{name, url, weight}]
        "ALTER TABLE links ADD COLUMN ios_url TEXT",
        "ALTER TABLE links ADD COLUMN android_url TEXT",
        "ALTER TABLE links ADD COLUMN desktop_url TEXT",
        "ALTER TABLE links ADD COLUMN expired_url TEXT",
        "ALTER TABLE links ADD COLUMN max_clicks INTEGER",
        "ALTER TABLE links ADD COLUMN expired_hits INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE clicks ADD COLUMN source TEXT",
        "ALTER TABLE clicks ADD COLUMN variant TEXT",
        # the A/B report reads one link's assigned clicks, never the whole log
        "CREATE INDEX clicks_link_variant ON clicks (link_id, variant, visitor_id)"
        " WHERE variant IS NOT NULL",
        """CREATE TABLE ab_tests (
            id INTEGER PRIMARY KEY,
            link_id INTEGER NOT NULL REFERENCES links (id),
            destinations TEXT NOT NULL,
            winner TEXT NOT NULL,
            previous_url TEXT NOT NULL,
            ended_at TEXT NOT NULL
        )""",
    ]
    for table in ("link_day", "channel_total"):
        statements += [
            f"ALTER TABLE {table} ADD COLUMN unique_clicks INTEGER NOT NULL DEFAULT 0",
            f"ALTER TABLE {table} ADD COLUMN qr_scans INTEGER NOT NULL DEFAULT 0",
        ]
    # the day and month rollups are derived: made again with the new counts
    # ahead of the visitors bitmap (see m012_intake_speed_2), and rolled up
    # again from link_day -- every row of which the backfill below marks
    for table, key in (("channel_day", "day"), ("channel_month", "month")):
        statements += [
            f"DROP TABLE {table}",
            f"""CREATE TABLE {table} (
                {key} TEXT NOT NULL,
                channel TEXT NOT NULL,
                clicks INTEGER NOT NULL,
                human_clicks INTEGER NOT NULL,
                unique_clicks INTEGER NOT NULL,
                qr_scans INTEGER NOT NULL,
                visitor_count INTEGER NOT NULL,
                visitors BLOB,
                PRIMARY KEY ({key}, channel)
            )""",
        ]
    # unique clicks of the clicks folded so far, from the raw log (days whose
    # raw clicks retention already deleted keep 0); the link_day update
    # trigger marks their channel days (and so months and totals) for the
    # next roll-up
    statements.append(
        "UPDATE link_day SET unique_clicks = (SELECT"
        " count(DISTINCT CASE WHEN c.visitor_id IS NOT NULL"
        " THEN c.visitor_id || '|' || substr(c.ts, 1, 13) END)"
        " + count(CASE WHEN c.visitor_id IS NULL THEN 1 END)"
        " FROM clicks c WHERE c.ts >= link_day.day AND c.ts < link_day.day || '~'"
        " AND c.link_id = link_day.link_id AND c.is_bot = 0"
        " AND c.id <= (SELECT last_id FROM aggregate_state WHERE name = 'clicks'))"
    )
    for statement in statements:
        db.execute(statement)


def m016_shop_webhooks(db):
    # Sales straight from Stripe and Shopify. `renewal` is a subscription's
    # later invoice (a purchase goal). refund_amounts keeps what a shop
    # refunded of an order, in part or whole, once per refund (`ref`);
    # a charge's running total (`cumulative`) is kept as its largest value.
    # shop_payments says which order a payment belongs to, for refunds that
    # name only the payment. shop_events is the short log of recent events
    # the Install page shows (trimmed as it grows).
    _run(
        db,
        """
        INSERT OR IGNORE INTO goals (name, value_minor, currency, description)
            VALUES ('renewal', 0, NULL, 'Subscription renewed; a purchase');

        CREATE TABLE refund_amounts (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            ref TEXT NOT NULL,
            conversion_id INTEGER NOT NULL,
            amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
            cumulative INTEGER NOT NULL,
            refunded_at TEXT NOT NULL,
            UNIQUE (source, ref)
        );
        CREATE INDEX refund_amounts_conversion ON refund_amounts (conversion_id);

        CREATE TABLE shop_payments (
            shop TEXT NOT NULL,
            payment_id TEXT NOT NULL,
            order_id TEXT NOT NULL,
            PRIMARY KEY (shop, payment_id)
        );

        CREATE TABLE shop_events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            shop TEXT NOT NULL,
            event_id TEXT,
            type TEXT NOT NULL,
            received_at TEXT NOT NULL,
            outcome TEXT NOT NULL,
            detail TEXT NOT NULL,
            conversion_id INTEGER
        );
        CREATE INDEX shop_events_shop ON shop_events (shop, id)
        """,
    )
    # one statement: _run splits scripts at ";\n", which a trigger body has
    db.execute(
        "CREATE TRIGGER conversions_erased_shop AFTER DELETE ON conversions BEGIN"
        " DELETE FROM refund_amounts WHERE conversion_id = OLD.id;"
        " UPDATE shop_events SET conversion_id = NULL WHERE conversion_id = OLD.id; END"
    )


def m015_breakdowns(db):
    # Per day, link, dimension (country, device, browser, OS, referrer host,
    # source; conversions/dimensions.py) and value: clicks and the visitors'
    # bitmap, and the conversions and revenue credited to the clicks that
    # carried the value (day: the conversion's), per model, goal, currency
    # and source. link_id 0 holds every link's rows together, so a
    # breakdown of the whole site reads one row per day and value. Each is
    # folded from the raw log by its own watermark, so a database upgraded
    # to this fills them from the clicks it still has on the next refresh.
    for statement in [
        """CREATE TABLE breakdown_day (
            link_id INTEGER NOT NULL,
            dimension TEXT NOT NULL,
            day TEXT NOT NULL,
            value TEXT NOT NULL,
            clicks INTEGER NOT NULL,
            human_clicks INTEGER NOT NULL,
            visitors BLOB,
            PRIMARY KEY (link_id, dimension, day, value)
        ) WITHOUT ROWID""",
        """CREATE TABLE breakdown_credit_day (
            link_id INTEGER NOT NULL,
            dimension TEXT NOT NULL,
            model TEXT NOT NULL,
            day TEXT NOT NULL,
            value TEXT NOT NULL,
            goal TEXT NOT NULL,
            currency TEXT NOT NULL,
            verified INTEGER NOT NULL,
            conversions_ppm INTEGER NOT NULL,
            revenue_minor INTEGER NOT NULL,
            converters BLOB,
            PRIMARY KEY (link_id, dimension, model, day, value, goal, currency, verified)
        ) WITHOUT ROWID""",
        "INSERT INTO aggregate_state VALUES ('breakdown_clicks', 0), ('breakdown_credits', 0)",
    ]:
        db.execute(statement)


def m015_earned_prices(db):
    # prices per click for the earned-value report, set in the dashboard or
    # the API per channel (campaign '') or campaign; the EARNED_CPC setting
    # is their default. Whole millionths of the currency unit: integers,
    # like every amount, yet 0.125 a click stays exact.
    db.execute(
        "CREATE TABLE earned_prices (id INTEGER PRIMARY KEY, channel TEXT NOT NULL,"
        " campaign TEXT NOT NULL DEFAULT '', price_micros INTEGER NOT NULL"
        " CHECK (price_micros >= 0), currency TEXT NOT NULL, updated_at TEXT NOT NULL,"
        " UNIQUE (channel, campaign))"
    )
