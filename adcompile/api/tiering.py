"""Which runner answers an evaluator's calls, and its way up to the compiled tier.

DESIGN.md section 3b: under `backend="auto"` (with building in the background allowed,
`run.tiers.background()`), an evaluator starts on the NumPy interpreter; its calls add up
their work (`count`), and once hot (`run.tiers.tier_up_work()`), or when `wait()` is called,
it asks the background builder for its compiled module (`request`); the first call after the
build finished switches runners (`adopt`). Otherwise the backend's runner answers from the
first call (built synchronously: in the compile worker for Numba when background building
is allowed, else in this process).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import ModuleType

from adcompile.run import tiers
from adcompile.run.backends import BACKENDS, Runner
from adcompile.run.compiled import NumbaRunner
from adcompile.run.vm.source import vm_source

#: Builds a runner of a backend: (backend name) -> the registry's runner for the kernel.
RunnerMaker = Callable[[str], Runner]


class Tiers:
    """An evaluator's runners: the interpreter first when `tiered`, else `backend()`'s.

    `backend` names the compiled tier's backend (resolved lazily: "auto" looks at the kernel
    size); `numba_source` prints the Numba module; `make` builds a registry runner;
    `switched` is called when the compiled tier takes over (to drop cached entry points).
    """

    def __init__(
        self,
        tiered: bool,
        backend: Callable[[], str],
        numba_source: Callable[[], str],
        make: RunnerMaker,
        switched: Callable[[], None],
    ) -> None:
        self.tiered = tiered
        self.runner: Runner | None = None
        self.build: tiers.Build | None = None
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

    def run(self) -> Runner:
        """The runner answering now (made on first use)."""
        if self.runner is None:
            with self._lock:
                if self.runner is None:
                    self.runner = self._runner("numpy" if self.tiered else self._backend(), None)
        return self.runner

    def count(self, points: int) -> None:
        """Add a call's work on the interpreter; ask for the compiled tier when hot."""
        self._work += max(points, tiers.CALL_WORK)
        if self._work >= self._threshold and self.build is None:
            self.request()

    def request(self) -> tiers.Build:
        """Ask for the compiled tier (once): the Numba module, or the VM's."""
        with self._lock:
            if self.build is None:
                numba = self._backend() == "numba"
                self.build = tiers.request(self._numba_source() if numba else vm_source())
            return self.build

    def adopt(self) -> None:
        """Switch to the compiled tier if its build has finished."""
        build = self.build
        if build is None or not self.tiered or not build.done or build.error is not None:
            return
        with self._lock:
            if self.tiered:
                self.runner = self._runner(self._backend(), build.module)
                self.tiered = False
                self._switched()

    def wait(self, timeout: float | None) -> None:
        """Block until the compiled tier answers (see `Evaluator.wait`)."""
        if not self.tiered:
            if self._backend() != "numpy":
                self.run()
            return
        build = self.request()
        if not build.wait(timeout):
            raise TimeoutError(f"the compiled tier was not ready within {timeout} s")
        self.adopt()
        if build.error is not None:
            raise build.error

    def _runner(self, backend: str, module: ModuleType | None) -> Runner:
        """The runner of `backend`; for Numba (and the VM), with its module if already
        loaded, else built now (in the compile worker when background building is allowed:
        the VM's one-time compile then happens there too)."""
        if backend in ("numba", "vm") and module is None and tiers.background():
            numba = backend == "numba"
            build = tiers.request(self._numba_source() if numba else vm_source())
            build.wait()
            if build.error is not None:
                raise build.error
            module = build.module
        runner = self._make(backend)
        if module is not None and isinstance(runner, NumbaRunner):
            runner.adopt(module)
        return runner


__all__ = ["BACKENDS", "RunnerMaker", "Tiers"]
