"""Import contracts of the tree (README "Layout"), read from the source with ``ast``:

* nothing under ``service/`` imports Flask, except the app factory (``service/__init__.py``);
* the channel engines (``service.ussd``, ``service.sms``), messaging and reference data never
  import a feature or the composition root (``service.features``), not even inside a function;
* a feature never imports another feature's channel code (``service.<other>.ussd`` / ``.sms``);
* no import circle among the modules' top-level imports;
* every module imports on its own, each in a fresh interpreter.
"""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("service", "handlers", "scheduler", "templates_sms")
FEATURES = ("farmers", "groups", "prices", "orders", "advice", "sales", "reminders", "broadcasts")
BENEATH = ("service.ussd", "service.sms", "service.messaging", "service.reference")
CHANNELS = ("ussd", "sms")


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))
           if "versions" not in p.parts and p.name != "env.py"} | {"config": ROOT / "config.py"}


def _resolve(module: str, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    package = module.split(".") if MODULES[module].name == "__init__.py" else module.split(".")[:-1]
    base = package[:len(package) - node.level + 1]
    return ".".join([*base, *([node.module] if node.module else [])])


def imports(module: str, *, top_level_only: bool) -> set[str]:
    """The modules ``module`` imports (``from a import b`` counts ``a.b`` when that is a module,
    else ``a``); top-level only leaves out imports inside functions and ``if TYPE_CHECKING``."""
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(module, node)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                found.add(full if full in MODULES else base)
    return found


def _in(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def test_modules_are_found():
    assert {"service.ussd.engine", "service.sms.engine", "service.features", "service.orders.ussd"} <= set(MODULES)


@pytest.mark.parametrize("module", [m for m in MODULES if _in(m, "service") and m != "service"])
def test_nothing_below_the_factory_imports_flask(module):
    assert not {i for i in imports(module, top_level_only=False) if _in(i, "flask") or _in(i, "werkzeug")}


@pytest.mark.parametrize("module", [m for m in MODULES if any(_in(m, b) for b in BENEATH)])
def test_engines_messaging_and_reference_never_import_a_feature(module):
    features = [f"service.{f}" for f in FEATURES] + ["service.features"]
    bad = {i for i in imports(module, top_level_only=False) if any(_in(i, f) for f in features)}
    assert not bad, f"{module} imports {sorted(bad)}"


@pytest.mark.parametrize("feature", FEATURES)
def test_a_feature_never_imports_another_features_channel_code(feature):
    others = [f"service.{f}.{c}" for f in FEATURES if f != feature for c in CHANNELS]
    for module in (m for m in MODULES if _in(m, f"service.{feature}")):
        bad = {i for i in imports(module, top_level_only=False) if any(_in(i, o) for o in others)}
        assert not bad, f"{module} imports {sorted(bad)}"


def test_no_import_circle_at_module_level():
    graph = {m: {i for i in imports(m, top_level_only=True) if i in MODULES and i != m} for m in MODULES}
    # a module importing a package's submodule also runs the package's __init__
    for m, deps in graph.items():
        for dep in list(deps):
            parts = dep.split(".")
            deps |= {".".join(parts[:k]) for k in range(1, len(parts)) if ".".join(parts[:k]) in MODULES}
        deps.discard(m)
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        path.append(m)
        for dep in sorted(graph[m]):
            if state.get(dep) == 1:
                cycle = path[path.index(dep):] + [dep]
                if not all(c == dep or _in(dep, c) or _in(c, dep) for c in cycle):  # a package and its own module
                    pytest.fail("import circle: " + " -> ".join(cycle))
            elif dep not in state:
                visit(dep)
        path.pop()
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m)


# One interpreter loads the third-party libraries the project imports (Flask, SQLAlchemy, ...) and
# then forks a child per module: each child starts with no module of the project loaded, as a fresh
# interpreter would, without paying a second or more to import the libraries again each time.
_FORK_EACH = r"""
import importlib, json, os, sys, traceback
modules, libraries = json.load(sys.stdin)
for library in libraries:
    try:
        importlib.import_module(library)
    except Exception:
        pass
assert not [m for m in sys.modules if m.split(".")[0] in {"service", "handlers", "scheduler", "templates_sms", "config"}]
failures = []
for module in modules:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(module)
            code = 0
        except BaseException:
            os.write(write, traceback.format_exc().strip().splitlines()[-1].encode())
            code = 1
        os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        said = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    if status:
        failures.append(f"{module}: {said or status}")
print(json.dumps(failures))
"""


def _libraries() -> list[str]:
    """The top-level names of the libraries outside the project that its modules import."""
    ours = set(PACKAGES) | {"config"}
    names = {m for module in MODULES for m in imports(module, top_level_only=True)}
    return sorted(n for n in names if n and n.split(".")[0] not in ours | set(sys.stdlib_module_names))


@pytest.mark.slow
def test_every_module_imports_on_its_own_in_a_fresh_interpreter():
    done = subprocess.run([sys.executable, "-c", _FORK_EACH], cwd=ROOT, capture_output=True, text=True,
                          input=json.dumps([sorted(MODULES), _libraries()]), timeout=300)
    assert done.returncode == 0, done.stderr
    failures = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(MODULES) > 80
    assert not failures, failures
