"""The looped schedule: which values are computed once, which over all steps at once, which in a loop.

The looped lowering runs a spec in a graph whose size does not grow with the number of
steps.  This pass decides, from the folded graph alone (never the unrolled one), how:

* **values** (untimed nodes: inputs, params, numbers, the head) are computed once;
* **sequences** are timed nodes that depend neither on the recurrence nor on weights
  (`image | row | flatten`, noise on an input): computed for every step at once before any
  loop, with the steps folded into the batch;
* **loops** compute the rest step by step.  A loop runs forward or backward in time; each
  stream it computes keeps a shift register of its last k values (k its largest lag), a
  range of its steps read inside the loop keeps its whole history, and what later units
  read comes out as a sequence.  Guards select an equation per step.

A spec whose same-step order changes with the step (guards that break a cycle), or whose
loop would read a step it has not computed yet, cannot loop: `plan_loops` raises
NotLoopable with the reason, and the unrolled lowering remains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Mapping

import networkx as nx

from ..catalogue import KINDS, StepRule
from ..ir import EdgeAttr, Fixed, Program, Range, Role
from ..errors import RnndslError

__all__ = ["NotLoopable", "NotStreamable", "Loop", "Unit", "UnitKind", "LoopPlan", "plan_loops", "plan_streaming",
           "equations_of"]


class NotLoopable(RnndslError, ValueError):
    """The spec cannot run in the looped lowering (the message says why)."""


@dataclass(frozen=True)
class Loop:
    """Nodes computed step by step, in one direction (+1 forward, -1 backward)."""

    direction: int
    order: tuple[str, ...]  # the loop's timed nodes in same-step order
    lags: Mapping[str, int]  # node -> how many earlier (backward: later) steps its shift register keeps
    history: frozenset[str]  # nodes whose every step is kept: a range of them is read inside the loop
    collect: frozenset[str]  # nodes read after the loop: their values at every step come out as a sequence
    finals: frozenset[str] = frozenset()  # nodes read after the loop only at the loop's last step (h[last])


class UnitKind(str, Enum):
    """What a unit of the looped plan computes."""

    VALUE = "value"  # an untimed node, once
    SEQUENCE = "sequence"  # a timed node for every step at once (steps folded into the batch)
    LOOP = "loop"  # timed nodes step by step


@dataclass(frozen=True)
class Unit:
    kind: UnitKind
    name: str = ""  # the node (value, sequence)
    loop: Loop | None = None  # the loop (loop)


@dataclass(frozen=True)
class LoopPlan:
    units: tuple[Unit, ...]
    hoisted: frozenset[str]  # timed nodes computed over all steps at once (sequence inputs included)
    loop_of: Mapping[str, int] = field(default_factory=dict)  # node -> index of its loop unit


def _same_step(e: EdgeAttr) -> bool:
    return not e.read.carries_state


def equations_of(p: Program, stream: str) -> list[tuple[tuple[int, ...] | None, str]]:
    """(steps, root source) of each equation of a stream, by port."""
    out = []
    for src, _, port, data in sorted(p.folded.in_edges(stream, keys=True, data=True), key=lambda x: x[2]):
        out.append((data["attr"].steps, src))
    return out


def _hoistable(p: Program) -> set[str]:
    """Timed nodes whose every step depends only on values and other such nodes at the same step,
    with no weights on the way.

    (A sequence computed from weights would be read inside the loop with a gradient: through a
    TensorArray that costs more than computing it step by step, and grows faster than T: measured
    on CPU with TensorFlow 2.21, an LSTM with its input projection hoisted trained at 2.1x the step
    time of Keras' LSTM at T = 3,000, and at 1.0x with it in the loop.  docs/benchmarks.md.)"""
    T = p.steps
    every = tuple(range(T))
    hoisted = {n for n in p.folded.nodes if p.node(n).role is Role.INPUT and p.node(n).timed}
    changed = True
    order = sorted(p.folded.nodes, key=p.order)
    while changed:
        changed = False
        for n in order:
            a = p.node(n)
            if n in hoisted or not a.timed or a.role not in (Role.OP, Role.STREAM):
                continue
            ins = [(src, d["attr"]) for src, _, d in p.folded.in_edges(n, data=True)]
            if a.role is Role.STREAM:
                ok = len(ins) == 1 and ins[0][1].steps in (None, every) and ins[0][0] in hoisted \
                    and _same_step(ins[0][1])
            else:
                kind = KINDS[a.kind or ""]
                ok = (a.steps == every and not kind.is_cell and not kind.batch_stats and a.window is None
                      and kind.over_steps in (StepRule.NONE, StepRule.EACH) and not kind.has_weights)
                for src, e in ins:
                    s = p.node(src)
                    if kind.uses_step:
                        ok = ok and not s.timed  # row t of a value: the value's first T rows
                    elif s.timed:
                        ok = ok and src in hoisted and _same_step(e)
            if ok:
                hoisted.add(n)
                changed = True
    return hoisted


def plan_loops(p: Program) -> LoopPlan:
    """The units of the looped lowering, in an order that computes every input before its reader."""
    g = p.folded
    hoisted = _hoistable(p)
    looped = [n for n in sorted(g.nodes, key=p.order) if p.node(n).timed and n not in hoisted]
    inner = g.subgraph(looped)
    cond = nx.condensation(nx.DiGraph(inner.edges()) if inner.number_of_edges() else _nodes_only(looped))
    members = {c: sorted(cond.nodes[c]["members"], key=p.order) for c in cond.nodes}
    comp_of = {n: c for c, ns in members.items() for n in ns}
    for n in looped:  # nodes with no loop edge at all
        if n not in comp_of:  # pragma: no cover - condensation covers every node given
            raise AssertionError(n)
    comps = list(nx.lexicographical_topological_sort(cond, key=lambda c: min(p.order(n) for n in members[c])))

    def direction_of(c: int) -> int:
        ns = set(members[c])
        d = 0
        for n in ns:
            for src, _, data in g.in_edges(n, data=True):
                if src not in ns:
                    continue
                e = data["attr"]
                if isinstance(e.read, Fixed):
                    raise NotLoopable(f"'{p.node(n).owner}' reads a fixed step of '{src}', which depends on it "
                                      f"(a loop computes one step at a time)")
                step = e.read.direction()  # (a range: up to this step, forward; from this step on, backward)
                if step is None:
                    raise NotLoopable(f"'{p.node(n).owner}' reads the range {e.label} of '{src}', which depends on it")
                if step and d and step != d:
                    raise NotLoopable(f"'{p.node(n).owner}' depends on both earlier and later steps of '{src}'")
                d = d or step
        same = nx.DiGraph()
        same.add_nodes_from(ns)
        same.add_edges_from((s, n) for n in ns for s, _, d2 in g.in_edges(n, data=True)
                            if s in ns and d2["attr"].read.this_step)
        if not nx.is_directed_acyclic_graph(same):
            cyc = " -> ".join(p.node(x).owner for x, _ in nx.find_cycle(same))
            raise NotLoopable(f"the same-step order of {cyc} changes with the step (guards break a cycle)")
        return d

    # L-ancestors of values and sequences: a loop may not read what needs the loop itself
    ancestors_memo: dict[str, frozenset[str]] = {}

    def loop_ancestors(n: str) -> frozenset[str]:
        if n in ancestors_memo:
            return ancestors_memo[n]
        found: set[str] = set()
        stack, seen = [n], {n}
        while stack:
            x = stack.pop()
            for src in g.predecessors(x):
                if src in seen:
                    continue
                seen.add(src)
                if src in comp_of:
                    found.add(src)
                else:
                    stack.append(src)
        ancestors_memo[n] = frozenset(found)
        return ancestors_memo[n]

    loops: list[tuple[int, list[int]]] = []  # (direction, components)
    current: set[str] = set()
    for c in comps:
        d = direction_of(c)
        ns = members[c]
        fits = bool(loops)
        if fits:
            cur_d = loops[-1][0]
            want = d or cur_d
            if d and cur_d and d != cur_d or (cur_d < 0 and not d):
                fits = False  # (a stream that reads no later step runs forward, as masking freezes it forward)
            for n in ns:
                if not fits:
                    break
                for src, _, data in g.in_edges(n, data=True):
                    e = data["attr"]
                    if src in ns:
                        continue
                    if src in current:
                        if not e.read.reads_done(want or 1):
                            fits = False
                            break
                    elif src not in comp_of and loop_ancestors(src) & current:
                        fits = False
                        break
            if fits:
                loops[-1] = (want, loops[-1][1] + [c])
                current |= set(ns)
                continue
        loops.append((d, [c]))
        current = set(ns)

    loop_units: list[Loop] = []
    loop_of: dict[str, int] = {}
    for i, (d, cs) in enumerate(loops):
        ns = [n for c in cs for n in members[c]]
        loop_units.append(_loop(p, ns, d or 1))
        for n in ns:
            loop_of[n] = i
    # the units: values, sequences and loops, in an order where every input comes first
    unit_of: dict[str, str] = {}
    for n in g.nodes:
        if n in loop_of:
            unit_of[n] = f"loop:{loop_of[n]}"
        elif n in hoisted:
            unit_of[n] = f"sequence:{n}"
        else:
            unit_of[n] = f"value:{n}"
    dag = nx.DiGraph()
    dag.add_nodes_from(set(unit_of.values()))
    for src, dst in g.edges():
        if unit_of[src] != unit_of[dst]:
            dag.add_edge(unit_of[src], unit_of[dst])
    if not nx.is_directed_acyclic_graph(dag):
        raise NotLoopable("a value computed from a loop's streams is read inside that loop")
    first = {u: min(p.order(n) for n in g.nodes if unit_of[n] == u) for u in dag.nodes}
    units = []
    for u in nx.lexicographical_topological_sort(dag, key=lambda u: first[u]):
        kind, _, name = u.partition(":")
        units.append(Unit(UnitKind.LOOP, loop=loop_units[int(name)]) if kind == "loop" else Unit(UnitKind(kind), name))
    # a loop unit's index among units
    index = {id(u.loop): i for i, u in enumerate(units) if u.loop is not None}
    return LoopPlan(tuple(units), frozenset(hoisted), {n: index[id(loop_units[i])] for n, i in loop_of.items()})


def _nodes_only(nodes: list[str]) -> nx.DiGraph:
    g = nx.DiGraph()
    g.add_nodes_from(nodes)
    return g


def _loop(p: Program, nodes: list[str], direction: int) -> Loop:
    g = p.folded
    ns = set(nodes)
    same = nx.DiGraph()
    same.add_nodes_from(nodes)
    lags: dict[str, int] = {}
    history: set[str] = set()
    collect: set[str] = set()
    finals: set[str] = set()
    for n in nodes:
        a = p.node(n)
        if a.role is Role.STREAM:
            lags[n] = max(lags.get(n, 0), 1 if p.masked else 0)  # masking freezes a stream at its previous value
        for src, _, data in g.in_edges(n, data=True):
            e = data["attr"]
            if src not in ns:
                continue
            if e.read.this_step:
                same.add_edge(src, n)  # (a range that includes this step: computed first)
            if e.read.history:
                history.add(src)
            elif e.read.depth:
                lags[src] = max(lags.get(src, 0), e.read.depth)
        kind = KINDS[a.kind] if a.kind else None
        if kind is not None and kind.is_cell:
            lags[a.owner] = max(lags.get(a.owner, 0), 1)
        for _, dst, data in g.out_edges(n, data=True):
            if dst not in ns:
                e = data["attr"]
                if isinstance(e.read, Fixed) and e.read.step == (p.steps - 1 if direction > 0 else 0):
                    finals.add(n)  # its last value is enough: no sequence is kept
                else:
                    collect.add(n)
    for o in p.outputs:
        if o.per_step and o.name in ns:
            collect.add(o.name)
            root = next(iter(g.predecessors(o.name)), None)
            if root is not None and root in ns:
                collect.add(root)  # (its input is the logits of a final softmax)
                collect.update(s for s in g.predecessors(root) if s in ns)
    order = list(nx.lexicographical_topological_sort(same, key=p.order))
    return Loop(direction, tuple(order), {k: v for k, v in lags.items() if v}, frozenset(history), frozenset(collect),
                frozenset(finals - collect))


class NotStreamable(RnndslError, ValueError):
    """The spec cannot run one step at a time from its inputs' steps (the message says why)."""


def plan_streaming(p: Program) -> Loop:
    """The loop that computes one step from each input's step and a carried state, for a streamed model.

    Every timed node (the sequence inputs included) is in it; what the outputs read must be
    this step's values.  Raises NotStreamable for what needs more than the past.
    """
    g = p.folded
    untimed_inputs = [i.name for i in p.inputs if not i.sequence]
    if untimed_inputs:
        raise NotStreamable(f"the steps read the input '{untimed_inputs[0]}', which is a whole example, not a "
                            f"step: a step function takes one step of each input (declare it as "
                            f"`input {untimed_inputs[0]}[t]: ...`)")
    timed = [n for n in sorted(g.nodes, key=p.order) if p.node(n).timed]
    for src, dst, data in g.edges(data=True):
        e = data["attr"]
        reader = p.node(dst)
        if not p.node(src).timed:
            continue
        if reader.timed:
            why = e.read.unstreamable(src, reader.owner)
            if why:
                raise NotStreamable(why)
        elif isinstance(e.read, Range) or isinstance(e.read, Fixed) and e.read.step != p.steps - 1:
            what = f"the range {e.label}" if isinstance(e.read, Range) else f"step {e.read.step}"
            raise NotStreamable(f"'{reader.owner}' reads {what} of '{src}'; a streamed output can read only the "
                                f"current step ([last])")
    return _loop(p, timed, 1)
