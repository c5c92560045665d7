"""Gradient accumulation: PyTorch adds into `.grad`; adcompile evaluators are pure functions.

In PyTorch, calling `loss.backward()` twice without `optimizer.zero_grad()` doubles `w.grad`.
An adcompile evaluator returns a fresh gradient on every call, so nothing needs zeroing; to
accumulate (mini-batches), add the gradients yourself. For the squared loss
L = sum_i (w*x_i + b - y_i)^2, by hand dL/dw = sum_i 2 r_i x_i and dL/db = sum_i 2 r_i with
r_i = w*x_i + b - y_i: a sum over points, so the sum of the mini-batch gradients equals the
gradient over the whole batch, which `reduce="sum"` computes in one pass.
"""

import numpy as np

import adcompile as adc


def main() -> None:
    x = np.array([0.0, 1.0, 2.0, 3.0])
    y = np.array([1.0, 3.0, 5.0, 7.0])  # y = 2x + 1
    w, b = 0.5, 1.0
    loss = adc.compile("(w*x + b - y)^2").value_and_grad(["w", "b"], reduce="sum")
    print(f"L = sum (w*x + b - y)^2 at w = {w}, b = {b}; x = {x}, y = {y}")

    first, second = loss(w, x, b, y), loss(w, x, b, y)
    print(f"\ncalled twice: dL/dw = {first[1].w:g}, then {second[1].w:g} (no zero_grad needed;")
    print(f"  PyTorch's w.grad after two backward() calls: {2 * first[1].w:g})")
    assert first == second

    print(f"\n{'':12}{'L':>8}{'dL/dw':>8}{'dL/db':>8}")
    total_value, total_grad = 0.0, 0.0
    for k, part in enumerate((slice(0, 2), slice(2, 4)), start=1):
        value, grad = loss(w, x[part], b, y[part])
        total_value, total_grad = total_value + value, total_grad + grad  # a Grad adds per entry
        print(f"{f'batch {k}':12}{value:8g}{grad.w:8g}{grad.b:8g}")
    print(f"{'sum':12}{total_value:8g}{total_grad[0]:8g}{total_grad[1]:8g}")
    value, grad = loss(w, x, b, y)
    print(f"{'whole batch':12}{value:8g}{grad.w:8g}{grad.b:8g}")

    # By hand: r = [0, -1.5, -3, -4.5]; L = 31.5, dL/dw = 2*(-21) = -42, dL/db = 2*(-9) = -18.
    assert value == total_value == 31.5
    assert tuple(grad) == tuple(total_grad) == (-42.0, -18.0)


if __name__ == "__main__":
    main()
