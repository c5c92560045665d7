"""Building the compiled tier off the critical path: the policy and the background builder.

An evaluator answers from its instant tier (an interpreter) and asks for its compiled tier
when it runs hot (`TIER_UP_WORK`) or is told to wait for it. `request(source)` returns a
`Build` at once; a daemon thread (one per process) takes the builds in order, has the compile
worker (`run.worker`, a separate process) compile each module into the disk cache, then
loads the finished module here from the cache (`run.jit.load`), so Numba's compiler state
never accumulates in this process. Where no worker can help (the cache is in memory only,
this process is itself a worker, the worker cannot start or keeps failing), the module is
compiled here instead, still on the background thread.

Settings, read at each use: `ADCOMPILE_BACKGROUND=0` turns all of this off (an evaluator
compiles synchronously before its first result, as `backend="numba"` does);
`ADCOMPILE_TIER_UP` sets the work threshold, in points (`0`: ask at the first call).
One compile worker runs per cache directory at a time (a lock shared by every process
using the cache; see `_Builder`).
At exit the worker is stopped, not waited for (SIGTERM, then SIGKILL after `STOP_WAIT_S`):
it discards a module it was compiling, and a module never recorded in the cache's manifest
is rebuilt by the next process anyway (`run.cache.verify`).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from types import ModuleType
from typing import Final

from adcompile.run import cache, jit
from adcompile.run.worker import WORKER_ENV

#: An evaluator asks for its compiled tier once its calls add up to this much work: each
#: call counts its number of points, and at least `CALL_WORK` (the per-call cost of an
#: interpreter: a thousand one-point calls count as much as one call on a million points).
TIER_UP_WORK: Final = 1_000_000
CALL_WORK: Final = 1_000
#: A process gives its compile worker (and the worker lock) up after this many seconds
#: without builds; the lock file, in the cache directory, lets one worker run at a time.
GRACE_S: Final = 10.0
WORKER_LOCK: Final = "compile-worker.lock"
#: How long exit waits for a stopped worker to clean up before killing it.
STOP_WAIT_S: Final = 0.5
BACKGROUND_ENV: Final = "ADCOMPILE_BACKGROUND"
TIER_UP_ENV: Final = "ADCOMPILE_TIER_UP"


def background() -> bool:
    """Whether compiled tiers are built in the background (`ADCOMPILE_BACKGROUND` != "0")."""
    return os.environ.get(BACKGROUND_ENV, "1").strip() != "0"


def tier_up_work() -> int:
    """The work threshold: `ADCOMPILE_TIER_UP` (points, e.g. `1e6`), else `TIER_UP_WORK`.
    A value that is not a number is ignored with a `RuntimeWarning`."""
    text = os.environ.get(TIER_UP_ENV, "").strip()
    if not text:
        return TIER_UP_WORK
    try:
        return max(0, int(float(text)))
    except (ValueError, OverflowError):
        warnings.warn(
            f"{TIER_UP_ENV}={text!r} is not a number of points; using {TIER_UP_WORK:,}",
            RuntimeWarning,
            stacklevel=2,
        )
        return TIER_UP_WORK


class Build:
    """A compiled module on its way: `wait()` for it, or check `done`."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.module: ModuleType | None = None
        self.error: BaseException | None = None
        self._event = threading.Event()

    @property
    def done(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until built (or failed); False if `timeout` passed first."""
        return self._event.wait(timeout)

    def finish(self, module: ModuleType | None, error: BaseException | None) -> None:
        self.module, self.error = module, error
        self._event.set()


class _Worker:
    """The parent's end of one compile worker process."""

    def __init__(self, root: str) -> None:
        if not sys.executable:  # an embedded interpreter: no Python to start
            raise OSError("no Python executable to run a compile worker")
        env = dict(os.environ)
        env[WORKER_ENV] = "1"
        env["ADCOMPILE_CACHE_DIR"] = root
        # the worker imports this very adcompile, wherever this process found it
        here = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (here, env.get("PYTHONPATH")) if p)
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "from adcompile.run.worker import main; main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            start_new_session=True,  # a Ctrl-C in a terminal is the parent's to handle
        )
        self.root = root

    def compile(self, source: str) -> dict[str, object] | None:
        """Have the worker compile `source`; its answer, or None if it went away."""
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        data = source.encode("utf-8")
        try:
            stdin.write(b"%d\n" % len(data) + data)
            stdin.flush()
            line = stdout.readline()
            answer = json.loads(line) if line else None
        except (OSError, ValueError):
            answer = None
        return answer if isinstance(answer, dict) else None

    def kill(self) -> None:
        """Stop the worker: SIGTERM (it discards a module it is compiling), then SIGKILL
        if it has not gone within `STOP_WAIT_S`."""
        with contextlib.suppress(OSError):
            self.proc.terminate()
        try:
            self.proc.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(OSError):
                self.proc.kill()


