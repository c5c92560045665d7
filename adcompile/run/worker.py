"""The compile worker: a separate process that compiles generated modules into the disk cache.

Numba never frees what it compiles in a process (machine code, type and compiler state:
about 4 MiB per formula), so the compiled tier is built here, in a process that runs `main`
in a fresh interpreter (`python -c ...`: never a fork of a process with threads), and the
user's process only loads the finished code from the cache (`run.jit`).
The worker is recycled: it exits after `MAX_COMPILES` compiles, when its memory passes
`MAX_RSS`, when idle for `IDLE_S` seconds, and when its parent goes away (its stdin closes)
or stops it (SIGTERM: a module being compiled then is discarded, so no half-written entry
stays in the cache).

Protocol, over the worker's stdin and stdout: a request is a line with the byte length of a
module's source, then the source (UTF-8); the answer is one JSON line, `{"ok": true}` once
the module is compiled and cached, or `{"ok": false, "error": "..."}`. The worker runs with
`ADCOMPILE_WORKER=1` in its environment, so it compiles in itself and never starts a worker
of its own.
"""

from __future__ import annotations

import json
import os
import select
import signal
import sys
from typing import BinaryIO, Final

from adcompile.run import cache, jit

#: A worker exits (after answering) once it has compiled this many modules ...
MAX_COMPILES: Final = 100
#: ... or once its resident memory passes this many bytes ...
MAX_RSS: Final = 1 << 30
#: ... or after this many seconds without a request.
IDLE_S: Final = 300.0
#: Set in the worker's environment: this process is a compile worker.
WORKER_ENV: Final = "ADCOMPILE_WORKER"


def rss_bytes() -> int:
    """This process's resident memory (Linux `/proc`; 0 where it cannot be read)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _request(stdin: BinaryIO) -> str | None:
    """The next module source, or None at the end of input or after `IDLE_S` idle."""
    ready, _, _ = select.select([stdin], [], [], IDLE_S)
    if not ready:
        return None
    head = stdin.readline()
    if not head.strip().isdigit():
        return None
    data = stdin.read(int(head))
    return data.decode("utf-8") if data else None


def serve(stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Answer compile requests until recycled; the number of modules compiled."""
    done = 0
    while done < MAX_COMPILES:
        source = _request(stdin)
        if source is None:
            break
        try:
            jit.load(source)
            answer: dict[str, object] = {"ok": True}
        except Exception as exc:  # the parent reports it; this worker goes on
            answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
        except SystemExit:  # stopped mid-compile: leave nothing half-written behind
            where = cache.current()
            if where.writable:
                cache.discard(where, jit.module_name(source))
            raise
        done += 1
        answer["rss"] = rss_bytes()
        stdout.write(json.dumps(answer).encode("ascii") + b"\n")
        stdout.flush()
        if answer["rss"] > MAX_RSS:  # type: ignore[operator]
            break
    return done


def _stop(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main() -> None:
    os.environ[WORKER_ENV] = "1"
    signal.signal(signal.SIGTERM, _stop)  # the parent's exit: stop, even mid-compile
    answers = os.fdopen(os.dup(1), "wb")  # the protocol's own copy of stdout ...
    os.dup2(2, 1)  # ... so that anything else printed goes to stderr
    serve(sys.stdin.buffer, answers)
