"""Trust (issue "1 of 7"): names enter through one door, generated code holds only names the
compiler made or checked, runtime inputs are strict, out= may overlap inputs, and bad text
gets a clear error (ASCII digits, every line break, aliases, arity-aware suggestions)."""

from __future__ import annotations

import ast
import math
import re
from pathlib import Path
from typing import Any

import numba
import numpy as np
import pytest
import sympy

import adcompile as adc
from adcompile.api import Evaluator, Formula
from adcompile.ir.ops import ALIASES, OPS
from adcompile.ir.special import CFUNCTIONS, LIBRARY
from adcompile.tools import cli

BACKENDS = ("numba", "vm", "numpy")
KINDS = ("value", "value_and_grad", "grad", "jvp", "vjp", "jacobian", "hessian", "hvp")

# --- names: one door ---------------------------------------------------------------------

PAYLOADS = [
    "a=open('{marker}','w')",
    "a\nopen('{marker}','w')",
    "a):\n    open('{marker}','w')\ndef f(",
    "x # \nopen('{marker}','w')",
]
BAD_NAMES = ["None", "lambda", "class", "sin", "arcsin", "and", "not", "__class__", "__x", "é",
             "x\u200b", "1x", "", "x y", "x.y", "x-y", "٣", "x" * 201]  # fmt: skip


