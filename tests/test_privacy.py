"""Privacy: Sec-GPC / DNT, no full IP address stored anywhere, click
retention that keeps the reports, and erasure of one person that leaves the
reports as if they had never been there."""

import json
import re
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import AUTH, BROWSER_UA, app_config, browser, make_link, post_webhook
from conversions import aggregates, privacy
from conversions.attribution import MODELS
from conversions.intake import Conversion, Policy, record_conversion
from conversions.reports import Period, channel_rows
from shortener import create_app, links
from shortener.app import init_db
from shortener.clicks import classify, record_click
from shortener.db import connect

HUMAN = classify(BROWSER_UA)
BOT = classify("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)")


def subdir(tmp_path, name):
    folder = tmp_path / name
    folder.mkdir()
    return folder


def new_app(tmp_path, **overrides):
    config = app_config(tmp_path, **overrides)
    init_db(config["DATABASE"])
    return create_app(config)


def clicks(db) -> list[dict]:
    return list(db.query("SELECT * FROM clicks ORDER BY id"))


def cookies_set(response) -> list[str]:
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith("ct_vid=")]


# -- Sec-GPC and DNT -------------------------------------------------------------


def test_gpc_redirects_but_sets_no_cookie_and_stores_no_ip_or_user_agent(client, db):
    make_link(client, code="promo")
    response = client.get(
        "/promo",
        headers={"Sec-GPC": "1", "Referer": "https://t.co/"},
        environ_base={"REMOTE_ADDR": "203.0.113.77"},
    )
    assert response.status_code == 302
    assert "utm_source=twitter" in response.headers["Location"]
    assert cookies_set(response) == []
    [click] = clicks(db)
    assert response.headers["Location"].endswith(f"ct_click={click['click_id']}")
    assert click["visitor_id"] is None
    assert click["ip_prefix"] is None
    assert click["user_agent"] is None
    assert click["is_bot"] == 0  # still a person's click, counted as one
    assert click["referrer"] == "https://t.co/"


def test_gpc_ignores_an_existing_cookie_too(client, db):
    make_link(client, code="promo")
    client.get("/promo")
    [tracked] = clicks(db)
    assert tracked["visitor_id"]
    response = client.get("/promo", headers={"Sec-GPC": "1"})
    assert cookies_set(response) == []
    assert clicks(db)[1]["visitor_id"] is None


@pytest.mark.parametrize("value", ["0", "", "yes", "11"])
def test_other_gpc_values_are_not_an_opt_out(client, db, value):
    make_link(client, code="promo")
    response = client.get("/promo", headers={"Sec-GPC": value})
    assert len(cookies_set(response)) == 1
    assert clicks(db)[0]["visitor_id"] and clicks(db)[0]["ip_prefix"] == "127.0.0.0/24"


def test_dnt_is_honoured_only_when_configured(tmp_path):
    plain = browser(new_app(subdir(tmp_path, "a")))
    make_link(plain, code="promo")
    assert len(cookies_set(plain.get("/promo", headers={"DNT": "1"}))) == 1

    strict_app = new_app(subdir(tmp_path, "b"), RESPECT_DNT=True)
    strict = browser(strict_app)
    make_link(strict, code="promo")
    response = strict.get("/promo", headers={"DNT": "1"})
    assert response.status_code == 302
    assert cookies_set(response) == []
    db = connect(strict_app.config["DATABASE"])
    [click] = clicks(db)
    assert (click["visitor_id"], click["ip_prefix"], click["user_agent"]) == (None, None, None)
    # DNT: 0 is no request at all
    assert len(cookies_set(strict.get("/promo", headers={"DNT": "0"}))) == 1


def test_gpc_clicks_count_as_clicks_but_not_as_visitors(client, db):
    make_link(client, code="promo")
    client.get("/promo")  # one tracked visitor
    other = browser(client.application)
    other.get("/promo", headers={"Sec-GPC": "1"})
    other.get("/promo", headers={"Sec-GPC": "1"})
    [row] = channel_rows(db)
    # 3 clicks, all by people; only the tracked one is a known visitor
    assert (row["clicks"], row["human_clicks"], row["unique_visitors"]) == (3, 3, 1)


# -- no full IP address anywhere ---------------------------------------------------

ADDRESSES = ["203.0.113.77", "2001:db8:1234:5678:9abc:def0:1234:5678"]


