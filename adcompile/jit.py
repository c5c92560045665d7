"""Generated source to callables: a content-addressed module file, imported and cached.

The source is written to `<cache dir>/adc_<sha256 prefix>.py` (`ADCOMPILE_CACHE_DIR`, default
`~/.cache/adcompile`), registered in `sys.modules` and executed as a real module, so Numba's
`cache=True` works across processes and tracebacks point at real lines. The text executed is
only what `codegen` printed: names and numbers produced by the compiler, never user text.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
import threading
from pathlib import Path
from types import ModuleType

_lock = threading.RLock()
_loaded: dict[str, ModuleType] = {}


def cache_dir() -> Path:
    """The directory holding generated modules (created on first use)."""
    configured = os.environ.get("ADCOMPILE_CACHE_DIR")
    if configured:
        path = Path(configured)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        path = Path(base) / "adcompile"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError:
        path = Path(tempfile.gettempdir()) / f"adcompile-{os.getuid()}"
        path.mkdir(parents=True, exist_ok=True)
    return path


def module_name(source: str) -> str:
    """The content-addressed module name of a generated source."""
    return "adc_" + hashlib.sha256(source.encode("utf-8")).hexdigest()[:20]


def load(source: str) -> ModuleType:
    """Import generated `source` as a module (once per process; written to disk once)."""
    name = module_name(source)
    with _lock:
        module = _loaded.get(name)
        if module is not None:
            return module
        path = cache_dir() / f"{name}.py"
        if not path.is_file() or path.read_text(encoding="utf-8") != source:
            tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(source, encoding="utf-8")
            os.replace(tmp, path)
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # before exec: Numba's cache locator imports it by name
        try:
            spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        _loaded[name] = module
        return module