@pytest.mark.parametrize("payload", PAYLOADS)
def test_declared_input_names_never_reach_code(payload: str, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    name = payload.format(marker=marker)
    with pytest.raises(adc.FormulaError, match="input name"):
        adc.compile("x", inputs=["x", name])
    with pytest.raises(adc.FormulaError):
        adc.compile(sympy.Symbol("x") + sympy.Symbol(name))
    assert cli.main(["x", "--inputs", f"x,{name}", "--at", "x=1"]) == 2
    assert not marker.exists()


@pytest.mark.parametrize("name", BAD_NAMES)
def test_bad_input_names_are_formula_errors(name: str) -> None:
    with pytest.raises(adc.FormulaError) as err:
        adc.compile("x", inputs=["x", name])
    shown = repr(name)[:20]
    assert shown[:-1] in str(err.value) or "longer than" in str(err.value)


@pytest.mark.parametrize("name", ["sum", "len", "mean", "dot", "norm", "logsumexp", "prod"])
def test_vector_functions_are_not_input_names(name: str) -> None:
    with pytest.raises(adc.FormulaError, match="function of the formula language"):
        adc.compile("x", inputs=["x", name])


@pytest.mark.parametrize("name", [3, None, b"x", ("x",)])
def test_input_names_must_be_strings(name: Any) -> None:
    with pytest.raises(adc.FormulaError, match="not a string"):
        adc.compile("x", inputs=["x", name])


@pytest.mark.parametrize(
    ("text", "column"), [("lambda + x", 1), ("x * None", 5), ("2*__import__", 3)]
)
def test_free_names_from_text_pass_the_same_door(text: str, column: int) -> None:
    with pytest.raises(adc.UndefinedNameError) as err:
        adc.compile(text)
    assert (err.value.line, err.value.column) == (1, column)


def test_good_names_still_work_and_keep_their_spelling() -> None:
    names = ["t0", "b_x", "d_y", "in0", "math", "np", "numba", "at", "batch", "n", "i", "r",
             "out", "value", "grad", "x_", "_", "e", "pi", "sum_", "max_", "len_"]  # fmt: skip
    f = adc.compile(" + ".join(f"{k + 1}*{n}" for k, n in enumerate(names)), inputs=names)
    value, grad = f.value_and_grad()(*[1.0] * len(names))
    assert value == sum(range(1, len(names) + 1))
    assert grad._fields == tuple(names)
    assert list(grad) == [float(k + 1) for k in range(len(names))]


def test_repeated_input_names_name_the_repeat() -> None:
    with pytest.raises(ValueError, match="repeated name 'y'"):
        adc.compile("x + y", inputs=["x", "y", "y"])


# --- generated code holds only names the compiler made or validated ------------------------

#: Names the code generator itself writes (module names, helpers, drivers, loop variables).
_VOCABULARY = frozenset(
    {"math", "np", "numba", "at", "at2", "_at", "_at2", "range", "abs", "float", "tuple",
     "batch", "batch2", "total", "total2", "evaluate", "n", "m", "i", "j", "r", "a",
     "inputs", "arrays", "shape", "flat", "size", "outs", "o", "_erf", "_erfc", "_",
     "isinstance", "hasattr", "len", "k", "overload", "types", "drive", "p", "p_at", "i0",
     "i1", "j0", "j1", "slot", "sums", "f64_at", "i64_at", "intrinsic", "_pointer", "typer",
     "typingctx", "addr", "codegen", "context", "builder", "signature", "args", "ptr",
     "dtype", "enumerate", *KINDS, "store", "jb", "block", "BLOCK", "ir", "cgutils",
     "_gamma", "_lgamma", "_digamma", "_polygamma", "int", "x", "b", "c", "f", "q", "s", "t",
     "u", "v", "w", "y", "sign"}
    # vector modules: the whole-vector helpers and their locals, the standalone wrapper
    | {"_vpick_max_into", "_vpick_min_into", "_vprod_except_into", "_vprod_except_dot_into",
       "best", "before", "dbefore", "after", "dp", "out", "slice", "max", "min", "sum", "int",
       "_vbound", "_vslice", "_vfill", "_vscatter", "_vunslice", "_vpick", "_vpickmax",
       "_vpickmin", "_vprodexcept", "_vprodexceptdot", "lo", "hi", "vector", "heads", "lens",
       "ins", "scratch", "zip", "dv", "ones", "zeros"}
)  # fmt: skip
#: Generated names: temporaries, adjoints and tangents, and the vector loops' `__` names
#: (no user name may start with `__`).
_GENERATED = re.compile(r"^(t\d+|in\d+[ijav]?|out\d+[ija]?|acc\d+|[aros]\d+|[bd]_\w+|__\w+|n\d+)$")
#: The string literals the generator writes: Numba signatures, options and docstrings.
_STRINGS = frozenset(
    {"float64", "numpy", "reassoc", "ignore", "__getitem__",
     "void(int64, int64, int64, int64, int64, int64)",
     "Inputs: numbers or arrays (they broadcast); outputs: float64 arrays.",
     "The outputs at broadcast inputs (numbers or arrays), as float64 arrays."}
)  # fmt: skip
_STRING = re.compile(
    r"\((float64, )*float64,\)|(" + "|".join(KINDS) + r")\(\.\.\.\) as generated by adcompile; "
    r"see the comments above\.|void\(int64, int64\[::1\], int64\[::1\], float64\[::1\]"
    r"(, float64\[(:, )?::1\])*\)"
    r"|The outputs \(float64 arrays\) at one point or a batch of points\."
)
#: Attributes the generator reads: functions of math, NumPy and Numba, and array fields.
_ATTRIBUTES = frozenset(
    [*dir(math), *dir(np), *dir(numba), "Array", "shape", "size", "reshape", "ctypes", "data",
     "CPointer", "inttoptr", "get_value_type", "alloca_once", "ArrayType", "DoubleType",
     "bitcast",
     # the function library: `sp.<op>` (adcompile.run.special), `scipy.special.<ufunc>`
     *LIBRARY, *(cf.ufunc for cf in CFUNCTIONS.values()), "special"]
)  # fmt: skip
_MODULES = {"math", "numpy", "numba", "adcompile.run._numba_rt", "numba.core", "numba.extending",
            "adcompile.run", "scipy.special", "llvmlite"}  # fmt: skip


def _allowed(name: str, user: set[str]) -> bool:
    base = re.sub(r"(_\d+)?_*$", "", name) or name
    return name in _VOCABULARY or bool(_GENERATED.match(name)) or name in user or base in user


def check_generated(source: str, user: set[str]) -> None:
    """Every identifier in `source` is vocabulary, a generated name or a validated user
    name; top-level statements are imports, functions and a docstring; attributes are
    functions of math, NumPy and Numba or array fields; strings are the generator's own."""
    tree = ast.parse(source)
    for stmt in tree.body:
        helper = isinstance(stmt, ast.Assign) and all(
            isinstance(t, ast.Name) and t.id in ("_erf", "_erfc", "f64_at", "i64_at", "BLOCK")
            for t in stmt.targets
        )
        assert helper or isinstance(
            stmt, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.Expr)
        ), f"top-level {type(stmt).__name__} in generated code"
        if isinstance(stmt, ast.Expr):
            assert isinstance(stmt.value, ast.Constant) and stmt is tree.body[0]
        if isinstance(stmt, ast.ImportFrom):
            assert stmt.module in _MODULES, stmt.module
        if isinstance(stmt, ast.Import):
            assert all(a.name in _MODULES for a in stmt.names)
    for node in ast.walk(tree):
        name = (
            node.id if isinstance(node, ast.Name)
            else node.arg if isinstance(node, ast.arg)
            else node.name if isinstance(node, ast.FunctionDef)
            else None
        )  # fmt: skip
        if name is not None:
            assert _allowed(name, user), f"name {name!r} was not made by the compiler"
        if isinstance(node, ast.Attribute):
            assert node.attr in _ATTRIBUTES, ast.unparse(node)
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert node.value in _STRINGS or _STRING.fullmatch(node.value), node.value


