"""Every state-changing dashboard request needs the session's CSRF token."""

import pytest

from conftest import browser
from dashboard_support import PASSWORD, USER, make_user, signed_in
from shortener.db import connect

POSTS = [
    ("/dashboard/links/new", {"url": "https://shop.example.com/", "channel": "x", "campaign": "c"}),
    ("/dashboard/keys", {"name": "forged"}),
    ("/dashboard/goals", {"name": "forged", "value": "1"}),
    ("/dashboard/logout", {}),
]


def counts(app) -> dict[str, int]:
    db = connect(app.config["DATABASE"])
    try:
        return {
            t: next(db.query(f"SELECT count(*) AS n FROM {t}"))["n"]
            for t in ("links", "api_keys", "goals", "user_sessions")
        }
    finally:
        db.close()


@pytest.mark.parametrize(("path", "form"), POSTS)
def test_posts_without_the_token_are_refused_and_change_nothing(app, path, form):
    client, _ = signed_in(app)
    before = counts(app)
    response = client.post(path, data=form)
    assert response.status_code == 400
    assert "security token is missing" in response.get_data(as_text=True)
    wrong = client.post(path, data={**form, "csrf_token": "not-the-token"})
    assert wrong.status_code == 400
    assert "security token has expired" in wrong.get_data(as_text=True)
    assert counts(app) == before


def test_the_token_is_accepted_as_a_field_or_a_header(app):
    client, token = signed_in(app)
    assert (
        client.post("/dashboard/keys", data={"name": "a", "csrf_token": token}).status_code == 201
    )
    assert (
        client.post("/dashboard/keys", data={"name": "b"}, headers={"X-CSRF-Token": token})
    ).status_code == 201


def test_the_sign_in_form_needs_it_too(app):
    make_user(app)
    client = browser(app)
    client.get("/dashboard/login")
    response = client.post("/dashboard/login", data={"username": USER, "password": PASSWORD})
    assert response.status_code == 400
    assert counts(app)["user_sessions"] == 0


def test_a_token_from_another_session_does_not_work(app):
    _, token = signed_in(app)
    other = browser(app)
    other.get("/dashboard/login")
    response = other.post(
        "/dashboard/login", data={"username": USER, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 400
