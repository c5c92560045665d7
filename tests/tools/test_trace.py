"""`adc.trace`: the seed-002 neuron's hand-computed table, and the table's three forms."""

from __future__ import annotations

import pytest

import adcompile as adc

NEURON = "a = w0*x0\nb = w1*x1\nc = a + b\nd = c + w2\ne = -d\nf = exp(e)\ng = 1 + f\nh = 1/g"
POINT = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}

#: The notebook's table: node -> (value, dh/dnode), worked by hand.
HAND = {
    "w0": (2.0, -0.1966),
    "x0": (-1.0, 0.3932),
    "w1": (-3.0, -0.3932),
    "x1": (-2.0, -0.5898),
    "w2": (-3.0, 0.1966),
    "a": (-2.0, 0.1966),
    "b": (6.0, 0.1966),
    "c": (4.0, 0.1966),
    "d": (1.0, 0.1966),
    "e": (-1.0, -0.1966),
    "f": (0.3679, -0.5344),
    "g": (1.368, -0.5344),
    "h": (0.7311, 1.0),
}


@pytest.fixture(scope="module")
def neuron() -> adc.Trace:
    return adc.trace(adc.compile(NEURON, stable=False), **POINT)


def test_neuron_table_matches_the_hand_computation(neuron: adc.Trace) -> None:
    assert neuron.names == tuple(HAND)
    for name, (value, adjoint) in HAND.items():
        row = neuron.row(name)
        assert row.value == pytest.approx(value, abs=5e-4 * max(1, abs(value))), name
        assert row.adjoint == pytest.approx(adjoint, abs=5e-5), name


def test_local_partials_are_the_chain_rule_factors(neuron: adc.Trace) -> None:
    assert neuron.row("h").partials == {"g": pytest.approx(-1 / 1.3679**2, rel=1e-4)}
    assert neuron.row("a").partials == {"w0": -1.0, "x0": 2.0}
    assert neuron.row("f").partials["e"] == pytest.approx(0.36788, rel=1e-4)
    # chain rule: the adjoint of an argument is the sum over users of adjoint * partial
    assert neuron.row("g").adjoint * neuron.row("g").partials["f"] == neuron.row("f").adjoint


def test_the_three_forms(neuron: adc.Trace) -> None:
    text = str(neuron)
    assert text.splitlines()[0].split() == [
        "node", "operation", "value", "dh/d(node)", "local", "partials",
    ]  # fmt: skip
    assert "h     1 / g      0.7311           1  dh/dg = -0.5344" in text
    html = neuron._repr_html_()
    assert html.startswith("<table") and "<caption" in html and ">1 / g</td>" in html
    rows = neuron.to_list()
    assert rows[-1] == {
        "name": "h",
        "operation": "1 / g",
        "value": pytest.approx(0.7310585786300049),
        "adjoint": 1.0,
        "partials": {"g": pytest.approx(-0.19661193324148185 / 0.36787944117144233)},
    }


def test_the_same_numbers_as_the_compiled_gradient(neuron: adc.Trace) -> None:
    value, grad = adc.compile(NEURON, stable=False).value_and_grad()(**POINT)
    assert neuron.row("h").value == value
    for name in POINT:
        assert neuron.row(name).adjoint == pytest.approx(grad[name], rel=1e-15)


def test_stable_rewrites_are_reported_and_fused_steps_marked_not_hidden() -> None:
    t = adc.trace(adc.compile(NEURON), **POINT)
    written = adc.trace(adc.compile(NEURON, stable=False), **POINT)
    assert t.names == written.names  # every step the user wrote, e f g included
    assert [t.row(n).fused for n in "efg"] == ["h = sigmoid(d)"] * 3
    assert not t.row("h").fused and not t.row("d").fused
    for name in written.names:  # the hand calculation's numbers
        assert t.row(name).value == written.row(name).value
        assert t.row(name).adjoint == pytest.approx(written.row(name).adjoint, rel=1e-15)
    text = str(t)
    assert "1 / (1 + exp(-u)) -> sigmoid(u)" in text and "[fused into h = sigmoid(d)]" in text
    html = t._repr_html_()
    assert "fused into h = sigmoid(d)" in html and "stable rewrites" in html
    dashed = [ln for ln in t.graph().source.splitlines() if "dashed" in ln]  # the graph too
    assert len(dashed) == 3 and all("(fused into h = sigmoid(d))" in ln for ln in dashed)
    # a rewrite of unnamed steps only: the stable form's own rows, and the way to see more
    soft = adc.trace("log(1 + exp(x))", x=0.5)
    assert soft.names == ("x", "t0") and "stable=False" in str(soft)


def test_html_escapes_user_text() -> None:
    html = adc.trace("x < y", x=1.0, y=2.0)._repr_html_()
    assert "x &lt; y" in html and "x < y" not in html


def test_errors() -> None:
    with pytest.raises(ValueError, match="single output"):
        adc.trace("u = x; v = 2*x; u, v", x=1.0)
    with pytest.raises(TypeError, match="missing value for input 'y'"):
        adc.trace("x*y", x=1.0)
    with pytest.raises(KeyError, match="no node 'q'"):
        adc.trace("x*y", x=1.0, y=2.0).row("q")


def test_deep_chain_traces_without_recursion() -> None:
    text = "a0 = x\n" + "\n".join(f"a{k} = sin(a{k - 1}) + x" for k in range(1, 3001))
    t = adc.trace(text, x=0.5)
    assert len(t.rows) == 1 + 2 * 3000
    assert t.row("a3000").adjoint == 1.0
