"""`python -m shortener.bootstrap PATH`: a private config with fresh secrets,
written once, from which the app starts."""

import base64
import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from flask import Config

from conftest import signed_headers
from shortener import bootstrap, create_app
from shortener.app import init_db

ROOT = Path(__file__).resolve().parent.parent


def load(path) -> dict:
    config = Config(str(path.parent))
    assert config.from_pyfile(str(path))
    return {k: config[k] for k in ("SECRET_KEY", "ADMIN_API_KEY", "WEBHOOK_SECRET")}


def run_module(path):
    return subprocess.run(
        [sys.executable, "-m", "shortener.bootstrap", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_writes_a_private_config_with_generated_secrets(tmp_path):
    path = tmp_path / "instance" / "config.py"  # the folder is created too
    result = run_module(path)
    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    values = load(path)
    assert len(values["SECRET_KEY"]) == 64  # 32 random bytes in hex
    int(values["SECRET_KEY"], 16)
    assert values["ADMIN_API_KEY"].startswith("ct_") and len(values["ADMIN_API_KEY"]) > 40
    secret = values["WEBHOOK_SECRET"]
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    # printed once so the operator can configure the website
    assert values["ADMIN_API_KEY"] in result.stdout
    assert values["WEBHOOK_SECRET"] in result.stdout


def test_never_overwrites_an_existing_file(tmp_path):
    path = tmp_path / "config.py"
    assert run_module(path).returncode == 0
    before = path.read_bytes()
    again = run_module(path)
    assert again.returncode == 0
    assert "exists" in again.stdout
    assert path.read_bytes() == before
    assert load(path)["ADMIN_API_KEY"] not in again.stdout  # not printed a second time


def test_a_hand_written_config_is_left_alone(tmp_path):
    path = tmp_path / "config.py"
    path.write_text("SECRET_KEY = 'mine'\n")
    assert bootstrap.write_config(str(path)) is None
    assert path.read_text() == "SECRET_KEY = 'mine'\n"


def test_each_run_generates_different_secrets(tmp_path):
    first = bootstrap.write_config(str(tmp_path / "a.py"))
    second = bootstrap.write_config(str(tmp_path / "b.py"))
    assert all(first[k] != second[k] for k in first)


def test_mode_is_0600_whatever_the_umask(tmp_path):
    old = os.umask(0)
    try:
        bootstrap.write_config(str(tmp_path / "config.py"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "config.py").stat().st_mode) == 0o600


def test_the_app_starts_from_the_generated_config(tmp_path):
    path = tmp_path / "config.py"
    bootstrap.write_config(str(path))
    values = load(path)
    database = str(tmp_path / "ct.db")
    init_db(database)
    # what create_app does with instance/config.py: from_pyfile, then checks
    app = create_app({"TESTING": True, "DATABASE": database, **values})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    auth = {"Authorization": f"Bearer {values['ADMIN_API_KEY']}"}
    link = client.post(
        "/api/links",
        json={"url": "https://shop.example.com/", "channel": "x", "campaign": "c"},
        headers=auth,
    )
    assert link.status_code == 201
    # the generated webhook secret signs and verifies as Standard Webhooks
    body = json.dumps({"goal": "signup", "visitor_id": "V" * 22, "order_id": "1"}).encode()
    headers = signed_headers(body, secret=values["WEBHOOK_SECRET"])
    assert client.post("/t/webhook", data=body, headers=headers).status_code in (200, 201)
    wrong = signed_headers(body, secret="whsec_" + base64.b64encode(b"x" * 32).decode())
    assert client.post("/t/webhook", data=body, headers=wrong).status_code == 401
