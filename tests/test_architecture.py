"""Layering and determinism: the properties the design relies on but no feature test shows."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "adcompile"

#: Pipeline order (STYLE.md 6.1): a module may import only modules listed before it.
LAYERS = [
    "errors",
    "ops",
    "simplify",
    "ir",
    "parse",
    "reverse",
    "forward",
    "symbolic",
    "codegen",
    "products",
    "results",
    "interpret",
    "_numba_rt",
    "cache",
    "jit",
    "vm",
    "backends",
    "viz",
    "api",
    "check",
    "trace",
    "cli",
    "__init__",
    "__main__",
]


def _runtime_imports(path: Path) -> set[str]:
    """adcompile modules imported by `path`, ignoring `if TYPE_CHECKING:` blocks."""
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
            parts = node.module.split(".")
            if len(parts) > 1:
                found.add(parts[1])
            else:  # `from adcompile import codegen, __version__`
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names if a.name.startswith("adcompile.")]
            found.update(n.split(".")[1] for n in names)
    return found


def test_modules_import_only_earlier_layers() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert modules == set(LAYERS), f"update LAYERS: {sorted(modules ^ set(LAYERS))}"
    for name in LAYERS:
        allowed = set(LAYERS[: LAYERS.index(name)])
        imported = _runtime_imports(PACKAGE / f"{name}.py") - {"__version__"}
        late = imported - allowed
        assert not late, f"{name} imports {late}, which come later in the pipeline"


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
