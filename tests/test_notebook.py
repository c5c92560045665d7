"""The lecture notebook under examples/ runs top to bottom in a real Jupyter kernel (nbclient)
and shows what a class should see: the gradient, the trace with every step (the fused ones
marked), the chain rule's numbers, the explain page inline, and a passing gradient check."""

from __future__ import annotations

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")  # dev dependencies: CI installs them
nbclient = pytest.importorskip("nbclient")

pytestmark = pytest.mark.slow  # starts a kernel (a few seconds)

ROOT = Path(__file__).resolve().parent.parent


def test_lecture_notebook_executes_and_shows_its_numbers() -> None:
    nb = nbformat.read(ROOT / "examples" / "neuron_lecture.ipynb", as_version=4)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")  # stored clean
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
    )
    client.execute()
    outputs = [c.outputs for c in nb.cells if c.cell_type == "code"]
    text = ["".join(o.get("text", "") + o.get("data", {}).get("text/plain", "") for o in out)
            for out in outputs]  # fmt: skip
    html = ["".join(o.get("data", {}).get("text/html", "") for o in out) for out in outputs]
    assert "h = 0.7311" in text[0] and "'x1': -0.5898" in text[0]
    assert "fused into h = sigmoid(d)" in html[1] and "<caption" in html[1]
    assert "b_e = b_f · ∂f/∂e = -0.5344 · 0.3679 = -0.1966" in text[2]
    assert html[3].startswith("<iframe srcdoc=") and "b_d = b_e" in html[3]
    assert "check_grad: ok" in text[4]
