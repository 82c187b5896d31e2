"""Zero-lag cycles: a value that needs itself at the same step cannot be computed."""

from __future__ import annotations

import dataclasses

import networkx as nx

from ..errors import Diagnostic, Span
from ..ir import INIT, Program, Role, UNode
from .facts import Facts

__all__ = ["zero_lag_cycles"]


def _step_text(t: int | None) -> str:
    return "" if t is None else ("[init]" if t == INIT else f"[{t}]")


def _diagnostic(program: Program, cycle: list[tuple[UNode, UNode]]) -> Diagnostic:
    named = [u for u, _ in cycle if program.node(u[0]).role in (Role.STREAM, Role.VALUE)] or [u for u, _ in cycle]
    path = " -> ".join(f"{n}{_step_text(t)}" for n, t in named + named[:1])
    spans = [(program.node(u[0]).role, program.unrolled.edges[u, v]["attr"].span) for u, v in cycle]
    span = next((s for role, s in spans if role is Role.STREAM and s.known),
                next((s for _, s in spans if s.known), Span.unknown()))
    return Diagnostic("zero-lag-cycle", f"cycle with zero total lag: {path}", span,
                      ("every cycle needs a read of an earlier (or later) step, such as h[t-1]",))


def _surely_acyclic(program: Program) -> bool:
    """Whether the folded graph alone shows that the unrolled graph has no cycle.

    An unrolled cycle maps to a closed walk of the folded graph, inside one strongly
    connected component, whose lags sum to 0.  When every read inside a component is of
    the same or an earlier step (lag >= 0, no fixed step) the lags of such a walk are all
    0, so it is a cycle of same-step reads: if those form no cycle, neither does the
    unrolled graph.  Otherwise (reads of later or fixed steps, or same-step cycles that
    guards may break) the unrolled graph is searched.
    """
    g = program.folded
    component = {n: i for i, nodes in enumerate(nx.strongly_connected_components(g)) for n in nodes}
    same_step = nx.DiGraph()
    for src, dst, data in g.edges(data=True):
        if component[src] != component[dst]:
            continue
        e = data["attr"]
        if e.read.direction() not in (0, 1):  # a later step, a fixed step or a range: search the unrolled graph
            return False
        if not e.read.carries_state:
            same_step.add_edge(src, dst)
    return nx.is_directed_acyclic_graph(same_step)


def zero_lag_cycles(program: Program, facts: Facts, diags) -> tuple[Facts, list[Diagnostic]]:
    """Find a cycle in the unrolled graph (with lags of both signs, exactly a cycle of total lag 0)."""
    # is_directed_acyclic_graph is a cheap topological sort; find_cycle (an edge DFS) is
    # slower, so it runs only when there is a cycle to show.
    if _surely_acyclic(program) or nx.is_directed_acyclic_graph(program.unrolled):
        return facts, []
    cycle = nx.find_cycle(program.unrolled)
    return dataclasses.replace(facts, stop=True), [_diagnostic(program, [(u, v) for u, v, *_ in cycle])]
