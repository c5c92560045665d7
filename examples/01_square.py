"""y = x^2 at x = 3: the value is 9 and dy/dx = 2x = 6."""

import adcompile as adc


def main() -> None:
    f = adc.compile("x^2")
    y, dydx = f.value_and_grad("x")(3.0)
    print("y = x^2 at x = 3")
    print(f"y     = {y}")
    print(f"dy/dx = {dydx}")
    # By hand: d/dx x^2 = 2x.
    assert y == 3.0**2 == 9.0
    assert dydx == 2 * 3.0 == 6.0


if __name__ == "__main__":
    main()
