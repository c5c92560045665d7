"""The disk cache: a private root directory, per-module manifests of content hashes, healing.

Layout: the root holds the generated modules (`adc_<sha256 prefix>.py`, named by a hash of
their content); Numba writes each module's index and data files (`.nbi`, `.nbc`) to the
module's Numba directory (`<root>/__pycache__`, or under `NUMBA_CACHE_DIR` when that is set),
next to which this module keeps `adc_<...>.manifest.json`: the sha256 of every Numba file.

Rules (DESIGN 3c): the root and the Numba directory must be owned by this user and not
group/world-writable, else a fresh private `tempfile.mkdtemp` directory replaces them for the
rest of the process; Numba's files are checked against the manifest before Numba can read
them (it unpickles them and loads their machine code, so a damaged file can crash the
process and a planted one runs code), and whatever fails is deleted and rebuilt; a cache that
cannot be written degrades to compiling in memory. Each of these says so with one
`CacheWarning`. POSIX only (ownership checks and `fcntl` locks).
"""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import os
import shutil
import stat
import tempfile
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from adcompile.errors import CacheWarning

_NUMBA_SUFFIXES = (".nbi", ".nbc")  # Numba's index and data files: the ones it deserialises
_MANIFEST_VERSION = 1


@dataclass
class Cache:
    """Where one process caches: the module root, Numba's directory, and whether to write.

    `writable` turns False for the rest of the process after a write fails (read-only or
    full disk): modules are then compiled in memory, without Numba's disk cache.
    """

    root: Path
    numba: Path
    writable: bool = True


_lock = threading.RLock()


def _fresh_lock() -> None:  # a forked child: the thread that held the lock is not there
    global _lock
    _lock = threading.RLock()


os.register_at_fork(after_in_child=_fresh_lock)

_caches: dict[str, Cache] = {}  # keyed by the configured root (tests change the variable)
_memory_warned = False


def configured_root() -> Path:
    """`ADCOMPILE_CACHE_DIR`, else `$XDG_CACHE_HOME/adcompile`, else `~/.cache/adcompile`."""
    configured = os.environ.get("ADCOMPILE_CACHE_DIR")
    if configured:
        return Path(configured)
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    # The XDG spec says to ignore a relative XDG_CACHE_HOME.
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "adcompile"


def current() -> Cache:
    """The cache for the configured root: checked, created or replaced once per process."""
    key = str(configured_root())
    with _lock:
        found = _caches.get(key)
        if found is None:
            found = _caches[key] = _open(Path(key))
        return found


def _open(root: Path) -> Cache:
    """Check `root`; on refusal use a private directory instead; probe that it is writable."""
    reason = _distrust(root)
    if reason is not None:
        private = _private()
        where = f"the private directory {private}" if private else "memory"
        _warn(
            f"adcompile cache directory {root} {reason}: not used; compiled code is cached "
            f"in {where} for this process instead"
        )
        if private is None:
            return Cache(root, numba_dir(root), writable=False)
        root = private
    cache = Cache(root, numba_dir(root))
    try:  # the same probe as Numba's: with no writable directory it would cache elsewhere
        cache.numba.mkdir(mode=0o700, parents=True, exist_ok=True)
        for directory in (cache.root, cache.numba):
            tempfile.TemporaryFile(dir=directory).close()
    except OSError as exc:
        disable(cache, exc)
    return cache


def _distrust(root: Path) -> str | None:
    """Create `root` (0700) if needed and say why it (or its Numba directory) is unsafe."""
    try:
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        return f"cannot be created ({exc.strerror or exc})"
    reason = refusal(root)
    numba = numba_dir(root)
    if reason is None and os.path.lexists(numba):
        found = refusal(numba)
        reason = None if found is None else f"has a Numba cache directory {numba} that {found}"
    return reason


def _private() -> Path | None:
    """A fresh directory only this process knows, removed at exit (None if none can be made)."""
    try:
        private = Path(tempfile.mkdtemp(prefix="adcompile-"))
    except OSError:
        return None
    atexit.register(shutil.rmtree, private, ignore_errors=True)
    return private


