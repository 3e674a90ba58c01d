"""The house's shape: its parts and which way they may depend on each other.

Bottom to top: shortener (links, redirect, clicks) -> conversions (intake,
attribution, reports) -> advocates (people, personal links, advocate
reports, rewards) -> dashboard. A module imports from its own part or parts
below, never above; what a lower part must tell a higher one travels as a
blinker signal the higher part connects to, once, from the composition root.
"""

import ast
import gc
import re
import weakref
from pathlib import Path

import pytest
from importgraph import graph, rings

from conftest import app_config
from shortener import create_app
from shortener.app import init_db

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
        "from conversions.intake import record_conversion\ndef later():\n    import dashboard.web\n"
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


def test_receivers_are_connected_once_for_every_database(tmp_path):
    # the root connects each part's receivers once, for any sender: making
    # apps adds none, and no signal holds an app
    from conversions import signals as conversions
    from shortener import signals as links

    signals = [
        links.link_updated,
        links.click_counts_read,
        conversions.conversion_stored,
        conversions.conversion_refunded,
        conversions.erasing_person,
        conversions.advocate_named,
        conversions.advocates_shown,
    ]
    assert [len(s.receivers) for s in signals] == [1] * 7
    apps = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        config = app_config(tmp_path / name)
        init_db(config["DATABASE"])
        apps.append(create_app(config))
    assert [len(s.receivers) for s in signals] == [1] * 7
    assert [len(list(s.receivers_for(object()))) for s in signals] == [1] * 7
    gone = weakref.ref(apps.pop())
    gc.collect()
    assert gone() is None  # no signal keeps an app alive


def test_a_signal_no_part_hears_is_refused_not_lost():
    # a signal sent before the house is put together would silently skip
    # what a part above must do (a reward, an anonymisation): it raises
    from blinker import Namespace

    from shortener.signals import NoReceivers, send

    lonely = Namespace().signal("lonely")
    with pytest.raises(NoReceivers, match="'lonely' has no receiver"):
        send(lonely, db=None, x=1)
    heard = []

    def hear(db, **data):
        heard.append((db, data))
        return "ok"

    lonely.connect(hear)
    assert [answer for _, answer in send(lonely, db="the-db", x=1)] == ["ok"]
    assert heard == [("the-db", {"x": 1})]


# -- no import rings ------------------------------------------------------------------


def test_no_import_cycles():
    edges = graph(ROOT, PARTS)
    # the reader saw the code: the known one-way imports are there
    assert "shortener.db" in edges["shortener.journal"]
    assert "shortener.linkoptions" in edges["shortener.links"]
    assert "shortener.journal" in edges["conversions.webhook"]
    # `flask --app shortener` and gunicorn's 'shortener:create_app()' find the
    # factory in the package, which imports the root only when called: that
    # entry point is the one import of the root allowed, so it is no ring
    edges["shortener"].remove("shortener.app")
    found = [" -> ".join(ring) for ring in rings(edges)]
    assert found == [], "import rings (move the shared piece down):\n" + "\n".join(found)


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_the_reader_finds_a_planted_ring_and_a_pair(tmp_path):
    """A ring of three modules across two packages, hidden in part inside a
    function, and a pair importing each other; one-way imports and imports
    of other libraries are no ring."""
    write(
        tmp_path,
        {
            "alpha/__init__.py": "",
            "alpha/a.py": "import json\nfrom . import b\n",
            "alpha/b.py": "from beta.c import thing\n",
            "alpha/pair1.py": "from .pair2 import x\n",
            "alpha/pair2.py": "def f():\n    from . import pair1\n",
            "alpha/leaf.py": "import os\n",
            "beta/__init__.py": "",
            "beta/c.py": "def g():\n    from alpha import a\n\nthing = 1\n",
            "beta/d.py": "from alpha import leaf\nfrom beta import c\n",
        },
    )
    edges = graph(tmp_path, ("alpha", "beta"))
    assert edges["alpha.a"] == {"alpha.b"}
    assert edges["beta.c"] == {"alpha.a"}  # inside a function
    assert edges["alpha.pair2"] == {"alpha.pair1"}  # relative, inside a function
    assert edges["beta.d"] == {"alpha.leaf", "beta.c"}
    assert rings(edges) == [
        ["alpha.a", "alpha.b", "beta.c", "alpha.a"],
        ["alpha.pair1", "alpha.pair2", "alpha.pair1"],
    ]


def test_a_graph_without_rings_has_none(tmp_path):
    write(
        tmp_path,
        {
            "alpha/__init__.py": "from . import a\n",
            "alpha/a.py": "from .b import y\n",
            "alpha/b.py": "y = 1\n",
        },
    )
    edges = graph(tmp_path, ("alpha",))
    assert edges == {"alpha": {"alpha.a"}, "alpha.a": {"alpha.b"}, "alpha.b": set()}
    assert rings(edges) == []


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


# -- no back-channels between parts ----------------------------------------------------

EXTENSION_KEY = re.compile(r"""["'](clicktrail\.[a-z_]+)["']""")


def extension_keys_by_part(root: Path, parts=PARTS) -> dict[str, set[str]]:
    """Each `clicktrail.*` key of app.extensions, with the parts naming it."""
    found: dict[str, set[str]] = {}
    for part in parts:
        for path in (root / part).rglob("*.py"):
            for key in EXTENSION_KEY.findall(path.read_text(encoding="utf-8")):
                found.setdefault(key, set()).add(part)
    return found


