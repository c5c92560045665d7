"""The IR: interning, the simplify rules, constant folding, the verifier and printer, copies,
and no recursion anywhere in parse -> reverse -> codegen on very deep or very long formulas."""

from __future__ import annotations

import contextlib
import math
import re
import struct
import sys
from collections.abc import Iterator

import numpy as np
import pytest

import adcompile as adc
from adcompile.ad.reverse import reverse
from adcompile.codegen.kernel import build_kernel
from adcompile.front.parse import parse
from adcompile.ir.graph import FoldError, Graph, Node, pformat, verify
from adcompile.ir.ops import CORE_OPS, OPS
from adcompile.run.interpret import Plan


@pytest.fixture
def g() -> Graph:
    return Graph()


def value_of(graph: Graph, nid: int, **inputs: float) -> float:
    """Node `nid` evaluated by the NumPy interpreter (inputs by name)."""
    ids = [graph.input(name) for name in inputs]
    (value,) = Plan(graph, ids, [nid])(*(np.float64(v) for v in inputs.values()))
    return float(value)


def bits(value: float) -> bytes:
    return struct.pack("<d", value)


# --- interning ----------------------------------------------------------------------------


def test_same_node_twice_is_one_id(g: Graph) -> None:
    x, y = g.input("x"), g.input("y")
    assert g.input("x") == x
    assert g.apply("sin", x) == g.apply("sin", x)
    assert g.apply("sub", x, y) == g.apply("sub", x, y)
    assert g.apply("where", x, y, g.const(2.0)) == g.apply("where", x, y, g.const(2.0))
    size = len(g)
    g.apply("sub", x, y)
    g.apply("sin", x)
    assert len(g) == size, "interned nodes were appended again"


def test_commutative_ops_take_canonical_order(g: Graph) -> None:
    x, y = g.input("x"), g.input("y")
    for name, op in CORE_OPS.items():
        if op.commutative:
            assert g.apply(name, y, x) == g.apply(name, x, y), name
            nid = g.apply(name, y, x)
            assert list(g.nodes[nid].args) == sorted(g.nodes[nid].args), g.nodes[nid]


def test_non_commutative_ops_keep_argument_order(g: Graph) -> None:
    x, y = g.input("x"), g.input("y")
    for name in ("sub", "div", "pow", "lt", "atan2"):
        assert g.apply(name, x, y) != g.apply(name, y, x), name


def test_constants_are_keyed_by_ieee_bits(g: Graph) -> None:
    assert g.const(2.0) == g.const(2.0)
    assert g.const(2) == g.const(2.0), "an int constant is the float constant"
    zero, minus_zero = g.const(0.0), g.const(-0.0)
    assert zero != minus_zero, "0.0 and -0.0 merged"
    assert bits(g.const_value(minus_zero)) == bits(-0.0)  # type: ignore[arg-type]
    assert g.const(math.nan) == g.const(math.nan), "NaN does not intern"
    assert g.const(math.inf) != g.const(-math.inf)
    assert g.const(1.0) != g.const(1.0 + 2**-52)


def test_nodes_are_immutable_tuples(g: Graph) -> None:
    nid = g.apply("sin", g.input("x"))
    node = g.nodes[nid]
    assert node == Node("sin", (0,))
    with pytest.raises(AttributeError):
        node.op = "cos"  # type: ignore[misc]


def test_arity_is_checked(g: Graph) -> None:
    x = g.input("x")
    with pytest.raises(TypeError, match="sin takes 1"):
        g.apply("sin", x, x)
    with pytest.raises(TypeError, match="where takes 3"):
        g.apply("where", x, x)


def test_metadata_does_not_affect_interning(g: Graph) -> None:
    x = g.input("x")
    g.tag = ("adjoint", 99)
    s = g.apply("sin", x)
    g.tag = None
    assert g.origin[s] == ("adjoint", 99)
    assert g.apply("sin", x) == s
    g.names[s] = "named"
    assert g.apply("sin", x) == s