def refusal(path: Path) -> str | None:
    """Why `path` is not a private directory of this user, or None if it is."""
    uid = os.geteuid()  # the owner of whatever this process creates
    try:
        link, info = path.lstat(), path.stat()
    except OSError as exc:
        return f"cannot be inspected ({exc.strerror or exc})"
    if stat.S_ISLNK(link.st_mode) and link.st_uid != uid:
        return f"is a symbolic link owned by uid {link.st_uid}"
    if not stat.S_ISDIR(info.st_mode):
        return "is not a directory"
    if info.st_uid != uid:
        return f"is owned by uid {info.st_uid}, not by this user (uid {uid})"
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return f"is writable by group or others (mode {stat.S_IMODE(info.st_mode):o}; chmod 700)"
    return None


def numba_dir(root: Path) -> Path:
    """Where Numba caches functions of modules in `root` (its first cache locator that fits)."""
    from numba.core import caching, config

    configured = str(getattr(config, "CACHE_DIR", ""))
    if configured:  # NUMBA_CACHE_DIR: UserProvidedCacheLocator
        locator: Any = caching._CacheLocator
        return Path(configured) / str(locator.get_suitable_cache_subpath(str(root / "m.py")))
    return root / "__pycache__"  # InTreeCacheLocator


def disable(cache: Cache, exc: OSError) -> None:
    """Stop writing to `cache` (read-only or full disk): one warning per process."""
    global _memory_warned
    cache.writable = False
    with _lock:
        if _memory_warned:
            return
        _memory_warned = True
    _warn(
        f"adcompile cache directory {cache.root} cannot be written ({exc.strerror or exc}): "
        "compiling in memory, without a disk cache, for the rest of this process"
    )


def _warn(message: str) -> None:
    warnings.warn(message, CacheWarning, stacklevel=3)


# --- files ----------------------------------------------------------------------------------


def write_atomic(path: Path, data: bytes) -> None:
    """Write `data` to `path` through a private temporary file and a rename (no torn file;
    the temporary file is removed whatever happens)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def read_bytes(path: Path) -> bytes | None:
    """The content of a regular file, or None if it is missing or cannot be read."""
    try:
        if not stat.S_ISREG(path.lstat().st_mode):
            return None
        return path.read_bytes()
    except OSError:
        return None


@contextlib.contextmanager
def locked(cache: Cache, name: str) -> Iterator[None]:
    """Hold the inter-process lock of module `name`: checking, writing and reading Numba's
    files happen under it, so no process sees another's half-written index or manifest."""
    import fcntl  # here, not at the top: POSIX only, and `import adcompile` must not need it

    fd = os.open(cache.numba / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _numba_files(cache: Cache, name: str) -> list[Path]:
    """Numba's index and data files of module `name` (not its temporary files)."""
    return [p for p in cache.numba.glob(f"{name}.*") if p.suffix in _NUMBA_SUFFIXES]


def recorded(cache: Cache, name: str) -> bool:
    """Whether module `name` is in the cache, compiled: its source file is there and its
    manifest lists Numba files (written only after a whole module compiled). Its content
    is checked when it is loaded (`verify`), not here."""
    return (cache.root / f"{name}.py").exists() and bool(_read_manifest(cache, name))


def _manifest_path(cache: Cache, name: str) -> Path:
    return cache.numba / f"{name}.manifest.json"


def _read_manifest(cache: Cache, name: str) -> dict[str, str] | None:
    """File name -> sha256 of module `name`'s Numba files; {} if absent, None if damaged."""
    path = _manifest_path(cache, name)
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_bytes())
        files = data["files"]
        if data["version"] == _MANIFEST_VERSION and all(
            isinstance(k, str) and isinstance(v, str) for k, v in files.items()
        ):
            return dict(files)
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        pass
    return None


def _digest(path: Path) -> str | None:
    data = read_bytes(path)
    return None if data is None else hashlib.sha256(data).hexdigest()


