-- index advocates_customer on advocates
CREATE INDEX advocates_customer ON advocates (customer_id);
-- index advocates_parent on advocates
CREATE INDEX advocates_parent ON advocates (parent_advocate_id);
-- index advocates_visitor on advocates
CREATE INDEX advocates_visitor ON advocates (visitor_id);
-- index channel_credit_day_day on channel_credit_day
CREATE INDEX channel_credit_day_day ON channel_credit_day (day, channel);
-- index channel_credit_month_month on channel_credit_month
CREATE INDEX channel_credit_month_month ON channel_credit_month (month, channel);
-- index clicks_link_post on clicks
CREATE INDEX clicks_link_post ON clicks (link_id, ts) WHERE post IS NOT NULL;
-- index clicks_link_variant on clicks
CREATE INDEX clicks_link_variant ON clicks (link_id, variant, visitor_id) WHERE variant IS NOT NULL;
-- index clicks_ts on clicks
CREATE INDEX clicks_ts ON clicks (ts);
-- index clicks_visitor_ts on clicks
CREATE INDEX clicks_visitor_ts ON clicks (visitor_id, ts) WHERE visitor_id IS NOT NULL;
-- index conversions_customer on conversions
CREATE INDEX conversions_customer ON conversions (customer_id);
-- index conversions_goal_order on conversions
CREATE UNIQUE INDEX conversions_goal_order ON conversions (goal, order_id);
-- index conversions_occurred on conversions
CREATE INDEX conversions_occurred ON conversions (occurred_at);
-- index conversions_visitor on conversions
CREATE INDEX conversions_visitor ON conversions (visitor_id, occurred_at);
-- index costs_advocate on costs
CREATE INDEX costs_advocate ON costs (advocate_id, end_day) WHERE advocate_id IS NOT NULL;
-- index costs_channel on costs
CREATE INDEX costs_channel ON costs (channel, campaign);
-- index costs_days on costs
CREATE INDEX costs_days ON costs (end_day, start_day);
-- index credit_day_model on credit_day
CREATE INDEX credit_day_model ON credit_day (model, day);
-- index credits_click on credits
CREATE INDEX credits_click ON credits (click_row);
-- index credits_conversion on credits
CREATE INDEX credits_conversion ON credits (conversion_id);
-- index idx__sqlite_migrations_migration_set_name on _sqlite_migrations
CREATE UNIQUE INDEX "idx__sqlite_migrations_migration_set_name" ON "_sqlite_migrations" ("migration_set", "name");
-- index link_day_link on link_day
CREATE INDEX link_day_link ON link_day (link_id, day);
-- index links_advocate on links
CREATE INDEX links_advocate ON links (advocate_id) WHERE advocate_id IS NOT NULL;
-- index links_channel_campaign on links
CREATE INDEX links_channel_campaign ON links (channel, campaign);
-- index links_personal on links
CREATE UNIQUE INDEX links_personal ON links (parent_link_id, advocate_id) WHERE advocate_id IS NOT NULL;
-- index refund_amounts_conversion on refund_amounts
CREATE INDEX refund_amounts_conversion ON refund_amounts (conversion_id);
-- index reward_rules_campaign on reward_rules
CREATE INDEX reward_rules_campaign ON reward_rules (campaign, goal);
-- index rewards_advocate on rewards
CREATE INDEX rewards_advocate ON rewards (advocate_id, rule_id, status);
-- index rewards_conversion on rewards
CREATE INDEX rewards_conversion ON rewards (conversion_id);
-- index rewards_rule_conversion on rewards
CREATE UNIQUE INDEX rewards_rule_conversion ON rewards (rule_id, conversion_id);
-- index rewards_rule_customer on rewards
CREATE INDEX rewards_rule_customer ON rewards (rule_id, customer_id);
-- index rewards_rule_visitor on rewards
CREATE INDEX rewards_rule_visitor ON rewards (rule_id, visitor_id);
-- index rewards_status_due on rewards
CREATE INDEX rewards_status_due ON rewards (status, due_at);
-- index shop_events_shop on shop_events
CREATE INDEX shop_events_shop ON shop_events (shop, id);
-- index sign_in_failures_network on sign_in_failures
CREATE INDEX sign_in_failures_network ON sign_in_failures (network, ts);
-- index sign_in_failures_username on sign_in_failures
CREATE INDEX sign_in_failures_username ON sign_in_failures (username, ts);
-- index unfurls_day on unfurls
CREATE INDEX unfurls_day ON unfurls (day);
-- index user_sessions_user on user_sessions
CREATE INDEX user_sessions_user ON user_sessions (user_id);
-- index visits_ts on visits
CREATE INDEX visits_ts ON visits (ts, visitor_id);
-- index visits_visitor on visits
CREATE INDEX visits_visitor ON visits (visitor_id);
-- index webhook_deliveries_pending on webhook_deliveries
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, id) WHERE status = 'pending';
-- table _sqlite_migrations on _sqlite_migrations
CREATE TABLE "_sqlite_migrations" ( "id" INTEGER PRIMARY KEY, "migration_set" TEXT, "name" TEXT, "applied_at" TEXT );
-- table ab_tests on ab_tests
CREATE TABLE ab_tests ( id INTEGER PRIMARY KEY, link_id INTEGER NOT NULL REFERENCES links (id), destinations TEXT NOT NULL, winner TEXT NOT NULL, previous_url TEXT NOT NULL, ended_at TEXT NOT NULL );
-- table advocates on advocates
CREATE TABLE advocates ( id INTEGER PRIMARY KEY, handle TEXT NOT NULL UNIQUE, name TEXT NOT NULL, email TEXT, customer_id TEXT, active INTEGER NOT NULL DEFAULT 1, parent_advocate_id INTEGER REFERENCES advocates (id), depth INTEGER NOT NULL DEFAULT 0, visitor_id TEXT, referred_conversion_id INTEGER REFERENCES conversions (id), created_at TEXT NOT NULL, updated_at TEXT NOT NULL );
-- table aggregate_state on aggregate_state
CREATE TABLE aggregate_state ( name TEXT PRIMARY KEY, last_id INTEGER NOT NULL );
-- table api_keys on api_keys
CREATE TABLE api_keys ( id INTEGER PRIMARY KEY, name TEXT NOT NULL, prefix TEXT NOT NULL, key_hash TEXT NOT NULL UNIQUE, created_by INTEGER REFERENCES users (id), created_at TEXT NOT NULL, revoked_at TEXT );
-- table breakdown_credit_day on breakdown_credit_day
CREATE TABLE breakdown_credit_day ( link_id INTEGER NOT NULL, dimension TEXT NOT NULL, model TEXT NOT NULL, day TEXT NOT NULL, value TEXT NOT NULL, goal TEXT NOT NULL, currency TEXT NOT NULL, verified INTEGER NOT NULL, conversions_ppm INTEGER NOT NULL, revenue_minor INTEGER NOT NULL, converters BLOB, PRIMARY KEY (link_id, dimension, model, day, value, goal, currency, verified) ) WITHOUT ROWID;
-- table breakdown_day on breakdown_day
CREATE TABLE breakdown_day ( link_id INTEGER NOT NULL, dimension TEXT NOT NULL, day TEXT NOT NULL, value TEXT NOT NULL, clicks INTEGER NOT NULL, human_clicks INTEGER NOT NULL, visitors BLOB, PRIMARY KEY (link_id, dimension, day, value) ) WITHOUT ROWID;
-- table channel_credit_day on channel_credit_day
CREATE TABLE channel_credit_day ( day TEXT NOT NULL, channel TEXT NOT NULL, model TEXT NOT NULL, goal TEXT NOT NULL, currency TEXT NOT NULL, verified INTEGER NOT NULL, conversions_ppm INTEGER NOT NULL, revenue_minor INTEGER NOT NULL, converters BLOB, PRIMARY KEY (model, day, channel, goal, currency, verified) );
-- table channel_credit_month on channel_credit_month
CREATE TABLE channel_credit_month ( month TEXT NOT NULL, channel TEXT NOT NULL, model TEXT NOT NULL, goal TEXT NOT NULL, currency TEXT NOT NULL, verified INTEGER NOT NULL, conversions_ppm INTEGER NOT NULL, revenue_minor INTEGER NOT NULL, converters BLOB, PRIMARY KEY (model, month, channel, goal, currency, verified) );
-- table channel_credit_total on channel_credit_total
CREATE TABLE channel_credit_total ( model TEXT NOT NULL, channel TEXT NOT NULL, goal TEXT NOT NULL, currency TEXT NOT NULL, verified INTEGER NOT NULL, conversions_ppm INTEGER NOT NULL, revenue_minor INTEGER NOT NULL, converter_count INTEGER NOT NULL, PRIMARY KEY (model, goal, verified, channel, currency) );
-- table channel_day on channel_day
CREATE TABLE channel_day ( day TEXT NOT NULL, channel TEXT NOT NULL, clicks INTEGER NOT NULL, human_clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, qr_scans INTEGER NOT NULL, visitor_count INTEGER NOT NULL, visitors BLOB, PRIMARY KEY (day, channel) );
-- table channel_month on channel_month
CREATE TABLE channel_month ( month TEXT NOT NULL, channel TEXT NOT NULL, clicks INTEGER NOT NULL, human_clicks INTEGER NOT NULL, unique_clicks INTEGER NOT NULL, qr_scans INTEGER NOT NULL, visitor_count INTEGER NOT NULL, visitors BLOB, PRIMARY KEY (month, channel) );
-- table channel_total on channel_total
CREATE TABLE channel_total ( channel TEXT PRIMARY KEY, clicks INTEGER NOT NULL, human_clicks INTEGER NOT NULL, visitor_count INTEGER NOT NULL , unique_clicks INTEGER NOT NULL DEFAULT 0, qr_scans INTEGER NOT NULL DEFAULT 0);
-- table click_journal on click_journal
CREATE TABLE click_journal ( file TEXT PRIMARY KEY, consumed INTEGER NOT NULL );
-- table clicks on clicks
CREATE TABLE clicks ( -- AUTOINCREMENT: ids are never reused, so aggregates can follow them id INTEGER PRIMARY KEY AUTOINCREMENT, click_id TEXT NOT NULL UNIQUE, link_id INTEGER NOT NULL REFERENCES links (id), visitor_id TEXT, ts TEXT NOT NULL, referrer TEXT, ip_prefix TEXT, user_agent TEXT, device TEXT, browser TEXT, os TEXT, is_bot INTEGER NOT NULL , source TEXT, variant TEXT, post TEXT, country TEXT NOT NULL DEFAULT '', target TEXT);
-- table conversion_refunds on conversion_refunds
CREATE TABLE conversion_refunds ( conversion_id INTEGER PRIMARY KEY, refunded_at TEXT NOT NULL, reason TEXT );
-- table conversions on conversions
CREATE TABLE conversions ( id INTEGER PRIMARY KEY AUTOINCREMENT, goal TEXT NOT NULL REFERENCES goals (name), value_minor INTEGER NOT NULL, currency TEXT NOT NULL, order_id TEXT, webhook_id TEXT UNIQUE, click_id TEXT, visitor_id TEXT, customer_id TEXT, source TEXT NOT NULL CHECK (source IN ('pixel', 'webhook')), verified INTEGER NOT NULL, occurred_at TEXT NOT NULL, received_at TEXT NOT NULL );
-- table costs on costs
CREATE TABLE costs ( id INTEGER PRIMARY KEY, start_day TEXT NOT NULL, end_day TEXT NOT NULL, channel TEXT NOT NULL, campaign TEXT, kind TEXT NOT NULL CHECK (kind IN ('labor', 'platform', 'ads', 'other')), amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0), currency TEXT NOT NULL, note TEXT, source TEXT NOT NULL, created_at TEXT NOT NULL, advocate_id INTEGER REFERENCES advocates (id), CHECK (start_day <= end_day) );
-- table credit_day on credit_day
CREATE TABLE credit_day ( day TEXT NOT NULL, link_id INTEGER NOT NULL, model TEXT NOT NULL, goal TEXT NOT NULL, currency TEXT NOT NULL, verified INTEGER NOT NULL, conversions_ppm INTEGER NOT NULL DEFAULT 0, revenue_minor INTEGER NOT NULL DEFAULT 0, converters BLOB, PRIMARY KEY (day, link_id, model, goal, currency, verified) );
-- table credits on credits
CREATE TABLE credits ( id INTEGER PRIMARY KEY AUTOINCREMENT, conversion_id INTEGER NOT NULL REFERENCES conversions (id), model TEXT NOT NULL, click_row INTEGER REFERENCES clicks (id), link_id INTEGER REFERENCES links (id), weight_ppm INTEGER NOT NULL, revenue_minor INTEGER NOT NULL );
-- table earned_prices on earned_prices
CREATE TABLE earned_prices (id INTEGER PRIMARY KEY, channel TEXT NOT NULL, campaign TEXT NOT NULL DEFAULT '', price_micros INTEGER NOT NULL CHECK (price_micros >= 0), currency TEXT NOT NULL, updated_at TEXT NOT NULL, UNIQUE (channel, campaign));
-- table goals on goals
CREATE TABLE goals ( name TEXT PRIMARY KEY, value_minor INTEGER NOT NULL DEFAULT 0, currency TEXT, description TEXT NOT NULL DEFAULT '' );
-- table link_day on link_day
CREATE TABLE link_day ( day TEXT NOT NULL, link_id INTEGER NOT NULL REFERENCES links (id), clicks INTEGER NOT NULL DEFAULT 0, human_clicks INTEGER NOT NULL DEFAULT 0, visitors BLOB, unique_clicks INTEGER NOT NULL DEFAULT 0, qr_scans INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (day, link_id) );
-- table link_version on link_version
CREATE TABLE link_version ( id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL );
-- table links on links
CREATE TABLE links ( id INTEGER PRIMARY KEY, code TEXT NOT NULL UNIQUE, url TEXT NOT NULL, channel TEXT NOT NULL, campaign TEXT NOT NULL, medium TEXT, content TEXT, term TEXT, tags TEXT NOT NULL DEFAULT '[]', disabled INTEGER NOT NULL DEFAULT 0, expires_at TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL , advocate_id INTEGER REFERENCES advocates (id), parent_link_id INTEGER REFERENCES links (id), title TEXT, description TEXT, image TEXT, destinations TEXT, ios_url TEXT, android_url TEXT, desktop_url TEXT, expired_url TEXT, max_clicks INTEGER, expired_hits INTEGER NOT NULL DEFAULT 0, imported_clicks INTEGER, country_urls TEXT, password_hash TEXT);
-- table refund_amounts on refund_amounts
CREATE TABLE refund_amounts ( id INTEGER PRIMARY KEY, source TEXT NOT NULL, ref TEXT NOT NULL, conversion_id INTEGER NOT NULL, amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0), cumulative INTEGER NOT NULL, refunded_at TEXT NOT NULL, UNIQUE (source, ref) );
-- table reward_rules on reward_rules
CREATE TABLE reward_rules ( id INTEGER PRIMARY KEY, campaign TEXT NOT NULL, beneficiary TEXT NOT NULL CHECK (beneficiary IN ('advocate', 'friend')), goal TEXT NOT NULL, kind TEXT NOT NULL CHECK (kind IN ('flat', 'percent')), amount_minor INTEGER CHECK (amount_minor >= 0), percent_bp INTEGER CHECK (percent_bp > 0 AND percent_bp <= 10000), currency TEXT NOT NULL, valid_from TEXT, valid_to TEXT, holding_days INTEGER NOT NULL DEFAULT 30 CHECK (holding_days >= 0), cap_count INTEGER CHECK (cap_count >= 1), cap_amount_minor INTEGER CHECK (cap_amount_minor >= 0), active INTEGER NOT NULL DEFAULT 1, note TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, verified_only INTEGER NOT NULL DEFAULT 0, CHECK ((kind = 'flat') = (amount_minor IS NOT NULL)), CHECK ((kind = 'percent') = (percent_bp IS NOT NULL)) );
-- table rewards on rewards
CREATE TABLE rewards ( id INTEGER PRIMARY KEY AUTOINCREMENT, rule_id INTEGER NOT NULL REFERENCES reward_rules (id), beneficiary TEXT NOT NULL CHECK (beneficiary IN ('advocate', 'friend')), advocate_id INTEGER NOT NULL, visitor_id TEXT, customer_id TEXT, conversion_id INTEGER NOT NULL, link_id INTEGER, occurred_at TEXT NOT NULL, amount_minor INTEGER NOT NULL CHECK (amount_minor >= 0), currency TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'paid', 'voided', 'refused')), reason TEXT, due_at TEXT, payout_batch TEXT, created_at TEXT NOT NULL, approved_at TEXT, paid_at TEXT, voided_at TEXT );
-- table rollup_dirty on rollup_dirty
CREATE TABLE rollup_dirty ( kind TEXT NOT NULL, day TEXT NOT NULL, channel TEXT NOT NULL, PRIMARY KEY (kind, day, channel) ) WITHOUT ROWID;
-- table shop_events on shop_events
CREATE TABLE shop_events ( id INTEGER PRIMARY KEY AUTOINCREMENT, shop TEXT NOT NULL, event_id TEXT, type TEXT NOT NULL, received_at TEXT NOT NULL, outcome TEXT NOT NULL, detail TEXT NOT NULL, conversion_id INTEGER );
-- table shop_payments on shop_payments
CREATE TABLE shop_payments ( shop TEXT NOT NULL, payment_id TEXT NOT NULL, order_id TEXT NOT NULL, PRIMARY KEY (shop, payment_id) );
-- table sign_in_failures on sign_in_failures
CREATE TABLE sign_in_failures ( id INTEGER PRIMARY KEY, username TEXT NOT NULL, network TEXT, ts TEXT NOT NULL );
-- table unfurls on unfurls
CREATE TABLE unfurls ( link_id INTEGER NOT NULL REFERENCES links (id), day TEXT NOT NULL, platform TEXT NOT NULL, count INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (link_id, day, platform) ) WITHOUT ROWID;
-- table user_sessions on user_sessions
CREATE TABLE user_sessions ( token_hash TEXT PRIMARY KEY, user_id INTEGER NOT NULL REFERENCES users (id), created_at TEXT NOT NULL, expires_at TEXT NOT NULL );
-- table users on users
CREATE TABLE users ( id INTEGER PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, last_sign_in_at TEXT );
-- table visitors on visitors
CREATE TABLE visitors ( num INTEGER PRIMARY KEY, visitor_id TEXT NOT NULL UNIQUE );
-- table visits on visits
CREATE TABLE visits ( id INTEGER PRIMARY KEY, visitor_id TEXT NOT NULL, ts TEXT NOT NULL, url TEXT, referrer TEXT );
-- table webhook_deliveries on webhook_deliveries
CREATE TABLE webhook_deliveries ( id INTEGER PRIMARY KEY AUTOINCREMENT, endpoint_id INTEGER NOT NULL REFERENCES webhook_endpoints (id), event_type TEXT NOT NULL, webhook_id TEXT NOT NULL, payload TEXT NOT NULL, status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')), attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT, last_status INTEGER, last_error TEXT, created_at TEXT NOT NULL, delivered_at TEXT, UNIQUE (endpoint_id, webhook_id) );
-- table webhook_endpoints on webhook_endpoints
CREATE TABLE webhook_endpoints ( id INTEGER PRIMARY KEY AUTOINCREMENT, url TEXT NOT NULL, events TEXT NOT NULL, secret TEXT NOT NULL, description TEXT, disabled INTEGER NOT NULL DEFAULT 0, click_cursor INTEGER NOT NULL DEFAULT 0, conversion_cursor INTEGER NOT NULL DEFAULT 0, link_cursor INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL );
-- table wrong_passwords on wrong_passwords
CREATE TABLE wrong_passwords ( link_id INTEGER NOT NULL REFERENCES links (id), day TEXT NOT NULL, count INTEGER NOT NULL, PRIMARY KEY (link_id, day) ) WITHOUT ROWID;
-- trigger conversions_erased_rewards on conversions
CREATE TRIGGER conversions_erased_rewards AFTER DELETE ON conversions BEGIN UPDATE rewards SET visitor_id = NULL, customer_id = NULL WHERE conversion_id = OLD.id; DELETE FROM conversion_refunds WHERE conversion_id = OLD.id; END;
-- trigger conversions_erased_shop on conversions
CREATE TRIGGER conversions_erased_shop AFTER DELETE ON conversions BEGIN DELETE FROM refund_amounts WHERE conversion_id = OLD.id; UPDATE shop_events SET conversion_id = NULL WHERE conversion_id = OLD.id; END;
-- trigger credit_day_rollup_delete on credit_day
CREATE TRIGGER credit_day_rollup_delete AFTER DELETE ON credit_day BEGIN INSERT INTO rollup_dirty (kind, day, channel) SELECT 'credits', OLD.day, coalesce((SELECT channel FROM links WHERE id = OLD.link_id), '(direct)') WHERE coalesce((SELECT channel FROM links WHERE id = OLD.link_id), '(direct)') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rollup_dirty WHERE kind = 'credits' AND day = OLD.day AND channel = coalesce((SELECT channel FROM links WHERE id = OLD.link_id), '(direct)')); END;
-- trigger credit_day_rollup_insert on credit_day
CREATE TRIGGER credit_day_rollup_insert AFTER INSERT ON credit_day BEGIN INSERT INTO rollup_dirty (kind, day, channel) SELECT 'credits', NEW.day, coalesce((SELECT channel FROM links WHERE id = NEW.link_id), '(direct)') WHERE coalesce((SELECT channel FROM links WHERE id = NEW.link_id), '(direct)') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rollup_dirty WHERE kind = 'credits' AND day = NEW.day AND channel = coalesce((SELECT channel FROM links WHERE id = NEW.link_id), '(direct)')); END;
-- trigger credit_day_rollup_update on credit_day
CREATE TRIGGER credit_day_rollup_update AFTER UPDATE ON credit_day BEGIN INSERT INTO rollup_dirty (kind, day, channel) SELECT 'credits', NEW.day, coalesce((SELECT channel FROM links WHERE id = NEW.link_id), '(direct)') WHERE coalesce((SELECT channel FROM links WHERE id = NEW.link_id), '(direct)') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rollup_dirty WHERE kind = 'credits' AND day = NEW.day AND channel = coalesce((SELECT channel FROM links WHERE id = NEW.link_id), '(direct)')); INSERT INTO rollup_dirty (kind, day, channel) SELECT 'credits', OLD.day, coalesce((SELECT channel FROM links WHERE id = OLD.link_id), '(direct)') WHERE coalesce((SELECT channel FROM links WHERE id = OLD.link_id), '(direct)') IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rollup_dirty WHERE kind = 'credits' AND day = OLD.day AND channel = coalesce((SELECT channel FROM links WHERE id = OLD.link_id), '(direct)')); END;
-- trigger link_day_rollup_delete on link_day
CREATE TRIGGER link_day_rollup_delete AFTER DELETE ON link_day BEGIN INSERT INTO rollup_dirty (kind, day, channel) SELECT 'clicks', OLD.day, (SELECT channel FROM links WHERE id = OLD.link_id) WHERE (SELECT channel FROM links WHERE id = OLD.link_id) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rollup_dirty WHERE kind = 'clicks' AND day = OLD.day AND channel = (SELECT channel FROM links WHERE id = OLD.link_id)); END;
-- trigger link_day_rollup_insert on link_day
CREATE TRIGGER link_day_rollup_insert AFTER INSERT ON link_day BEGIN INSERT INTO rollup_dirty (kind, day, channel) SELECT 'clicks', NEW.day, (SELECT channel FROM links WHERE id = NEW.link_id) WHERE (SELECT channel FROM links WHERE id = NEW.link_id) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rollup_dirty WHERE kind = 'clicks' AND day = NEW.day AND channel = (SELECT channel FROM links WHERE id = NEW.link_id)); END;
-- trigger link_day_rollup_update on link_day
CREATE TRIGGER link_day_rollup_update AFTER UPDATE ON link_day BEGIN INSERT INTO rollup_dirty (kind, day, channel) SELECT 'clicks', NEW.day, (SELECT channel FROM links WHERE id = NEW.link_id) WHERE (SELECT channel FROM links WHERE id = NEW.link_id) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rollup_dirty WHERE kind = 'clicks' AND day = NEW.day AND channel = (SELECT channel FROM links WHERE id = NEW.link_id)); INSERT INTO rollup_dirty (kind, day, channel) SELECT 'clicks', OLD.day, (SELECT channel FROM links WHERE id = OLD.link_id) WHERE (SELECT channel FROM links WHERE id = OLD.link_id) IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rollup_dirty WHERE kind = 'clicks' AND day = OLD.day AND channel = (SELECT channel FROM links WHERE id = OLD.link_id)); END;
-- trigger link_version_delete on links
CREATE TRIGGER link_version_delete AFTER DELETE ON links BEGIN UPDATE link_version SET version = version + 1; END;
-- trigger link_version_insert on links
CREATE TRIGGER link_version_insert AFTER INSERT ON links BEGIN UPDATE link_version SET version = version + 1; END;
-- trigger link_version_update on links
CREATE TRIGGER link_version_update AFTER UPDATE ON links BEGIN UPDATE link_version SET version = version + 1; END;
