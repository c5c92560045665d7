"""The chain rule: y = sin(x^2) at x = 3, written as two steps u = x^2 and y = sin(u).

Each step has a local derivative: du/dx = 2x = 6 and dy/du = cos(u) = cos(9). The chain rule
multiplies them: dy/dx = dy/du * du/dx = 6*cos(9) = -5.4668. Reverse mode computes exactly
this product, from the output back to the input: `adc.trace` shows every factor, and the
generated code is the same arithmetic (b_u = cos(u), then b_x = b_u * 2x).
"""

import math

import adcompile as adc

PROGRAM = "u = x^2\ny = sin(u)"


def main() -> None:
    f = adc.compile(PROGRAM)
    y, dydx = f.value_and_grad("x")(3.0)
    print("y = sin(x^2) at x = 3, written as u = x^2; y = sin(u)")
    print(f"y     = {y:.12f}   (sin(9))")
    print(f"dy/dx = {dydx:.12f}   (2*3*cos(9))")

    table = adc.trace(f, x=3.0)
    dudx = table.row("u").partials["x"]
    dydu = table.row("y").partials["u"]
    print("\nThe chain rule, one factor per step:")
    print(f"  du/dx = 2x     = {dudx:10.6f}")
    print(f"  dy/du = cos(u) = {dydu:10.6f}")
    print(f"  dy/dx = dy/du * du/dx = {dydu:.6f} * {dudx:g} = {dydu * dudx:.6f}\n")
    print(table)

    # By hand: u = 9, du/dx = 6, dy/du = cos(9), dy/dx = 6*cos(9).
    assert math.isclose(y, math.sin(9.0), rel_tol=1e-15)
    assert math.isclose(dydx, 2 * 3 * math.cos(9.0), rel_tol=1e-14)
    assert table.row("u").value == 9.0 and dudx == 6.0
    assert math.isclose(dydu, math.cos(9.0), rel_tol=1e-15)
    assert math.isclose(table.row("u").adjoint, math.cos(9.0), rel_tol=1e-15)  # dy/du
    assert math.isclose(table.row("x").adjoint, 6 * math.cos(9.0), rel_tol=1e-14)  # dy/dx

    print("\nGenerated code:\n")
    print(f.value_and_grad("x").source)


if __name__ == "__main__":
    main()
