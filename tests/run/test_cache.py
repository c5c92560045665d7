"""The disk cache in fresh processes: damage heals, hostile roots are refused, no disk is no crash.

Every scenario runs `SCRIPT` in new interpreters sharing one cache directory: a process
populates it, the test damages or restricts it, the next process must print the right numbers,
exit 0 and say so in exactly one `CacheWarning` line, and the one after that must find the
cache healed (no warning). The tests run as root in CI, where permission bits do not stop
writes: read-only directories are made real there by dropping CAP_DAC_OVERRIDE from the child,
and full disks by a file-size limit (RLIMIT_FSIZE, which binds root too).
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import pickle
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import adcompile as adc
from adcompile.run import cache, jit

pytestmark = pytest.mark.slow  # each damages a cache and runs fresh interpreters on it

FORMULA = "log(x*y) + sin(x)^2*exp(-y)"
SCRIPT = f"""
import os
import numpy as np
import adcompile as adc

vg = adc.compile({FORMULA!r}).value_and_grad()
xs = np.linspace(1, 2, 5).astype(os.environ.get("ADC_TEST_DTYPE", "float64"))
a, _ = vg(xs, 3.0)  # the module (kernel and driver): compiled (or loaded) on import
exec(os.environ.get("ADC_TEST_BETWEEN", ""))
v, g = vg(2.0, 3.0)  # the scalar kernel of the same module
print(repr(v), repr(g.x), repr(g.y), repr(float(a.sum())))
"""
ROOT_ONLY = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to chown to another uid")


def _run(root: Path, preexec: Callable[[], None] | None = None, **env: str) -> tuple[str, str]:
    """Run SCRIPT with cache root `root`: (stdout, the CacheWarning lines of stderr)."""
    full = {**os.environ, "ADCOMPILE_CACHE_DIR": str(root), "PYTHONWARNINGS": "default", **env}
    full.pop("NUMBA_CACHE_DIR", None)
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=full, capture_output=True, text=True, preexec_fn=preexec
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip(), "\n".join(_warnings(done.stderr))


def _warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CacheWarning" in line]


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A cache filled by one process, and the numbers that process printed (checked here)."""
    root = tmp_path_factory.mktemp("populated")
    out, warned = _run(root)
    assert not warned
    v, gx, gy, total = (float(s) for s in out.split())
    vg = adc.compile(FORMULA, backend="numpy").value_and_grad()
    want_v, want_g = vg(2.0, 3.0)
    np.testing.assert_allclose([v, gx, gy], [want_v, want_g.x, want_g.y], rtol=1e-14)
    np.testing.assert_allclose(total, vg(np.linspace(1, 2, 5), 3.0)[0].sum(), rtol=1e-14)
    return root, out


def _copy(populated: tuple[Path, str], dest: Path) -> Path:
    shutil.copytree(populated[0], dest, copy_function=shutil.copy2)
    return dest


def _artifacts(root: Path) -> dict[str, Path]:
    """The module, its Numba index/data files and its manifest, by a short role name."""
    (module,) = root.glob("adc_*.py")
    found = {"py": module}
    for path in sorted(root.glob("__pycache__/adc_*.manifest.json")):
        found["manifest"] = path
    for path in sorted(root.glob("__pycache__/adc_*.nb[ic]")):
        role = "kernel" if ".value_and_grad-" in path.name else path.name.split(".")[1]
        found[f"{role.split('-')[0]}{path.suffix}"] = path
    return found


def _damage(path: Path, kind: str, where: float = 0.5, seed: int = 0) -> None:
    """Truncate, overwrite with random bytes, flip one bit, or splice in invalid UTF-8."""
    data = bytearray(path.read_bytes())
    at = min(int(where * len(data)), len(data) - 1)
    rng = random.Random(seed)
    if kind == "truncate":
        data = data[:at]
    elif kind == "random":
        data[at : at + 64] = rng.randbytes(64)
    elif kind == "bitflip":
        data[at] ^= 1 << rng.randrange(8)
    else:  # "utf8": bytes that no UTF-8 decoder accepts
        data[at : at + 2] = b"\xff\xfe"
    path.write_bytes(bytes(data))


