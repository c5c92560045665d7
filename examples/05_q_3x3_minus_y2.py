"""Q = 3x^3 - y^2 on arrays x = [2, 3], y = [6, 4]: dQ/dx = 9x^2, dQ/dy = -2y, elementwise."""

import numpy as np

import adcompile as adc


def main() -> None:
    x = np.array([2.0, 3.0])
    y = np.array([6.0, 4.0])
    f = adc.compile("3*x^3 - y^2")
    Q, grad = f.value_and_grad()(x, y)
    print("Q = 3*x^3 - y^2 at x = [2, 3], y = [6, 4]")
    print(f"Q     = {Q}")
    print(f"dQ/dx = {grad.x}   (9*x^2)")
    print(f"dQ/dy = {grad.y}   (-2*y)")
    np.testing.assert_array_equal(Q, 3 * x**3 - y**2)  # [-12, 65]
    np.testing.assert_array_equal(grad.x, 9 * x**2)  # [36, 81]
    np.testing.assert_array_equal(grad.y, -2 * y)  # [-12, -8]


if __name__ == "__main__":
    main()
