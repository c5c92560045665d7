"""`adc.explain`: one self-contained HTML page that teaches reverse mode on a formula.

The page (DESIGN.md section 7) holds, for one point: the formula; the forward pass (every
node's value, in evaluation order); the backward pass revealed step by step (buttons, or the
arrow keys and space; without JavaScript every step shows), each adjoint written as the
chain-rule sum that made it with its numbers (`b_e = b_f · ∂f/∂e = 0.1966 · 1`) beside
the lines of generated code that compute it (a link `page.html#step=3` opens at step 3); the graph
with values and adjoints (inline SVG drawn by Graphviz where `dot` is installed, its DOT
text otherwise); the generated Python code; and a finite-difference check of the gradient.
Nothing is loaded from the network: CSS and script are inline, so the file works offline on
a projector; it prints with every step shown and follows the viewer's light or dark theme.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adcompile.api import Formula
from adcompile.codegen.formula import value_text
from adcompile.tools.trace import Trace, trace


@dataclass(frozen=True)
class Page:
    """An explain page: `.html` (the whole file), `.save(path)`, shown inline by Jupyter."""

    html: str
    trace: Trace

    def save(self, path: str | Path) -> Path:
        target = Path(path)
        target.write_text(self.html, encoding="utf-8")
        return target

    def _repr_html_(self) -> str:
        """The page in an iframe (its styles and keys stay inside it), for Jupyter."""
        doc = html.escape(self.html, quote=True)
        return f'<iframe srcdoc="{doc}" style="width:100%;height:720px;border:0"></iframe>'

    def __str__(self) -> str:
        return self.html


def explain(f: Formula | str, *args: Any, digits: int = 4, **kwargs: Any) -> Page:
    """The explain page of `f` (a `Formula` or formula text with one scalar output) at the
    point given as for calling `f` (numbers; 1-D arrays for vector inputs).

    Example:
        >>> page = explain("a = x*y; b = sin(a); b + x", x=2.0, y=0.5)
        >>> "b_a = b_b · ∂b/∂a" in page.html
        True
    """
    from adcompile.api import compile

    formula = compile(f) if isinstance(f, str) else f
    t = trace(formula, *args, digits=digits, **kwargs)

    def num(v: Any) -> str:
        return str(value_text(v, digits))

    point = {r.name: r.value for r in t.rows if r.operation == "input"}
    parts = [
        "<h1>Reverse mode, step by step</h1>",
        f"<pre class=formula>{_e(formula.text)}</pre>",
        "<p class=at>at " + ", ".join(f"{_e(k)} = {_e(num(v))}" for k, v in point.items()),
        "</p>",
        _forward(t, num),
        _backward(t, num, formula.value_and_grad().source),
        _graph(t),
        _code(formula),
        _check(formula, point, t, num),
    ]
    if t.rewrites:
        parts.insert(2, "<p class=note>Stable rewrites in this program: "
                     f"{_e('; '.join(t.rewrites))} (compile with stable=False to see every "
                     "step as written).</p>")  # fmt: skip
    body = "\n".join(parts)
    title = _e(f"adcompile explain: {formula.text}")
    page = (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">\n<title>{title}'
        f"</title>\n<style>{_CSS}</style></head>\n<body>\n{body}\n<script>{_JS}</script>"
        "\n</body></html>\n"
    )
    return Page(page, t)


def _e(text: str) -> str:
    return html.escape(str(text))


def _table(caption: str, head: list[str], rows: list[list[str]], cls: str = "") -> str:
    th = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join(
        f'<tr class="step {cls}" data-step="{k}">' + "".join(f"<td>{c}</td>" for c in r) + "</tr>"
        for k, r in enumerate(rows)
    )
    top = f"<caption>{_e(caption)}</caption><thead><tr>{th}</tr></thead>"
    return f"<table>{top}<tbody>{body}</tbody></table>"


def _forward(t: Trace, num: Any) -> str:
    rows = [[f"<code>{_e(r.name)}</code>", f"<code>{_e(r.operation)}</code>",
             f'<span class=num>{_e(num(r.value))}</span>'] for r in t.rows]  # fmt: skip
    return "<section id=forward><h2>1. Forward pass: every value, in order</h2>" + _table(
        "Each node computed from the ones above it", ["node", "operation", "value"], rows
    ) + "</section>"  # fmt: skip


def chain_rule(t: Trace, num: Any) -> list[tuple[str, str]]:
    """(node, the chain-rule line of its adjoint) in backward order: the output's adjoint is
    1; every other node's is the sum over the nodes that read it of their adjoint times
    their local partial, with the numbers."""
    readers: dict[str, list[tuple[str, Any]]] = {}
    for r in t.rows:
        for arg, partial in r.partials.items():
            readers.setdefault(arg, []).append((r.name, partial))
    adjoint = {r.name: r.adjoint for r in t.rows}
    lines = []
    for r in reversed(t.rows):
        users = readers.get(r.name, [])
        if not users:
            lines.append((r.name, f"b_{r.name} = {num(r.adjoint)}  (the output: ∂out/∂out)"))
            continue
        terms = " + ".join(f"b_{u} · ∂{u}/∂{r.name}" for u, _ in users)
        numbers = " + ".join(f"{num(adjoint[u])} · {num(p)}" for u, p in users)
        lines.append((r.name, f"b_{r.name} = {terms} = {numbers} = {num(r.adjoint)}"))
    return lines


def code_lines(source: str, name: str) -> list[str]:
    """The lines of the generated reverse pass that make `b_<name>`: its partials
    (commented `# d u / d name`) and its assignment."""
    reverse = source.split("# reverse", 1)[-1].splitlines()
    partial = re.compile(rf"#\s*d \S+ / d {re.escape(name)}\b")
    return [ln.strip() for ln in reverse
            if ln.strip().startswith(f"b_{name} =") or partial.search(ln)]  # fmt: skip


def _backward(t: Trace, num: Any, source: str) -> str:
    rows = [[f"<code>{_e(name)}</code>", f"<code>{_e(line)}</code>",
             "<pre>" + _e("\n".join(code_lines(source, name))) + "</pre>"
             if code_lines(source, name) else "(no line: the adjoint is 1, or passed on as is)"]
            for name, line in chain_rule(t, num)]  # fmt: skip
    controls = (
        "<div class=controls><button id=prev type=button>&larr; back</button>"
        "<button id=next type=button>next step &rarr;</button>"
        "<button id=all type=button>show all</button> <span id=count></span>"
        " <span class=hint>(keys: &rarr; or space, &larr;)</span></div>"
    )
    return ("<section id=backward><h2>2. Backward pass: adjoints by the chain rule</h2>"
            "<p>b_v is d(output)/dv. It starts at 1 for the output and flows back: each node "
            "adds, for every node that read it, that node's adjoint times the local partial."
            f"</p>{controls}"
            + _table("One step per node, output first, beside the generated code that "
                     "computes it", ["node", "adjoint", "generated code"], rows, "back")
            + "</section>")  # fmt: skip


def _graph(t: Trace) -> str:
    dot = t.graph()
    svg = None
    try:
        svg = dot._repr_svg_()
    except (OSError, RuntimeError, ValueError):
        svg = None
    head = "<section id=graph><h2>3. The graph, with values and adjoints</h2>"
    if svg is not None:
        start = svg.find("<svg")
        return head + f"<div class=svg>{svg[start:]}</div></section>"
    text = f"<p>(Graphviz is not installed: the DOT text)</p><pre>{_e(dot.source)}</pre>"
    return head + text + "</section>"


def _code(formula: Formula) -> str:
    source = formula.value_and_grad().source
    return ("<section id=code><h2>4. The code adcompile generates</h2><p>The forward "
            "statements, then the adjoints in reverse order (<code>b_v</code> as above).</p>"
            f"<pre><code>{_e(source)}</code></pre></section>")  # fmt: skip


def _check(formula: Formula, point: dict[str, Any], t: Trace, num: Any) -> str:
    """Central differences against the reverse-mode gradient, per scalar input."""
    rows = []
    grad = {r.name: r.adjoint for r in t.rows if r.operation == "input"}
    for name, x in point.items():
        if not isinstance(x, float):
            continue  # a vector input: one difference per element is not a slide
        h = 1e-6 * max(1.0, abs(x))
        up, down = dict(point, **{name: x + h}), dict(point, **{name: x - h})
        fd = (float(formula(**up)) - float(formula(**down))) / (2 * h)
        g = float(grad[name])
        err = abs(fd - g) / max(1e-300, abs(g), abs(fd))
        ok = "agrees" if err < 1e-6 or (not math.isfinite(err) and fd == g) else "differs"
        rows.append([f"<code>{_e(name)}</code>", _e(num(g)), _e(num(fd)), f"{err:.1e}", ok])
    return ("<section id=check><h2>5. Check: finite differences</h2>"
            + _table("(f(x+h) - f(x-h)) / 2h with h = 1e-6·max(1, |x|)",
                     ["input", "reverse mode", "finite difference", "relative difference",
                      ""], rows) + "</section>")  # fmt: skip


_CSS = """
:root{color-scheme:light dark;--fg:#1b1b1b;--bg:#fdfdfd;--line:#c8c8c8;--accent:#0b5cad;
--hi:#fff3c4}
@media (prefers-color-scheme:dark){:root{--fg:#e8e8e8;--bg:#161616;--line:#444;
--accent:#7db4ff;--hi:#3d3510}}
body{font:18px/1.45 system-ui,sans-serif;color:var(--fg);background:var(--bg);
max-width:60rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;border-bottom:1px solid var(--line)}
table{border-collapse:collapse;margin:.5rem 0 1rem}caption{text-align:left;
font-style:italic;padding:.2rem 0}
td,th{border-bottom:1px solid var(--line);padding:.25rem .7rem;text-align:left;
vertical-align:top}.num{font-variant-numeric:tabular-nums}
code,pre{font-family:ui-monospace,monospace}pre{overflow:auto;border:1px solid var(--line);
padding:.6rem}button{font:inherit;margin-right:.4rem}.hint{opacity:.7}
.js tr.back.pending{visibility:hidden}.js tr.back.current{background:var(--hi)}
.svg svg{max-width:100%;height:auto}.svg svg text{fill:var(--fg)}
.note{border-left:4px solid var(--accent);padding-left:.6rem}
.formula{font-size:1.1rem}
@media print{.controls{display:none}.js tr.back.pending{visibility:visible}
body{max-width:none}}
"""

_JS = """
(function(){
  document.documentElement.classList.add('js');
  var rows=[].slice.call(document.querySelectorAll('tr.back'));
  var shown=1;
  function draw(){
    rows.forEach(function(r,k){r.classList.toggle('pending',k>=shown);
      r.classList.toggle('current',k===shown-1);});
    document.getElementById('count').textContent='step '+shown+' of '+rows.length;
  }
  function go(d){shown=Math.max(1,Math.min(rows.length,shown+d));draw();}
  document.getElementById('next').onclick=function(){go(1);};
  document.getElementById('prev').onclick=function(){go(-1);};
  document.getElementById('all').onclick=function(){shown=rows.length;draw();};
  document.addEventListener('keydown',function(e){
    if(e.key==='ArrowRight'||e.key===' '){go(1);e.preventDefault();}
    else if(e.key==='ArrowLeft'){go(-1);e.preventDefault();}
  });
  var m=/step=([0-9]+)/.exec(location.hash);  // a link to a step: page.html#step=3
  if(m){shown=Math.max(1,Math.min(rows.length,+m[1]));}
  draw();
})();
"""