def test_no_part_reads_an_extension_another_part_registers():
    """app.extensions holds a part's own per-app state (a pool, a journal, a
    cache); a key named in two parts would be a call through the back door."""
    keys = extension_keys_by_part(ROOT)
    assert "clicktrail.journal" in keys  # the reader sees the keys there are
    shared = {key: sorted(parts) for key, parts in keys.items() if len(parts) > 1}
    assert shared == {}
    assert "g.dashboard_user" not in "".join(
        p.read_text(encoding="utf-8") for p in (ROOT / "shortener").rglob("*.py")
    )


def test_a_shared_extension_key_is_seen(tmp_path):
    write(tmp_path, {
        "shortener/__init__.py": "", "shortener/a.py": 'app.extensions["clicktrail.x"] = 1\n',
        "conversions/__init__.py": "", "conversions/b.py": 'f(app.extensions["clicktrail.x"])\n',
    })  # fmt: skip
    assert extension_keys_by_part(tmp_path, ("shortener", "conversions")) == {
        "clicktrail.x": {"shortener", "conversions"}
    }


def test_every_file_docs_architecture_names_exists():
    """docs/architecture.md sends a newcomer to files: each must be there."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    path = r"`((?:shortener|conversions|advocates|dashboard|tests)/[\w/]+\.py)`"
    named = set(re.findall(path, text))
    assert len(named) > 30
    assert sorted(name for name in named if not (ROOT / name).is_file()) == []


# -- no part reads a higher part's tables ---------------------------------------------


def table_owners() -> dict[str, str]:
    """{table: part} from the house's own migrations: applied one by one in
    landing order, each new table belongs to the part whose schema.py made it."""
    import sqlite3

    from sqlite_utils import Database

    from shortener.app import LANDING_ORDER

    db = Database(sqlite3.connect(":memory:"))
    owners = {}
    for module, name in LANDING_ORDER:
        getattr(module, name)(db)
        for table in db.table_names():
            owners.setdefault(table, module.__name__.split(".")[0])
    return owners


# a table named by SQL: after the keyword that names one (upper case, as the
# house writes SQL, so prose in docstrings is not read as a query)
SQL_TABLE = re.compile(r"\b(?:FROM|JOIN|INTO|UPDATE|TABLE)\s+(\w+)")


def sql_strings(source: str) -> list[str]:
    """Every string literal of a module (f-strings' literal parts too),
    docstrings left out."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        and id(node) not in docstrings
    ]  # fmt: skip


MIGRATION_FILES = ("schema.py", "pgschema.py")


def upward_table_reads(root: Path, owners: dict[str, str], parts=PARTS) -> list[str]:
    """Every SQL naming a table of a part above the module's own, as
    "file: table"; migrations are history and left out: each part's
    schema.py, and shortener/pgschema.py, the PostgreSQL baseline that
    stands for every part's migrations landed before it."""
    found = []
    for rank, part in enumerate(parts):
        above = set(parts[rank + 1 :])
        for path in sorted((root / part).rglob("*.py")):
            if path.name in MIGRATION_FILES:
                continue
            named = set()
            for text in sql_strings(path.read_text(encoding="utf-8")):
                named.update(t for t in SQL_TABLE.findall(text) if owners.get(t) in above)
            found.extend(f"{path.relative_to(root)}: {t}" for t in sorted(named))
    return found


# Reads that predate this check, each to go behind a hook of the owning part;
# the list must only shrink: a new upward read fails, and so does one mended
# but still listed.
KNOWN_UPWARD_READS = [
    "shortener/auth.py: api_keys",  # the key check, on keys the dashboard issues
    "shortener/links.py: link_day",  # the link list sorted by clicks
    "shortener/previews.py: unfurls",  # the social preview counts its fetch
    "shortener/targeting.py: aggregate_state",  # max_clicks: clicks not yet folded
    "shortener/targeting.py: link_day",  # max_clicks: clicks folded
]


def test_no_part_reads_a_higher_parts_tables():
    owners = table_owners()
    # the map holds what each part's migrations made
    assert owners["links"] == "shortener" and owners["costs"] == "conversions"
    assert owners["rewards"] == "advocates" and owners["api_keys"] == "dashboard"
    assert owners["advocates"] == "advocates"
    assert upward_table_reads(ROOT, owners) == KNOWN_UPWARD_READS


def test_the_table_check_finds_a_planted_read(tmp_path):
    owners = {"links": "shortener", "costs": "conversions", "advocates": "advocates"}
    write(tmp_path, {
        "shortener/__init__.py": '"""Reads FROM advocates, in prose: not SQL."""\n',
        "shortener/links.py": 'SQL = "SELECT * FROM links l JOIN costs c ON c.id = l.id"\n',
        "conversions/__init__.py": "",
        "conversions/costs.py": 'q = f"SELECT c.* FROM costs c LEFT JOIN advocates a{x}"\n',
        "conversions/schema.py": 'q = "UPDATE advocates SET x = 1"\n',
        "advocates/__init__.py": "",
        "advocates/people.py": 'q = "UPDATE costs SET advocate_id = NULL"\n',
        "dashboard/__init__.py": "",
    })  # fmt: skip
    assert upward_table_reads(tmp_path, owners) == [
        "shortener/links.py: costs",
        "conversions/costs.py: advocates",
    ]