# --- simplify rules (each exact) ------------------------------------------------------------


def test_add_zero(g: Graph) -> None:
    x = g.input("x")
    assert g.apply("add", x, g.const(0.0)) == x
    assert g.apply("add", g.const(0.0), x) == x
    assert g.apply("sub", x, g.const(0.0)) == x
    # x + -0.0 is x for every x, -0.0 included: the rewrite is exact there too
    assert g.apply("add", x, g.const(-0.0)) == x


def test_mul_one_and_minus_one(g: Graph) -> None:
    x = g.input("x")
    assert g.apply("mul", x, g.const(1.0)) == x
    assert g.apply("mul", g.const(1.0), x) == x
    assert g.apply("div", x, g.const(1.0)) == x
    neg = g.apply("neg", x)
    assert g.apply("mul", x, g.const(-1.0)) == neg
    assert g.apply("mul", g.const(-1.0), x) == neg
    assert g.apply("div", x, g.const(-1.0)) == neg
    assert g.nodes[neg] == Node("neg", (x,))


def test_mul_zero_is_not_simplified(g: Graph) -> None:
    """x * 0 is NaN for infinite or NaN x: the rewrite to 0 would not be exact."""
    x = g.input("x")
    nid = g.apply("mul", x, g.const(0.0))
    assert g.nodes[nid].op == "mul"
    assert math.isnan(value_of(g, nid, x=math.inf))


def test_double_negation(g: Graph) -> None:
    x = g.input("x")
    assert g.apply("neg", g.apply("neg", x)) == x
    s = g.apply("sin", x)
    assert g.apply("neg", g.apply("neg", s)) == s


def test_power_one_and_zero(g: Graph) -> None:
    x = g.input("x")
    assert g.apply("pow", x, g.const(1.0)) == x
    one = g.apply("pow", x, g.const(0.0))
    assert g.const_value(one) == 1.0
    assert np.power(np.nan, 0.0) == 1.0, "the rewrite x^0 -> 1 matches IEEE/NumPy"


def test_where_constant_condition(g: Graph) -> None:
    a, b = g.input("a"), g.input("b")
    assert g.apply("where", g.const(1.0), a, b) == a
    assert g.apply("where", g.const(-2.5), a, b) == a
    assert g.apply("where", g.const(0.0), a, b) == b
    assert g.apply("where", g.const(-0.0), a, b) == b
    assert g.apply("where", g.const(math.inf), a, b) == a


@pytest.mark.parametrize("c", [0.0, -0.0, 1.0, -3.0, math.inf, math.nan])
def test_where_constant_condition_agrees_with_impl(c: float) -> None:
    """The rewrite picks the branch that `impl` (and the printed code) would pick at runtime."""
    g = Graph()
    a, b = g.input("a"), g.input("b")
    folded = g.apply("where", g.const(c), a, b)
    runtime = float(OPS["where"].impl(np.float64(c), np.float64(1.0), np.float64(2.0)))
    got = value_of(g, folded, a=1.0, b=2.0)
    assert got == runtime, f"where({c}, a, b) rewritten to {got}, impl gives {runtime}"


def test_where_same_branches(g: Graph) -> None:
    c, a = g.input("c"), g.input("a")
    assert g.apply("where", c, a, a) == a


def test_where_indicator_of_boolean(g: Graph) -> None:
    x, y = g.input("x"), g.input("y")
    lt = g.apply("lt", x, y)
    one, zero = g.const(1.0), g.const(0.0)
    assert g.apply("where", lt, one, zero) == lt
    inverted = g.apply("where", lt, zero, one)
    assert g.nodes[inverted] == Node("not", (lt,))
    # not for a condition that is not known to be 0/1: where(x, 1, 0) is not x.
    assert g.nodes[g.apply("where", x, one, zero)].op == "where"


