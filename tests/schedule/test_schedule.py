"""The schedule stage: order, liveness, last uses, slots and chunks of a graph's program."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from strategies import formulas

from adcompile.front.parse import parse
from adcompile.run.interpret import Plan
from adcompile.schedule import schedule


def test_order_is_the_live_computations_in_id_order() -> None:
    p = parse("a = x*y; b = sin(x); unused = exp(y); a + 1")
    prog = schedule(p.graph, p.input_ids, p.outputs)
    ops = [p.graph.nodes[n].op for n in prog.order]
    assert ops == ["mul", "add"]
    assert list(prog.order) == sorted(prog.order)
    dead = [n for n, alive in enumerate(prog.live) if not alive]
    assert {p.graph.nodes[n].op for n in dead} >= {"sin", "exp"}


def test_last_use_and_what_dies_after_each_step() -> None:
    p = parse("a = x*y; b = a + x; c = b*b; c - a")
    prog = schedule(p.graph, p.input_ids, p.outputs)
    pos = {n: k for k, n in enumerate(prog.order)}
    x, y = p.input_ids
    a = p.graph.nodes[prog.order[0]]
    assert a.op == "mul"
    assert prog.last_use[y] == 0 and prog.last_use[x] == pos[prog.order[1]]
    assert prog.last_use[p.outputs[0]] == len(prog.order)  # an output lives to the end
    dead = prog.dead_after()
    assert prog.order[0] in dead[-1]  # a is read last by c - a
    assert all(p.outputs[0] not in d for d in dead)


def test_slots_reuse_storage_after_the_last_use() -> None:
    text = "\n".join([f"x{k + 1} = sin(x{k})*y" for k in range(50)] + ["x50"])
    p = parse(text)
    prog = schedule(p.graph, p.input_ids, p.outputs)
    slots, count = prog.slots()
    assert count <= 6, count  # a chain needs a few slots, not one per step
    for nid in prog.order:
        args = p.graph.nodes[nid].args
        assert all(slots[nid] != slots[a] for a in args), "a value overwrote its argument"


@settings(max_examples=40, deadline=None)
@given(formulas(smooth=False, max_depth=4))
def test_slots_never_hold_two_live_values(text: str) -> None:
    """Simulate the program on slots: every read finds the value that was stored."""
    p = parse(text, ("x", "y", "z"))
    prog = schedule(p.graph, p.input_ids, p.outputs)
    slots, count = prog.slots()
    holds: dict[int, int] = {}
    for nid in sorted(slots):  # in id order: leaves are stored where they come
        for a in p.graph.nodes[nid].args:
            assert holds[slots[a]] == a, "a value was overwritten before its last use"
        holds[slots[nid]] = nid
    for o in prog.wanted:
        assert holds[slots[o]] == o
    assert count <= len(slots)


def test_chunks_cover_the_order_in_bounded_pieces() -> None:
    p = parse(" + ".join(f"sin(x{k})" for k in range(30)))
    prog = schedule(p.graph, p.input_ids, p.outputs)
    chunks = prog.chunks(7)
    assert all(0 < len(c) <= 7 for c in chunks)
    assert [n for c in chunks for n in c] == list(prog.order)
    with pytest.raises(ValueError, match="positive"):
        prog.chunks(0)


def test_the_interpreter_runs_the_schedule() -> None:
    p = parse("a = x*y; b = sin(a) + a; b*b")
    plan = Plan(p.graph, p.input_ids, p.outputs)
    (value,) = plan(np.float64(2.0), np.float64(3.0))
    assert value == pytest.approx((np.sin(6.0) + 6.0) ** 2)


def test_an_evaluator_schedules_its_program_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kernel printer, the interpreter and the VM of one evaluator read one Program."""
    import adcompile as adc
    from adcompile import schedule as module

    made: list[object] = []
    real = module._schedule

    def counting(*args: object) -> object:
        made.append(args)
        return real(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(module, "_schedule", counting)
    vg = adc.compile("a = x*y; sin(a) + a^2", backend="numpy").value_and_grad()
    assert vg(2.0, 3.0)[0] == pytest.approx(np.sin(6.0) + 36.0)
    _ = vg.source, vg.numba_source
    assert len(made) == 1, f"scheduled {len(made)} times"
    p = parse("x*y + 1")
    assert schedule(p.graph, p.input_ids, p.outputs) is schedule(p.graph, p.input_ids, p.outputs)
