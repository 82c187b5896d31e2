"""Deterministic orders over the unrolled graph, and the inputs of an unrolled node by port."""

from __future__ import annotations

import networkx as nx

from .graph import EdgeAttr, Program, UNode

__all__ = ["topological_order", "inputs_of", "port_sources"]


def topological_order(program: Program) -> list[UNode]:
    """A deterministic topological order of the unrolled graph (steps, then declaration order)."""
    order = {name: data["order"] for name, data in program.folded.nodes(data=True)}

    def key(n: UNode) -> tuple[int, int]:
        t = n[1]
        return (-2 if t is None else t, order[n[0]])

    return list(nx.lexicographical_topological_sort(program.unrolled, key=key))


def inputs_of(program: Program, node: UNode) -> list[tuple[int, UNode, EdgeAttr]]:
    """(port, source, edge) for every input of an unrolled node, by port (a range of steps: one per step, in order)."""
    out = []
    for src, _, data in program.unrolled.in_edges(node, data=True):
        for port in data["ports"]:
            out.append((port, src, data["attr"]))
    out.sort(key=lambda x: (x[0], -2 if x[1][1] is None else x[1][1]))
    return out


def port_sources(program: Program, node: UNode) -> list[tuple[int, list[UNode], EdgeAttr]]:
    """(port, sources, edge) per input port of an unrolled node: one source, or the steps of a range read."""
    out: list[tuple[int, list[UNode], EdgeAttr]] = []
    for port, src, e in inputs_of(program, node):
        if out and out[-1][0] == port:
            out[-1][1].append(src)
        else:
            out.append((port, [src], e))
    return out