def _user_names(f: Formula) -> set[str]:
    return set(f.inputs) | set(f._program.graph.names.values())


CODE_CORPUS = [
    "log(x*y) + sin(x)^2",
    "a = w0*x0; b = w1*x1; h = 1/(1 + exp(-(a + b + w2)))",
    "lambda = x^2\nclass = lambda + y\nclass * t0",
    "math = x + 1; np = math * y; numba = np - b_x; at = numba / 2; batch = at^3; r = batch",
    "i = x; n = i * y; out = n + 1; value = out^2; grad = value - x; u = grad; v = u + n; u, v",
    "where(x > 0, log(x), 0) + max(x, y) * stop_gradient(y)",
    "p = sigmoid(z); -(t*log(p) + (1 - t)*log(1 - p))",
    "gamma(x) + lgamma(y) * digamma(x) + polygamma(2, y)",
    # vectors: the fused loops' own names (`__k`, `__e3`, ...), a user input called p or n
    "r = y - (p[0] + p[1]*t); sum(r^2) + prod(t[::2]) + max(y) + norm(t) + logsumexp(y)",
    "n = len(x); k = x[1:] - x[:-1]; sum(k^2)/n + x[-1]*dot(x, x)",
    # the function library: SciPy's kernels through `adcompile.run.special` (`sp.j0`)
    "sp = x + 1; scipy = j0(sp) + jv(2, y) * besselj(1.5, x); scipy",
]


@pytest.mark.parametrize("text", CODE_CORPUS)
def test_generated_code_holds_only_compiler_names(text: str) -> None:
    f = adc.compile(text)
    user = _user_names(f)
    for kind in KINDS:
        if kind in ("value_and_grad", "grad", "hessian", "hvp") and len(f.outputs) > 1:
            continue
        ev: Evaluator = f.value if kind == "value" else getattr(f, kind)()
        for source in (ev.source, ev.numba_source, ev.module_source(), ev.module_source(True)):
            check_generated(source, user)


def test_the_name_check_catches_a_planted_name() -> None:
    source = adc.compile("x*y").value_and_grad().numba_source
    with pytest.raises(AssertionError):
        check_generated(source + "\nimport os\n", {"x", "y"})
    with pytest.raises(AssertionError, match="not made by the compiler"):
        check_generated(source.replace("x * y", "x * evil"), {"x", "y"})


def test_header_comment_shows_hostile_text_only_as_comments() -> None:
    text = "x + 1  # \x0bimport os\x0c\u2028os.system('echo')\x85 y"
    source = adc.compile(text).value_and_grad().numba_source
    check_generated(source, {"x", "y"})
    assert "\nimport os" not in source


# --- runtime inputs are strict ----------------------------------------------------------

