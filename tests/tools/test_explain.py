"""`adc.explain` / `adcompile explain`: the self-contained page that teaches reverse mode, the
LaTeX of programs that name a variable e, and the styled trace in Jupyter."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from cdp import Browser

import adcompile as adc
from adcompile.tools.cli import main
from adcompile.tools.explain import chain_rule

NEURON = "a = w0*x0; b = w1*x1; c = a + b; d = c + w2; e = -d; f = exp(e); g = 1 + f; h = 1/g"
POINT = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}


@pytest.fixture(scope="module")
def page() -> adc.Page:
    return adc.explain(adc.compile(NEURON, stable=False), **POINT)


def _e(text: str) -> str:
    return html.escape(text).replace("&#x27;", "'")


def _rows(html: str, section: str) -> list[str]:
    part = html.split(f"<section id={section}>")[1].split("</section>")[0]
    return re.findall(r"<tr class=\"step[^\"]*\" data-step=\"\d+\">(.*?)</tr>", part)


def test_every_step_the_user_wrote_is_on_the_page(page: adc.Page) -> None:
    forward = _rows(page.html, "forward")
    names = [re.search(r"<code>(\w+)</code>", r).group(1) for r in forward]  # type: ignore[union-attr]
    assert names == [*POINT, "a", "b", "c", "d", "e", "f", "g", "h"]
    backward = _rows(page.html, "backward")
    assert len(backward) == len(forward)  # one backward step per node, the output first
    assert "b_h = 1" in backward[0]


def test_chain_rule_lines_carry_the_numbers_of_the_hand_calculation(page: adc.Page) -> None:
    text = page.html.replace("&#x27;", "'")
    assert "b_e = b_f · ∂f/∂e = -0.5344 · 0.3679 = -0.1966" in text
    assert "b_d = b_e · ∂e/∂d = -0.1966 · -1 = 0.1966" in text
    # every adjoint on the page is the gradient the compiled code computes
    _, grad = adc.compile(NEURON).value_and_grad()(**POINT)
    lines = dict(chain_rule(page.trace, lambda v: f"{v:.4g}"))
    for name, g in zip(grad._fields, grad):
        assert page.trace.row(name).adjoint == pytest.approx(g, rel=1e-12)
        assert lines[name].endswith(f"= {g:.4g}") and _e(lines[name]) in text


def test_the_page_needs_no_network_and_works_without_script(page: adc.Page) -> None:
    html = page.html
    assert html.startswith("<!DOCTYPE html>") and "<style>" in html and "<script>" in html
    for external in ("src=", "<link", "@import", "url(", 'href="http', "href='http"):
        assert external not in html, external
    # the steps are hidden by the script alone (class js on <html>): without it, all show
    assert "pending" not in html.split("<script>")[0].split("</style>")[1]
    assert ".js tr.back.pending" in html and "@media print" in html
    assert "prefers-color-scheme:dark" in html


def test_graph_code_and_finite_difference_check(page: adc.Page) -> None:
    html = page.html
    if shutil.which("dot"):
        graph = html.split("<section id=graph>")[1].split("</section>")[0]
        assert "<svg" in graph and "0.7311" in graph  # h's value drawn on the graph
    assert "def value_and_grad(w0, x0, w1, x1, w2):" in html.replace("&#x27;", "'")
    check = _rows(html, "check")
    assert len(check) == len(POINT) and all(r.endswith("<td>agrees</td>") for r in check)


def test_cli_writes_the_page(tmp_path: Path) -> None:
    out = tmp_path / "neuron.html"
    at = ",".join(f"{k}={v}" for k, v in POINT.items())
    assert main(["explain", NEURON, "--at", at, "--no-stable", "-o", str(out)]) == 0
    assert "b_e = b_f" in out.read_text(encoding="utf-8")
    assert main(["explain", NEURON, "-o", str(out)]) == 2  # no point: a usage error


def test_explain_needs_one_scalar_output() -> None:
    with pytest.raises(ValueError, match="single output"):
        adc.explain("u = x*y; v = x + y; u, v", x=1.0, y=2.0)


def test_latex_of_a_program_with_a_variable_named_e() -> None:
    latex = adc.compile(NEURON, stable=False).value_and_grad().latex()
    assert "f &= \\exp\\left(e\\right)" in latex and "e^{e}" not in latex
    assert "h &= h" not in latex
    assert adc.compile("exp(x)").latex() == "f = e^{x}"


def test_trace_html_is_styled_and_captioned() -> None:
    html = adc.trace("log(1 + exp(x))", x=0.5)._repr_html_()
    assert "<caption" in html and "border-collapse" in html
    assert "stable rewrites" in html  # the rewrite is said, not hidden


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"),
    reason="no chromium here (.ci/run installs Debian's chromium)",
)
def test_the_page_in_a_headless_browser(page: adc.Page, tmp_path: Path) -> None:
    """The page loads in Chromium, its script runs (the first backward step is the current
    one, the rest wait: the DOM after load), and a screenshot is not blank."""
    assert CHROMIUM is not None, "CI must install chromium"
    path = page.save(tmp_path / "neuron.html")
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]

    def dom(url: str) -> str:
        proc = subprocess.run(
            [*flags, "--enable-logging=stderr", "--v=0", "--dump-dom", url],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        console = [ln for ln in proc.stderr.splitlines() if "CONSOLE" in ln]
        assert not console, console  # no script error, no warning from the page
        return proc.stdout

    loaded = dom(path.as_uri())
    assert '<html lang="en" class="js">' in loaded
    steps = re.findall(r'<tr class="step back ?([^"]*)" data-step="(\d+)"', loaded)
    assert steps[0] == ("current", "0") and all(c == "pending" for c, _ in steps[1:])
    assert "step 1 of 13" in loaded
    # stepping (the buttons' and keys' `go`), by a link to step 4: rows 0-3 shown, 3 current
    stepped = dom(path.as_uri() + "#step=4")
    steps = re.findall(r'<tr class="step back ?([^"]*)" data-step="(\d+)"', stepped)
    assert [c for c, _ in steps[:4]] == ["", "", "", "current"]
    assert all(c == "pending" for c, _ in steps[4:]) and "step 4 of 13" in stepped
    backward = stepped.split('<section id="backward">')[1]
    assert "b_e = b_f · ∂f/∂e" in re.findall(r'data-step="3">(.*?)</tr>', backward)[0]
    # stepping with the keys and the buttons, as a teacher does
    with Browser(CHROMIUM, path.as_uri()) as browser:
        count = "document.getElementById('count').textContent"
        assert browser.js(count) == "step 1 of 13"
        browser.key("ArrowRight")
        browser.key(" ")
        assert browser.js(count) == "step 3 of 13"
        assert browser.js("document.querySelector('tr.back.current td').textContent") == "f"
        browser.js("document.getElementById('next').click()")
        current = "document.querySelector('tr.back.current').textContent"
        assert "b_e = b_f · ∂f/∂e = -0.5344 · 0.3679 = -0.1966" in browser.js(current)
        browser.key("ArrowLeft")
        assert browser.js(count) == "step 3 of 13"
        browser.js("document.getElementById('all').click()")
        assert browser.js("document.querySelectorAll('tr.back.pending').length") == 0
        assert not browser.console, browser.console  # no error or message from the page
    shot = tmp_path / "shot.png"
    subprocess.run(
        [*flags, f"--screenshot={shot}", "--window-size=1200,900", path.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG") and len(data) > 20_000  # text and a graph, not blank
    pixels = np.frombuffer(data, dtype=np.uint8)
    assert pixels.std() > 10


@pytest.mark.parametrize(
    ("text", "rule"), [("relu(x)", "relu'(0) = 0"), ("abs(x) + where(x > 0, x, 0)", "abs'(0) = 0")]
)
def test_check_grad_names_a_kink_and_its_convention(text: str, rule: str) -> None:
    report = adc.check_grad(text, x=0.0)
    assert report.ok  # a kink is not a mismatch
    assert "x" in report.kinks
    left, right = report.kinks["x"]
    assert left != right
    shown = str(report)
    assert "the point is a kink" in shown and rule in shown and "too large" not in shown


def test_check_grad_still_catches_a_wrong_derivative_away_from_kinks() -> None:
    report = adc.check_grad("relu(x)", x=0.5)
    assert report.ok and not report.kinks


def test_trace_and_check_grad_name_an_array_given_for_a_number() -> None:
    with pytest.raises(TypeError, match="'x' must be a number"):
        adc.trace("x*y", x=np.array([1.0, 2.0]), y=1.0)
    with pytest.raises(TypeError, match=r"'x' must be a number.*one at a time"):
        adc.check_grad("x*y", x=np.array([1.0, 2.0]), y=1.0)
    with pytest.raises(TypeError, match="'y' must be a number"):
        adc.check_grad("x*y", x=1.0, y="2")


@pytest.mark.skipif(shutil.which("dot") is None and not os.environ.get("CI"), reason="no dot")
def test_graphs_fit_a_slide() -> None:
    f = adc.compile(NEURON, stable=False)
    for dot in (adc.trace(f, **POINT).graph(), f.value_and_grad().graph()):
        svg = dot._repr_svg_()
        assert svg is not None
        width = float(re.search(r'<svg width="([\d.]+)pt"', svg).group(1))  # type: ignore[union-attr]
        assert width <= 800
