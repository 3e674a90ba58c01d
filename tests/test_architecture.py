"""How the parts may depend on one another, read from the source."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# ways to run a view through a made-up request instead of calling a function
FAKE_REQUESTS = {"test_request_context", "test_client", "full_dispatch_request", "dispatch_request"}


def names_used(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    used = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute):
            used.add(node.attr)
        elif isinstance(node, ast.Name):
            used.add(node.id)
        elif isinstance(node, ast.ImportFrom):
            used.update(a.name for a in node.names)
            used.add(node.module or "")
        elif isinstance(node, ast.Import):
            used.update(a.name for a in node.names)
    return used


def test_the_dashboard_calls_services_never_the_api_through_a_fake_request():
    offenders = {
        str(path.relative_to(ROOT)): sorted(names_used(path) & FAKE_REQUESTS)
        for path in sorted((ROOT / "dashboard").rglob("*.py"))
        if names_used(path) & FAKE_REQUESTS
    }
    assert offenders == {}
    assert not (ROOT / "dashboard" / "apiclient.py").exists()
    assert not (ROOT / "dashboard" / "linkquery.py").exists()


def test_the_check_itself_sees_a_fake_request(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text(
        "from flask import current_app\n"
        "def fetch(path):\n"
        "    with current_app.test_request_context(path):\n"
        "        return current_app.full_dispatch_request()\n"
    )
    assert names_used(planted) & FAKE_REQUESTS == {"test_request_context", "full_dispatch_request"}


def test_the_api_key_check_knows_nothing_of_the_dashboard():
    """shortener/auth.py authenticates by key only; the dashboard's downloads
    call a view's `without_key` after the dashboard's own sign-in."""
    source = (ROOT / "shortener" / "auth.py").read_text()
    assert "dashboard" not in names_used(ROOT / "shortener" / "auth.py")
    assert "g.dashboard_user" not in source and "from flask import current_app, g" not in source
    for path in (ROOT / "shortener").rglob("*.py"):
        assert "dashboard_user" not in path.read_text(), path