def csrf_token(page: bytes) -> str:
    found = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    return found.group(1).decode() if found else ""


@pytest.mark.parametrize("trust_proxy", [False, True])
def test_no_full_ip_address_is_stored_anywhere(tmp_path, trust_proxy):
    app = new_app(tmp_path, TRUST_PROXY_HEADERS=trust_proxy)
    client = browser(app)
    make_link(client, code="promo")
    for n, address in enumerate(ADDRESSES):
        environ = {"REMOTE_ADDR": "10.9.9.9" if trust_proxy else address}
        headers = {"X-Forwarded-For": address} if trust_proxy else {}
        visitor = browser(app)
        visitor.environ_base.update(environ)
        hop = visitor.get("/promo", headers=headers)
        click_id = hop.headers["Location"].rsplit("ct_click=", 1)[1]
        visitor.get("/nope", headers=headers)
        visitor.get("/t/visit.gif?url=https://shop.example.com/", headers=headers)
        visitor.get(f"/t/pixel.gif?goal=signup&order_id=o-{n}", headers=headers)
        response = post_webhook(
            visitor, {"goal": "purchase", "value": "5.00", "click_id": click_id}, msg_id=f"msg-{n}"
        )
        assert response.status_code == 201
        visitor.post("/api/links", json={"url": "https://a.example/", "channel": "x",
                                         "campaign": "c"}, headers={**AUTH, **headers})  # fmt: skip
        page = visitor.get("/dashboard/login", headers=headers).data
        visitor.post(
            "/dashboard/login",
            data={"username": "nobody", "password": "wrong", "csrf_token": csrf_token(page)},
            headers=headers,
        )
    db = connect(app.config["DATABASE"])
    assert db.execute("SELECT count(*) FROM clicks").fetchone()[0] == 2
    forms = {a for address in ADDRESSES for a in (address, str(ip_address(address)))}
    for table in db.table_names():
        for row in db.query(f"SELECT * FROM [{table}]"):
            for value in row.values():
                text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
                assert not any(a in text for a in forms), (table, row)
    db.close()
    stored = Path(app.config["DATABASE"]).parent.glob("clicktrail.db*")
    for path in (f for p in stored for f in ([p] if p.is_file() else p.iterdir())):
        data = path.read_bytes()  # the files, and the click journal's files
        assert not any(a.encode() in data for a in forms), path


# -- a small hand-made history ---------------------------------------------------

T0 = datetime(2026, 3, 2, tzinfo=UTC)
ALL_TIME = Period()


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return T0 + timedelta(days=day, hours=hour, minutes=minute)


def new_db(tmp_path, name="ct.db"):
    path = str(tmp_path / name)
    init_db(path)
    return connect(path)


def add_links(db) -> dict[str, int]:
    ids = {}
    for channel in ("twitter", "linkedin", "newsletter"):
        row = links.create_link(
            db,
            {"url": f"https://shop.example.com/{channel}", "channel": channel, "campaign": "q1"},
            now=T0 - timedelta(days=400),
        )
        ids[channel] = row["id"]
    return ids


def click(db, link_id, visitor, when, bot=False):
    return record_click(
        db, link_id=link_id, visitor_id=visitor, now=when, agent=BOT if bot else HUMAN, is_bot=bot
    )


def convert(db, visitor, when, goal="purchase", value=None, customer=None, source="webhook"):
    conversion = Conversion(
        goal=goal,
        source=source,
        occurred_at=when,
        received_at=when,
        value_minor=value,
        currency="USD" if value is not None else None,
        visitor_id=visitor,
        customer_id=customer,
    )
    row, duplicate = record_conversion(db, conversion, Policy())
    assert not duplicate
    return row


def report(db, model="last_touch", period=ALL_TIME) -> dict[str, dict]:
    return {r["channel"]: r for r in channel_rows(db, period, model)}


def summary(rows: dict) -> dict:
    keys = ("clicks", "human_clicks", "unique_visitors", "conversions", "converted_visitors",
            "conversion_rate", "revenue")  # fmt: skip
    return {channel: tuple(row[k] for k in keys) for channel, row in rows.items()}


A, A2, B, C = "visitor-aaaaaaaaaaaa", "visitor-a2a2a2a2a2a2", "visitor-bbbbbbbbbbbb", "visitor-cccc"


