"""How the parts depend on each other: one way only, no module importing
another that (directly or round a ring) imports it back."""

from pathlib import Path

from importgraph import graph, rings

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("shortener", "conversions", "dashboard")


def test_no_import_cycles():
    edges = graph(ROOT, PACKAGES)
    # the reader saw the code: the known one-way imports are there
    assert "shortener.db" in edges["shortener.journal"]
    assert "shortener.linkoptions" in edges["shortener.links"]
    assert "shortener.journal" in edges["conversions.webhook"]
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
