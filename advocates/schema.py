"""The advocates part's migrations: advocates, rewards, creator fees.
Assembled with the other parts' in landing order by shortener/app.py
`migrations()`; names are identities in installed databases and never change.
"""

from shortener.schema import _run


def m009_advocates(db):
    # People who share a brand's links: customers, employees, influencers.
    # A referred advocate (a friend who converted through someone's personal
    # link and was invited to share) points at that advocate, so the
    # referral tree is parent_advocate_id + depth; visitor_id is the visitor
    # they were when referred (fraud guards compare it with later conversions).
    _run(
        db,
        """
        CREATE TABLE advocates (
            id INTEGER PRIMARY KEY,
            handle TEXT NOT NULL UNIQUE,
            name TEXT NOT NULL,
            email TEXT,
            customer_id TEXT,
            active INTEGER NOT NULL DEFAULT 1,
            parent_advocate_id INTEGER REFERENCES advocates (id),
            depth INTEGER NOT NULL DEFAULT 0,
            visitor_id TEXT,
            referred_conversion_id INTEGER REFERENCES conversions (id),
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX advocates_parent ON advocates (parent_advocate_id);
        CREATE INDEX advocates_customer ON advocates (customer_id);
        CREATE INDEX advocates_visitor ON advocates (visitor_id);

        -- a personal link: the advocate's own code for a source link's
        -- destination and campaign; one per (source link, advocate)
        ALTER TABLE links ADD COLUMN advocate_id INTEGER REFERENCES advocates (id);
        ALTER TABLE links ADD COLUMN parent_link_id INTEGER REFERENCES links (id);
        CREATE INDEX links_advocate ON links (advocate_id) WHERE advocate_id IS NOT NULL;
        CREATE UNIQUE INDEX links_personal ON links (parent_link_id, advocate_id)
            WHERE advocate_id IS NOT NULL
        """,
    )


def m010_rewards(db):
    # Two-way incentives. A rule says what an advocate earns per
    # converted friend, or what the friend earns on converting, in one
    # campaign; the ledger keeps one row per (rule, conversion) assessed:
    # a reward (pending -> approved -> paid, or voided) or a refusal with
    # its reason. conversion_id has no foreign key: erasing a person
    # deletes their conversions, and the money already owed stays on record
    # (the trigger below forgets who the friend was).
    _run(
        db,
        """
        CREATE TABLE reward_rules (
            id INTEGER PRIMARY KEY,
            campaign TEXT NOT NULL,
            beneficiary TEXT NOT NULL CHECK (beneficiary IN ('advocate', 'friend')),
            goal TEXT NOT NULL,
            kind TEXT NOT NULL CHECK (kind IN ('flat', 'percent')),
            amount_minor INTEGER CHECK (amount_minor >= 0),
            percent_bp INTEGER CHECK (percent_bp > 0 AND percent_bp <= 10000),
            currency TEXT NOT NULL,
            valid_from TEXT,
            valid_to TEXT,
            holding_days INTEGER NOT NULL DEFAULT 30 CHECK (holding_days >= 0),
            cap_count INTEGER CHECK (cap_count >= 1),
            cap_amount_minor INTEGER CHECK (cap_amount_minor >= 0),
            active INTEGER NOT NULL DEFAULT 1,
            note TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            CHECK ((kind = 'flat') = (amount_minor IS NOT NULL)),
            CHECK ((kind = 'percent') = (percent_bp IS NOT NULL))
        );
        CREATE INDEX reward_rules_campaign ON reward_rules (campaign, goal);

        CREATE TABLE rewards (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            rule_id INTEGER NOT NULL REFERENCES reward_rules (id),
            beneficiary TEXT NOT NULL CHECK (beneficiary IN ('advocate', 'friend')),
            advocate_id INTEGER NOT NULL,
            visitor_id TEXT,
            customer_id TEXT,
            conversion_id INTEGER NOT NULL,
            link_id INTEGER,
            occurred_at TEXT NOT NULL,
            amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0),
            currency TEXT NOT NULL,
            status TEXT NOT NULL
                CHECK (status IN ('pending', 'approved', 'paid', 'voided', 'refused')),
            reason TEXT,
            due_at TEXT,
            payout_batch TEXT,
            created_at TEXT NOT NULL,
            approved_at TEXT,
            paid_at TEXT,
            voided_at TEXT
        );
        -- each rule assesses a conversion once, whatever the outcome
        CREATE UNIQUE INDEX rewards_rule_conversion ON rewards (rule_id, conversion_id);
        CREATE INDEX rewards_status_due ON rewards (status, due_at);
        CREATE INDEX rewards_advocate ON rewards (advocate_id, rule_id, status);
        CREATE INDEX rewards_conversion ON rewards (conversion_id);
        CREATE INDEX rewards_rule_visitor ON rewards (rule_id, visitor_id);
        CREATE INDEX rewards_rule_customer ON rewards (rule_id, customer_id);

        CREATE TABLE conversion_refunds (
            conversion_id INTEGER PRIMARY KEY,
            refunded_at TEXT NOT NULL,
            reason TEXT
        )
        """,
    )
    # one statement: _run splits scripts at ";\n", which a trigger body has
    db.execute(
        "CREATE TRIGGER conversions_erased_rewards AFTER DELETE ON conversions BEGIN"
        " UPDATE rewards SET visitor_id = NULL, customer_id = NULL WHERE conversion_id = OLD.id;"
        " DELETE FROM conversion_refunds WHERE conversion_id = OLD.id; END"
    )


def m010_rewards_2(db):
    # a rule can pay only on conversions the shop's server signed (webhook):
    # anyone can load a pixel URL, so a pixel purchase is easy to forge
    db.execute("ALTER TABLE reward_rules ADD COLUMN verified_only INTEGER NOT NULL DEFAULT 0")


def m018_creator_fees(db):
    # a cost row may be one creator's fee (an influencer's fee, a product sent
    # for review): the advocates report sets it against what they brought
    db.execute("ALTER TABLE costs ADD COLUMN advocate_id INTEGER REFERENCES advocates (id)")
    db.execute(
        "CREATE INDEX costs_advocate ON costs (advocate_id, end_day) WHERE advocate_id IS NOT NULL"
    )
