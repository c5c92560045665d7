"""The sigmoid neuron as a table: every step's value and its derivative dh/d(step).

The neuron of 06_sigmoid_neuron.py at w0 = 2, x0 = -1, w1 = -3, x1 = -2, w2 = -3, traced by
hand forward (a = -2, b = 6, c = 4, d = 1, e = -1, f = 0.368, g = 1.368, h = 0.731) and then
backward, one local derivative per step:
    dh/dg = -1/g^2 = -0.534    dh/df = dh/dg * 1 = -0.534    dh/de = dh/df * exp(e) = -0.197
    dh/dd = -dh/de = 0.197     dh/dc = dh/da = dh/db = dh/dw2 = 0.197
    dh/dw0 = x0 * dh/da = -0.197, dh/dx0 = w0 * dh/da = 0.393,
    dh/dw1 = x1 * dh/db = -0.393, dh/dx1 = w1 * dh/db = -0.590.
`adc.trace` prints the same table; the script checks it to 3 digits.
"""

import math

import adcompile as adc

PROGRAM = "a = w0*x0\nb = w1*x1\nc = a + b\nd = c + w2\ne = -d\nf = exp(e)\ng = 1 + f\nh = 1/g"

POINT = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}

#: (value, dh/d(node)) of every node, worked out by hand to 3 digits.
HAND = {
    "w0": (2.0, -0.197),
    "x0": (-1.0, 0.393),
    "w1": (-3.0, -0.393),
    "x1": (-2.0, -0.590),
    "w2": (-3.0, 0.197),
    "a": (-2.0, 0.197),
    "b": (6.0, 0.197),
    "c": (4.0, 0.197),
    "d": (1.0, 0.197),
    "e": (-1.0, -0.197),
    "f": (0.368, -0.534),
    "g": (1.368, -0.534),
    "h": (0.731, 1.0),
}


def main() -> None:
    table = adc.trace(adc.compile(PROGRAM, stable=False), **POINT)
    print("h = 1/(1 + exp(-(w0*x0 + w1*x1 + w2))), one row per step (stable=False)")
    print("at", ", ".join(f"{k} = {v:g}" for k, v in POINT.items()))
    print(f"\n{table}")
    assert table.names == tuple(HAND), table.names
    for name, (value, adjoint) in HAND.items():
        row = table.row(name)
        assert math.isclose(row.value, value, abs_tol=5e-4), (name, row.value, value)
        assert math.isclose(row.adjoint, adjoint, abs_tol=5e-4), (name, row.adjoint, adjoint)
    # Local partials: the factors multiplied on the way back.
    g = table.row("g").value
    assert math.isclose(table.row("h").partials["g"], -1 / g**2, rel_tol=1e-15)
    assert math.isclose(table.row("f").partials["e"], math.exp(-1.0), rel_tol=1e-15)
    assert table.row("e").partials == {"d": -1.0}
    print("\nmatches the hand-computed table to 3 digits")

    stable = adc.trace(adc.compile(PROGRAM), **POINT)
    print("\nBy default adcompile computes e, f, g inside one stable h = sigmoid(d), whose")
    print("gradient has no inf * 0 = nan at d = -800; the trace still lists every step:")
    for name in "efg":
        row = stable.row(name)
        print(f"  {name} = {row.operation} = {row.value:.4f}  [fused into {row.fused}]")
    print(f"  h = sigmoid(d) = {stable.row('h').value:.4f}, dh/dd = {stable.row('d').adjoint:.4f}")
    assert stable.names == table.names and stable.row("e").fused == "h = sigmoid(d)"
    assert math.isclose(stable.row("w0").adjoint, table.row("w0").adjoint, rel_tol=1e-14)


if __name__ == "__main__":
    main()