def _healed(root: Path) -> None:
    """The entry on disk is whole: the module equals its source, Numba's files are listed."""
    found = _artifacts(root)
    name = found["py"].stem
    assert name == "adc_" + hashlib.sha256(found["py"].read_bytes()).hexdigest()[:20]
    assert cache.verify(cache.Cache(root, root / "__pycache__"), name) == []
    assert {"kernel.nbi", "kernel.nbc", "drive.nbi", "drive.nbc"} <= set(found)
    assert not list(root.rglob("*.tmp*")), "temporary files left behind"


def _snapshot(root: Path) -> set[tuple[str, int, int]]:
    return {(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*")}


# --- damage ----------------------------------------------------------------------------------


# Every kind of damage on every kind of file, in two runs (py: the module source).
DAMAGE = [
    {"py": "utf8", "kernel.nbi": "truncate", "kernel.nbc": "bitflip", "drive.nbi": "random",
     "drive.nbc": "utf8"},
    {"py": "truncate", "kernel.nbi": "bitflip", "kernel.nbc": "random", "drive.nbi": "utf8",
     "drive.nbc": "truncate"},
]  # fmt: skip


@pytest.mark.parametrize("damage", DAMAGE)
def test_damaged_module_index_and_data_are_rebuilt(
    populated: tuple[Path, str], tmp_path: Path, damage: dict[str, str]
) -> None:
    """Damage in the module and in each of its Numba files at once: one warning, healed."""
    root = _copy(populated, tmp_path / "cache")
    found = _artifacts(root)
    for role, kind in damage.items():
        _damage(found[role], kind)
    out, warned = _run(root)
    assert out == populated[1]
    assert warned.count("CacheWarning") == 1 and "damaged" in warned, warned
    assert all(found[role].name in warned for role in damage), warned
    _healed(root)
    assert _run(root) == (populated[1], "")


def test_everything_compiles_on_import_so_damage_after_it_is_never_read(
    populated: tuple[Path, str], tmp_path: Path
) -> None:
    """The driver has an explicit signature and is loaded on import with the kernel: files
    flipped after the import are not read by the first batch call (nothing is compiled or
    loaded later), and the next process finds the damage and heals it."""
    root = _copy(populated, tmp_path / "cache")
    between = (
        "import pathlib\n"
        f"for p in pathlib.Path({str(root)!r}).glob('__pycache__/*.nb[ic]'):\n"
        "    b = bytearray(p.read_bytes()); b[len(b) // 2] ^= 0x10; p.write_bytes(bytes(b))\n"
    )
    assert _run(root, ADC_TEST_BETWEEN=between) == (populated[1], "")
    out, warned = _run(root)
    assert out == populated[1]
    assert warned.count("CacheWarning") == 1 and "damaged" in warned, warned
    _healed(root)


# --- hostile roots ---------------------------------------------------------------------------


class _Plant:
    """Unpickled (as Numba unpickles its cache files), it writes the marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return exec, (f"open({str(self.marker)!r}, 'w').write('ran')",)


def _plant(root: Path, marker: Path) -> None:
    """Replace the module and every Numba file with code that writes `marker`."""
    payload = pickle.dumps(_Plant(marker))
    for role, path in _artifacts(root).items():
        if role == "py":
            path.write_text(f"open({str(marker)!r}, 'w').write('ran')\n")
        elif role != "manifest":
            path.write_bytes(payload)


def _make_world_writable(root: Path, tmp_path: Path) -> Path:
    root.chmod(0o777)
    return root


def _give_away(root: Path, tmp_path: Path) -> Path:
    os.chown(root, 65534, 65534)  # nobody
    return root


def _link_of_another_user(root: Path, tmp_path: Path) -> Path:
    link = tmp_path / "link"
    link.symlink_to(root)
    os.lchown(link, 65534, 65534)
    return link


@pytest.mark.parametrize(
    ("hostile", "reason"),
    [
        (_make_world_writable, "writable by group or others"),
        pytest.param(_give_away, "owned by uid 65534", marks=ROOT_ONLY),
        pytest.param(_link_of_another_user, "symbolic link owned by uid 65534", marks=ROOT_ONLY),
    ],
)
def test_untrusted_root_is_refused_and_never_executed(
    populated: tuple[Path, str],
    tmp_path: Path,
    hostile: Callable[[Path, Path], Path],
    reason: str,
) -> None:
    root = _copy(populated, tmp_path / "cache")
    marker = tmp_path / "marker"
    _plant(root, marker)
    configured = hostile(root, tmp_path)
    before = _snapshot(root)
    out, warned = _run(configured)
    assert not marker.exists(), "a planted cache file was executed"
    assert out == populated[1]
    assert warned.count("CacheWarning") == 1 and reason in warned, warned
    assert "private directory" in warned
    private = Path(warned.split("private directory ")[1].split()[0])
    assert not private.exists(), "the private directory outlived its process"
    assert _snapshot(root) == before, "the refused root was written to"


def test_planted_files_in_a_trusted_root_are_removed_unread(
    populated: tuple[Path, str], tmp_path: Path
) -> None:
    """Files that no manifest lists (here: pickles that would run code) are never loaded."""
    root = _copy(populated, tmp_path / "cache")
    marker = tmp_path / "marker"
    _plant(root, marker)
    out, warned = _run(root)
    assert not marker.exists(), "a planted cache file was executed"
    assert out == populated[1]
    assert warned.count("CacheWarning") == 1 and "damaged" in warned, warned
    _healed(root)


def test_unwritable_parent_falls_back_to_a_private_directory(
    populated: tuple[Path, str], tmp_path: Path
) -> None:
    # A regular file as the parent: mkdir fails even for root (chmod would not stop root).
    parent = tmp_path / "parent"
    parent.write_text("not a directory")
    out, warned = _run(parent / "cache")
    assert out == populated[1]
    assert warned.count("CacheWarning") == 1 and "cannot be created" in warned, warned
    assert not Path(warned.split("private directory ")[1].split()[0]).exists()


# --- no disk ---------------------------------------------------------------------------------


def _drop_dac_override() -> None:
    """In the child, before exec: root without CAP_DAC_OVERRIDE obeys permission bits."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, capability, 0, 0, 0) != 0:  # PR_CAPBSET_DROP
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def _read_only_child() -> Callable[[], None] | None:
    """How to start a child for which a 0500 directory is read-only (None: nothing needed)."""
    if os.geteuid() != 0:
        return None
    with tempfile.TemporaryDirectory() as probe:
        os.chmod(probe, 0o500)
        code = f"open({probe + '/x'!r}, 'w')"
        try:
            done = subprocess.run([sys.executable, "-c", code], preexec_fn=_drop_dac_override)
        except subprocess.SubprocessError:
            done = None
        os.chmod(probe, 0o700)
    if done is None or done.returncode == 0:
        pytest.skip("cannot drop CAP_DAC_OVERRIDE here, so root writes to any directory")
    return _drop_dac_override


@pytest.mark.parametrize("filled", [False, True])
def test_read_only_cache_compiles_in_memory(
    populated: tuple[Path, str], tmp_path: Path, filled: bool
) -> None:
    preexec = _read_only_child()
    root = _copy(populated, tmp_path / "cache") if filled else tmp_path / "cache"
    root.mkdir(exist_ok=True)
    before = _snapshot(root)
    root.chmod(0o500)
    try:
        out, warned = _run(root, preexec)
    finally:
        root.chmod(0o700)
    assert out == populated[1]
    assert warned.count("CacheWarning") == 1 and "cannot be written" in warned, warned
    assert _snapshot(root) == before, "a read-only cache was written to"


def _file_size_limit(limit: int) -> Callable[[], None]:
    """A child whose writes fail past `limit` bytes a file (EFBIG), as on a full disk."""

    def preexec() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write instead of killing
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


@pytest.mark.parametrize(
    ("filled", "limit", "dtype"),
    [
        (False, 100, "float64"),  # the module itself cannot be written
        (False, 8000, "float64"),  # the module can; Numba's data file for the kernel cannot
        (False, 8000, "float32"),  # the same, with float32 inputs (converted, not compiled)
    ],
)
def test_full_disk_compiles_in_memory_and_leaves_no_temporary_files(
    populated: tuple[Path, str], tmp_path: Path, filled: bool, limit: int, dtype: str
) -> None:
    root = _copy(populated, tmp_path / "cache") if filled else tmp_path / "cache"
    out, warned = _run(root, _file_size_limit(limit), ADC_TEST_DTYPE=dtype)
    reference = populated[1]
    if dtype != "float64":  # the same compiled code in this process
        vg = adc.compile(FORMULA).value_and_grad()
        batch = vg(np.linspace(1, 2, 5).astype(dtype), 3.0)[0]
        reference = " ".join([*reference.split()[:3], repr(float(batch.sum()))])
    assert out == reference
    assert warned.count("CacheWarning") == 1 and "cannot be written" in warned, warned
    assert not list(root.rglob("*.tmp*")), "temporary files left behind"
    assert _run(root, ADC_TEST_DTYPE=dtype) == (reference, "")  # nothing half-written
    _healed(root)


def test_in_process_read_only_root_compiles_in_memory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same decision in this process, with writes refused by a patched `os.open`."""
    real_open = os.open

    def refuse(path: str | os.PathLike[str], flags: int, *args: int, **kw: int) -> int:
        if str(path).startswith(str(tmp_path)) and flags & (os.O_WRONLY | os.O_RDWR):
            raise OSError(30, "Read-only file system", str(path))  # EROFS
        return real_open(path, flags, *args, **kw)

    (tmp_path / "__pycache__").mkdir(mode=0o700)
    monkeypatch.setenv("ADCOMPILE_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(os, "open", refuse)
    monkeypatch.setattr(cache, "_memory_warned", False)
    with pytest.warns(adc.CacheWarning, match="Read-only file system"):
        module = jit.load("VALUE = 'test_in_process_read_only_root'\n")
    assert module.VALUE == "test_in_process_read_only_root"
    assert not cache.current().writable
    assert list(tmp_path.rglob("*")) == [tmp_path / "__pycache__"]


# --- sharing ---------------------------------------------------------------------------------


def test_concurrent_processes_share_one_cache(populated: tuple[Path, str], tmp_path: Path) -> None:
    root = tmp_path / "cache"
    env = {**os.environ, "ADCOMPILE_CACHE_DIR": str(root), "PYTHONWARNINGS": "default"}
    children = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        for _ in range(4)
    ]
    for child in children:
        stdout, stderr = child.communicate(timeout=300)
        assert child.returncode == 0, stderr.decode()[-3000:]
        assert stdout.decode().strip() == populated[1]
        assert not _warnings(stderr.decode())
    _healed(root)
    compiled = _snapshot(root / "__pycache__")
    assert _run(root) == (populated[1], "")
    assert _snapshot(root / "__pycache__") == compiled, "a later process compiled again"


# --- random damage ---------------------------------------------------------------------------


@pytest.mark.slow  # fuzzing in subprocesses: about 10 s
@settings(max_examples=6, deadline=None)
@given(
    role=st.sampled_from(["py", "manifest", "kernel.nbi", "kernel.nbc", "drive.nbi", "drive.nbc"]),
    kind=st.sampled_from(["truncate", "random", "bitflip", "utf8"]),
    where=st.floats(0, 1),
    seed=st.integers(0, 2**32),
)
def test_random_damage_heals(
    populated: tuple[Path, str], role: str, kind: str, where: float, seed: int
) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        root = _copy(populated, Path(scratch) / "cache")
        _damage(_artifacts(root)[role], kind, where, seed)
        out, warned = _run(root)
        assert out == populated[1]
        assert warned.count("CacheWarning") <= 1, warned
        _healed(root)
