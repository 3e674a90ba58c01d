"""The house's shape: its parts and which way they may depend on each other.

Bottom to top: shortener (links, redirect, clicks) -> conversions (intake,
attribution, reports) -> advocates (people, personal links, advocate
reports, rewards) -> dashboard. A module imports from its own part or parts
below, never above; what a lower part must tell a higher one travels as a
blinker signal the higher part connects to for its own app.
"""

import ast
import gc
import weakref
from pathlib import Path

from conftest import app_config
from shortener import create_app
from shortener.db import init_db

ROOT = Path(__file__).resolve().parent.parent
PARTS = ("shortener", "conversions", "advocates", "dashboard")  # bottom to top
# the composition root: create_app is the one place that knows every part
ROOTS = {"shortener/app.py"}


def imported_names(source: str) -> set[str]:
    """The absolute module names a module's source imports, wherever in the
    module (a function's lazy import counts); relative imports stay within
    their own part and are left out."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    return names


def upward_imports(root: Path, parts=PARTS, roots=ROOTS) -> list[str]:
    """Every import of a part above the importing module's own part, as
    "file: module", the composition root's excepted."""
    found = []
    for rank, part in enumerate(parts):
        above = set(parts[rank + 1 :])
        for path in sorted((root / part).rglob("*.py")):
            if path.relative_to(root).as_posix() in roots:
                continue
            for name in sorted(imported_names(path.read_text(encoding="utf-8"))):
                if name.split(".")[0] in above:
                    found.append(f"{path.relative_to(root)}: {name}")
    return found


def test_no_part_imports_a_part_above_it():
    for part in PARTS:
        assert (ROOT / part / "__init__.py").is_file(), part  # none vanished from the list
    assert upward_imports(ROOT) == []


def test_the_import_check_finds_a_planted_upward_import(tmp_path):
    # the check would pass vacuously if it read no file or no import: plant
    # one of each kind and see each named
    for part in PARTS:
        (tmp_path / part).mkdir()
        (tmp_path / part / "__init__.py").write_text("")
    (tmp_path / "shortener" / "app.py").write_text("import dashboard\n")  # the root may
    (tmp_path / "shortener" / "links.py").write_text(
        "from conversions.intake import record_conversion\n"
        "def later():\n    import dashboard.web\n"
    )
    (tmp_path / "conversions" / "intake.py").write_text(
        "from shortener import links\nfrom . import aggregates\n"
    )
    (tmp_path / "advocates" / "people.py").write_text("from dashboard import web\n")
    (tmp_path / "dashboard" / "web.py").write_text("import advocates.people\n")
    assert upward_imports(tmp_path) == [
        "shortener/links.py: conversions.intake",
        "shortener/links.py: dashboard.web",
        "advocates/people.py: dashboard",
    ]


def parts_with_init_app(root: Path) -> list[str]:
    """Every top-level package of the house whose __init__.py defines init_app."""
    found = []
    for init in sorted(root.glob("*/__init__.py")):
        tree = ast.parse(init.read_text(encoding="utf-8"))
        if any(isinstance(n, ast.FunctionDef) and n.name == "init_app" for n in tree.body):
            found.append(init.parent.name)
    return found


def init_apps_called(source: str) -> list[str]:
    """The names X of every `X.init_app(...)` call, in the order written."""
    calls = []
    for node in ast.walk(ast.parse(source)):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "init_app"
            and isinstance(node.func.value, ast.Name)
        ):
            calls.append((node.lineno, node.func.value.id))
    return [name for _, name in sorted(calls)]


def test_the_composition_root_imports_every_part_there_is():
    # a new part with an init_app that the root forgets would be silently
    # missing from the app; the root calls them bottom to top
    assert parts_with_init_app(ROOT) == sorted(PARTS)
    (root,) = ROOTS
    assert init_apps_called((ROOT / root).read_text(encoding="utf-8")) == list(PARTS)
    assert upward_imports(ROOT, roots=set()) != []  # the root is the exception, and needed


def test_the_root_check_sees_a_forgotten_part(tmp_path):
    for part in (*PARTS, "extra"):
        (tmp_path / part).mkdir()
        (tmp_path / part / "__init__.py").write_text("def init_app(app):\n    pass\n")
    (tmp_path / "notapart").mkdir()
    (tmp_path / "notapart" / "__init__.py").write_text("")
    assert parts_with_init_app(tmp_path) == sorted((*PARTS, "extra"))
    source = "import a\ndef f(app):\n    a.init_app(app)\n    b.init_app(app)\n"
    assert init_apps_called(source) == ["a", "b"]


def test_each_app_hears_only_its_own_advocates(tmp_path):
    # receivers are connected per app: two apps in one process each have one
    # receiver per signal, and no signal keeps a finished app alive
    from conversions import signals as conversions
    from shortener import signals as links

    signals = [
        links.link_updated,
        conversions.conversion_stored,
        conversions.conversion_refunded,
        conversions.erasing_person,
    ]
    apps = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        config = app_config(tmp_path / name)
        init_db(config["DATABASE"])
        apps.append(create_app(config))
    for one in apps:
        assert [len(list(s.receivers_for(one))) for s in signals] == [1, 1, 1, 1]
    del one
    assert [len(list(s.receivers_for(object()))) for s in signals] == [0, 0, 0, 0]
    gone = weakref.ref(apps.pop())
    gc.collect()
    assert gone() is None  # no signal keeps an app alive
    assert [len(list(s.receivers_for(apps[0]))) for s in signals] == [1, 1, 1, 1]
