"""Helpers shared by the benchmark scripts: timing, tables, machine info, child processes."""

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numba
import numpy as np

import adcompile as adc


def sizes(text):
    """A comma-separated list of sizes on the command line: "1e5,1e6" -> [100000, 1000000]."""
    return [int(float(s)) for s in text.split(",") if s]


def median_time(fn, repeat):
    """Median wall time of `repeat` calls of fn(), in seconds."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def print_table(head, rows):
    """Print rows of strings under head, right-aligned columns."""
    widths = [max(len(h), *(len(row[k]) for row in rows)) for k, h in enumerate(head)]
    for row in [head, *rows]:
        print("  ".join(cell.rjust(w) for cell, w in zip(row, widths)))


def machine_info(**modules):
    """Versions of the main packages (plus any given modules) and the machine."""
    mods = {"numpy": np, "numba": numba, "adcompile": adc, **modules}
    info = {k: getattr(m, "__version__", "?") for k, m in mods.items()}
    info.update(platform=platform.platform(), processor=platform.processor())
    info.update(python=platform.python_version(), cpu_count=os.cpu_count())
    return info


def write_json(path, doc):
    with open(path, "w") as fh:
        json.dump(doc, fh, indent=2)
    print(f"wrote {path}")


def child_env(cache_dir):
    """Environment for a child Python: this process's adcompile, the given cache directory."""
    env = dict(os.environ, ADCOMPILE_CACHE_DIR=str(cache_dir))
    root = str(Path(adc.__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
    return env


def run_child(code, spec, cache_dir, timeout):
    """Run `python -c code` with spec (JSON) on stdin; its last stdout line is JSON.

    Returns that JSON with "status": "ok", or {"status": "timeout" | "error", ...}; the
    wall time of the whole process (interpreter start included) is "process_s".
    """
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            env=child_env(cache_dir),
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "timeout_s": timeout}
    wall = time.perf_counter() - t0
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        return {"status": "error", "returncode": proc.returncode, "error": " | ".join(tail)}
    return {"status": "ok", "process_s": wall, **json.loads(lines[-1])}
