"""Which runner answers an evaluator's calls, and its way up to the compiled tier.

DESIGN.md section 3b: under `backend="auto"` (with building in the background allowed,
`run.tiers.background()`), an evaluator starts on the NumPy interpreter; its calls add up
their work (`count`), and once hot (`run.tiers.tier_up_work()`), or when `wait()` is called,
it asks the background builder for its compiled module (`request`); the first call after the
build finished switches runners (`adopt`). Otherwise the backend's runner answers from the
first call (built synchronously: in the compile worker for Numba when background building
is allowed, else in this process).

A Numba module is specialised to the inputs that were one number in every batch call so far
(`pattern`; see `codegen.numba.numba_source`): their values are read once per call, so what
depends on them alone is computed once, not per point. A call that does not fit the module
(an array where it expects one number) is answered by the interpreter while a module for the
wider pattern is built in the background (or, without background building, compiled now);
a module that could be narrower (more inputs are always one number) is replaced the same way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from types import ModuleType

import numpy as np

from adcompile.run import jit, tiers
from adcompile.run.backends import BACKENDS, Runner
from adcompile.run.compiled import NumbaRunner
from adcompile.run.vm.source import vm_source

#: Builds a runner of a backend: (backend name) -> the registry's runner for the kernel.
RunnerMaker = Callable[[str], Runner]
Pattern = frozenset[int]


class Tiers:
    """An evaluator's runners: the interpreter first when `tiered`, else `backend()`'s.

    `backend` names the compiled tier's backend (resolved lazily: "auto" looks at the kernel
    size); `numba_source(pattern)` prints the Numba module for an input pattern; `make`
    builds a registry runner; `switched` is called whenever the answering runner changes
    (to drop cached entry points).
    """

    def __init__(
        self,
        tiered: bool,
        backend: Callable[[], str],
        numba_source: Callable[[Pattern], str],
        make: RunnerMaker,
        switched: Callable[[], None],
    ) -> None:
        self.tiered = tiered
        self.runner: Runner | None = None
        self.build: tiers.Build | None = None
        self.pattern: Pattern | None = None  # inputs one number in every batch call so far
        self._built_for: Pattern = frozenset()  # the pattern `build` is for
        self._interpreter: Runner | None = None
        # a foreground Numba module built before any batch call (by a single-point call)
        # is replaced once, at the first batch call, by one for that call's pattern
        self._provisional = False
        self._work = 0
        self._threshold = tiers.tier_up_work()
        self._backend = backend
        self._numba_source = numba_source
        self._make = make
        self._switched = switched
        self._lock = threading.Lock()

    @property
    def tier(self) -> str:
        self.adopt()
        return "interpreter" if self.tiered or self._backend() == "numpy" else "compiled"

    @property
    def scalars(self) -> Pattern:
        """The input pattern of the Numba module in use (or that would be built now)."""
        if isinstance(self.runner, NumbaRunner) and self.runner.scalars is not None:
            return self.runner.scalars
        return self.pattern or frozenset()

    def run(self) -> Runner:
        """The runner answering now (made on first use)."""
        if self.runner is None:
            with self._lock:
                if self.runner is None:
                    self.runner = self._runner("numpy" if self.tiered else self._backend(), None)
        return self.runner

    def for_batch(self, ins: Sequence[np.ndarray], points: int) -> Runner:
        """The runner for a batch call with inputs `ins` (counting its work, noting its
        pattern, and moving to a module that fits where needed)."""
        call = frozenset(k for k, a in enumerate(ins) if a.size == 1)
        self.pattern = call if self.pattern is None else self.pattern & call
        self.adopt()
        if self.tiered:
            self.count(points)
            return self.run()
        runner = self.run()
        if not isinstance(runner, NumbaRunner) or runner.scalars is None:
            return runner
        if runner.scalars == self.pattern:
            return runner
        if not tiers.background():  # compile the module that fits, now
            if runner.scalars <= call and not self._provisional:
                return runner  # it fits: no second compile in the foreground
            with self._lock:
                self.runner = self._runner("numba", None)
                self._provisional = False
                self._switched()
            return self.runner
        self._request(self.pattern)  # a better module, built in the background
        if runner.scalars <= call:
            return runner  # this call fits the module in use meanwhile
        if self._interpreter is None:
            self._interpreter = self._make("numpy")
        return self._interpreter

    def count(self, points: int) -> None:
        """Add a call's work on the interpreter; ask for the compiled tier when hot."""
        self._work += max(points, tiers.CALL_WORK)
        if self._work >= self._threshold and self.build is None:
            self.request()

    def request(self) -> tiers.Build:
        """Ask for the compiled tier (once): the Numba module, or the VM's."""
        return self._request(self.pattern or frozenset())

    def _request(self, pattern: Pattern) -> tiers.Build:
        with self._lock:
            if self.build is None or (self.build.done and self._built_for != pattern):
                numba = self._backend() == "numba"
                source = self._numba_source(pattern) if numba else vm_source()
                self.build, self._built_for = tiers.request(source), pattern
            return self.build

    def adopt(self) -> None:
        """Switch to the module of a finished build (the compiled tier, or a Numba module
        for another input pattern)."""
        build = self.build
        if build is None or not build.done or build.error is not None:
            return
        current = self.runner
        if not self.tiered and not (
            isinstance(current, NumbaRunner) and current.scalars != self._built_for
        ):
            return
        with self._lock:
            if self.build is build and (self.tiered or self.runner is current):
                self.runner = self._runner(self._backend(), build.module, self._built_for)
                self.tiered = False
                self._switched()

    def wait(self, timeout: float | None) -> None:
        """Block until the compiled tier answers (see `Evaluator.wait`), and a module being
        built for a new input pattern is in place."""
        if not self.tiered and self.build is None:
            if self._backend() != "numpy":
                self.run()
            return
        build = self.request() if self.tiered else self.build
        assert build is not None
        if not build.wait(timeout):
            raise TimeoutError(f"the compiled tier was not ready within {timeout} s")
        self.adopt()
        if build.error is not None:
            raise build.error

    def _runner(
        self, backend: str, module: ModuleType | None, pattern: Pattern | None = None
    ) -> Runner:
        """The runner of `backend`; for Numba (and the VM), with its module if already
        loaded, else built now (in the compile worker when background building is allowed:
        the VM's one-time compile then happens there too)."""
        scalars = (self.pattern or frozenset()) if pattern is None else pattern
        self._provisional = backend == "numba" and self.pattern is None and pattern is None
        if backend in ("numba", "vm") and module is None:
            source = self._numba_source(scalars) if backend == "numba" else vm_source()
            if tiers.background():
                build = tiers.request(source)
                build.wait()
                if build.error is not None:
                    raise build.error
                module = build.module
            elif backend == "numba":
                module = jit.load(source)
        runner = self._make(backend)
        if module is not None and isinstance(runner, NumbaRunner):
            runner.adopt(module, scalars)
        return runner


__all__ = ["BACKENDS", "Pattern", "RunnerMaker", "Tiers"]
