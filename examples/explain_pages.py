"""Explain pages for the tutorial examples: one self-contained HTML file each, to project.

    python examples/explain_pages.py [DIRECTORY]     # default: explain/

Each page (`adc.explain`, or `adcompile explain FORMULA --at ... -o PAGE.html`) shows the
forward values, the backward pass step by step with the chain rule's numbers beside the
generated code, the graph with values and adjoints, the code, and a finite-difference check.
The pages are those of the examples with one scalar output at one point: square, sin of a
square, log(xy), the polynomial with f'(2) = 93, the sigmoid neuron (every step as written),
binary cross-entropy, detach, and one sample of the accumulated loss. (Jacobian-vector
products, examples/10_jvp.py, have several outputs: their page is the one of each output.)
"""

from __future__ import annotations

import sys
from pathlib import Path

import adcompile as adc

PAGES = {
    "01_square": ("y = x^2", {"x": 3.0}, True),
    "02_sin_square": ("u = x^2\ny = sin(u)", {"x": 3.0}, True),
    "04_log_xy": ("z = log(x*y)", {"x": 2.0, "y": 3.0}, True),
    "03_polynomial": ("2*x^4 + x^3 + 3*x^2 + 5*x + 1", {"x": 2.0}, True),
    "06_sigmoid_neuron": (
        "a = w0*x0\nb = w1*x1\nc = a + b\nd = c + w2\ne = -d\nf = exp(e)\ng = 1 + f\nh = 1/g",
        {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0},
        False,  # every step as written (stable=True fuses e, f, g into a sigmoid)
    ),
    "07_bce": (
        "-(t*log(sigmoid(w*x + b)) + (1 - t)*log(1 - sigmoid(w*x + b)))",
        {"w": 1.0, "x": 6.7, "b": 0.0, "t": 0.0},
        True,
    ),
    "10_jvp_y2": ("y2 = x1 + sin(x2)", {"x1": 1.0, "x2": 3.0}, True),
    "11_detach": ("y = x^2\nu = detach(y)\nz = u * x", {"x": 3.0}, True),
    "12_accumulation_sample": ("(w*x + b - y)^2", {"w": 2.0, "b": 1.0, "x": 3.0, "y": 10.0}, True),
}


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "explain")
    out.mkdir(parents=True, exist_ok=True)
    for name, (text, point, stable) in PAGES.items():
        page = adc.explain(adc.compile(text, stable=stable), **point)
        path = page.save(out / f"{name}.html")
        grad = ", ".join(
            f"d/d{r.name} = {r.adjoint:.6g}" for r in page.trace.rows if r.operation == "input"
        )
        print(f"{path}: {len(page.trace.rows)} nodes; {grad}")
    print(f"wrote {len(PAGES)} pages to {out}/ (open one in a browser; arrow keys step)")


if __name__ == "__main__":
    main()
