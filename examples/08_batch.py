"""One million points through the array path: the sigmoid neuron's value and full gradient.

Inputs broadcast like NumPy ufuncs: here x0 and x1 are arrays, the weights are scalars. The
first call compiles (or loads from the disk cache); the second is timed.
"""

import time

import numpy as np

import adcompile as adc

N = 1_000_000


def main() -> None:
    f = adc.compile("1/(1 + exp(-(w0*x0 + w1*x1 + w2)))")
    vg = f.value_and_grad()
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal(N)
    x1 = rng.standard_normal(N)
    w0, w1, w2 = 2.0, -3.0, -3.0

    start = time.perf_counter()
    vg(w0, x0[:10], w1, x1[:10], w2)
    first = time.perf_counter() - start

    start = time.perf_counter()
    value, grad = vg(w0, x0, w1, x1, w2)
    elapsed = time.perf_counter() - start

    print(f"{f.text}, inputs {f.inputs}")
    print(f"first call (compile or load from cache): {first:.3f} s")
    print(f"{N:,} points, value + 5 gradient components: {elapsed * 1e3:.1f} ms")
    print(f"{N / elapsed:,.0f} points/s")

    # By hand, in NumPy: with u = exp(-z), sigmoid(z) = 1/(1 + u) and sigmoid'(z) = u/(1 + u)^2.
    u = np.exp(-(w0 * x0 + w1 * x1 + w2))
    s = 1 / (1 + u)
    ds = u / (1 + u) ** 2
    np.testing.assert_allclose(value, s, rtol=1e-13)
    np.testing.assert_allclose(grad.x0, w0 * ds, rtol=1e-12)
    np.testing.assert_allclose(grad.w0, x0 * ds, rtol=1e-12)
    np.testing.assert_allclose(grad.x1, w1 * ds, rtol=1e-12)
    np.testing.assert_allclose(grad.w1, x1 * ds, rtol=1e-12)
    np.testing.assert_allclose(grad.w2, ds, rtol=1e-12)
    assert value.shape == grad.w2.shape == (N,)


if __name__ == "__main__":
    main()
