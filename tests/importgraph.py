"""Which module imports which, read from the source with `ast` (nothing is
imported), and the rings in that graph.

Every `import` and `from ... import` statement counts, wherever it stands:
one inside a function still makes its module depend on the other, it only
hides it until the function runs. `from pkg import name` points at the
module `pkg.name` when there is one, else at `pkg` itself. Only imports
between the packages read are edges; the standard library and third-party
packages are not.
"""

import ast
from pathlib import Path


def modules(root: Path, packages) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file in the packages."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _imported(node, here: str, is_package: bool, known) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in known}
    if node.level:  # relative: counted from this module's package
        base = here.split(".") if is_package else here.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        origin = ".".join(base + ([node.module] if node.module else []))
    else:
        origin = node.module or ""
    targets = set()
    for alias in node.names:
        submodule = f"{origin}.{alias.name}"
        if submodule in known:
            targets.add(submodule)
        elif origin in known:
            targets.add(origin)
    return targets


def graph(root: Path, packages) -> dict[str, set[str]]:
    """Module -> the modules of these packages it imports."""
    known = modules(root, packages)
    edges = {}
    for name, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        targets = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                targets |= _imported(node, name, is_package, known)
        targets.discard(name)
        edges[name] = targets
    return edges


def rings(edges: dict[str, set[str]]) -> list[list[str]]:
    """Each group of modules that import each other, directly or round a
    ring (a strongly connected component of more than one module), as one
    ring through all of them, starting at its first name: a -> b -> a."""
    index, low, stack, on_stack, groups = {}, {}, [], set(), []

    def visit(start):
        # Tarjan's algorithm, iterative: an import chain can be deeper than
        # Python's recursion limit
        work = [(start, iter(sorted(edges[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))

    for name in sorted(edges):
        if name not in index:
            visit(name)
    return [_walk(group, edges) for group in sorted(groups)]


def _walk(group: list[str], edges) -> list[str]:
    """A path from the group's first module back to it, through the group
    (a shortest one: the ring a reader has to break)."""
    members, first = set(group), group[0]
    came_from = {first: None}
    frontier = [first]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(edges[node] & members):
                if child == first:
                    path = [node]
                    while came_from[path[-1]] is not None:
                        path.append(came_from[path[-1]])
                    return [*reversed(path), first]
                if child not in came_from:
                    came_from[child] = node
                    following.append(child)
        frontier = following
    return [*group, first]  # not reached: every member of a group reaches every other
