"""Binary cross-entropy of a one-weight logistic model: L = -(t log p + (1 - t) log(1 - p)).

p = sigmoid(z), z = w*x + b. At x = 6.7, t = 0, w = 1, b = 0 the loss is large (the model
says p = 0.9988 for a negative example). By hand, with dp/dz = p(1 - p),
    dL/dp = -t/p + (1 - t)/(1 - p),  so  dL/dz = dL/dp * dp/dz = p - t,
and since dz/dw = x and dz/db = 1: dL/dw = (p - t) * x, dL/db = p - t.
"""

import math

import adcompile as adc

LOSS = "-(t*log(sigmoid(w*x + b)) + (1 - t)*log(1 - sigmoid(w*x + b)))"


def main() -> None:
    f = adc.compile(LOSS)
    x, t, w, b = 6.7, 0.0, 1.0, 0.0
    loss, grad = f.value_and_grad(wrt=["w", "b"])(w=w, x=x, b=b, t=t)
    print(f"L = {LOSS}")
    print(f"inputs {f.inputs}; at x = {x}, t = {t}, w = {w}, b = {b}")
    z = w * x + b
    p = 1 / (1 + math.exp(-z))
    print(f"p     = {p:.10f}   (sigmoid(w*x + b))")
    print(f"L     = {loss:.10f}")
    print(f"dL/dw = {grad.w:.10f}   ((p - t) * x = {p - t:.6f} * {x})")
    print(f"dL/db = {grad.b:.10f}   (p - t)")

    # By hand: log p = -log1p(exp(-z)), log(1 - p) = -z - log1p(exp(-z)).
    log_p = -math.log1p(math.exp(-z))
    assert math.isclose(loss, -(t * log_p + (1 - t) * (log_p - z)), rel_tol=1e-12)
    assert math.isclose(grad.w, (p - t) * x, rel_tol=1e-12)
    assert math.isclose(grad.b, p - t, rel_tol=1e-12)


if __name__ == "__main__":
    main()
