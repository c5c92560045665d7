"""Property tests: random vector formulas, reverse mode against forward mode and differences.

Formulas are sums of reductions of random elementwise expressions over three vector inputs
u, v, w of length 6 (sliced: `u[1:]`, `v[::2]`, ..., always with equal lengths where they
meet) and a scalar input s, with smooth, bounded functions (`exp(tanh(.))`, division by
`1.5 + sin(.)`), so that they are well conditioned on u, v, w in [-1, 1], s in [0.5, 1.5].

- reverse mode against forward mode: grad . t == jvp(t) (every reduction, max/min included);
- the gradient against central differences (smooth reductions);
- Hessian-vector products: symmetric, and against differences of the gradient.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

import adcompile as adc
from vectors.textbook import BACKEND

N = 6
VECTORS = ("u", "v", "w")
INPUTS = (*VECTORS, "s")
#: slices of a length-N vector, by the length they give
SLICES = {
    6: ("", "[:]", "[::-1]"),
    5: ("[1:]", "[:-1]", "[-5:]"),
    3: ("[::2]", "[1::2]", "[3:]", "[:3]", "[-1:-7:-2]"),
}
UNARY = ("sin({})", "cos({})", "tanh({})", "exp(tanh({}))", "sqrt(1 + ({})^2)", "({})^2", "(-{})")
BINARY = ("({} + {})", "({} - {})", "{}*{}", "{}/(1.5 + sin({}))")
SMOOTH = ("sum", "mean", "prod", "norm", "logsumexp", "dot", "index", "slice")
ROUGH = ("max", "min")


@st.composite
def elementwise(draw: st.DrawFn, length: int, depth: int) -> str:
    """An elementwise vector expression whose vector leaves have `length` elements."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        kind = draw(st.sampled_from(["vector", "vector", "vector", "s", "constant"]))
        if kind == "vector":
            return draw(st.sampled_from(VECTORS)) + draw(st.sampled_from(SLICES[length]))
        return "s" if kind == "s" else draw(st.sampled_from(["0.5", "2", "1.25"]))
    if draw(st.booleans()):
        return draw(st.sampled_from(UNARY)).format(draw(elementwise(length, depth - 1)))
    a, b = draw(elementwise(length, depth - 1)), draw(elementwise(length, depth - 1))
    return draw(st.sampled_from(BINARY)).format(a, b)


@st.composite
def vector_expr(draw: st.DrawFn, length: int) -> str:
    """An elementwise expression with at least one vector leaf."""
    text = draw(elementwise(length, 3))
    if not any(name in text for name in VECTORS):
        text = f"({text} + {draw(st.sampled_from(VECTORS))}{SLICES[length][0]})"
    return text


@st.composite
def reduction(draw: st.DrawFn, names: tuple[str, ...]) -> str:
    name = draw(st.sampled_from(names))
    length = draw(st.sampled_from(sorted(SLICES)))
    e = draw(vector_expr(length))
    if name == "dot":
        return f"dot({e}, {draw(vector_expr(length))})"
    if name == "index":
        return f"({e})[{draw(st.integers(-length, length - 1))}]"
    if name == "slice":
        return f"sum(({e})[{draw(st.sampled_from(['1:', ':-1', '::2', '::-1']))}])"
    if name == "norm":
        return f"norm(0.5 + exp(tanh({e})))"  # away from the kink at 0
    return f"{name}({e})"


@st.composite
def vector_formulas(draw: st.DrawFn, names: tuple[str, ...]) -> str:
    terms = []
    for _ in range(draw(st.integers(1, 3))):
        r = draw(reduction(names))
        terms.append(draw(st.sampled_from(["{}", "s*{}", "sin({})", "{}*{}"])).format(r, r))
    return " + ".join(terms)


@cache
def formula(text: str) -> adc.Formula:
    shapes = dict.fromkeys(VECTORS) | {"s": ()}
    return adc.compile(text, inputs=INPUTS, backend=BACKEND, shapes=shapes)


def point(rng: np.random.Generator, batch: tuple[int, ...] = ()) -> list[np.ndarray]:
    return [rng.uniform(-1, 1, (*batch, N)) for _ in VECTORS] + [rng.uniform(0.5, 1.5, batch)]


def flat(parts: list[np.ndarray] | tuple[np.ndarray, ...]) -> np.ndarray:
    return np.concatenate([np.ravel(p) for p in parts])


