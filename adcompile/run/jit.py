"""Generated source to callables: a content-addressed module file, checked, imported, cached.

The source is written to `<cache root>/adc_<sha256 prefix>.py` (the root is described in
`adcompile.run.cache`: `ADCOMPILE_CACHE_DIR`, else `$XDG_CACHE_HOME/adcompile`, else
`~/.cache/adcompile`; private to this user), registered in `sys.modules` and executed as a
real module, so Numba's `cache=True` works across processes and tracebacks point at real
lines. The text executed is only what `codegen` printed: names and numbers produced by the
compiler, never user text. Before the import, the file on disk must equal the source byte
for byte and Numba's files must match the module's manifest (`cache.verify`); what fails is
rebuilt. When the cache cannot be written, the module is compiled in memory instead.
"""

from __future__ import annotations

import hashlib
import importlib.util
import linecache
import os
import re
import sys
import threading
from pathlib import Path
from types import ModuleType

from adcompile.run import cache

_lock = threading.RLock()
_loaded: dict[str, ModuleType] = {}


def _fresh_lock() -> None:  # a forked child: the thread that held the lock is not there
    global _lock
    _lock = threading.RLock()


os.register_at_fork(after_in_child=_fresh_lock)

# Numba decorators as codegen prints them, each on a line of its own (user text only ever
# appears in comment lines): compiled in memory, they must not ask for a disk cache.
_CACHED_DECORATOR = re.compile(r"^(@numba\.\w+\(.*)\bcache=True\b", re.MULTILINE)


def cache_dir() -> Path:
    """The directory holding generated modules (checked and created on first use)."""
    return cache.current().root


def module_name(source: str) -> str:
    """The content-addressed module name of a generated source."""
    return "adc_" + hashlib.sha256(source.encode("utf-8")).hexdigest()[:20]


def is_loaded(source: str) -> bool:
    """Whether `source`'s module is already imported in this process."""
    return module_name(source) in _loaded


def is_cached(source: str) -> bool:
    """Whether `source`'s module is compiled in the disk cache (loading it compiles nothing,
    unless the files turn out damaged)."""
    where = cache.current()
    return where.writable and cache.recorded(where, module_name(source))


def load(source: str) -> ModuleType:
    """Import generated `source` as a module (once per process; written to disk once)."""
    name = module_name(source)
    with _lock:
        module = _loaded.get(name)
        if module is None:
            where = cache.current()
            module = _from_disk(where, name, source) if where.writable else None
            if module is None:
                module = _in_memory(name, source)
            _loaded[name] = module
        return module


def _from_disk(where: cache.Cache, name: str, source: str) -> ModuleType | None:
    """Check, heal and import the cached module; None if the cache cannot be written."""
    path = where.root / f"{name}.py"
    data = source.encode("utf-8")
    try:
        with cache.locked(where, name):
            dropped = cache.verify(where, name)
            on_disk = cache.read_bytes(path)
            if on_disk != data:
                if on_disk is not None:  # missing is normal; different is damage
                    dropped.append(path.name)
                cache.write_atomic(path, data)
            cache.warn_dropped(name, dropped)
            module = _execute(name, source, str(path))  # compiles, or loads Numba's files
            cache.record(where, name)
    except OSError as exc:  # read-only or full disk
        cache.disable(where, exc)
        cache.discard(where, name)
        return None
    cache.guard(where, module)
    return module


def _in_memory(name: str, source: str) -> ModuleType:
    """Compile the module without a file and without Numba's disk cache."""
    filename = f"<adcompile {name}>"
    text = uncached_source(source)
    linecache.cache[filename] = (len(text), None, text.splitlines(keepends=True), filename)
    return _execute(name, text, filename)


def uncached_source(source: str) -> str:
    """`source` with every Numba decorator's `cache=True` turned off: with no file behind
    the functions, Numba would find no place for its cache and refuse to compile them."""
    return _CACHED_DECORATOR.sub(r"\1cache=False", source)


def _execute(name: str, text: str, filename: str) -> ModuleType:
    """Run `text` as module `name`, from source (no bytecode cache: a .pyc beside the module
    would be one more file to trust)."""
    module = ModuleType(name)
    if not filename.startswith("<"):
        module.__spec__ = importlib.util.spec_from_file_location(name, filename)
        module.__file__ = filename
    sys.modules[name] = module  # before exec: Numba's cache locator imports it by name
    try:
        exec(compile(text, filename, "exec"), vars(module))
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