def history(db, with_person=True):
    """Person A (two devices, A and A2; customer cus_A) among B, C and a bot.
    Aggregates are refreshed part way, so at erasure time some of A's rows
    are folded into the aggregates and some are not."""
    ids = add_links(db)
    tw, li, nl = ids["twitter"], ids["linkedin"], ids["newsletter"]
    if with_person:
        click(db, tw, A, at(0, 10))
    click(db, tw, B, at(0, 10, 5))
    click(db, tw, None, at(0, 10, 10), bot=True)
    if with_person:
        click(db, li, A, at(0, 11))
        click(db, nl, A2, at(0, 13))
    aggregates.refresh(db)
    click(db, li, C, at(1, 9))
    if with_person:
        convert(db, A, at(1, 9, 30), value=5000, customer="cus_A")
    aggregates.refresh(db)
    convert(db, B, at(1, 10), goal="signup", source="pixel")
    convert(db, C, at(1, 11), value=2000, customer="cus_C")
    if with_person:
        click(db, tw, A, at(1, 12))
        convert(db, A2, at(1, 13), value=3000, customer="cus_A")
    return ids


def test_erasing_a_customer_takes_them_out_of_every_report(tmp_path):
    db = new_db(tmp_path)
    history(db)
    before = summary(report(db))
    # by hand, last touch, before: twitter has A (twice), B and the bot: 4
    # clicks, 3 human, 2 visitors; B's signup (0.00) is its one conversion
    # -> 1 of 2 visitors converted. LinkedIn: A and C, both bought (50 + 20).
    # The newsletter: A2 alone, who bought for 30.
    assert before == {
        "twitter": (4, 3, 2, 1, 1, 0.5, "0.00"),
        "linkedin": (2, 2, 2, 2, 2, 1.0, "70.00"),
        "newsletter": (1, 1, 1, 1, 1, 1.0, "30.00"),
    }
    done = privacy.erase(db, customer_id="cus_A")
    assert sorted(done.visitors) == sorted([A, A2])
    assert (done.clicks, done.conversions) == (4, 2)
    # after: twitter keeps B and the bot, linkedin keeps C; the newsletter
    # had nobody else and is gone
    assert summary(report(db)) == {
        "twitter": (2, 1, 1, 1, 1, 1.0, "0.00"),
        "linkedin": (1, 1, 1, 1, 1, 1.0, "20.00"),
    }
    for table, column in [("clicks", "visitor_id"), ("conversions", "visitor_id"),
                          ("visits", "visitor_id"), ("visitors", "visitor_id")]:  # fmt: skip
        rows = db.execute(f"SELECT count(*) FROM {table} WHERE {column} IN (?, ?)", [A, A2])
        assert rows.fetchone()[0] == 0, table
    assert db.execute(
        "SELECT count(*) FROM conversions WHERE customer_id = 'cus_A'"
    ).fetchone() == (0,)
    assert db.execute("PRAGMA foreign_key_check").fetchall() == []


@pytest.mark.parametrize("how", ["visitor", "customer"])
def test_after_erasure_every_report_equals_one_where_the_person_never_existed(tmp_path, how):
    erased, never = new_db(tmp_path, "erased.db"), new_db(tmp_path, "never.db")
    history(erased)
    history(never, with_person=False)
    if how == "visitor":
        privacy.erase(erased, visitor_id=A)
        privacy.erase(erased, visitor_id=A2)
    else:
        privacy.erase(erased, customer_id="cus_A")
    assert_same_reports(erased, never)


def assert_same_reports(erased, never):
    days = [None, T0.date(), (T0 + timedelta(days=1)).date()]
    for model in MODELS:
        for day in days:
            period = Period(day, day)
            assert channel_rows(erased, period, model) == channel_rows(never, period, model), (
                model,
                day,
            )


def test_erasing_after_new_rows_keeps_folding_right(tmp_path):
    """Rows added after an erasure fold in on top of the corrected aggregates."""
    erased, never = new_db(tmp_path, "erased.db"), new_db(tmp_path, "never.db")
    for db, person in ((erased, True), (never, False)):
        ids = history(db, with_person=person)
        if person:
            privacy.erase(db, customer_id="cus_A")
        click(db, ids["linkedin"], B, at(1, 15))
        convert(db, B, at(1, 16), value=1234)
    assert_same_reports(erased, never)