def test_where_indicator_is_exact() -> None:
    for c in (-1.0, 0.0, 1.0, 2.0, math.nan):
        for d in (-1.0, 0.0, 1.0, math.nan):
            g = Graph()
            x, y = g.input("x"), g.input("y")
            cond = g.apply("lt", x, y)
            one, zero = g.const(1.0), g.const(0.0)
            want = float(np.where(np.less(c, d), 1.0, 0.0))
            assert value_of(g, g.apply("where", cond, one, zero), x=c, y=d) == want
            assert value_of(g, g.apply("where", cond, zero, one), x=c, y=d) == 1.0 - want


@pytest.mark.skipif("mul0" not in OPS, reason="no guarded product in this op table")
def test_guarded_product_becomes_plain_when_that_is_exact(g: Graph) -> None:
    """mul0(a, b) is a*b except that a == 0 gives 0 even for infinite or NaN b."""
    a, b = g.input("a"), g.input("b")
    assert g.nodes[g.apply("mul0", a, g.const(2.5))].op == "mul"
    assert g.nodes[g.apply("mul0", g.const(-1.0), b)].op == "neg"
    assert g.nodes[g.apply("mul0", g.const(2.0), b)].op == "mul"
    assert g.nodes[g.apply("mul0", a, b)].op == "mul0"
    kept = g.apply("mul0", a, g.const(math.inf))
    assert g.nodes[kept].op == "mul0"
    assert value_of(g, kept, a=0.0) == 0.0
    assert value_of(g, g.apply("mul0", a, b), a=0.0, b=math.nan) == 0.0
    for av in (0.0, -0.0, 1.5, -2.0, math.inf, math.nan):
        for bv in (0.0, 2.5, -1.0):
            h = Graph()
            x = h.input("a")
            got = value_of(h, h.apply("mul0", x, h.const(bv)), a=av)
            with np.errstate(all="ignore"):
                want = float(OPS["mul0"].impl(np.float64(av), np.float64(bv)))
            assert got == want or (math.isnan(got) and math.isnan(want)), (av, bv, got, want)


# --- constant folding -------------------------------------------------------------------------


def test_constant_folding(g: Graph) -> None:
    two, three = g.const(2.0), g.const(3.0)
    assert g.const_value(g.apply("add", two, three)) == 5.0
    assert g.const_value(g.apply("pow", two, three)) == 8.0
    assert g.const_value(g.apply("sin", two)) == math.sin(2.0)
    assert g.const_value(g.apply("lt", two, three)) == 1.0
    assert g.const_value(g.apply("where", g.apply("gt", two, three), two, three)) == 3.0
    assert g.const_value(g.apply("neg", g.const(0.0))) == 0.0
    assert bits(g.const_value(g.apply("neg", g.const(0.0)))) == bits(-0.0)  # type: ignore[arg-type]
    assert all(node.op == "const" for node in g.nodes)


def test_folding_follows_ieee(g: Graph) -> None:
    assert g.const_value(g.apply("div", g.const(1.0), g.const(0.0))) == math.inf
    assert math.isnan(g.const_value(g.apply("log", g.const(-1.0))))  # type: ignore[arg-type]
    assert g.const_value(g.apply("exp", g.const(1000.0))) == math.inf


def test_strict_folding_refuses_inf_and_nan_from_finite() -> None:
    g = Graph()
    g.strict_fold = True
    with pytest.raises(FoldError):
        g.apply("div", g.const(1.0), g.const(0.0))
    with pytest.raises(FoldError):
        g.apply("log", g.const(-1.0))
    # inf in, inf out is not the fold's fault
    assert g.const_value(g.apply("add", g.const(math.inf), g.const(1.0))) == math.inf


def test_folding_never_builds_huge_integers() -> None:
    """Folding is float arithmetic: 10^10^10^10 overflows at once (an error), never hangs."""
    with pytest.raises(adc.ConstantError, match="overflows"):
        adc.compile("10^10^10^10 + x", backend="numpy")
    g = Graph()
    tower = g.const(10.0)
    for _ in range(3):
        tower = g.apply("pow", g.const(10.0), tower)
    assert g.const_value(tower) == math.inf


