"""z = sin(x^2) at x = 3: by the chain rule dz/dx = cos(x^2) * 2x = 2*3*cos(9)."""

import math

import adcompile as adc


def main() -> None:
    f = adc.compile("sin(x^2)")
    z, dzdx = f.value_and_grad("x")(3.0)
    print("z = sin(x^2) at x = 3")
    print(f"z     = {z:.12f}   (sin(9))")
    print(f"dz/dx = {dzdx:.12f}   (2*3*cos(9))")
    # By hand: y = x^2, z = sin(y); dz/dx = cos(y) * 2x.
    assert math.isclose(z, math.sin(9.0), rel_tol=1e-15)
    assert math.isclose(dzdx, 2 * 3 * math.cos(9.0), rel_tol=1e-14)


if __name__ == "__main__":
    main()
