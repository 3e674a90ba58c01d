import re
from pathlib import Path

import pytest

from conftest import app_config
from shortener import create_app
from shortener.app import PART_SETTINGS, all_settings
from shortener.settings import ConfigError

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()
SETTINGS = all_settings()


def readme_table_keys(readme: str, part: str) -> list[str]:
    """The keys of the README's settings table for a part: the table that
    follows the line naming the part's `settings.py`."""
    lines = readme.split("\n")
    (start,) = [i for i, line in enumerate(lines) if line.endswith(f"(`{part}/settings.py`)")]
    keys, rows = [], lines[start + 1 :]
    while rows and not rows[0].startswith("|"):
        rows.pop(0)
    for row in rows:
        if not row.startswith("|"):
            break
        match = re.match(r"\| `(\w+)` \|", row)
        if match:
            keys.append(match.group(1))
    return keys


@pytest.mark.parametrize("part", list(PART_SETTINGS))
def test_the_readme_table_of_each_part_lists_exactly_its_declared_settings(part):
    declared = [s.name for s in PART_SETTINGS[part].SETTINGS]
    assert declared  # a part without settings has no entry here
    assert readme_table_keys(README, part) == declared


def test_the_readme_table_reader_sees_a_missing_or_extra_row():
    readme = (
        "**Links** (`shortener/settings.py`)\n\n| key | default | meaning |\n|---|---|---|\n"
        "| `SECRET_KEY` | generated | signs |\n| `EXTRA` | 1 | x |\n\nAfter.\n| `NOT_OURS` |\n"
    )
    assert readme_table_keys(readme, "shortener") == ["SECRET_KEY", "EXTRA"]


def test_each_setting_is_declared_by_one_part_only():
    names = [s.name for s in SETTINGS]
    assert len(names) == len(set(names)) == 40


@pytest.mark.parametrize("name", [s.name for s in SETTINGS])
def test_every_setting_is_documented_in_the_readme(name):
    assert re.search(rf"^\| `{name}` \|", README, re.MULTILINE), f"{name} missing from README"


def test_every_setting_has_help_text():
    assert all(s.help.strip() for s in SETTINGS)


def test_app_refuses_to_start_without_a_secret_key(tmp_path):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        create_app(app_config(tmp_path, SECRET_KEY=None))


@pytest.mark.parametrize("window", [0, 401, "30"])
def test_attribution_window_must_fit_a_cookie_lifetime(tmp_path, window):
    with pytest.raises(ConfigError, match="ATTRIBUTION_WINDOW_DAYS"):
        create_app(app_config(tmp_path, ATTRIBUTION_WINDOW_DAYS=window))


@pytest.mark.parametrize("days", [0, -1, "400", True, 1.5])
def test_audit_log_days_must_be_a_whole_number_of_days(tmp_path, days):
    with pytest.raises(ConfigError, match="AUDIT_LOG_DAYS"):
        create_app(app_config(tmp_path, AUDIT_LOG_DAYS=days))


@pytest.mark.parametrize("half_life", [0, -7, "7", True, float("nan"), float("inf")])
def test_time_decay_half_life_must_be_positive(tmp_path, half_life):
    with pytest.raises(ConfigError, match="TIME_DECAY_HALF_LIFE_DAYS"):
        create_app(app_config(tmp_path, TIME_DECAY_HALF_LIFE_DAYS=half_life))


@pytest.mark.parametrize("half_life", [0.5, 7, 30])
def test_time_decay_half_life_may_be_fractional(tmp_path, half_life):
    app = create_app(app_config(tmp_path, TIME_DECAY_HALF_LIFE_DAYS=half_life))
    assert app.config["TIME_DECAY_HALF_LIFE_DAYS"] == half_life


def test_webhook_secret_must_be_a_standard_webhooks_secret(tmp_path):
    with pytest.raises(ConfigError, match="whsec_"):
        create_app(app_config(tmp_path, WEBHOOK_SECRET="plain-password"))


def test_environment_overrides_with_json_values(tmp_path, monkeypatch):
    monkeypatch.setenv("CLICKTRAIL_SECRET_KEY", "from-env")
    monkeypatch.setenv("CLICKTRAIL_ATTRIBUTION_WINDOW_DAYS", "7")
    monkeypatch.setenv("CLICKTRAIL_WEBHOOK_SECRET", '["whsec_bmV3", "whsec_b2xk"]')
    monkeypatch.setenv("CLICKTRAIL_SOCIAL_CHANNELS", '["Twitter", "Mastodon"]')
    monkeypatch.setenv("CLICKTRAIL_DATABASE", str(tmp_path / "env.db"))
    app = create_app()
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["ATTRIBUTION_WINDOW_DAYS"] == 7
    assert app.config["WEBHOOK_SECRETS"] == ["whsec_bmV3", "whsec_b2xk"]
    assert app.config["SOCIAL_CHANNELS"] == ["twitter", "mastodon"]
    assert app.config["DATABASE"] == str(tmp_path / "env.db")


def test_shop_webhook_secrets_are_lists_of_what_the_shops_show(tmp_path):
    app = create_app(app_config(tmp_path, STRIPE_WEBHOOK_SECRET="whsec_abc",
                                SHOPIFY_WEBHOOK_SECRET=["new-key", "old-key"]))  # fmt: skip
    assert app.config["STRIPE_WEBHOOK_SECRETS"] == ["whsec_abc"]
    assert app.config["SHOPIFY_WEBHOOK_SECRETS"] == ["new-key", "old-key"]
    unset = create_app(app_config(tmp_path))
    assert (unset.config["STRIPE_WEBHOOK_SECRETS"], unset.config["SHOPIFY_WEBHOOK_SECRETS"]) == (
        [], [])  # fmt: skip


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("STRIPE_WEBHOOK_SECRET", "sk_live_51Hx"),  # an API key pasted in its place
        ("STRIPE_WEBHOOK_SECRET", ["whsec_new", ""]),
        ("SHOPIFY_WEBHOOK_SECRET", " "),
        ("SHOPIFY_WEBHOOK_SECRET", [42]),
    ],
)
def test_shop_webhook_secrets_that_cannot_be_right_stop_start_up(tmp_path, key, value):
    with pytest.raises(ConfigError, match=key):
        create_app(app_config(tmp_path, **{key: value}))