# --- verifier and printer ---------------------------------------------------------------------


def test_verify_after_parse_and_reverse() -> None:
    program = parse("a = sin(x) * y; b = where(a > 0, log(1 + a*a), exp(-y)); a + b^2 / x")
    verify(program.graph, program.outputs)
    grads = reverse(program.graph, program.outputs[0], program.input_ids)
    verify(program.graph, [*program.outputs, *(d for d in grads if d is not None)])
    assert all(d is not None for d in grads)


def test_verify_catches_broken_graphs() -> None:
    g = Graph()
    x = g.input("x")
    g.nodes.append(Node("sin", (x + 5,)))
    with pytest.raises(AssertionError, match="args not before"):
        verify(g)
    g = Graph()
    g.nodes.append(Node("frobnicate", ()))
    with pytest.raises(AssertionError, match="unknown op"):
        verify(g)
    g = Graph()
    x = g.input("x")
    g.nodes.append(Node("add", (x,)))
    with pytest.raises(AssertionError, match="arity"):
        verify(g)
    g = Graph()
    g.nodes.append(Node("const", (), "2"))
    with pytest.raises(AssertionError, match="bad const"):
        verify(g)
    with pytest.raises(AssertionError, match="out of range"):
        verify(Graph(), [0])


def test_pformat_shape() -> None:
    program = parse("a = sin(x) * y\na + 2")
    text = pformat(program.graph, program.outputs)
    lines = text.splitlines()
    assert lines[-1] == f"return %{program.outputs[0]}"
    for line in lines[:-1]:
        assert re.fullmatch(r"%\d+ = (const \S+|input \w+|\w+( %\d+)+)(    # \w+)?", line), line
    assert "%0 = input x    # x" in lines
    assert any(line.endswith("    # a") and " mul " in line for line in lines), text
    assert "const 2.0" in text
    assert pformat(program.graph) == "\n".join(lines[:-1]), "all nodes are live here"


def test_pformat_prints_only_live_nodes() -> None:
    g = Graph()
    x = g.input("x")
    dead = g.apply("cos", x)
    live = g.apply("sin", x)
    text = pformat(g, [live])
    assert f"%{dead} =" not in text and f"%{live} = sin %{x}" in text


def test_copy_is_independent() -> None:
    program = parse("sin(x) * y")
    original = program.graph
    before = (list(original.nodes), dict(original.names), dict(original._index))
    copy = original.copy()
    assert copy.nodes == original.nodes and copy.names == original.names
    reverse(copy, program.outputs[0], program.input_ids)
    copy.names[0] = "renamed"
    assert len(copy) > len(original)
    assert (original.nodes, original.names, original._index) == before
    assert not original.origin and not original.bar
    # interning in the copy still finds the shared prefix
    x = copy.input("x")
    assert copy.apply("sin", x) == original.apply("sin", original.input("x"))


def test_reverse_appends_and_tags_adjoint_nodes() -> None:
    program = parse("sin(x) * y")
    graph = program.graph
    size = len(graph)
    grads = reverse(graph, program.outputs[0], program.input_ids)
    assert graph.nodes[:size] == parse("sin(x) * y").graph.nodes
    for nid in range(size, len(graph)):
        if graph.nodes[nid].op != "const":  # the seed 1.0 is created before the sweep
            assert graph.origin[nid][0] == "adjoint", graph.nodes[nid]
    assert all(d is not None and d < len(graph) for d in grads)


def test_reverse_returns_none_for_unreached_inputs() -> None:
    program = parse("sin(x) + stop_gradient(y) + floor(z)", ("x", "y", "z", "w"))
    grads = reverse(program.graph, program.outputs[0], program.input_ids)
    assert grads[0] is not None
    assert grads[1:] == [None, None, None]


# --- no recursion on deep / long formulas ---------------------------------------------------


