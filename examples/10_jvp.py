"""Jacobian-vector and vector-Jacobian products of a function with several outputs.

y1 = x1*x2, y2 = x1 + sin(x2), y3 = x2^2 at x = (2, 3). By hand the Jacobian is
    J = [[x2, x1], [1, cos(x2)], [0, 2*x2]] = [[3, 2], [1, cos 3], [0, 6]].
Forward mode pushes a direction v through the program: jvp gives J @ v without forming J.
Reverse mode pulls a seed w back: vjp gives w @ J, which is PyTorch's `y.backward(w)` for a
non-scalar y. For an elementwise y = x^2 over an array, the seed ones_like(y) gives the
gradient of sum(y), 2x: PyTorch's `y.backward(torch.ones_like(y))`.
"""

import math

import numpy as np

import adcompile as adc

PROGRAM = "y1 = x1*x2\ny2 = x1 + sin(x2)\ny3 = x2^2\ny1, y2, y3"


def main() -> None:
    f = adc.compile(PROGRAM)
    x1, x2 = 2.0, 3.0
    J = f.jacobian()(x1, x2)
    print(f"{'; '.join(PROGRAM.splitlines()[:3])}  at x1 = 2, x2 = 3")
    print(f"J = d(y1, y2, y3)/d(x1, x2) =\n{J}")
    hand = np.array([[x2, x1], [1.0, math.cos(x2)], [0.0, 2 * x2]])
    np.testing.assert_allclose(J, hand, rtol=1e-15)

    v = (1.0, 0.5)  # forward mode: a direction in input space (a tuple, one per input)
    values, tangent = f.jvp()(x1, x2, tangents=v)
    print(f"\njvp,  v = {v}:             J @ v = {np.array(tangent)}")
    np.testing.assert_allclose(tangent, hand @ np.array(v), rtol=1e-15)  # [4, 1 + cos(3)/2, 3]
    assert values == (6.0, 2.0 + math.sin(3.0), 9.0)

    w = (0.1, 1.0, 0.0001)  # reverse mode: a seed per output, y.backward(w)
    _, grad = f.vjp()(x1, x2, cotangents=w)
    print(f"vjp,  w = {w}:  w @ J = {np.array(grad)}   (y.backward(w))")
    np.testing.assert_allclose(grad, np.array(w) @ hand, rtol=1e-15)  # [1.3, 0.2 + cos(3) + 0.0006]

    print("\nForward mode, generated code (d_t: the derivative of t along the direction v):\n")
    print(f.jvp().source.split("import math\n\n\n")[1])

    g = adc.compile("y = x^2")
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y, grad = g.vjp()(x, cotangents=np.ones_like(x))
    print("y = x^2 elementwise, y.backward(ones_like(y)) = vjp with cotangents = ones")
    print(f"x     = {x}\ny     = {y}\ndy/dx = {grad.x}   (2x: the gradient of sum(y))")
    np.testing.assert_array_equal(grad.x, 2 * x)


if __name__ == "__main__":
    main()
