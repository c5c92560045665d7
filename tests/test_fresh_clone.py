"""The repository is self-contained: a fresh clone with nothing beside it collects every test
(the acceptance corpus lives in tests/data), and no test or CI file reads outside it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_nothing_reads_outside_the_repository() -> None:
    outside = re.compile(r"\.\./shared|parent\.parent\.parent|/work/shared")
    for path in [*ROOT.glob("tests/**/*.py"), ROOT / ".ci" / "run", *ROOT.glob("benchmarks/*.py")]:
        text = path.read_text(encoding="utf-8")
        assert not outside.search(text) or path.name == "test_fresh_clone.py", path


@pytest.mark.slow
def test_a_fresh_clone_collects_every_test(tmp_path: Path) -> None:
    if not (ROOT / ".git").exists() or shutil.which("git") is None:
        pytest.skip("not a git checkout")
    clone = tmp_path / "empty" / "clone"
    clone.mkdir(parents=True)
    # what a clone of the next commit holds: the files git would commit (tracked or not
    # ignored) as they are in the working tree, and nothing from beside the repository
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, listed):
        src = ROOT / name.decode()
        if src.is_file():
            (clone / name.decode()).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, clone / name.decode())
    env = {**os.environ, "PYTHONPATH": str(clone)}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider"],
        cwd=clone,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    per_file = re.findall(r"^(tests/[\w/]+\.py): (\d+)$", proc.stdout, re.MULTILINE)
    files = {name for name, _ in per_file}
    tests = {str(p.relative_to(ROOT)) for p in (ROOT / "tests").rglob("test_*.py")}
    assert files == tests, proc.stdout[-2000:]
    assert sum(int(n) for _, n in per_file) > 1000, proc.stdout[-500:]