def verify(cache: Cache, name: str) -> list[str]:
    """Delete module `name`'s Numba files that its manifest does not list with their exact
    content (damaged, truncated, left by a crash, or planted); return their names.

    Call it holding `locked(cache, name)`. A damaged manifest counts as empty (and as
    damaged when it listed anything)."""
    manifest = _read_manifest(cache, name)
    dropped = [] if manifest is not None else [_manifest_path(cache, name).name]
    listed = manifest or {}
    for path in _numba_files(cache, name):
        if listed.get(path.name) != _digest(path):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
            dropped.append(path.name)
    if manifest is None:
        with contextlib.suppress(FileNotFoundError):
            _manifest_path(cache, name).unlink()
    return dropped


def record(cache: Cache, name: str) -> None:
    """List module `name`'s Numba files with their hashes (after Numba wrote some).

    Call it holding `locked(cache, name)`, after `verify`: every file then present was either
    checked or written by this process. Written only when something changed."""
    old = _read_manifest(cache, name) or {}
    files = {}
    for path in sorted(_numba_files(cache, name)):
        digest = _digest(path)
        if digest is not None:
            files[path.name] = digest
            if old.get(path.name) != digest:
                # Numba creates its files with the umask's mode; keep them private like ours.
                path.chmod(0o600)
    if files != old or not _manifest_path(cache, name).exists():
        text = json.dumps({"version": _MANIFEST_VERSION, "files": files}, indent=1)
        write_atomic(_manifest_path(cache, name), text.encode())


def warn_dropped(name: str, dropped: list[str]) -> None:
    """One warning for everything removed from the cache entry of module `name`."""
    if dropped:
        _warn(
            f"adcompile cache entry {name} was damaged ({', '.join(sorted(dropped))}): "
            "removed and rebuilt"
        )


def discard(cache: Cache, name: str) -> None:
    """Best effort after a failed write: drop the unlisted files Numba may have left."""
    with contextlib.suppress(OSError), locked(cache, name):
        verify(cache, name)


# --- Numba's later compiles ----------------------------------------------------------------


def guard(cache: Cache, module: ModuleType) -> None:
    """Route the disk cache of `module`'s Numba functions through `_GuardedCache`.

    Generated functions have explicit signatures and are compiled (or loaded) on import;
    should Numba compile one more specialisation later (a dispatcher called by hand with
    other types), it reads the index (and a data file) again and writes new ones. Only that
    slow path goes through the guard; calls of compiled code never touch it."""
    from numba.core.caching import Cache as NumbaCache

    for value in vars(module).values():
        inner = getattr(value, "_cache", None)
        if isinstance(inner, NumbaCache) and value.__module__ == module.__name__:
            value._cache = _GuardedCache(inner, cache, module.__name__)


class _GuardedCache:
    """A Numba function cache that checks the files before Numba reads them (under the
    module's lock) and lists in the manifest what Numba wrote."""

    def __init__(self, inner: Any, cache: Cache, name: str) -> None:
        self._inner = inner
        self._cache = cache
        self._name = name

    def __getattr__(self, attr: str) -> Any:
        return getattr(self._inner, attr)

    def load_overload(self, sig: Any, target_context: Any) -> Any:
        if not self._cache.writable:
            return None
        try:
            with locked(self._cache, self._name):
                warn_dropped(self._name, verify(self._cache, self._name))
                return self._inner.load_overload(sig, target_context)
        except OSError:
            return None  # cannot read the cache now: compile instead
        except Exception as exc:  # listed, so intact, yet unreadable (say, another Numba)
            with contextlib.suppress(OSError), locked(self._cache, self._name):
                _manifest_path(self._cache, self._name).unlink(missing_ok=True)
                verify(self._cache, self._name)
            warn_dropped(self._name, [f"unreadable: {type(exc).__name__}"])
            return None

    def save_overload(self, sig: Any, data: Any) -> None:
        if not self._cache.writable:
            return
        try:
            with locked(self._cache, self._name):
                # Numba's save reads the index first: check it like a load does.
                warn_dropped(self._name, verify(self._cache, self._name))
                self._inner.save_overload(sig, data)
                record(self._cache, self._name)
        except OSError as exc:
            disable(self._cache, exc)
            discard(self._cache, self._name)
