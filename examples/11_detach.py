"""detach / stop_gradient: use a value, but do not differentiate through it.

PyTorch: `y = x**2; u = y.detach(); z = u * x`. Here: `y = x^2; u = detach(y); z = u * x`
(`detach` is an alias of `stop_gradient`). The value is z = x^3 = 27 at x = 3, but u counts
as a constant: dz/dx = u = x^2 = 9, not d(x^3)/dx = 3x^2 = 27. In the generated code the
gradient is just `b_x = u`: there is no adjoint of y (no `b_y`), so no path back through y.
"""

import adcompile as adc

DETACHED = "y = x^2\nu = detach(y)\nz = u * x"
STOPPED = "y = x^2\nz = stop_gradient(y) * x"
PLAIN = "y = x^2\nz = y * x"
FORMS = {"u = detach(y)": DETACHED, "stop_gradient(y)": STOPPED, "u = y": PLAIN}


def main() -> None:
    x = 3.0
    print("z = u * x with u = x^2 at x = 3")
    print(f"{'':22}{'z':>6}{'dz/dx':>8}")
    results: dict[str, tuple[float, float]] = {}
    for label, text in FORMS.items():
        z, dzdx = adc.compile(text).value_and_grad("x")(x)
        results[label] = (z, dzdx)
        print(f"{label:22}{z:6g}{dzdx:8g}")

    # By hand: z = x^3 = 27 in every form; with u held constant dz/dx = u = x^2 = 9,
    # and without detach dz/dx = 3x^2 = 27.
    assert results["u = detach(y)"] == results["stop_gradient(y)"] == (27.0, x**2)
    assert results["u = y"] == (27.0, 3 * x**2)
    print("detach: dz/dx = u = x^2 = 9;  without it: 3x^2 = 27")

    f = adc.compile(DETACHED)
    table = adc.trace(f, x=x)
    print(f"\n{table}")
    assert table.row("u").adjoint == x  # dz/du = x ...
    assert table.row("y").adjoint == 0.0  # ... but it stops at u: dz/dy = 0
    assert table.row("x").adjoint == x**2

    source = f.value_and_grad("x").source
    print("\nGenerated code (the gradient does not go through y):\n")
    print(source.split("import math\n\n\n")[1])
    assert "b_y" not in source and "b_x = u" in source


if __name__ == "__main__":
    main()