class _Builder:
    """The process's background builder: a queue, a daemon thread, a worker.

    One compile worker per cache directory at a time, machine-wide: a process runs one only
    while it holds the cache's worker lock (`WORKER_LOCK`), taken when a build needs the
    worker and given back (the worker stopped) after `GRACE_S` seconds without builds, so
    processes sharing a cache (Dask workers, a multiprocessing pool) take turns instead of
    each keeping a worker of its own.
    """

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[Build] = queue.SimpleQueue()
        self.worker: _Worker | None = None
        self.turn: int | None = None  # the worker lock's descriptor, while held
        self.failures = 0
        self.closed = False
        self.thread = threading.Thread(target=self._loop, name="adcompile-build", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self.closed:
            try:
                build = self.queue.get(timeout=GRACE_S if self.turn is not None else None)
            except queue.Empty:
                self._give_back()
                continue
            try:
                module = self._build(build.source)
            except BaseException as exc:
                build.finish(None, exc)
            else:
                build.finish(module, None)

    def _build(self, source: str) -> ModuleType:
        error = self._in_worker(source)
        if error is not None:
            raise RuntimeError(f"the compiled tier failed to build: {error}")
        return jit.load(source)  # from the cache the worker filled (or compiled here)

    def _in_worker(self, source: str) -> str | None:
        """Compile `source` into the cache in the worker; an error message if it failed
        there (a compile error), None when done or when this process must do it itself."""
        if os.environ.get(WORKER_ENV) == "1" or self.failures >= 2:
            return None
        if jit.is_loaded(source) or jit.is_cached(source):
            return None  # only to be loaded
        where = cache.current()
        if not where.writable:
            return None
        if self.turn is None:
            self._take_turn(where)
            if jit.is_cached(source):  # built by another process while this one waited
                return None
        for _ in range(2):  # a worker that went away (recycled, killed) is replaced once
            if self.worker is None or self.worker.proc.poll() is not None:
                try:
                    self.worker = _Worker(str(where.root))
                except OSError:
                    self.failures = 2
                    return None
            answer = self.worker.compile(source)
            if answer is not None:
                return None if answer.get("ok") else str(answer.get("error"))
            if self.closed:
                return None
            self.worker.kill()
            self.worker = None
        self.failures += 1  # a crash in the worker: compile here from now on
        return None

    def _take_turn(self, where: cache.Cache) -> None:
        """Wait for the cache's worker lock (held while this process runs a worker)."""
        import fcntl  # POSIX only, like the cache's own locks

        try:
            fd = os.open(where.root / WORKER_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError:
            return  # no lock to share: run a worker anyway
        fcntl.flock(fd, fcntl.LOCK_EX)
        self.turn = fd

    def _give_back(self) -> None:
        """Stop the worker and release the worker lock (no builds for `GRACE_S` seconds)."""
        if self.worker is not None:
            self.worker.kill()
            self.worker = None
        if self.turn is not None:
            with contextlib.suppress(OSError):
                os.close(self.turn)
            self.turn = None

    def close(self) -> None:
        self.closed = True
        self._give_back()


_builder: _Builder | None = None
_builder_lock = threading.Lock()


def request(source: str) -> Build:
    """Start building `source`'s module in the background; the `Build` to wait on."""
    global _builder
    build = Build(source)
    with _builder_lock:
        if _builder is None:
            _builder = _Builder()
        _builder.queue.put(build)
    return build


def worker_pid() -> int | None:
    """The compile worker's process id, if one is running (for benchmarks and tests)."""
    worker = _builder.worker if _builder is not None else None
    return worker.proc.pid if worker is not None and worker.proc.poll() is None else None


def _shutdown() -> None:
    if _builder is not None:
        _builder.close()


def _forget() -> None:  # a forked child has neither the thread nor the worker's pipes
    global _builder, _builder_lock
    _builder_lock = threading.Lock()
    if _builder is not None and _builder.turn is not None:
        with contextlib.suppress(OSError):
            os.close(_builder.turn)  # the parent's lock stays the parent's
    _builder = None


atexit.register(_shutdown)
os.register_at_fork(after_in_child=_forget)

__all__ = ["Build", "background", "request", "tier_up_work", "worker_pid"]
