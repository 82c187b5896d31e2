"""Deterministic orders over the unrolled graph, and the inputs of an unrolled node by port."""

from __future__ import annotations

import networkx as nx

from .graph import EdgeAttr, Program, UNode

__all__ = ["topological_order", "inputs_of"]


def topological_order(program: Program) -> list[UNode]:
    """A deterministic topological order of the unrolled graph (steps, then declaration order)."""
    order = {name: data["order"] for name, data in program.folded.nodes(data=True)}

    def key(n: UNode) -> tuple[int, int]:
        t = n[1]
        return (-2 if t is None else t, order[n[0]])

    return list(nx.lexicographical_topological_sort(program.unrolled, key=key))


def inputs_of(program: Program, node: UNode) -> list[tuple[int, UNode, EdgeAttr]]:
    """(port, source, edge) for every input of an unrolled node, by port."""
    out = []
    for src, _, data in program.unrolled.in_edges(node, data=True):
        for port in data["ports"]:
            out.append((port, src, data["attr"]))
    out.sort(key=lambda x: x[0])
    return out
