"""The sigmoid neuron f = 1/(1 + exp(-(w0*x0 + w1*x1 + w2))), as one expression and as a program.

At w0 = 2, x0 = -1, w1 = -3, x1 = -2, w2 = -3 (CS231n's worked example) the output is 0.73 and
the gradient is [-0.2, 0.39, -0.39, -0.59, 0.2]: with s = w0*x0 + w1*x1 + w2 and f = sigmoid(s),
df/ds = f * (1 - f), df/dw0 = x0 * df/ds, df/dx0 = w0 * df/ds, and so on.
"""

import math

import adcompile as adc

EXPRESSION = "1/(1 + exp(-(w0*x0 + w1*x1 + w2)))"

PROGRAM = """\
a = w0*x0
b = w1*x1
c = a + b
d = c + w2
e = -d      # an assignment may shadow the constant e
f = exp(e)
g = 1 + f
h = 1/g
"""

POINT = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}


def main() -> None:
    one = adc.compile(EXPRESSION)
    eight = adc.compile(PROGRAM)
    assert one.inputs == eight.inputs == ("w0", "x0", "w1", "x1", "w2")

    value1, grad1 = one.value_and_grad()(**POINT)
    value8, grad8 = eight.value_and_grad()(**POINT)
    print("inputs:", ", ".join(f"{k} = {v:g}" for k, v in POINT.items()))
    print(f"{'':8}{'expression':>14}{'program':>14}")
    print(f"{'f':8}{value1:14.6f}{value8:14.6f}")
    for name in one.inputs:
        print(f"{'df/d' + name:8}{grad1[name]:14.6f}{grad8[name]:14.6f}")

    # By hand: the sigmoid's derivative is f * (1 - f).
    s = POINT["w0"] * POINT["x0"] + POINT["w1"] * POINT["x1"] + POINT["w2"]
    f = 1 / (1 + math.exp(-s))
    dfds = f * (1 - f)
    expected = {
        "w0": POINT["x0"] * dfds,
        "x0": POINT["w0"] * dfds,
        "w1": POINT["x1"] * dfds,
        "x1": POINT["w1"] * dfds,
        "w2": dfds,
    }
    for value, grad in ((value1, grad1), (value8, grad8)):
        assert math.isclose(value, f, rel_tol=1e-15)
        for name, want in expected.items():
            assert math.isclose(grad[name], want, rel_tol=1e-14), (name, grad[name], want)
    assert value1 == value8 and tuple(grad1) == tuple(grad8)
    print("both forms agree, and match the hand-derived gradient")

    print("\nGenerated code for the program:\n")
    print(eight.value_and_grad().source)


if __name__ == "__main__":
    main()
