"""z = log(x*y) at x = 2, y = 3: dz/dx = 1/x, dz/dy = 1/y."""

import math

import adcompile as adc


def main() -> None:
    f = adc.compile("log(x*y)")
    z, grad = f.value_and_grad()(2.0, 3.0)
    print(f"z = log(x*y), inputs {f.inputs}, at x = 2, y = 3")
    print(f"z     = {z:.12f}   (log 6)")
    print(f"dz/dx = {grad.x:.12f}   (1/x)")
    print(f"dz/dy = {grad.y:.12f}   (1/y)")
    assert math.isclose(z, math.log(6.0), rel_tol=1e-15)
    assert math.isclose(grad.x, 1 / 2, rel_tol=1e-15)
    assert math.isclose(grad.y, 1 / 3, rel_tol=1e-15)


if __name__ == "__main__":
    main()
