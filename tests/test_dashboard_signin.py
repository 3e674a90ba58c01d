"""Signing in and out: the session cookie, wrong passwords, rate limiting,
where the user lands afterwards."""

import pytest

from conftest import app_config, browser
from dashboard_support import PASSWORD, TOKEN, USER, csrf_of, make_user, sign_in
from shortener import create_app
from shortener.app import init_db
from shortener.db import connect


def session_cookie(response) -> str:
    cookies = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("ct_session=")]
    assert len(cookies) == 1, response.headers.getlist("Set-Cookie")
    return cookies[0]


def test_signing_in_sets_a_locked_down_session_cookie(app):
    make_user(app)
    client = browser(app)
    response = sign_in(client)
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/"
    cookie = session_cookie(response)
    assert "; HttpOnly" in cookie
    assert "; SameSite=Lax" in cookie
    assert "; Path=/dashboard" in cookie
    assert "; Secure" not in cookie  # plain http here: a Secure cookie would never come back
    assert client.get("/dashboard/").status_code == 200


def test_the_cookie_is_secure_over_https(app):
    make_user(app)
    client = browser(app)
    https = "https://go.example.test"
    page = client.get("/dashboard/login", base_url=https).get_data(as_text=True)
    token = TOKEN.search(page).group(1)
    response = client.post(
        "/dashboard/login",
        data={"username": USER, "password": PASSWORD, "csrf_token": token},
        base_url=https,
    )
    assert response.status_code == 303
    assert "; Secure" in session_cookie(response)


def test_the_cookie_is_secure_behind_a_trusted_tls_proxy(tmp_path):
    config = app_config(tmp_path, TRUST_PROXY_HEADERS=True, BASE_URL=None)
    init_db(config["DATABASE"])
    app = create_app(config)
    make_user(app)
    client = browser(app)
    token = csrf_of(client)
    response = client.post(
        "/dashboard/login",
        data={"username": USER, "password": PASSWORD, "csrf_token": token},
        headers={"X-Forwarded-Proto": "https"},
    )
    assert "; Secure" in session_cookie(response)


@pytest.mark.parametrize(
    ("username", "password", "status", "message"),
    [
        (USER, "wrong password!!", 401, "Wrong user name or password."),
        ("nobody@example.com", PASSWORD, 401, "Wrong user name or password."),
        ("", PASSWORD, 400, "Enter your user name and password."),
        (USER, "", 400, "Enter your user name and password."),
    ],
)
def test_wrong_or_missing_credentials(app, username, password, status, message):
    make_user(app)
    client = browser(app)
    response = sign_in(client, username, password)
    assert response.status_code == status
    assert message in response.get_data(as_text=True)
    assert client.get("/dashboard/").status_code == 303  # still signed out


def test_sign_in_is_rate_limited(app):
    app.config.update(SIGN_IN_MAX_FAILURES=3, SIGN_IN_WINDOW_SECONDS=600)
    make_user(app)
    client = browser(app)
    for _ in range(3):
        assert sign_in(client, USER, "wrong password!!").status_code == 401
    # the fourth try is refused before the password is even checked, right or not
    blocked = sign_in(client, USER, PASSWORD)
    assert blocked.status_code == 429
    assert blocked.headers["Retry-After"] == "600"
    assert "Too many failed sign-ins. Try again in 10 minutes." in blocked.get_data(as_text=True)
    db = connect(app.config["DATABASE"])
    try:
        stored = list(db.query("SELECT username, network FROM sign_in_failures"))
    finally:
        db.close()
    # the client's network (/24), never its full address
    assert stored == [{"username": USER, "network": "127.0.0.0/24"}] * 3


def test_behind_a_proxy_the_limit_keys_on_the_address_the_proxy_saw(tmp_path):
    config = app_config(tmp_path, TRUST_PROXY_HEADERS=True, SIGN_IN_MAX_FAILURES=2)
    init_db(config["DATABASE"])
    app = create_app(config)
    make_user(app)
    client = browser(app)
    # an attacker rotates the first X-Forwarded-For entry on every try; the
    # proxy appends the address it really saw, which is what counts
    for n in range(2):
        client.environ_base["HTTP_X_FORWARDED_FOR"] = f"10.{n}.0.1, 198.51.100.7"
        assert sign_in(client, USER, "wrong password!!").status_code == 401
    client.environ_base["HTTP_X_FORWARDED_FOR"] = "10.9.0.1, 198.51.100.7"
    assert sign_in(client, USER, PASSWORD).status_code == 429
    db = connect(app.config["DATABASE"])
    try:
        stored = [r["network"] for r in db.query("SELECT network FROM sign_in_failures")]
    finally:
        db.close()
    assert stored == ["198.51.100.0/24"] * 2


