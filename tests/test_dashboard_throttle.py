"""dashboard.throttle: failed sign-ins counted per user name and network."""

from datetime import timedelta

from dashboard import throttle
from dashboard_support import at
from shortener.db import connect

NOW = at("2026-03-01T12:00:00")
LIMIT = throttle.Limit(max_failures=3, window_seconds=600)


def test_a_user_name_is_blocked_after_its_failures_until_they_age_out(app):
    db = connect(app.config["DATABASE"])
    for minute in range(3):
        assert throttle.blocked(db, "ann", "10.0.0.0/24", NOW, LIMIT) == 0
        throttle.record_failure(db, "ann", "10.0.0.0/24", NOW + timedelta(minutes=minute), LIMIT)
    later = NOW + timedelta(minutes=3)
    assert throttle.blocked(db, "ann", "10.0.0.0/24", later, LIMIT) == 600
    # other accounts from elsewhere are not affected
    assert throttle.blocked(db, "bob", "192.0.2.0/24", later, LIMIT) == 0
    # the first failure (12:00) leaves the 10-minute window at 12:10
    assert throttle.blocked(db, "ann", None, NOW + timedelta(minutes=10, seconds=1), LIMIT) == 0
    db.close()


def test_a_network_gets_four_times_the_failures(app):
    db = connect(app.config["DATABASE"])
    for n in range(11):  # 3 x 4 = 12 allowed per network
        throttle.record_failure(db, f"user{n}", "10.0.0.0/24", NOW, LIMIT)
    assert throttle.blocked(db, "someone", "10.0.0.0/24", NOW, LIMIT) == 0
    throttle.record_failure(db, "user11", "10.0.0.0/24", NOW, LIMIT)
    assert throttle.blocked(db, "someone", "10.0.0.0/24", NOW, LIMIT) == 600
    assert throttle.blocked(db, "someone", "10.0.1.0/24", NOW, LIMIT) == 0
    db.close()


def test_success_clears_and_old_failures_are_pruned(app):
    db = connect(app.config["DATABASE"])
    throttle.record_failure(db, "ann", None, NOW, LIMIT)
    throttle.record_failure(db, "bob", None, NOW + timedelta(minutes=11), LIMIT)
    # recording bob's failure pruned ann's, older than the window
    assert [r["username"] for r in db.query("SELECT username FROM sign_in_failures")] == ["bob"]
    throttle.clear_failures(db, "bob")
    assert next(db.query("SELECT count(*) AS n FROM sign_in_failures"))["n"] == 0
    db.close()
