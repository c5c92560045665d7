"""Layering and determinism: the properties the design relies on but no feature test shows."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "adcompile"

#: The layers, lowest first (DESIGN.md section 1): a module may import its own package and the
#: layers below it, never one above; packages on one layer (front and ad) not each other.
LAYERS: list[set[str]] = [
    {"_version", "errors"},
    {"ir"},
    {"front", "ad"},
    {"schedule"},
    {"codegen"},
    {"run"},
    {"api"},
    {"tools"},
    {"__init__", "__main__"},
]
#: Modules may grow to about this many lines before they hold two jobs (STYLE.md 6.7).
MAX_LINES = 420


def _unit(path: Path) -> str:
    """The layer unit of a module: its top-level package, or the module itself."""
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    return parts[0]


def _module(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    parts = parts[:-1] if parts[-1] == "__init__" else parts
    return ".".join(("adcompile", *parts))


def _runtime_imports(path: Path) -> set[str]:
    """Dotted adcompile modules imported by `path` (functions' bodies included), ignoring
    `if TYPE_CHECKING:` blocks; `from adcompile.x import y` counts as importing
    `adcompile.x.y` when that is a module, else `adcompile.x`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    typing_only = {
        id(n)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for n in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("adcompile"):
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in MODULES else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("adcompile"))
    return found


FILES = sorted(PACKAGE.rglob("*.py"))
MODULES = {_module(p): p for p in FILES}


def _level(unit: str) -> int:
    return next(k for k, layer in enumerate(LAYERS) if unit in layer)


def test_every_module_is_in_a_layer() -> None:
    units = {_unit(p) for p in FILES}
    known = set().union(*LAYERS)
    assert units <= known, f"place in LAYERS: {sorted(units - known)}"


def test_imports_run_only_downward() -> None:
    for path in FILES:
        unit = _unit(path)
        for name in _runtime_imports(path):
            if name == "adcompile":
                assert unit in {"__init__", "__main__"}, f"{path}: imports the package root"
                continue
            other = _unit(MODULES[name])
            if other == unit:
                continue
            assert _level(other) < _level(unit), f"{_module(path)} imports {name}: upward"


def test_no_import_cycles() -> None:
    """Kahn's algorithm over module imports: whatever cannot be ordered is on a cycle."""
    edges = {
        m: {n for n in _runtime_imports(p) if n in MODULES and n != m} for m, p in MODULES.items()
    }
    # a package's __init__ importing its own modules is not a cycle with them
    for m in edges:
        edges[m] = {n for n in edges[m] if not m.startswith(n + ".") or n == "adcompile"}
    waiting = {m: len(deps) for m, deps in edges.items()}
    users: dict[str, set[str]] = {m: set() for m in edges}
    for m, deps in edges.items():
        for d in deps:
            users[d].add(m)
    ready = [m for m, k in waiting.items() if k == 0]
    while ready:
        for user in users[ready.pop()]:
            waiting[user] -= 1
            if waiting[user] == 0:
                ready.append(user)
    cyclic = sorted(m for m, k in waiting.items() if k)
    assert not cyclic, f"import cycle among {cyclic}"


def test_modules_stay_small() -> None:
    sizes = {_module(p): len(p.read_text(encoding="utf-8").splitlines()) for p in FILES}
    big = {m: n for m, n in sizes.items() if n > MAX_LINES}
    assert not big, f"modules over {MAX_LINES} lines (two jobs?): {big}"


def test_heavy_dependencies_load_lazily() -> None:
    code = "import sys, adcompile; print('numba' in sys.modules, 'sympy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"], out.stdout


def test_generated_code_is_identical_across_hash_seeds(tmp_path: Path) -> None:
    """Content-addressed caching needs byte-identical source in every process."""
    code = (
        "import adcompile as adc\n"
        "f = adc.compile('a = max(x, y) + where(x > y and not y < 0, sin(x), x*y)\\n"
        "b = hypot(a, z) / (1 + exp(-a)) + min(a, z)\\nb')\n"
        "print(f.value_and_grad().numba_source)\n"
        "print(f.grad(['z', 'x']).source)\n"
    )
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "ADCOMPILE_CACHE_DIR": str(tmp_path)}
        run = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
        )
        outputs.add(run.stdout)
    assert len(outputs) == 1