def test_success_forgives_earlier_typos(app):
    app.config.update(SIGN_IN_MAX_FAILURES=3)
    make_user(app)
    client = browser(app)
    for _ in range(2):
        sign_in(client, USER, "wrong password!!")
    assert sign_in(client, USER, PASSWORD).status_code == 303
    db = connect(app.config["DATABASE"])
    try:
        assert next(db.query("SELECT count(*) AS n FROM sign_in_failures"))["n"] == 0
    finally:
        db.close()


@pytest.mark.parametrize(
    ("wanted", "landing"),
    [
        ("/dashboard/links?channel=twitter", "/dashboard/links?channel=twitter"),
        ("https://evil.example/", "/dashboard/"),
        ("//evil.example/dashboard", "/dashboard/"),
        ("/dashboardx/../../evil", "/dashboard/"),
        ("/\\evil.example", "/dashboard/"),
    ],
)
def test_after_signing_in_only_dashboard_pages_are_followed(app, wanted, landing):
    make_user(app)
    client = browser(app)
    token = csrf_of(client)
    response = client.post(
        "/dashboard/login",
        data={"username": USER, "password": PASSWORD, "csrf_token": token, "next": wanted},
    )
    assert response.headers["Location"] == landing


CONTROL_NEXT = {
    "CR LF header": "/dashboard/\r\nX-Pwn: 1",
    "bare LF": "/dashboard/\nX",
    "bare CR": "/dashboard/\rX",
    "tab": "/dashboard/\tlinks",
    "NUL": "/dashboard/\x00",
    "DEL": "/dashboard/\x7f",
    "C1 next line": "/dashboard/\x85X",
}


@pytest.mark.parametrize("wanted", CONTROL_NEXT.values(), ids=CONTROL_NEXT.keys())
def test_a_next_with_control_characters_is_ignored_when_signing_in(app, wanted):
    make_user(app)
    client = browser(app)
    token = csrf_of(client)
    response = client.post(
        "/dashboard/login",
        data={"username": USER, "password": PASSWORD, "csrf_token": token, "next": wanted},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/"
    assert "X-Pwn" not in response.headers
    assert client.get("/dashboard/").status_code == 200  # signed in all the same


@pytest.mark.parametrize(
    "query", ["/dashboard/%0aX", "/dashboard/%0d%0aX-Pwn:%201", "/dashboard/%09x"]
)
def test_a_next_with_control_characters_is_ignored_when_already_signed_in(app, query):
    make_user(app)
    client = browser(app)
    sign_in(client)
    response = client.get(f"/dashboard/login?next={query}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard/"
    assert "X-Pwn" not in response.headers


def test_a_next_with_control_characters_is_left_out_of_the_sign_in_form(app):
    page = browser(app).get("/dashboard/login?next=/dashboard/%0aX").get_data(as_text=True)
    assert 'name="next" value=""' in page


def test_a_signed_out_visitor_is_sent_to_sign_in_and_back(app):
    make_user(app)
    client = browser(app)
    response = client.get("/dashboard/links?channel=twitter")
    assert response.status_code == 303
    assert (
        response.headers["Location"] == "/dashboard/login?next=/dashboard/links?channel%3Dtwitter"
    )
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'name="next" value="/dashboard/links?channel=twitter"' in page


def test_signing_out_ends_the_session_on_the_server(app):
    make_user(app)
    client = browser(app)
    sign_in(client)
    cookie = client.get_cookie("ct_session", path="/dashboard").value
    token = csrf_of(client, "/dashboard/goals")
    response = client.post("/dashboard/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == "/dashboard/login?signed_out=1"
    db = connect(app.config["DATABASE"])
    try:
        assert next(db.query("SELECT count(*) AS n FROM user_sessions"))["n"] == 0
    finally:
        db.close()
    # the cookie as it was before signing out opens nothing any more
    thief = browser(app)
    thief.set_cookie("ct_session", cookie, path="/dashboard")
    assert thief.get("/dashboard/").status_code == 303


def test_a_new_session_on_every_sign_in(app):
    make_user(app)
    client = browser(app)
    before = csrf_of(client)
    sign_in(client)
    after = csrf_of(client, "/dashboard/goals")
    assert before != after  # a token planted before signing in is worthless after


def test_a_disabled_user_is_signed_out(app):
    make_user(app)
    client = browser(app)
    sign_in(client)
    db = connect(app.config["DATABASE"])
    try:
        db.execute("UPDATE users SET disabled = 1")
    finally:
        db.close()
    assert client.get("/dashboard/").status_code == 303