# -- erasure against a database without the person, for any history ------------------

EVENT = st.tuples(
    st.sampled_from(["click", "bot", "convert", "pixel", "refresh"]),
    st.integers(0, 3),  # person; 0 is the one erased
    st.integers(0, 1),  # which of the person's two devices
    st.sampled_from(["twitter", "linkedin", "newsletter"]),
    st.integers(0, 1),  # day: few days and links, so people share link_day rows
    st.integers(0, 23),  # hour
    st.sampled_from([None, 0, 1, 999, 5000]),
    st.booleans(),  # twin: the next person does the same at the same moment
)


def replay(db, events, skip_person=None):
    ids = add_links(db)
    twins = []
    for n, (kind, person, *rest, twin) in enumerate(events):
        twins.append((n, kind, person, *rest))
        if twin and kind != "refresh":
            twins.append((n, kind, (person + 1) % 4, *rest))
    for n, kind, person, device, channel, day, hour, value in twins:
        if person == skip_person and kind != "refresh":
            continue
        visitor = f"visitor-{person}-{device}-xxxxxxxx"
        when = at(day, hour, n % 60)
        if kind == "click":
            click(db, ids[channel], visitor, when)
        elif kind == "bot":
            click(db, ids[channel], None if person else visitor, when, bot=True)
        elif kind == "refresh":
            aggregates.refresh(db)
        else:
            source = "pixel" if kind == "pixel" else "webhook"
            convert(db, visitor, when, value=value, customer=f"cus-{person}", source=source)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(events=st.lists(EVENT, max_size=30), by_customer=st.booleans(), fold=st.booleans())
def test_erasure_equals_never_having_existed_for_any_history(
    tmp_path_factory, events, by_customer, fold
):
    folder = tmp_path_factory.mktemp("erase")
    erased, never = new_db(folder, "erased.db"), new_db(folder, "never.db")
    # `fold`: everything is in the aggregates when the erasure comes
    events = [*events, ("refresh", 0, 0, "twitter", 0, 0, None, False)] if fold else events
    replay(erased, events)
    replay(never, events, skip_person=0)
    if by_customer:
        privacy.erase(erased, customer_id="cus-0")
        # the customer id reaches only devices that converted; erase the rest too
        for device in (0, 1):
            privacy.erase(erased, visitor_id=f"visitor-0-{device}-xxxxxxxx")
    else:
        for device in (0, 1):
            privacy.erase(erased, visitor_id=f"visitor-0-{device}-xxxxxxxx")
    for model in MODELS:
        for day in [None, T0.date(), T0.date() + timedelta(days=1)]:
            period = Period(day, day)
            assert channel_rows(erased, period, model) == channel_rows(never, period, model)
    erased.close()
    never.close()


# -- the erase command -------------------------------------------------------------


def test_erase_command_by_visitor_and_by_customer(app, runner, client, db):
    make_link(client, code="promo")
    client.get("/promo")
    [visitor] = [r["visitor_id"] for r in clicks(db)]
    result = runner.invoke(args=["privacy", "erase", "--visitor", visitor])
    assert result.exit_code == 0, result.output
    assert "1 clicks" in result.output
    assert clicks(db) == []

    other = browser(app)
    hop = other.get("/promo")
    click_id = hop.headers["Location"].rsplit("ct_click=", 1)[1]
    post_webhook(other, {"goal": "purchase", "value": "9.99", "click_id": click_id,
                         "customer_id": "cus_9"})  # fmt: skip
    result = runner.invoke(args=["privacy", "erase", "--customer", "cus_9"])
    assert result.exit_code == 0, result.output
    assert "1 conversions" in result.output
    assert db.execute("SELECT count(*) FROM conversions").fetchone()[0] == 0
    assert clicks(db) == []


@pytest.mark.parametrize("args", [[], ["--visitor", "v", "--customer", "c"]])
def test_erase_command_needs_exactly_one_person(runner, args):
    result = runner.invoke(args=["privacy", "erase", *args])
    assert result.exit_code == 1
    assert "exactly one" in result.output
    assert "Traceback" not in result.output


# -- retention ---------------------------------------------------------------------


