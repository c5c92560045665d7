"""A nonlinear least-squares fit over one million data points with SciPy's BFGS.

The model is a decaying exponential plus a sine, with its four parameters in one vector p:

    model(t) = p[0]*exp(-p[1]*t) + p[2]*sin(p[3]*t)

and the loss is the mean squared residual over the data vectors t and y. The formula reduces
over t and y (so they are vectors) and indexes p (a vector of length 4); one evaluator gives
the loss and its gradient with respect to p, which is what `scipy.optimize.minimize(...,
jac=True)` asks for. The data are the model at known parameters plus Gaussian noise (seeded),
so the fit can be checked against the truth.
"""

import time

import numpy as np
from scipy.optimize import minimize

import adcompile as adc

N = 1_000_000
TRUTH = np.array([2.0, 0.3, 0.5, 1.7])
NOISE = 0.1
LOSS = "mean((y - (p[0]*exp(-p[1]*t) + p[2]*sin(p[3]*t)))^2)"


def make_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """N points on [0, 10]: the model at TRUTH plus N(0, NOISE^2) noise."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 10.0, N)
    p = TRUTH
    y = p[0] * np.exp(-p[1] * t) + p[2] * np.sin(p[3] * t) + NOISE * rng.standard_normal(N)
    return t, y


def hand_gradient(p: np.ndarray, t: np.ndarray, y: np.ndarray) -> np.ndarray:
    """The gradient of LOSS with respect to p, derived by hand: -2 mean(r * dmodel/dp)."""
    e, s = np.exp(-p[1] * t), np.sin(p[3] * t)
    r = y - (p[0] * e + p[2] * s)
    dmodel = [e, -p[0] * t * e, s, p[2] * t * np.cos(p[3] * t)]
    return np.array([-2 * np.mean(r * d) for d in dmodel])


def main() -> None:
    t, y = make_data()
    f = adc.compile(LOSS, inputs=["p", "t", "y"])
    vg = f.value_and_grad(["p"])  # the gradient with respect to p only: t and y are data
    print(f"loss  = {f.text}")
    print(f"{N:,} data points, noise sd {NOISE}, true p = {TRUTH}")

    p0 = np.array([1.0, 0.1, 1.0, 1.8])  # a rough first guess
    value, grad = vg(p0, t=t, y=y)
    np.testing.assert_allclose(grad.p, hand_gradient(p0, t, y), rtol=1e-9)
    print(f"\nat the guess p0 = {p0}: loss {value:.6f}, gradient {np.round(grad.p, 6)}")
    print("(the gradient matches the one derived by hand)")

    calls = 0

    def fun(p: np.ndarray) -> tuple[float, np.ndarray]:
        nonlocal calls
        calls += 1
        value, grad = vg(p, t=t, y=y)
        return value, grad.p

    def progress(intermediate_result) -> None:  # scipy's callback (its name selects this form)
        r = intermediate_result
        print(f"{progress.k:4d}  {r.fun:12.8f}  {np.array2string(r.x, precision=5)}")
        progress.k += 1

    progress.k = 1
    print(f"\n{'iter':>4}  {'loss':>12}  p")
    start = time.perf_counter()
    result = minimize(fun, p0, jac=True, method="BFGS", callback=progress)
    elapsed = time.perf_counter() - start
    print(f"{result.message} {result.nit} iterations, {calls} loss+gradient evaluations")
    print(f"in {elapsed:.2f} s ({vg.tier} tier)")

    fitted = result.x
    print(f"\n{'param':>6}  {'truth':>7}  {'fitted':>7}  {'|error|':>8}")
    for k, (true, got) in enumerate(zip(TRUTH, fitted)):
        print(f"{f'p[{k}]':>6}  {true:7.3f}  {got:7.3f}  {abs(got - true):8.1e}")
    loss_at_truth = f(TRUTH, t=t, y=y)  # the noise's mean square, about NOISE^2
    print(f"final loss {result.fun:.6f}; at the true parameters {loss_at_truth:.6f}")

    assert result.success, result.message
    assert result.fun <= loss_at_truth, (result.fun, loss_at_truth)
    assert np.all(np.abs(fitted - TRUTH) < 2e-3), (fitted, TRUTH)
    print("recovered parameters: all within 2e-3 of the truth")


if __name__ == "__main__":
    main()