def flat_hvp(parts: tuple[np.ndarray, ...]) -> np.ndarray:
    """An hvp result flattened; a component that is identically zero may come back as the
    scalar 0.0 (its shape is checked in test_language.test_hvp_has_the_inputs_shapes)."""
    shapes = [(N,)] * len(VECTORS) + [()]
    return flat([np.broadcast_to(p, shape) for p, shape in zip(parts, shapes)])


def unflat(z: np.ndarray) -> list[np.ndarray]:
    """Rows of stacked flat points (..., 3N + 1) as the inputs' arrays."""
    return [z[..., k * N : (k + 1) * N] for k in range(len(VECTORS))] + [z[..., -1]]


SEEDS = st.integers(0, 2**32 - 1)


@settings(max_examples=50)
@given(text=vector_formulas(SMOOTH + ROUGH), seed=SEEDS)
def test_reverse_mode_matches_forward_mode(text: str, seed: int) -> None:
    note(text)
    rng = np.random.default_rng(seed)
    x, t = point(rng), point(rng)
    f = formula(text)
    value, grad = f.value_and_grad()(*x)
    jv_value, jv = f.jvp()(*x, tangents=t)
    assert jv_value == value
    g, tv = flat(grad), flat(t)
    assert abs(jv - g @ tv) <= 1e-10 * (np.linalg.norm(g) * np.linalg.norm(tv) + 1e-300)
    _, vj = f.vjp()(*x, cotangents=3.0)  # the vjp with a cotangent scales the gradient
    assert np.max(np.abs(flat(vj) - 3 * g)) <= 1e-13 * 3 * (np.max(np.abs(g)) + 1e-300)


@settings(max_examples=40)
@given(text=vector_formulas(SMOOTH), seed=SEEDS)
def test_gradient_matches_central_differences(text: str, seed: int) -> None:
    note(text)
    rng = np.random.default_rng(seed)
    x = flat(point(rng))
    f = formula(text)
    value, grad = f.value_and_grad()(*unflat(x))
    h = 1e-5
    steps = np.eye(x.size) * h
    up, down = f(*unflat(x + steps)), f(*unflat(x - steps))  # one batch each: 3N + 1 points
    numeric = (up - down) / (2 * h)
    g = flat(grad)
    note(f"reverse {g}\nnumeric {numeric}")
    assert np.max(np.abs(numeric - g)) <= 1e-6 * (np.max(np.abs(g)) + abs(value) + 1)


@pytest.mark.slow
@settings(max_examples=30)
@given(text=vector_formulas(SMOOTH), seed=SEEDS)
def test_hessian_vector_products(text: str, seed: int) -> None:
    note(text)
    rng = np.random.default_rng(seed)
    x, a, b = flat(point(rng)), flat(point(rng)), flat(point(rng))
    f = formula(text)
    ha = flat_hvp(f.hvp()(*unflat(x), tangents=unflat(a)))
    hb = flat_hvp(f.hvp()(*unflat(x), tangents=unflat(b)))
    assert abs(a @ hb - b @ ha) <= 1e-9 * (np.linalg.norm(ha) * np.linalg.norm(b) + 1e-300)
    h = 1e-5
    _, grads = f.value_and_grad()(*unflat(np.stack([x + h * a, x - h * a])))
    stacked = np.concatenate([np.reshape(g, (2, -1)) for g in grads], axis=1)
    numeric = (stacked[0] - stacked[1]) / (2 * h)
    note(f"hvp {ha}\nnumeric {numeric}")
    assert np.max(np.abs(numeric - ha)) <= 1e-5 * (np.max(np.abs(ha)) + 1)


@settings(max_examples=30)
@given(text=vector_formulas(SMOOTH + ROUGH), seed=SEEDS)
def test_batch_rows_are_points(text: str, seed: int) -> None:
    note(text)
    rng = np.random.default_rng(seed)
    xs = point(rng, batch=(3,))
    f = formula(text).value_and_grad()
    values, grads = f(*xs)
    for k in range(3):
        value, grad = f(*(a[k] for a in xs))
        assert values[k] == pytest.approx(value, rel=1e-13, abs=1e-300)
        assert np.allclose(flat([g[k] for g in grads]), flat(grad), rtol=1e-13, atol=1e-300)
