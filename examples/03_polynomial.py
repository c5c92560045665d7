"""f(x) = 2x^4 + x^3 + 3x^2 + 5x + 1 at x = 2: f = 63, f' = 8x^3 + 3x^2 + 6x + 5 = 93."""

import adcompile as adc


def main() -> None:
    f = adc.compile("2*x^4 + x^3 + 3*x^2 + 5*x + 1")
    value, dfdx = f.value_and_grad("x")(2.0)
    print("f(x) = 2*x^4 + x^3 + 3*x^2 + 5*x + 1 at x = 2")
    print(f"f(2)  = {value:g}")
    print(f"f'(2) = {dfdx:g}")
    x = 2.0
    assert value == 2 * x**4 + x**3 + 3 * x**2 + 5 * x + 1 == 63
    assert dfdx == 8 * x**3 + 3 * x**2 + 6 * x + 5 == 93


if __name__ == "__main__":
    main()
