"""The shape of the code, read from every module's imports: handlers are only imported by the
app, imports never run in a circle, and the top level holds only the app and its settings."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What is not application code: the tests, the bench, the browser app, the virtualenv.
NOT_APPLICATION = {"tests", "bench", "public", "deploy", "docs", "data", ".venv", ".git"}


def _application_modules() -> dict[str, Path]:
    modules = {}
    for path in ROOT.rglob("*.py"):
        relative = path.relative_to(ROOT)
        if relative.parts[0] in NOT_APPLICATION or relative.parts[0].startswith("."):
            continue
        parts = list(relative.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


MODULES = _application_modules()


def _imports(module: str, path: Path) -> set[str]:
    """The project's modules this one imports, wherever the import stands (TYPE_CHECKING included)."""
    found = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names = [f"{base}.{alias.name}" for alias in node.names]
            if any(name not in MODULES for name in names):  # names defined in the module itself
                names.append(base)
        for name in names:
            while name and name not in MODULES:
                name = name.rpartition(".")[0]
            if name and name != module:
                found.add(name)
    # Importing a.b.c runs a/__init__.py and a/b/__init__.py first (those of the importer's own
    # packages have run already): where they import, the importer does too.
    own = {module.rpartition(".")[0]} | {".".join(module.split(".")[:n]) for n in range(1, module.count(".") + 1)}
    for name in list(found):
        parent = name.rpartition(".")[0]
        while parent:
            if parent in MODULES and parent not in own:
                found.add(parent)
            parent = parent.rpartition(".")[0]
    return found


GRAPH = {module: _imports(module, path) for module, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected groups of more than one module (Tarjan's algorithm, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return groups


def test_nothing_but_the_app_imports_the_request_handlers():
    importers = {
        module
        for module, imported in GRAPH.items()
        if module != "app" and not module.startswith("routes") and any(i.startswith("routes") for i in imported)
    }
    assert importers == set()


def test_handler_modules_do_not_import_each_other():
    handlers = {m for m in MODULES if m.startswith("routes.") and not m.startswith("routes.ws")}
    borrowed = {(m, i) for m in handlers for i in GRAPH[m] if i in handlers}
    assert borrowed == set()


def test_no_module_imports_run_in_a_circle():
    assert _cycles(GRAPH) == []


def test_no_package_imports_run_in_a_circle():
    packages: dict[str, set[str]] = {}
    for module, imported in GRAPH.items():
        top = module.partition(".")[0]
        packages.setdefault(top, set()).update(i.partition(".")[0] for i in imported if i.partition(".")[0] != top)
    assert _cycles(packages) == []


# The README's order of the rooms: a package imports only those after it.
LAYERS = [
    "app",
    "routes",
    "server",
    "live",
    "chat",
    "auth",
    "settings",
    "push",
    "broadcast",
    "wire",
    "media",
    "store",
    "counters",
]


def test_packages_import_only_the_rooms_below_them():
    upward = set()
    for module, imported in GRAPH.items():
        top = module.partition(".")[0]
        if top not in LAYERS:
            continue
        for other in {i.partition(".")[0] for i in imported} - {top}:
            if other in LAYERS and LAYERS.index(other) < LAYERS.index(top):
                upward.add((module, other))
    assert upward == set()


def test_the_top_level_holds_only_the_app_and_its_settings():
    top_level = {path.stem for path in ROOT.glob("*.py")}
    assert top_level == {"app", "settings"}


def test_the_reader_sees_every_package():
    # A guard on the test itself: a graph that missed the packages would pass every check above.
    assert {"routes", "store", "wire", "live", "auth", "server", "broadcast", "push", "media"} <= {
        m.partition(".")[0] for m in MODULES
    }
    assert "wire.protocol" in GRAPH["live.delivery"]


def test_only_the_dialect_modules_ask_which_database_runs():
    asking = []
    for module, path in MODULES.items():
        if module.startswith("store.dialects"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if "dialect ==" in line or "dialect !=" in line or "dialect.name ==" in line:
                asking.append(f"{module}:{number}")
    assert asking == []


def test_the_store_is_used_through_its_face():
    # Its face, and the operator's functions that the command line uses while no server runs.
    faces = {"store", "store.admin"}
    reaching_in = {
        (module, imported)
        for module, imports in GRAPH.items()
        if not module.startswith("store")
        for imported in imports
        if imported.startswith("store.") and imported not in faces
    }
    assert reaching_in == set()


# Test folders that are not a package of the app: the PWA's tests and the whole-process faults.
TEST_ROOMS_OF_THEIR_OWN = {"browser", "faults"}


def test_the_tests_mirror_the_rooms():
    tests = ROOT / "tests"
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")} | {"e2ee", "deploy"}
    assert [p.name for p in tests.glob("test_*.py")] == ["test_house.py"], "a test outside its room"
    folders = {path.parent.name for path in tests.glob("*/test_*.py")}
    assert folders - packages - TEST_ROOMS_OF_THEIR_OWN == set(), "a test folder named for no package"