REJECTED = [
    ("1", "str"),
    (b"1", "bytes"),
    (None, "None"),
    (np.array([1, 2], dtype=object), "dtype object"),
    ([1.0, None], "list"),
    (np.datetime64("2020-01-01"), "datetime64"),
    (np.array(["2020-01-01"], dtype="datetime64[D]"), "datetime64"),
    (np.timedelta64(3, "s"), "timedelta64"),
    (1 + 2j, "complex"),
    (np.array([1j]), "complex"),
    ([[1.0, 2.0], [3.0]], "not an array of numbers"),
    ({"x": 1.0}, "dict"),
    (np.array([(1.0, 2.0)], dtype="f8,f8"), "dtype"),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize(("value", "what"), REJECTED, ids=[w for _, w in REJECTED])
def test_runtime_values_that_are_not_numbers_are_type_errors(
    backend: str, value: Any, what: str
) -> None:
    f = adc.compile("x*y", backend=backend)
    for call in (lambda: f(value, 2.0), lambda: f.value_and_grad()(2.0, y=value)):
        with pytest.raises(TypeError, match=r"input '[xy]'") as err:
            call()
        assert what.split()[-1] in str(err.value)


@pytest.mark.parametrize("backend", BACKENDS)
def test_huge_integers_are_overflow_errors_naming_the_input(backend: str) -> None:
    vg = adc.compile("x*y", backend=backend).value_and_grad()
    with pytest.raises(OverflowError, match=r"input 'y': an integer of about 401 digits"):
        vg(2.0, 10**400)
    with pytest.raises(OverflowError, match="input 'x'"):
        vg(x=-(10**400), y=1.0)
    assert vg(2, 10**300) == (2e300, adc.Grad([1e300, 2.0], ["x", "y"]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_numbers_of_every_numeric_kind_are_accepted(backend: str) -> None:
    from fractions import Fraction

    f = adc.compile("x*y", backend=backend)
    for value in (True, np.True_, 3, np.int8(3), np.uint64(3), np.float16(3), np.float32(3),
                  Fraction(3), sympy.Integer(3), np.array(3)):  # fmt: skip
        assert f(value, 2.0) == 2.0 * float(value), value
    np.testing.assert_array_equal(f(np.array([True, False]), 2.0), [2.0, 0.0])
    np.testing.assert_array_equal(f(np.arange(3, dtype=np.int16), 2.0), [0.0, 2.0, 4.0])


# --- out= that overlaps the inputs ----------------------------------------------------------


def _overlaps(x: np.ndarray, y: np.ndarray) -> list[tuple[Any, Any, Any, Any]]:
    """(x, y, out) triples where out arrays alias or overlap the inputs, 12 patterns."""
    n = x.size
    found = []
    for value_at, grad_at in [(0, 1), (1, 0), (2, 0), (0, 2), (1, 2), (2, 1)]:
        block = np.stack([x, y, np.zeros(n)])
        out = (block[value_at], (block[grad_at], np.empty(n)))
        found.append((block[0], block[1], out, None))
    for shift in (1, -1, 3):
        buf = np.zeros(4 * n + 8)
        xs, ys = buf[4 : 4 + n], buf[4 + n : 4 + 2 * n]
        xs[:], ys[:] = x, y
        out = (buf[4 + shift : 4 + shift + n], (buf[2 * n + 6 : 3 * n + 6], np.empty(n)))
        found.append((xs, ys, out, None))
    rev = np.concatenate([x, y])
    found.append((rev[:n], rev[n:], (rev[:n][::-1], (np.empty(n), rev[n:][::-1])), None))
    col = np.stack([x, y], axis=1)
    found.append((col[:, 0], col[:, 1], (col[:, 1], (col[:, 0], np.empty(n))), None))
    whole = np.concatenate([x, y])
    found.append((whole[:n], whole[n:], (whole[n:], (whole[:n], np.empty(n))), None))
    return found


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_overlapping_inputs_gives_the_same_numbers(backend: str) -> None:
    rng = np.random.default_rng(1)
    vg = adc.compile("sin(x)*y + x^2", backend=backend).value_and_grad()
    x, y = rng.uniform(-1, 1, 40), rng.uniform(-1, 1, 40)
    want_v, (want_x, want_y) = vg(x, y)
    patterns = _overlaps(x, y)
    assert len(patterns) == 12
    for k, (xs, ys, out, _) in enumerate(patterns):
        v, (gx, gy) = vg(xs, ys, out=out)
        assert v is out[0]
        np.testing.assert_array_equal(v, want_v, err_msg=f"pattern {k}")
        np.testing.assert_array_equal(gx, want_x, err_msg=f"pattern {k}")
        np.testing.assert_array_equal(gy, want_y, err_msg=f"pattern {k}")


@pytest.mark.parametrize("backend", BACKENDS)
def test_out_overlapping_inputs_for_a_jacobian(backend: str) -> None:
    jac = adc.compile("u = x*y; v = x + y; u, v", backend=backend).jacobian()
    data = np.array([[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0]])
    want = jac(data[0].copy(), data[1].copy())
    buf = np.zeros(16)
    buf[:4], buf[4:8] = data[0], data[1]
    got = jac(buf[:4], buf[4:8], out=buf.reshape(4, 2, 2))
    np.testing.assert_array_equal(got, want)


def test_out_arrays_that_share_memory_with_each_other_are_refused() -> None:
    vg = adc.compile("x*y").value_and_grad()
    block = np.empty((2, 5))
    with pytest.raises(ValueError, match="share memory"):
        vg(np.ones(5), 2.0, out=(block[0], (block[0], block[1])))


@pytest.mark.parametrize("backend", BACKENDS)
def test_strided_out_over_three_axes(backend: str) -> None:
    vg = adc.compile("x*y", backend=backend).value_and_grad()
    x, y = np.linspace(1, 2, 15).reshape(3, 1, 5), np.arange(4.0).reshape(1, 4, 1)
    out = (np.zeros((6, 4, 5))[::2], (np.zeros((3, 4, 10))[..., ::2], np.zeros((3, 4, 5))))
    v, (gx, gy) = vg(x, y, out=out)
    np.testing.assert_array_equal(v, x * y)
    np.testing.assert_array_equal(gx, np.broadcast_to(y, (3, 4, 5)))
    np.testing.assert_array_equal(gy, np.broadcast_to(x, (3, 4, 5)))


# --- text: digits, line breaks, aliases, suggestions ---------------------------------------


@pytest.mark.parametrize("digit", ["٣", "३", "３", "𝟑", "³", "①"])
def test_only_ascii_digits_are_numbers(digit: str) -> None:
    with pytest.raises(adc.ParseError) as err:
        adc.compile(f"x + {digit}")
    assert (err.value.line, err.value.column) == (1, 5)
    with pytest.raises(adc.ParseError):
        adc.compile(f"x{digit}")


@pytest.mark.parametrize("brk", ["\n", "\r\n", "\r"])
def test_every_line_break_counts_lines_the_same(brk: str) -> None:
    text = brk.join(["a = x  # one", "", "b = sinn(a) * y", "b"])
    with pytest.raises(adc.UnknownFunctionError) as err:
        adc.compile(text)
    assert (err.value.line, err.value.column) == (3, 5)
    assert "\n    b = sinn(a) * y\n        ^" in str(err.value)
    with pytest.raises(adc.ParseError) as err2:
        adc.compile(brk.join(["a = x", "b = (y +", "b"]))
    assert err2.value.line == 2
    assert adc.compile(brk.join(["a = x*y", "a + 1"])).value_and_grad()(2.0, 3.0)[0] == 7.0


def test_form_feed_and_unicode_separators_are_not_line_breaks() -> None:
    with pytest.raises(adc.UnknownFunctionError) as err:
        adc.compile("a = x \x0c+ 1\nb = sinn(a)")
    assert (err.value.line, err.value.column) == (2, 5)
    assert "b = sinn(a)" in str(err.value)


ALIAS_CASES = [
    ("arcsin(x)", "asin(x)"), ("arccos(x)", "acos(x)"), ("arctan(x)", "atan(x)"),
    ("arctan2(x, y)", "atan2(x, y)"), ("arcsinh(x)", "asinh(x)"),
    ("arccosh(x + 2)", "acosh(x + 2)"), ("arctanh(x)", "atanh(x)"), ("ln(y)", "log(y)"),
    ("Abs(x - y)", "abs(x - y)"), ("power(y, x)", "pow(y, x)"),
    ("detach(x)*x", "stop_gradient(x)*x"),
    ("gammaln(y)", "lgamma(y)"), ("loggamma(y)", "lgamma(y)"), ("psi(y)", "digamma(y)"),
]  # fmt: skip


@pytest.mark.parametrize(("alias", "canonical"), ALIAS_CASES)
def test_aliases_compute_their_op(alias: str, canonical: str) -> None:
    a = adc.compile(alias, inputs=["x", "y"]).value_and_grad()(0.3, 1.7)
    b = adc.compile(canonical, inputs=["x", "y"]).value_and_grad()(0.3, 1.7)
    assert a == b


def test_every_alias_is_in_the_table_column_and_the_readme() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    language = readme.split("## The language")[1].split("\n## ")[0]
    core = {a for a, op in ALIASES.items() if op not in LIBRARY}  # the library: its own tests
    cases = {a for a, _ in ALIAS_CASES for a in [a.split("(")[0]]}
    assert core <= cases <= set(ALIASES)
    for alias, op in ALIASES.items():
        assert alias in OPS[op].aliases
        assert re.search(rf"[` ]{alias}[` ]", language), f"README does not list {alias}"


@pytest.mark.parametrize(
    ("text", "error", "suggestion"),
    [
        ("atan3(y, x)", adc.UnknownFunctionError, "atan2"),
        ("atan(y, x)", adc.ArityError, "atan2"),
        ("atan2(x)", adc.ArityError, "atan"),
        ("sinn(x)", adc.UnknownFunctionError, "sin"),
        ("hypoth(x, y)", adc.UnknownFunctionError, "hypot"),
        ("lg(x)", adc.UnknownFunctionError, "log"),
        ("Ln(x)", adc.UnknownFunctionError, "ln"),
    ],
)
def test_did_you_mean_respects_arity(text: str, error: type, suggestion: str) -> None:
    with pytest.raises(error) as err:
        adc.compile(text)
    assert f"(did you mean '{suggestion}'?)" in str(err.value)


def test_a_huge_sympy_integer_gives_a_short_message() -> None:
    with pytest.raises(ValueError, match="digits is outside the float64 range") as err:
        adc.compile(sympy.Integer(10) ** 100_000 * sympy.Symbol("x"))
    assert len(str(err.value)) < 200