@contextlib.contextmanager
def recursion_limit(limit: int) -> Iterator[None]:
    """Lower the recursion limit (relative to the current depth) and restore it afterwards."""
    old = sys.getrecursionlimit()
    depth = len(_stack())
    sys.setrecursionlimit(depth + limit)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _stack() -> list[object]:
    frames = []
    frame = sys._getframe()
    while frame is not None:
        frames.append(frame)
        frame = frame.f_back  # type: ignore[assignment]
    return frames


DEEP = 10_000
LONG = 100_000

DEEP_CASES = {
    "sin-chain": ("sin(" * DEEP + "x" + ")" * DEEP),
    "negations": "-" * (DEEP + 1) + "x",
    "parentheses": "(" * DEEP + "x" + ")" * DEEP,
    "power-tower": "x" + "^1" * DEEP,
    "right-nested-sum": "x+(" * DEEP + "x" + ")" * DEEP,
}


def sin_chain(x: float, depth: int) -> tuple[float, float]:
    value, grad = x, 1.0
    for _ in range(depth):
        grad *= math.cos(value)
        value = math.sin(value)
    return value, grad


@pytest.mark.parametrize("name", list(DEEP_CASES))
def test_deep_formula_passes_do_not_recurse(name: str) -> None:
    text = DEEP_CASES[name]
    with recursion_limit(150):
        program = parse(text)
        graph = program.graph.copy()
        grads = reverse(graph, program.outputs[0], program.input_ids)
        outputs = [*program.outputs, *grads]
        verify(graph, [o for o in outputs if o is not None])
        kernel = build_kernel(graph, program.input_ids, outputs, program.input_ids)
        pformat(graph, [o for o in outputs if o is not None])
    assert kernel.params == ("x",)


@pytest.mark.parametrize(
    ("name", "want"),
    [
        ("sin-chain", sin_chain(0.7, DEEP)),
        ("negations", (-0.7, -1.0)),
        ("parentheses", (0.7, 1.0)),
        ("power-tower", (0.7, 1.0)),
        ("right-nested-sum", ((DEEP + 1) * 0.7, DEEP + 1.0)),
    ],
)
def test_deep_formula_end_to_end(name: str, want: tuple[float, float]) -> None:
    with recursion_limit(150):
        f = adc.compile(DEEP_CASES[name], backend="numpy")
        value, grad = f.value_and_grad("x")(0.7)
    assert math.isclose(value, want[0], rel_tol=1e-12), (value, want[0])
    assert math.isclose(grad, want[1], rel_tol=1e-12), (grad, want[1])


@pytest.mark.slow
def test_long_sum_end_to_end() -> None:
    text = "+".join("x" for _ in range(LONG))
    with recursion_limit(150):
        f = adc.compile(text, backend="numpy")
        value, grad = f.value_and_grad("x")(0.5)
    assert value == LONG * 0.5
    assert grad == LONG, grad


def test_long_weighted_sum_of_many_inputs_end_to_end() -> None:
    n = LONG // 10
    text = " + ".join(f"x{k % 50} * {k % 7 + 1}" for k in range(n))
    with recursion_limit(150):
        f = adc.compile(text, backend="numpy")
        vg = f.value_and_grad()
        value, grad = vg(*np.ones(50))
        kernel_lines = vg.source.count("\n")
    weights = np.zeros(50)
    for k in range(n):
        weights[k % 50] += k % 7 + 1
    assert f.inputs == tuple(f"x{k}" for k in range(50))
    assert value == weights.sum()
    np.testing.assert_array_equal(np.array(grad), weights)
    assert kernel_lines > n


def test_recursion_limit_guard_catches_recursion() -> None:
    def depth(n: int) -> int:
        return 0 if n == 0 else 1 + depth(n - 1)

    with recursion_limit(150), pytest.raises(RecursionError):
        depth(1_000)
    assert depth(500) == 500, "the limit was not restored"