def test_retention_deletes_old_raw_clicks_and_keeps_the_reports(tmp_path):
    db = new_db(tmp_path)
    ids = add_links(db)
    now = at(200, 0)
    click(db, ids["twitter"], B, now - timedelta(days=100))
    click(db, ids["twitter"], C, now - timedelta(days=40))
    kept_click = click(db, ids["linkedin"], B, now - timedelta(days=10))
    # B's purchase 5 days ago: last touch linkedin, first touch twitter (95 days
    # before it: outside the 30-day window, so only the linkedin click counts)
    convert(db, B, now - timedelta(days=5), value=4200)
    convert(db, C, now - timedelta(days=39), value=100)  # C's twitter click, a day earlier
    before = {m: channel_rows(db, Period(), m) for m in MODELS}
    # by hand: twitter 2 clicks by 2 visitors, C's 1.00; linkedin 1 click, B's 42.00
    assert summary(report(db)) == {
        "twitter": (2, 2, 2, 1, 1, 0.5, "1.00"),
        "linkedin": (1, 1, 1, 1, 1, 1.0, "42.00"),
    }
    assert privacy.apply_retention(db, 30, now) == 2
    assert [r["click_id"] for r in clicks(db)] == [kept_click]
    assert {m: channel_rows(db, Period(), m) for m in MODELS} == before
    # credits on the deleted clicks keep their link, lose the click
    orphans = db.execute("SELECT count(*) FROM credits WHERE click_row IS NULL AND link_id = ?",
                         [ids["twitter"]]).fetchone()[0]  # fmt: skip
    assert orphans == len(MODELS)  # C's conversion, one credit per model
    # new clicks keep folding on top
    click(db, ids["twitter"], B, now)
    assert report(db)["twitter"]["clicks"] == 3
    assert privacy.apply_retention(db, 30, now) == 0


def test_retention_never_deletes_a_click_not_yet_folded(tmp_path):
    db = new_db(tmp_path)
    ids = add_links(db)
    now = at(200, 0)
    click(db, ids["twitter"], B, now - timedelta(days=100))
    aggregates.refresh(db)
    click(db, ids["twitter"], C, now - timedelta(days=90))  # arrives after the fold
    # apply_retention folds it in first, so it is counted before it is deleted
    assert privacy.apply_retention(db, 30, now) == 2
    assert report(db)["twitter"]["clicks"] == 2


def test_erasure_after_retention_removes_the_person_from_visitor_counts(tmp_path):
    db = new_db(tmp_path)
    ids = add_links(db)
    now = at(200, 0)
    click(db, ids["twitter"], A, now - timedelta(days=100))
    click(db, ids["twitter"], B, now - timedelta(days=100))
    privacy.apply_retention(db, 30, now)
    assert report(db)["twitter"]["unique_visitors"] == 2
    privacy.erase(db, visitor_id=A)
    row = report(db)["twitter"]
    # A's raw click is long gone, so its count stays (it is anonymous now),
    # but A is no longer one of the visitors
    assert (row["clicks"], row["unique_visitors"]) == (2, 1)


def test_retention_command_uses_the_setting_and_refuses_a_short_period(tmp_path):
    app = new_app(tmp_path, CLICK_RETENTION_DAYS=90)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["privacy", "retention"])
    assert result.exit_code == 0, result.output
    assert "older than 90 days" in result.output
    short = runner.invoke(args=["privacy", "retention", "--days", "7"])
    assert short.exit_code == 1 and "ATTRIBUTION_WINDOW_DAYS" in short.output
    unset = new_app(subdir(tmp_path, "x"))
    result = unset.test_cli_runner().invoke(args=["privacy", "retention"])
    assert result.exit_code == 1 and "CLICK_RETENTION_DAYS" in result.output


@pytest.mark.parametrize("days", [7, "90", 0])
def test_retention_setting_must_cover_the_attribution_window(tmp_path, days):
    from shortener.settings import ConfigError

    with pytest.raises(ConfigError, match="CLICK_RETENTION_DAYS"):
        create_app(app_config(tmp_path, CLICK_RETENTION_DAYS=days))


def test_reports_json_is_unchanged_by_erasing_someone_with_nothing(client, db):
    make_link(client, code="promo")
    client.get("/promo")
    before = client.get("/api/reports/channels", headers=AUTH).get_json()
    privacy.erase(db, visitor_id="nobody-with-this-id")
    assert client.get("/api/reports/channels", headers=AUTH).get_json() == before
    assert json.dumps(before)
